"""Alerts: cases opened from alert events exactly once, worked through their statuses (audited,
published), and pushed to the city platform's webhook in order through its outages."""

from __future__ import annotations

import asyncio
import hashlib
import hmac
import json
import threading
import time
from collections.abc import Iterator
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from pathlib import Path
from typing import Any

import pytest
from fastapi.testclient import TestClient

from core.db import Database
from core.events import EventBus
from core.models import Alert, AuditLog
from core.settings import AlertSettings, Settings, WebhookSettings
from skypatrol.alerts import AlertService
from skypatrol.app import create_app
from tests.conftest import auth, wait_for

OFF_ROUTE = "skypatrol.alert.muck_truck_off_route.v1"


def ce(i: int, type: str = OFF_ROUTE, subject: str = "track-1") -> dict[str, Any]:
    return {"specversion": "1.0", "id": f"edge-{i}", "source": "urn:skypatrol:edge:d1", "type": type,
            "subject": subject, "data": {"i": i, "track_id": subject}}


def test_alert_events_open_cases_that_are_worked_through_their_statuses(client, tokens) -> None:  # type: ignore[no-untyped-def]
    pilot, viewer = auth(tokens["pilot"]), auth(tokens["viewer"])
    body = [ce(1), ce(2, "skypatrol.telemetry.v1"), ce(3, "skypatrol.drone.failsafe.v1", "d1")]
    assert client.post("/api/v1/events", json=body, headers=pilot).status_code in (200, 201)
    alerts = wait_for(lambda: len(r := client.get("/api/v1/alerts", headers=viewer).json()) == 2 and r)
    assert [a["type"] for a in alerts] == ["skypatrol.drone.failsafe.v1", OFF_ROUTE]  # newest first
    assert {a["status"] for a in alerts} == {"open"}
    alert_id = alerts[1]["id"]
    assert alerts[1]["data"]["track_id"] == "track-1"

    url = f"/api/v1/alerts/{alert_id}"
    assert client.post(url + "/acknowledge", headers=viewer).status_code == 403
    r = client.post(url + "/acknowledge", json={"note": "seen on camera 3"}, headers=pilot)
    assert r.status_code == 200 and r.json()["status"] == "acknowledged" and r.json()["updated_by"] == "test-pilot"
    r = client.post(url + "/assign", json={}, headers=pilot)
    assert r.status_code == 422 and "assignee" in r.json()["error"]["message"]
    r = client.post(url + "/assign", json={"assignee": "inspector-wang"}, headers=pilot)
    assert r.json()["status"] == "assigned" and r.json()["assignee"] == "inspector-wang"
    r = client.post(url + "/close", json={"note": "truck stopped, fined"}, headers=pilot)
    assert r.json()["status"] == "closed" and r.json()["note"] == "truck stopped, fined"
    r = client.post(url + "/acknowledge", headers=pilot)
    assert r.status_code == 409 and r.json()["error"]["message"] == f"cannot acknowledge alert {alert_id}: it is closed"
    assert client.post("/api/v1/alerts/nope/close", headers=pilot).status_code == 404
    assert client.post(url + "/close", json={"bogus": 1}, headers=pilot).status_code == 422
    assert client.get(url, headers=viewer).json()["status"] == "closed"  # the refusals changed nothing
    assert [a["id"] for a in client.get("/api/v1/alerts", params={"status": "closed"}, headers=viewer).json()] \
        == [alert_id]

    # Every change is audited and published; the status events open no case of their own.
    with client.app.state.db.session() as s:
        actions = [a.action for a in s.query(AuditLog).filter(AuditLog.target_type == "alert").order_by(AuditLog.id)]
    assert actions == ["alert.acknowledge", "alert.assign", "alert.close"]
    changes = client.get("/api/v1/events", params={"type": "skypatrol.alert.status_changed.v1"},
                         headers=viewer).json()["events"]
    assert [(e["subject"], e["data"]["status"]) for e in changes] == [
        (alert_id, "acknowledged"), (alert_id, "assigned"), (alert_id, "closed")]
    time.sleep(0.3)
    assert len(client.get("/api/v1/alerts", headers=viewer).json()) == 2


async def test_each_alert_event_opens_exactly_one_case_across_restarts(tmp_path: Path) -> None:
    db = Database(f"sqlite:///{tmp_path / 'a.db'}")
    db.upgrade()
    bus = EventBus(db)
    await bus.start()
    settings = AlertSettings()

    async def run_service(until: int) -> None:
        svc = AlertService(db, bus, settings)
        await svc.start()
        for _ in range(200):
            if svc.cursor >= until:
                break
            await asyncio.sleep(0.02)
        await svc.stop()

    first = [await bus.publish(OFF_ROUTE, {"n": n}, subject=f"t{n}") for n in range(3)]
    await run_service(first[-1].seq or 0)
    more = [await bus.publish("skypatrol.mission.started.v1", {}), await bus.publish(OFF_ROUTE, {"n": 3})]
    await run_service(more[-1].seq or 0)  # a new service resumes from the stored cursor
    await bus.stop()
    with db.session() as s:
        rows = s.query(Alert).order_by(Alert.seq).all()
        assert [r.data["n"] for r in rows] == [0, 1, 2, 3]
        assert [r.id for r in rows] == [e.id for e in first] + [more[1].id]
    db.dispose()


class Receiver:
    """A real HTTP endpoint standing in for the city platform: answers from a script of statuses."""

    def __init__(self) -> None:
        self.received: list[tuple[dict[str, Any], dict[str, str], bytes]] = []
        self.script: list[int] = []  # statuses to answer, in turn; then 200
        self.refuse_ids: set[str] = set()
        receiver = self

        class Handler(BaseHTTPRequestHandler):
            def do_POST(self) -> None:
                body = self.rfile.read(int(self.headers["Content-Length"]))
                doc = json.loads(body)
                status = receiver.script.pop(0) if receiver.script else 200
                if doc["id"] in receiver.refuse_ids:
                    status = 400
                if status == 200:
                    receiver.received.append((doc, dict(self.headers), body))
                self.send_response(status)
                self.send_header("Content-Length", "0")
                self.end_headers()

            def log_message(self, *args: Any) -> None:
                pass

        self.server = ThreadingHTTPServer(("127.0.0.1", 0), Handler)
        self.url = f"http://127.0.0.1:{self.server.server_address[1]}/hook"
        threading.Thread(target=self.server.serve_forever, daemon=True).start()

    def ids(self) -> list[str]:
        return [d["id"] for d, _, _ in self.received]


@pytest.fixture
def receiver() -> Iterator[Receiver]:
    r = Receiver()
    yield r
    r.server.shutdown()


def webhook_app(tmp_path: Path, receiver: Receiver) -> TestClient:
    hook = WebhookSettings(url=receiver.url, name="city", secret="s3cret")
    settings = Settings(data_dir=tmp_path, database_url=f"sqlite:///{tmp_path / 'w.db'}", retention_days={},
                        admin_token="sp_admin_webhook_test", webhooks=[hook])
    return TestClient(create_app(settings), raise_server_exceptions=False)


def test_webhook_delivers_in_order_through_failures_and_restarts(tmp_path: Path, receiver: Receiver) -> None:
    admin = auth("sp_admin_webhook_test")
    receiver.script = [503, 503, 500]  # the platform is down for the first three attempts
    receiver.refuse_ids = {"edge-2"}  # and will never take this one (HTTP 400): skipped
    with webhook_app(tmp_path, receiver) as c:
        body = [ce(1), ce(2), ce(3, "skypatrol.telemetry.v1"), ce(4)]
        assert c.post("/api/v1/events", json=body, headers=admin).status_code in (200, 201)
        wait_for(lambda: receiver.ids() == ["edge-1", "edge-4"], 20)
        forwarder = c.app.state.webhooks[0]
        assert forwarder.failures_total == 3 and forwarder.rejected_total == 1
    # Down while the server is stopped; the next server resumes from the stored cursor.
    with webhook_app(tmp_path, receiver) as c:
        c.post("/api/v1/events", json=[ce(5)], headers=admin)
        wait_for(lambda: receiver.ids()[-1:] == ["edge-5"], 20)
    assert receiver.ids() == ["edge-1", "edge-4", "edge-5"]  # nothing sent twice, nothing lost
    for doc, headers, raw in receiver.received:
        assert headers["Content-Type"] == "application/cloudevents+json"
        expected = "sha256=" + hmac.new(b"s3cret", raw, hashlib.sha256).hexdigest()
        assert headers["X-SkyPatrol-Signature"] == expected
        assert doc["specversion"] == "1.0" and doc["type"] == OFF_ROUTE and isinstance(doc["seq"], int)
    seqs = [d["seq"] for d, _, _ in receiver.received]
    assert seqs == sorted(seqs)


def test_cli_lists_and_works_alerts_on_a_running_server(server_factory, tmp_path: Path) -> None:  # type: ignore[no-untyped-def]
    import subprocess
    import sys

    import httpx

    admin = "sp_admin_alert_cli_" + "x" * 8
    server = server_factory(f"sqlite:///{tmp_path / 'cli.db'}", admin).start()
    httpx.post(server.url + "/api/v1/events", json=[ce(7)], headers=auth(admin)).raise_for_status()

    def cli(*args: str) -> subprocess.CompletedProcess[str]:
        return subprocess.run([sys.executable, "-m", "skypatrol", "alert", *args, "--server", server.url,
                               "--token", admin], capture_output=True, text=True, timeout=60)

    listed = wait_for(lambda: json.loads(cli("list", "--json").stdout) or None)
    alert_id = listed[0]["id"]
    assert cli("ack", alert_id).stdout.split() == [alert_id, "acknowledged"]
    assert cli("close", alert_id, "--note", "handled").returncode == 0
    refused = cli("ack", alert_id)
    assert refused.returncode == 1
    assert refused.stderr.strip().endswith(f"cannot acknowledge alert {alert_id}: it is closed")
    assert "Traceback" not in refused.stderr
    bad = cli("list", "--status", "lost")
    assert bad.returncode == 2 and "Traceback" not in bad.stderr
