"""Drone commands and telemetry over HTTP (and the CLI) with the app's own fleet manager flying
the simulator process: refusals by the state machine and by the vehicle are 409 with the reason,
a drone without a link is 503, successful commands are audited."""

from __future__ import annotations

import time
from pathlib import Path

import pytest
from fastapi.testclient import TestClient

from core.settings import FleetSettings, Settings
from skypatrol.app import create_app
from tests.conftest import auth

from .simfleet import free_udp_base

SIM_DRONES = 1
SIM_SPEED = 10.0


def poll(fn, timeout_s: float, what: str):  # type: ignore[no-untyped-def]
    deadline = time.monotonic() + timeout_s
    while True:
        value = fn()
        if value:
            return value
        if time.monotonic() > deadline:
            raise AssertionError(f"timed out after {timeout_s} s waiting for {what}")
        time.sleep(0.05)


@pytest.fixture
def fleet_client(sim, tmp_path: Path):  # type: ignore[no-untyped-def]
    from core.auth import create_token

    settings = Settings(data_dir=tmp_path, database_url=f"sqlite:///{tmp_path / 'api.db'}", retention_days={},
                        fleet=FleetSettings(sync_interval_s=0.3, link_lost_after_s=1.0, landed_idle_after_s=0.5,
                                            connect_timeout_s=2.0))
    with TestClient(create_app(settings), raise_server_exceptions=False) as c:
        tokens = {}
        with c.app.state.db.session() as s:
            for role in ("viewer", "pilot"):
                _, tokens[role] = create_token(s, f"t-{role}", role)
        c.tokens = tokens  # type: ignore[attr-defined]
        yield c


def test_commands_refused_as_409_with_the_reason_and_503_without_a_link(sim, fleet_client, monkeypatch,
                                                                         capsys) -> None:  # type: ignore[no-untyped-def]
    c, pilot, viewer = fleet_client, auth(fleet_client.tokens["pilot"]), auth(fleet_client.tokens["viewer"])
    silent = f"udpin://0.0.0.0:{free_udp_base(1)}"  # nothing ever answers there
    for body in ({"id": "a1", "name": "a1", "connection_url": sim.url(1)},
                 {"id": "a2", "name": "a2", "connection_url": silent}, {"id": "a3", "name": "a3"}):
        assert c.post("/api/v1/drones", json=body, headers=pilot).status_code == 201

    def telemetry() -> dict:
        r = c.get("/api/v1/drones/a1/telemetry", headers=viewer)
        return r.json() if r.status_code == 200 else {}

    t = poll(lambda: (t := telemetry()).get("state") == "idle" and t.get("lat") and t, 20, "a1 idle")
    assert t["connected"] and t["battery_remaining"] > 0.9 and t["flight_mode"] == "hold" and not t["armed"]
    assert c.get("/api/v1/drones/a1", headers=viewer).json()["state"] == "idle"  # persisted

    # The state machine refuses: an idle drone cannot be sent home.
    r = c.post("/api/v1/drones/a1/commands/rtl", headers=pilot)
    assert r.status_code == 409 and "idle" in r.json()["error"]["message"], r.text
    assert c.post("/api/v1/drones/a1/commands/land", headers=viewer).status_code == 403
    assert c.post("/api/v1/drones/a1/commands/dance", headers=pilot).status_code == 422
    assert c.post("/api/v1/drones/nope/commands/rtl", headers=pilot).status_code == 404
    for drone_id in ("a2", "a3"):  # never connected / no connection URL
        r = c.post(f"/api/v1/drones/{drone_id}/commands/land", headers=pilot)
        assert r.status_code == 503, r.text

    # The vehicle refuses: airborne without a mission, resume cannot switch to Mission mode.
    manager = c.app.state.fleet
    vehicle = manager.vehicle("a1")
    c.portal.call(vehicle.action.arm)
    c.portal.call(vehicle.action.takeoff, 15.0)
    poll(lambda: telemetry().get("state") == "airborne", 20, "airborne")
    r = c.post("/api/v1/drones/a1/commands/resume", headers=pilot)
    assert r.status_code == 409, r.text
    assert r.json()["error"]["message"].startswith("vehicle refused resume:")
    assert r.json()["error"]["details"]["result"]
    r = c.post("/api/v1/drones/a1/commands/hold", headers=pilot)
    assert r.status_code == 200 and r.json() == {"drone_id": "a1", "command": "hold", "state": "airborne"}, r.text
    poll(lambda: telemetry().get("flight_mode") == "hold", 10, "hold")
    r = c.post("/api/v1/drones/a3/commands/kill", headers=pilot)
    assert r.status_code == 503, r.text  # no link: nothing to stop, said so

    # The CLI says the same and exits 1.
    from core import client as core_client
    from skypatrol.cli import main

    class TestApiClient(core_client.ApiClient):
        def __init__(self, server: str, token: str | None, timeout_s: float = 15.0) -> None:
            self.server = server
            self.http = c
            c.headers["Authorization"] = f"Bearer {token}"

    monkeypatch.setattr("fleet.cli.ApiClient", TestApiClient)
    with pytest.raises(SystemExit) as exited:
        main(["drone", "resume", "a1", "--token", fleet_client.tokens["pilot"]])
    assert exited.value.code == 1 and "vehicle refused resume" in capsys.readouterr().err
    with pytest.raises(SystemExit) as exited:
        main(["drone", "land", "a1", "--token", fleet_client.tokens["pilot"]])
    assert exited.value.code in (0, None)
    assert '"command": "land"' in capsys.readouterr().out
    poll(lambda: telemetry().get("state") in ("landed", "idle"), 30, "landed")
    r = c.post("/api/v1/drones/a1/commands/land", headers=pilot)
    assert r.status_code == 409  # on the ground: nothing to land
    poll(lambda: telemetry().get("state") == "idle", 30, "idle")
    with pytest.raises(SystemExit) as exited:
        main(["drone", "kill", "a1", "--token", fleet_client.tokens["pilot"]])  # on the ground: motors stay off
    assert exited.value.code in (0, None) and '"command": "kill"' in capsys.readouterr().out
    assert not telemetry()["armed"]

    c.headers.pop("Authorization", None)
    audit = c.get("/api/v1/audit", headers=auth(_admin(c))).json()
    commands = [a for a in audit if a["action"].startswith("drone.command.")]
    # refusals change nothing
    assert [a["action"] for a in commands] == ["drone.command.hold", "drone.command.land", "drone.command.kill"]
    assert {a["actor_role"] for a in commands} == {"pilot"}


def _admin(c: TestClient) -> str:
    from core.auth import create_token

    with c.app.state.db.session() as s:
        return create_token(s, "t-admin", "admin")[1]
