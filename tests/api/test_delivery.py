"""Delivery through a real server process: SSE and WebSocket resume, kill -9 durability, CLI tail."""

from __future__ import annotations

import json
import secrets
import subprocess
import sys
import threading
import time

import httpx
import pytest
from websockets.sync.client import connect as ws_connect

from tests.conftest import ROOT, auth

ADMIN = "sp_test_admin_" + secrets.token_hex(8)


def _event(i: int, source: str = "edge-test") -> dict:
    return {"specversion": "1.0", "id": f"{source}-{i}", "source": source, "type": "skypatrol.test.v1",
            "subject": f"d{i % 3}", "data": {"i": i}}


def _post(url: str, body: object) -> httpx.Response:
    return httpx.post(url + "/api/v1/events", json=body, headers=auth(ADMIN), timeout=10)


def _sse_read(url: str, n: int, last_event_id: int | None = None, params: dict | None = None,
              headers: dict | None = None) -> list[dict]:
    """Read n stored events from the SSE stream, then drop the connection."""
    h = {**(headers if headers is not None else auth(ADMIN))}
    if last_event_id is not None:
        h["Last-Event-ID"] = str(last_event_id)
    out: list[dict] = []
    with httpx.stream("GET", url + "/api/v1/events/stream", headers=h, params=params or {},
                      timeout=httpx.Timeout(10, read=20)) as r:
        assert r.status_code == 200, r.read()
        assert r.headers["content-type"].startswith("text/event-stream")
        sid = None
        for line in r.iter_lines():
            assert not line.startswith("event:"), "no event field (shared/DESIGN.md)"
            if line.startswith("id: "):
                sid = int(line[4:])
            elif line.startswith("data: "):
                ev = json.loads(line[6:])
                assert sid == ev["seq"]
                out.append(ev)
                if len(out) >= n:
                    break
    return out


@pytest.fixture
def server(server_factory, tmp_path):  # type: ignore[no-untyped-def]
    return server_factory(f"sqlite:///{tmp_path / 'srv.db'}", ADMIN).start()


def test_sse_reconnect_with_last_event_id_has_no_gap_and_no_duplicate(server) -> None:  # type: ignore[no-untyped-def]
    url = server.url
    assert _post(url, [_event(i) for i in range(50)]).status_code == 201
    first = _sse_read(url, 20, params={"after": 0})
    assert [e["seq"] for e in first] == list(range(1, 21))

    def publish_more() -> None:
        for i in range(50, 150):
            _post(url, _event(i))

    t = threading.Thread(target=publish_more)
    t.start()
    rest = _sse_read(url, 130, last_event_id=first[-1]["seq"])
    t.join()
    seqs = [e["seq"] for e in first + rest]
    assert seqs == list(range(1, 151))
    assert [e["data"]["i"] for e in first + rest] == list(range(150))
    assert all(e["specversion"] == "1.0" and e["time"].endswith("Z") for e in rest)


def test_sse_filters_and_query_token(server) -> None:  # type: ignore[no-untyped-def]
    _post(server.url, [_event(i) for i in range(9)])
    got = _sse_read(server.url, 3, params={"after": 0, "subject": "d1", "access_token": ADMIN}, headers={})
    assert [e["data"]["i"] for e in got] == [1, 4, 7]
    r = httpx.get(server.url + "/api/v1/events/stream", timeout=5)
    assert r.status_code == 401 and r.json()["error"]["code"] == "unauthorized"


def test_websocket_resumes_after_a_seq(server) -> None:  # type: ignore[no-untyped-def]
    _post(server.url, [_event(i) for i in range(30)])
    ws_url = server.url.replace("http", "ws") + "/api/v1/events/ws"
    got: list[dict] = []
    # max_queue=None: unread frames must not stall the client's close handshake (its flow control).
    with ws_connect(f"{ws_url}?after=0&access_token={ADMIN}", max_queue=None) as ws:
        while len(got) < 10:
            got.append(json.loads(ws.recv(timeout=10)))
    with ws_connect(f"{ws_url}?after={got[-1]['seq']}", additional_headers=auth(ADMIN)) as ws:
        _post(server.url, [_event(i) for i in range(30, 40)])
        while len(got) < 40:
            got.append(json.loads(ws.recv(timeout=10)))
    assert [e["seq"] for e in got] == list(range(1, 41))
    with pytest.raises(Exception), ws_connect(ws_url) as ws:  # noqa: B017 - refused handshake or close
        ws.recv(timeout=5)


def test_paged_reads_and_idempotent_ingest(server) -> None:  # type: ignore[no-untyped-def]
    body = [_event(i) for i in range(25)]
    first = _post(server.url, body).json()
    again = _post(server.url, body).json()  # a retried batch: same ids, same seqs, nothing new
    assert [e["seq"] for e in again["events"]] == [e["seq"] for e in first["events"]]
    seen, after = [], 0
    while True:
        page = httpx.get(server.url + "/api/v1/events", params={"after": after, "limit": 10},
                         headers=auth(ADMIN)).json()
        seen += page["events"]
        after = page["next_after"]
        if not page["has_more"]:
            break
    assert [e["seq"] for e in seen] == list(range(1, 26))


def test_cli_events_tail_follows_the_stream(server) -> None:  # type: ignore[no-untyped-def]
    _post(server.url, [_event(i) for i in range(5)])
    out = subprocess.run(
        [sys.executable, "-m", "skypatrol", "events", "tail", "--server", server.url, "--token", ADMIN,
         "--after", "2", "--count", "3"],
        capture_output=True, text=True, timeout=60, cwd=ROOT,
    )
    assert out.returncode == 0, out.stderr
    assert [json.loads(line)["seq"] for line in out.stdout.splitlines()] == [3, 4, 5]


@pytest.mark.parametrize("backend", ["sqlite", pytest.param("postgresql", marks=pytest.mark.postgres)])
def test_kill_9_loses_no_acknowledged_event(backend, server_factory, tmp_path, request) -> None:  # type: ignore[no-untyped-def]
    db_url = (f"sqlite:///{tmp_path / 'crash.db'}" if backend == "sqlite"
              else request.getfixturevalue("fresh_pg_url"))
    srv = server_factory(db_url, ADMIN)
    srv.start()
    acked: list[str] = []
    stop = threading.Event()

    def client(n: int) -> None:
        i = 0
        with httpx.Client(timeout=5) as c:
            while not stop.is_set():
                eid = f"c{n}-{i}"
                try:
                    r = c.post(srv.url + "/api/v1/events", headers=auth(ADMIN),
                               json={"specversion": "1.0", "id": eid, "source": "crash", "type": "skypatrol.test.v1",
                                     "data": {"n": n, "i": i}})
                    if r.status_code == 201:
                        acked.append(eid)
                except httpx.HTTPError:
                    pass  # the server died mid-request: this publish never returned
                i += 1

    threads = [threading.Thread(target=client, args=(n,)) for n in range(4)]
    for t in threads:
        t.start()
    time.sleep(1.5)
    srv.kill()  # SIGKILL while publishing
    stop.set()
    for t in threads:
        t.join()
    assert len(acked) > 20
    srv.start()
    events, after = [], 0
    while True:
        page = httpx.get(srv.url + "/api/v1/events", params={"after": after, "limit": 1000},
                         headers=auth(ADMIN)).json()
        events += page["events"]
        after = page["next_after"]
        if not page["has_more"]:
            break
    ids = [e["id"] for e in events]
    assert set(acked) <= set(ids), f"lost {len(set(acked) - set(ids))} acknowledged events"
    assert len(ids) == len(set(ids))
    assert [e["seq"] for e in events] == list(range(1, len(events) + 1))
    # The restarted server continues the sequence.
    nxt = _post(srv.url, _event(0, "after-restart")).json()["events"][0]["seq"]
    assert nxt == len(events) + 1
