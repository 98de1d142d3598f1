"""The edge worker against a real server: events and evidence delivered, nothing lost offline."""

from __future__ import annotations

import json
import subprocess
import sys
from pathlib import Path

import cv2
import httpx
import numpy as np

from inference.edge import OutboxSink
from tests.conftest import ROOT, free_port
from tests.inference.test_end_to_end import rendered, write_video_and_tlog  # noqa: F401 - fixture

TOKEN = "sp_edge_test_admin"


def _events(url: str) -> list[dict]:
    page = httpx.get(url + "/api/v1/events", params={"limit": 1000},
                     headers={"Authorization": f"Bearer {TOKEN}"}).json()
    return page["events"]


def test_edge_worker_delivers_events_and_evidence(tmp_path: Path, rendered: list, server_factory) -> None:  # noqa: F811
    srv = server_factory(f"sqlite:///{tmp_path / 'server.db'}", TOKEN).start()
    video, log, cam = write_video_and_tlog(tmp_path, rendered)
    r = subprocess.run(
        [sys.executable, "-m", "skypatrol", "edge", "--source", str(video), "--telemetry", str(log), "--camera",
         str(cam), "--drone", "d7", "--mission", "run-1", "--server", srv.url, "--token", TOKEN,
         "--data-dir", str(tmp_path / "edge")],
        capture_output=True, text=True, timeout=120, cwd=ROOT)
    assert r.returncode == 0, r.stderr[-2000:]
    summary = json.loads(r.stdout.strip().splitlines()[-1])
    assert summary["events"] > 0 and summary["delivered"] == summary["events"] and summary["pending"] == 0
    events = _events(srv.url)
    assert len(events) == summary["events"]
    assert {e["source"] for e in events} == {"urn:skypatrol:edge:d7"}
    assert "skypatrol.detection.road_works.v1" in {e["type"] for e in events}
    names = {ev["name"] for e in events for ev in e["data"].get("evidence", [])}
    assert names
    for name in names:  # every evidence image an event names is on the server, as <img> loads it
        img = httpx.get(f"{srv.url}/api/v1/evidence/{name}", params={"access_token": TOKEN})
        assert img.status_code == 200 and img.headers["content-type"] == "image/jpeg"
        assert cv2.imdecode(np.frombuffer(img.content, np.uint8), cv2.IMREAD_COLOR) is not None


async def test_outbox_survives_an_outage_and_a_restart(tmp_path: Path, server_factory) -> None:
    port = free_port()
    evidence_dir = tmp_path / "evidence"
    evidence_dir.mkdir()
    _ok, jpg = cv2.imencode(".jpg", np.full((32, 48, 3), 120, np.uint8))
    import hashlib

    name = hashlib.sha256(jpg.tobytes()).hexdigest() + ".jpg"
    (evidence_dir / name).write_bytes(jpg.tobytes())
    url = f"http://127.0.0.1:{port}"
    sink = OutboxSink(url, TOKEN, tmp_path / "outbox.sqlite", evidence_dir, source="urn:skypatrol:edge:d9")
    for i in range(3):
        await sink.publish("skypatrol.detection.muck_truck.v1",
                           {"i": i, "evidence": [{"sha256": name[:64], "name": name}]}, subject="run-9")
    assert not await sink.drain(1.0)  # nobody listens yet
    assert sink.pending == 3
    await sink.close()

    srv = server_factory(f"sqlite:///{tmp_path / 'server.db'}", TOKEN, port=port).start()
    sink = OutboxSink(url, TOKEN, tmp_path / "outbox.sqlite", evidence_dir, source="urn:skypatrol:edge:d9")
    assert sink.pending == 3  # the restarted worker still has them
    assert await sink.drain(20.0)
    await sink.close()
    events = _events(srv.url)
    assert [e["data"]["i"] for e in events] == [0, 1, 2]
    assert httpx.get(f"{url}/api/v1/evidence/{name}", params={"access_token": TOKEN}).status_code == 200


def test_evidence_uploads_are_checked(client, tokens) -> None:  # type: ignore[no-untyped-def]
    h = {"Authorization": f"Bearer {tokens['pilot']}"}
    r = client.post("/api/v1/evidence", content=b"not an image", headers={**h, "Content-Type": "image/jpeg"})
    assert r.status_code == 422 and "decodable" in r.json()["error"]["message"]
    r = client.post("/api/v1/evidence", content=b"GIF89a", headers={**h, "Content-Type": "image/gif"})
    assert r.status_code == 422 and "image/jpeg or image/png" in r.json()["error"]["message"]
    _ok, png = cv2.imencode(".png", np.zeros((10, 10, 3), np.uint8))
    first = client.post("/api/v1/evidence", content=png.tobytes(), headers={**h, "Content-Type": "image/png"})
    again = client.post("/api/v1/evidence", content=png.tobytes(), headers={**h, "Content-Type": "image/png"})
    assert first.status_code == again.status_code == 201 and first.json() == again.json()
    assert client.get("/api/v1/evidence/../../etc/passwd", headers=h).status_code in (404, 422)
    assert client.get("/api/v1/evidence/abc.jpg", headers=h).status_code == 422
    viewer = {"Authorization": f"Bearer {tokens['viewer']}"}
    got = client.get(f"/api/v1/evidence/{first.json()['name']}", headers=viewer)
    assert got.status_code == 200 and got.content == png.tobytes()


def test_evidence_older_than_the_retention_period_is_deleted(tmp_path: Path) -> None:
    import os
    import time

    from inference.api import prune_evidence

    old, new, other = tmp_path / ("a" * 64 + ".jpg"), tmp_path / ("b" * 64 + ".png"), tmp_path / "notes.txt"
    for p in (old, new, other):
        p.write_bytes(b"x")
    past = time.time() - 200 * 86400
    os.utime(old, (past, past))
    os.utime(other, (past, past))
    assert prune_evidence(tmp_path, 180) == 1
    assert not old.exists() and new.exists() and other.exists()
