"""`HubClient`: SkyPatrol's side of the hub protocol over HTTP.

Timeouts on every call; retries with exponential backoff on transport errors, 429 and 5xx;
an idempotency key per filing, reused across its retries; position reports that cannot be
delivered are kept in an offline buffer (in order) and flushed when the hub answers again.
"""

from __future__ import annotations

import threading
import time
import uuid
from collections import deque
from collections.abc import Callable
from datetime import datetime
from typing import Any

import httpx

from airspace.authority import (
    DispatchReadiness,
    IntentRequest,
    Notification,
    OperationalIntent,
    PositionReport,
)
from airspace.model import Zone
from core.errors import BadInput, Conflict, NotFound, Refused, SkyPatrolError, Unavailable

API = "/v1"
RETRY_STATUSES = frozenset({429, 500, 502, 503, 504})


class HubClient:
    def __init__(
        self,
        base_url: str,
        *,
        timeout_s: float = 5.0,
        connect_timeout_s: float = 2.0,
        retries: int = 3,
        backoff_s: float = 0.2,
        buffer_max: int = 100_000,
        batch_max: int = 1000,
        transport: httpx.BaseTransport | None = None,
        sleep: Callable[[float], None] = time.sleep,
    ) -> None:
        self.base_url = base_url.rstrip("/")
        self._http = httpx.Client(
            base_url=self.base_url,
            timeout=httpx.Timeout(timeout_s, connect=connect_timeout_s),
            transport=transport,
        )
        self.retries = retries
        self.backoff_s = backoff_s
        self.batch_max = batch_max
        self._sleep = sleep
        self._buffer: deque[PositionReport] = deque(maxlen=buffer_max)
        self._buffer_lock = threading.Lock()
        self.last_error: str | None = None

    def close(self) -> None:
        self._http.close()

    def __enter__(self) -> HubClient:
        return self

    def __exit__(self, *exc: object) -> None:
        self.close()

    # -- transport ----------------------------------------------------------------------------

    def _call(self, method: str, path: str, *, retries: int | None = None, **kw: Any) -> Any:
        attempts = (self.retries if retries is None else retries) + 1
        for attempt in range(attempts):
            try:
                response = self._http.request(method, API + path, **kw)
            except httpx.TransportError as exc:
                self.last_error = f"hub unreachable at {self.base_url}: {exc.__class__.__name__}"
            else:
                if response.status_code not in RETRY_STATUSES:
                    self.last_error = None
                    return _result(response)
                self.last_error = f"hub at {self.base_url} answered {response.status_code}"
            if attempt + 1 < attempts:
                self._sleep(self.backoff_s * 2**attempt)
        raise Unavailable(self.last_error or f"hub at {self.base_url} unavailable")

    # -- the protocol -------------------------------------------------------------------------

    def zones(
        self,
        bbox: tuple[float, float, float, float] | None = None,
        start: datetime | None = None,
        end: datetime | None = None,
    ) -> list[Zone]:
        params: dict[str, str] = {}
        if bbox is not None:
            params["bbox"] = ",".join(str(v) for v in bbox)
        if start is not None:
            params["start"] = start.isoformat()
        if end is not None:
            params["end"] = end.isoformat()
        return [Zone.model_validate(z) for z in self._call("GET", "/zones", params=params)["zones"]]

    def file_intent(self, request: IntentRequest, idempotency_key: str | None = None) -> OperationalIntent:
        key = idempotency_key or uuid.uuid4().hex  # the same key on every retry: filed at most once
        body = request.model_dump(mode="json")
        return OperationalIntent.model_validate(
            self._call("POST", "/intents", json=body, headers={"Idempotency-Key": key})
        )

    def get_intent(self, intent_id: str) -> OperationalIntent:
        return OperationalIntent.model_validate(self._call("GET", f"/intents/{intent_id}"))

    def activate(self, intent_id: str) -> OperationalIntent:
        return OperationalIntent.model_validate(self._call("POST", f"/intents/{intent_id}/activate"))

    def end(self, intent_id: str) -> OperationalIntent:
        return OperationalIntent.model_validate(self._call("POST", f"/intents/{intent_id}/end"))

    def cancel(self, intent_id: str) -> OperationalIntent:
        return OperationalIntent.model_validate(self._call("POST", f"/intents/{intent_id}/cancel"))

    def notifications(self, after: int = 0, operator_id: str | None = None) -> list[Notification]:
        params: dict[str, Any] = {"after": after}
        if operator_id is not None:
            params["operator_id"] = operator_id
        data = self._call("GET", "/notifications", params=params)
        return [Notification.model_validate(n) for n in data["notifications"]]

    def dispatch_readiness(self) -> DispatchReadiness:
        """New flights may be dispatched only while the hub answers."""
        try:
            self._call("GET", "/health", retries=0)
        except Unavailable as exc:
            return DispatchReadiness(ok=False, reason=f"no new dispatch: {exc.message}")
        self.flush()
        return DispatchReadiness(ok=True)

    # -- positions and the offline buffer ------------------------------------------------------

    @property
    def buffered(self) -> int:
        return len(self._buffer)

    def report_positions(self, reports: list[PositionReport]) -> int:
        """Queue the reports behind any buffered ones and deliver what the hub takes now;
        returns how many were delivered (the rest stay buffered, in order)."""
        with self._buffer_lock:
            self._buffer.extend(reports)
        return self.flush()

    def flush(self) -> int:
        delivered = 0
        with self._buffer_lock:
            while self._buffer:
                batch = [self._buffer[i] for i in range(min(self.batch_max, len(self._buffer)))]
                try:
                    self._call(
                        "POST",
                        "/positions",
                        retries=0,
                        json={"reports": [r.model_dump(mode="json") for r in batch]},
                    )
                except Unavailable:
                    break
                for _ in batch:
                    self._buffer.popleft()
                delivered += len(batch)
        return delivered


def _result(response: httpx.Response) -> Any:
    if response.is_success:
        return response.json()
    try:
        message = response.json()["error"]["message"]
    except (ValueError, KeyError, TypeError):
        message = response.text[:200] or response.reason_phrase
    error: type[SkyPatrolError] = {404: NotFound, 409: Conflict, 422: BadInput}.get(response.status_code, Refused)
    if response.status_code == 409 and "idempotency" not in message:
        error = Refused
    raise error(f"hub: {message}")
