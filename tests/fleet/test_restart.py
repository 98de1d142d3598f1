"""kill -9 of the server mid-flight: the restarted server re-attaches the run to its drone (progress
read back from the vehicle), the run completes and is reported once, no event is lost."""

from __future__ import annotations

import json

import httpx
import pytest

from missions.formats.qgc_plan import plan_document
from tests.conftest import wait_for

from .simfleet import Plan, start_sim, stop_sim

TOKEN = "sp_restart_admin"


@pytest.fixture
def sim():  # type: ignore[no-untyped-def]
    s = start_sim(1, 6.0)
    yield s
    stop_sim(s)


def test_server_killed_mid_flight_run_completes_once(sim, server_factory, tmp_path) -> None:  # type: ignore[no-untyped-def]
    env = {  # the vehicle waits out a platform restart before its own data-link failsafe (as configured)
        "SKYPATROL_FLEET__FAILSAFE_PARAMS": json.dumps({"NAV_DLL_ACT": 2, "COM_DL_LOSS_T": 120}),
        "SKYPATROL_FLEET__LANDED_IDLE_AFTER_S": "1",
    }
    srv = server_factory(f"sqlite:///{tmp_path / 'restart.db'}", TOKEN, extra_env=env).start()
    h = {"Authorization": f"Bearer {TOKEN}"}
    api = httpx.Client(base_url=srv.url, headers=h, timeout=30)
    assert api.post("/api/v1/drones", json={"id": "r1", "name": "r1", "connection_url": sim.url(1)}).status_code == 201
    home = sim.home(1)
    plan = (Plan(*home).takeoff(20).waypoint(100, 0, 20).waypoint(100, 100, 20).waypoint(0, 100, 20)
            .waypoint(0, 10, 20).rtl().plan)
    plan_id = api.post("/api/v1/plans", json={"name": "square", "mission": plan_document(plan)}).json()["id"]
    wait_for(lambda: api.get("/api/v1/drones/r1").json()["state"] == "idle", 60, "drone idle")
    run_id = api.post("/api/v1/missions", json={"plan_id": plan_id}).json()["id"]
    wait_for(lambda: api.get(f"/api/v1/missions/{run_id}").json()["state"] == "flying", 60, "run flying")
    wait_for(lambda: (api.get("/api/v1/drones/r1/telemetry").json().get("mission_current") or 0) >= 2, 60,
          "second waypoint under way")
    api.close()

    srv.kill()  # SIGKILL mid-flight
    srv.start()
    api = httpx.Client(base_url=srv.url, headers=h, timeout=30)
    run = wait_for(lambda: (r := api.get(f"/api/v1/missions/{run_id}").json())["state"]
                in ("completed", "failed", "aborted") and r, 120, "run finished")
    assert run["state"] == "completed", run
    events = api.get("/api/v1/events", params={"subject": run_id, "limit": 1000}).json()["events"]
    kinds = [e["type"].split(".")[2] for e in events if e["type"] != "skypatrol.mission.progress.v1"]
    assert kinds.count("started") == 1 and kinds.count("completed") == 1, kinds
    seqs = [e["seq"] for e in api.get("/api/v1/events", params={"limit": 1000}).json()["events"]]
    assert seqs == sorted(seqs) and len(seqs) == len(set(seqs))
    report = api.get(f"/api/v1/missions/{run_id}/report").json()
    assert report["state"] == "completed" and report["distance_m"] > 300 and len(report["track"]) >= 5
    page = httpx.get(f"{srv.url}/api/v1/missions/{run_id}/report.html", params={"access_token": TOKEN})
    assert page.status_code == 200 and run_id in page.text and "<polyline" in page.text
    runs = api.get("/api/v1/missions").json()
    assert [r["id"] for r in runs] == [run_id]  # nothing duplicated
    api.close()
