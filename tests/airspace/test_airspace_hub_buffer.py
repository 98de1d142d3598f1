"""HubClient's offline buffer of position reports, in memory or in a SQLite file that survives a
restart; the hub is an in-process mock that can be down."""

from __future__ import annotations

import json
from datetime import UTC, datetime, timedelta
from pathlib import Path

import httpx
import pytest

from airspace.authority import PositionReport
from airspace.hub.client import HubClient
from core.errors import BadInput

T0 = datetime(2025, 3, 3, 10, 0, tzinfo=UTC)


class MockHub:
    def __init__(self) -> None:
        self.up = False
        self.batches: list[list[datetime]] = []

    def __call__(self, request: httpx.Request) -> httpx.Response:
        if not self.up:
            raise httpx.ConnectError("refused", request=request)
        if request.url.path == "/v1/positions":
            reports = json.loads(request.content)["reports"]
            self.batches.append([datetime.fromisoformat(r["time"]) for r in reports])
            return httpx.Response(200, json={"accepted": len(reports)})
        return httpx.Response(200, json={"status": "ok"})

    @property
    def received(self) -> list[datetime]:
        return [t for b in self.batches for t in b]


def reports(*seconds: int) -> list[PositionReport]:
    return [
        PositionReport(
            intent_id="i-1", drone_id="d-1", time=T0 + timedelta(seconds=s), lat=30.74, lon=121.34, alt_amsl_m=54.0
        )
        for s in seconds
    ]


def client(hub: MockHub, **kw) -> HubClient:  # type: ignore[no-untyped-def]
    return HubClient("http://hub.test", retries=0, transport=httpx.MockTransport(hub), sleep=lambda s: None, **kw)


@pytest.mark.parametrize("file_backed", [False, True])
def test_buffer_keeps_order_and_flushes_in_batches(tmp_path: Path, file_backed: bool) -> None:
    hub = MockHub()
    path = tmp_path / "positions.sqlite" if file_backed else None
    with client(hub, buffer_path=path, batch_max=2) as c:
        assert c.report_positions(reports(0, 1, 2)) == 0 and c.buffered == 3
        assert not c.dispatch_readiness().ok
        hub.up = True
        assert c.report_positions(reports(3, 4)) == 5 and c.buffered == 0
    assert [len(b) for b in hub.batches] == [2, 2, 1]
    assert hub.received == [T0 + timedelta(seconds=s) for s in range(5)]


def test_file_backed_buffer_survives_a_restart(tmp_path: Path) -> None:
    hub = MockHub()
    path = tmp_path / "data" / "hub-positions.sqlite"
    with client(hub, buffer_path=path) as c:
        c.report_positions(reports(0, 1))
        c.report_positions(reports(2))
        assert c.buffered == 3
    # A new process: the reports are still there, and go out when the hub answers.
    with client(hub, buffer_path=path) as c:
        assert c.buffered == 3
        hub.up = True
        assert c.dispatch_readiness().ok  # a health check that succeeds flushes the buffer
        assert c.buffered == 0
    assert hub.received == [T0 + timedelta(seconds=s) for s in range(3)]
    with client(hub, buffer_path=path) as c:
        assert c.buffered == 0  # delivered reports are gone from the file too


def test_full_buffer_drops_the_oldest_in_memory_and_on_file(tmp_path: Path) -> None:
    for path in (None, tmp_path / "b.sqlite"):
        hub = MockHub()
        with client(hub, buffer_path=path, buffer_max=3) as c:
            c.report_positions(reports(0, 1))
            c.report_positions(reports(2, 3, 4))
            assert c.buffered == 3
            hub.up = True
            c.flush()
        assert hub.received == [T0 + timedelta(seconds=s) for s in (2, 3, 4)]


def test_unusable_buffer_path_is_bad_input(tmp_path: Path) -> None:
    (tmp_path / "file").write_text("x")
    with pytest.raises(BadInput, match="position buffer"):
        client(MockHub(), buffer_path=tmp_path / "file" / "positions.sqlite")
