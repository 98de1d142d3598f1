"""Auth on every route, one error shape, validation that stores nothing, audit of mutations."""

from __future__ import annotations

import re

import pytest

from tests.conftest import auth

PUBLIC = {"/healthz", "/readyz", "/metrics", "/openapi.json", "/docs", "/docs/oauth2-redirect", "/redoc"}
MUTATING = {"POST", "PUT", "PATCH", "DELETE"}
# Compute-only POSTs need only `viewer` (shared/DESIGN.md).
COMPUTE_ONLY_PREFIXES = ("/api/v1/airspace/check", "/api/v1/plans/preview", "/api/v1/schedules/preview")


def _compute_only(method: str, path: str) -> bool:
    return method == "POST" and path.startswith(COMPUTE_ONLY_PREFIXES)


def _routes(app):  # type: ignore[no-untyped-def]
    """Every (method, path) the API documents: the public contract."""
    for path, ops in app.openapi()["paths"].items():
        for method in ops:
            yield method.upper(), path


def _concrete(path: str) -> str:
    return re.sub(r"\{[^}]+\}", "1", path)


def test_every_api_route_needs_a_token(client) -> None:  # type: ignore[no-untyped-def]
    checked = 0
    for method, path in _routes(client.app):
        if path in PUBLIC:
            continue
        r = client.request(method, _concrete(path))
        assert r.status_code == 401, (method, path, r.status_code)
        assert r.json()["error"]["code"] == "unauthorized"
        checked += 1
    assert checked >= 10


def test_every_mutating_route_is_403_for_a_viewer(client, tokens) -> None:  # type: ignore[no-untyped-def]
    checked = 0
    for method, path in _routes(client.app):
        if method not in MUTATING or _compute_only(method, path):
            continue
        r = client.request(method, _concrete(path), headers=auth(tokens["viewer"]), json={})
        assert r.status_code == 403, (method, path, r.status_code, r.text)
        assert set(r.json()["error"]) == {"code", "message", "details"}
        checked += 1
    assert checked >= 5


def test_compute_only_posts_work_for_a_viewer_but_not_anonymously(client, tokens) -> None:  # type: ignore[no-untyped-def]
    for method, path in _routes(client.app):
        if _compute_only(method, path):
            assert client.post(_concrete(path), json={}).status_code == 401
            r = client.post(_concrete(path), json={}, headers=auth(tokens["viewer"]))
            assert r.status_code == 422, (path, r.status_code)  # past auth, the empty body is refused


def test_admin_routes_refuse_a_pilot(client, tokens) -> None:  # type: ignore[no-untyped-def]
    for method, path in [("GET", "/api/v1/tokens"), ("POST", "/api/v1/users"), ("GET", "/api/v1/audit")]:
        r = client.request(method, path, headers=auth(tokens["pilot"]), json={})
        assert r.status_code == 403, (method, path)


def test_bad_and_revoked_tokens_are_401(client, tokens) -> None:  # type: ignore[no-untyped-def]
    assert client.get("/api/v1/me", headers=auth("sp_nope")).status_code == 401
    assert client.get("/api/v1/me", headers={"Authorization": "Basic abc"}).status_code == 401
    created = client.post("/api/v1/tokens", headers=auth(tokens["admin"]),
                          json={"name": "edge-7", "role": "pilot"}).json()
    assert client.get("/api/v1/me", headers=auth(created["token"])).json()["role"] == "pilot"
    assert client.delete(f"/api/v1/tokens/{created['id']}", headers=auth(tokens["admin"])).status_code == 204
    r = client.get("/api/v1/me", headers=auth(created["token"]))
    assert r.status_code == 401 and "revoked" in r.json()["error"]["message"]
    listed = client.get("/api/v1/tokens", headers=auth(tokens["admin"])).json()
    assert all("token" not in t for t in listed)


def test_expired_token_is_401(client) -> None:  # type: ignore[no-untyped-def]
    from datetime import UTC, datetime, timedelta

    from core.auth import create_token

    with client.app.state.db.session() as s:
        _, secret = create_token(s, "old", "admin", expires_at=datetime.now(UTC) - timedelta(seconds=1))
    assert client.get("/api/v1/me", headers=auth(secret)).status_code == 401


def test_query_token_only_where_headers_cannot_be_sent(client, tokens) -> None:  # type: ignore[no-untyped-def]
    assert client.get(f"/api/v1/me?access_token={tokens['admin']}").status_code == 401


@pytest.mark.parametrize(
    ("path", "body", "where"),
    [
        ("/api/v1/events", b"{not json", "body"),
        ("/api/v1/events", {"specversion": "1.0", "id": "1", "source": "s", "type": "skypatrol.t.v1",
                            "surprise": 1}, "surprise"),
        ("/api/v1/events", {"specversion": "1.0", "id": 5, "source": "s", "type": "skypatrol.t.v1"}, "id"),
        ("/api/v1/events", {"specversion": "0.3", "id": "1", "source": "s", "type": "skypatrol.t.v1"},
         "specversion"),
        ("/api/v1/events", {"specversion": "1.0", "id": "1", "source": "s", "type": "Bad Type"}, "type"),
        ("/api/v1/events", {"specversion": "1.0", "id": "1", "source": "s", "type": "skypatrol.t.v1",
                            "seq": 99}, "seq"),
        ("/api/v1/users", {"name": "x", "role": "god"}, "role"),
        ("/api/v1/users", {"name": "x", "role": "pilot", "extra": True}, "extra"),
        ("/api/v1/tokens", {"name": "x", "role": "pilot", "expires_in_s": "soon"}, "expires_in_s"),
    ],
)
def test_malformed_bodies_are_422_and_store_nothing(client, tokens, path, body, where) -> None:  # type: ignore[no-untyped-def]
    headers = auth(tokens["admin"])
    before_events = client.get("/api/v1/events", headers=headers).json()["events"]
    before_users = client.get("/api/v1/users", headers=headers).json()
    if isinstance(body, bytes):
        r = client.post(path, content=body, headers={**headers, "Content-Type": "application/json"})
    else:
        r = client.post(path, json=body, headers=headers)
    assert r.status_code == 422, r.text
    err = r.json()["error"]
    assert err["code"] == "validation_error" and where in err["message"]
    assert client.get("/api/v1/events", headers=headers).json()["events"] == before_events
    assert client.get("/api/v1/users", headers=headers).json() == before_users


def test_mutations_are_audited(client, tokens) -> None:  # type: ignore[no-untyped-def]
    h = auth(tokens["admin"])
    u = client.post("/api/v1/users", headers=h, json={"name": "li.wei", "role": "pilot",
                                                     "licence_no": "UTC-2024-0001"}).json()
    client.patch(f"/api/v1/users/{u['id']}", headers=h, json={"role": "admin"})
    client.post("/api/v1/events", headers=auth(tokens["pilot"]),
                json={"specversion": "1.0", "id": "e1", "source": "edge", "type": "skypatrol.test.v1"})
    rows = client.get("/api/v1/audit", headers=h).json()
    actions = [(r["action"], r["actor"], r["target_ids"]) for r in rows]
    assert ("user.create", "test-admin", [str(u["id"])]) in actions
    assert ("user.update", "test-admin", [str(u["id"])]) in actions
    assert any(a == "events.ingest" and who == "test-pilot" for a, who, _ in actions)


def test_duplicate_user_is_409_and_unknown_is_404(client, tokens) -> None:  # type: ignore[no-untyped-def]
    h = auth(tokens["admin"])
    assert client.post("/api/v1/users", headers=h, json={"name": "a", "role": "viewer"}).status_code == 201
    r = client.post("/api/v1/users", headers=h, json={"name": "a", "role": "viewer"})
    assert r.status_code == 409 and r.json()["error"]["code"] == "conflict"
    r = client.get("/api/v1/users/999", headers=h)
    assert r.status_code == 404 and "999" in r.json()["error"]["message"]
    assert client.get("/nope").json()["error"]["code"] == "not_found"


def test_health_ready_metrics_openapi(client, tokens) -> None:  # type: ignore[no-untyped-def]
    assert client.get("/healthz").json() == {"status": "ok"}
    ready = client.get("/readyz")
    assert ready.status_code == 200 and ready.json()["checks"]["database"] is True
    client.get("/api/v1/me", headers=auth(tokens["viewer"]))
    metrics = client.get("/metrics").text
    assert 'skypatrol_http_requests_total{method="GET",route="/api/v1/me",status="200"}' in metrics
    assert "skypatrol_event_last_seq" in metrics
    spec = client.get("/openapi.json").json()
    assert "/api/v1/events/stream" in spec["paths"]
