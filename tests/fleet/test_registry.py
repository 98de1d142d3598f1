"""The drone registry over HTTP and the per-drone state machine."""

from __future__ import annotations

import pytest

from core.errors import Refused
from fleet.state import COMMANDS, DroneState, DroneStateMachine
from tests.conftest import auth

S = DroneState


def test_drone_crud_with_audit(client, tokens) -> None:  # type: ignore[no-untyped-def]
    h = auth(tokens["pilot"])
    body = {"id": "js-01", "name": "Jinshan 1", "model": "M30T", "registration_no": "UAS-31-000123",
            "connection_url": "udpin://0.0.0.0:14540", "home": {"lat": 30.741, "lon": 121.342, "alt_amsl_m": 4}}
    r = client.post("/api/v1/drones", json=body, headers=h)
    assert r.status_code == 201, r.text
    assert r.json()["state"] == "offline" and r.json()["home"]["alt_amsl_m"] == 4
    assert client.post("/api/v1/drones", json=body, headers=h).status_code == 409
    dup_url = {**body, "id": "js-02"}
    assert "14540" in client.post("/api/v1/drones", json=dup_url, headers=h).json()["error"]["message"]
    r = client.patch("/api/v1/drones/js-01", json={"dock": "dock-A", "home": None}, headers=h)
    assert r.json()["dock"] == "dock-A" and r.json()["home"] is None
    assert [d["id"] for d in client.get("/api/v1/drones", headers=auth(tokens["viewer"])).json()] == ["js-01"]
    assert client.delete("/api/v1/drones/js-01", headers=h).status_code == 204
    assert client.get("/api/v1/drones/js-01", headers=h).status_code == 404
    actions = [a["action"] for a in client.get("/api/v1/audit", headers=auth(tokens["admin"])).json()]
    assert actions == ["drone.create", "drone.update", "drone.delete"]


@pytest.mark.parametrize("bad", [
    {"id": "Bad Id", "name": "x"},
    {"id": "ok", "name": "x", "connection_url": "http://example"},
    {"id": "ok", "name": "x", "home": {"lat": 91, "lon": 0}},
    {"id": "ok", "name": "x", "colour": "red"},
])
def test_bad_drone_bodies_are_422(client, tokens, bad) -> None:  # type: ignore[no-untyped-def]
    r = client.post("/api/v1/drones", json=bad, headers=auth(tokens["pilot"]))
    assert r.status_code == 422
    assert client.get("/api/v1/drones", headers=auth(tokens["pilot"])).json() == []


def test_a_flying_drone_cannot_be_removed(client, tokens) -> None:  # type: ignore[no-untyped-def]
    from core.models import Drone

    h = auth(tokens["pilot"])
    client.post("/api/v1/drones", json={"id": "js-03", "name": "3"}, headers=h)
    with client.app.state.db.session() as s:
        s.get(Drone, "js-03").state = "airborne"
    r = client.delete("/api/v1/drones/js-03", headers=h)
    assert r.status_code == 409 and "airborne" in r.json()["error"]["message"]


def test_state_machine_follows_the_flight() -> None:
    m = DroneStateMachine("d1")
    for s in (S.IDLE, S.PREFLIGHT, S.AIRBORNE, S.RETURNING, S.LANDED, S.IDLE):
        assert m.transition(s)
    assert not m.transition(S.IDLE)
    with pytest.raises(Refused, match="cannot go from idle to returning"):
        m.transition(S.RETURNING)


def test_link_loss_and_reconciliation() -> None:
    m = DroneStateMachine("d1", S.AIRBORNE)
    m.transition(S.OFFLINE)
    m.transition(S.RETURNING)  # the vehicle came back while flying home: reconciled, not restarted
    assert m.state == S.RETURNING


def test_commands_refused_by_state() -> None:
    m = DroneStateMachine("d1", S.IDLE)
    with pytest.raises(Refused, match="rtl needs one of"):
        m.check_command("rtl")
    m.state = S.AIRBORNE
    for c in ("rtl", "land", "pause", "resume"):
        m.check_command(c)
    with pytest.raises(Refused, match="unknown command"):
        m.check_command("dance")
    m.state = S.OFFLINE
    assert all(S.OFFLINE not in allowed for allowed in COMMANDS.values())


def test_drone_cli_against_a_server(server_factory, tmp_path) -> None:  # type: ignore[no-untyped-def]
    import json

    from tests.test_cli import sp

    srv = server_factory(f"sqlite:///{tmp_path / 'cli.db'}", "sp_cli_admin_token").start()
    env = {"SKYPATROL_SERVER": srv.url, "SKYPATROL_TOKEN": "sp_cli_admin_token"}
    r = sp("drone", "add", "js-09", "--url", "udpin://0.0.0.0:14549", "--home", "30.74,121.34,4", env=env)
    assert r.returncode == 0, r.stderr
    assert json.loads(r.stdout)["home"] == {"lat": 30.74, "lon": 121.34, "alt_amsl_m": 4.0}
    assert "js-09\toffline" in sp("drone", "list", env=env).stdout
    bad = sp("drone", "add", "js-10", "--home", "north", env=env)
    assert bad.returncode == 2 and "--home" in bad.stderr and "Traceback" not in bad.stderr
    dup = sp("drone", "add", "js-09", env=env)
    assert dup.returncode == 1 and "exists already" in dup.stderr
    assert sp("drone", "rm", "nope", env=env).returncode == 2
    r = sp("drone", "maintenance", "js-09", "--record", "service", "--note", "first check", "--json", env=env)
    assert r.returncode == 0 and [x["kind"] for x in json.loads(r.stdout)["records"]] == ["service"]
    assert "0 flights" in sp("drone", "maintenance", "js-09", env=env).stdout
    bad = sp("drone", "maintenance", "js-09", "--record", "polish", env=env)
    assert bad.returncode == 2 and "kind" in bad.stderr and "Traceback" not in bad.stderr
