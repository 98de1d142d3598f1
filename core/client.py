"""A small HTTP client for CLI commands that act on a running server (`--server`, `--token`)."""

from __future__ import annotations

from typing import Any

import httpx

from core.errors import BadInput, NotFound, Refused, SkyPatrolError, Unavailable


class ApiClient:
    def __init__(self, server: str, token: str | None, timeout_s: float = 15.0) -> None:
        if not token:
            raise BadInput("no token: pass --token or set SKYPATROL_TOKEN")
        self.server = server.rstrip("/")
        self.http = httpx.Client(base_url=self.server, timeout=timeout_s,
                                 headers={"Authorization": f"Bearer {token}"})

    def request(self, method: str, path: str, **kw: Any) -> Any:
        try:
            r = self.http.request(method, path, **kw)
        except httpx.TransportError as exc:
            raise Unavailable(f"cannot reach {self.server}: {exc}") from None
        if r.status_code < 400:
            return r.json() if r.content and r.headers.get("content-type", "").startswith("application/json") else None
        try:
            message = r.json()["error"]["message"]
        except Exception:
            message = r.text[:200]
        if r.status_code in (401, 403):
            raise BadInput(f"server refused the token ({r.status_code}): {message}")
        if r.status_code == 404:
            raise NotFound(message)
        if r.status_code in (400, 422):
            raise BadInput(message)
        if r.status_code == 409:
            raise Refused(message)
        if r.status_code == 503:
            raise Unavailable(message)
        raise SkyPatrolError(f"server error {r.status_code}: {message}")

    def get(self, path: str, **kw: Any) -> Any:
        return self.request("GET", path, **kw)

    def post(self, path: str, **kw: Any) -> Any:
        return self.request("POST", path, **kw)

    def delete(self, path: str, **kw: Any) -> Any:
        return self.request("DELETE", path, **kw)
