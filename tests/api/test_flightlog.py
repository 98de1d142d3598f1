"""Per-run flight logs: MAVLink packed back into a .tlog that pymavlink reads, served per run."""

from __future__ import annotations

from datetime import UTC, datetime
from pathlib import Path

from pymavlink import mavutil

from core.models import Mission
from fleet.flightlog import TlogWriter
from tests.conftest import auth


def test_tlog_writer_packs_messages_pymavlink_reads_back(tmp_path: Path) -> None:
    w = TlogWriter(tmp_path / "f.tlog")
    t0 = 1_764_000_000_000_000
    assert w.write("HEARTBEAT", 3, 1, {"type": 2, "autopilot": 12, "base_mode": 29, "custom_mode": 50593792,
                                       "system_status": 4, "mavlink_version": 3}, t0)
    assert w.write("GLOBAL_POSITION_INT", 3, 1, {"time_boot_ms": 1000, "lat": 307410020, "lon": 1213419995,
                                                 "alt": 44066, "relative_alt": 40000, "hdg": 9000}, t0 + 100_000)
    assert w.write("STATUSTEXT", 3, 1, {"severity": 6, "text": "Takeoff detected"}, t0 + 200_000)
    assert w.write("ATTITUDE_QUATERNION", 3, 1, {"q1": 1.0, "repr_offset_q": [0.0, 0.0, 0.0, 0.0]}, t0 + 300_000)
    assert not w.write("NO_SUCH_MESSAGE", 3, 1, {}, t0)
    w.close()
    log = mavutil.mavlink_connection(str(tmp_path / "f.tlog"), dialect="common")
    got = []
    while (m := log.recv_match()) is not None:
        got.append((m.get_type(), m.get_srcSystem(), round(m._timestamp, 1)))
        if m.get_type() == "GLOBAL_POSITION_INT":
            assert (m.lat, m.lon, m.relative_alt) == (307410020, 1213419995, 40000)
        if m.get_type() == "STATUSTEXT":
            assert m.text == "Takeoff detected"
    assert got == [("HEARTBEAT", 3, 1764000000.0), ("GLOBAL_POSITION_INT", 3, 1764000000.1),
                   ("STATUSTEXT", 3, 1764000000.2), ("ATTITUDE_QUATERNION", 3, 1764000000.3)]


def test_flight_log_is_served_per_run(client, tokens, settings) -> None:  # type: ignore[no-untyped-def]
    viewer = auth(tokens["viewer"])
    with client.app.state.db.session() as s:
        s.add(Mission(id="run-abc", state="completed", planned_start=datetime.now(UTC)))
    r = client.get("/api/v1/missions/run-abc/flightlog.tlog", headers=viewer)
    assert r.status_code == 404 and "no flight log" in r.json()["error"]["message"]
    assert client.get("/api/v1/missions/run-nope/flightlog.tlog", headers=viewer).status_code == 404
    w = TlogWriter(settings.data_dir / "flightlogs" / "run-abc.tlog")
    w.write("HEARTBEAT", 1, 1, {"type": 2, "autopilot": 12}, 1)
    w.close()
    r = client.get("/api/v1/missions/run-abc/flightlog.tlog", params={"access_token": tokens["viewer"]})
    assert r.status_code == 200 and r.content == (settings.data_dir / "flightlogs" / "run-abc.tlog").read_bytes()
    assert 'filename="run-abc.tlog"' in r.headers["content-disposition"]
    assert client.get("/api/v1/missions/run-abc/flightlog.tlog").status_code == 401
