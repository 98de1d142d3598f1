"""Pilot control of runs and the weather gate: approval, postpone/abort on weather, re-fly from the
breakpoint (simulator process over MAVSDK where a flight is involved)."""

from __future__ import annotations

import asyncio
import json
import uuid
from datetime import UTC, datetime

from airspace.local_authority import LocalAuthority
from core.models import Event as EventRow
from core.models import Mission
from core.models import Plan as PlanRow
from core.settings import WeatherLimits, WeatherSettings
from fleet.dispatcher import Dispatcher, DispatchSettings, resume_plan
from fleet.state import DroneState
from missions.formats.qgc_plan import plan_document
from missions.items import MavCmd, MissionItem, MissionPlan

from .simfleet import Plan, run_kinds, run_row, wait_until

SIM_DRONES = 3
SIM_SPEED = 10.0


async def _fleet(sim, make_fleet, drone: str, vehicle: int):  # type: ignore[no-untyped-def]
    manager, rec = await make_fleet({drone: sim.url(vehicle)})
    await wait_until(lambda: manager.links[drone].link_up and manager.state(drone) == DroneState.IDLE
                     and manager.links[drone].tel.battery is not None, 30, "idle")
    plan = Plan(*sim.home(vehicle)).takeoff(10).waypoint(30, 0, 10).rtl().plan
    plan_id = uuid.uuid4().hex
    with manager.db.session() as s:
        s.add(PlanRow(id=plan_id, name="p", doc={"sorties": [{"plan": plan_document(plan)}]}))
    return manager, rec, plan_id


async def test_weather_abort_and_postpone_then_fly(sim, make_fleet) -> None:  # type: ignore[no-untyped-def]
    manager, rec, plan_id = await _fleet(sim, make_fleet, "w1", 1)
    db = manager.db
    stormy = WeatherSettings(wind_m_s=14.0, limits={"*": WeatherLimits(max_wind_m_s=10.0)}, postpone_retry_s=0.5)
    dispatcher = Dispatcher(db, rec, manager, LocalAuthority(), weather_settings=stormy)
    with db.session() as s:
        s.add(Mission(id="run-abort", plan_id=plan_id, state="scheduled", doc={"weather_policy": "abort"}))
        s.add(Mission(id="run-wait", plan_id=plan_id, state="scheduled", doc={"weather_policy": "postpone"}))
    dispatcher.submit("run-abort")
    await dispatcher.wait("run-abort")
    run = run_row(db, "run-abort")
    assert run.state == "aborted" and run.reason == "weather: wind 14.0 m/s above 10.0"
    dispatcher.submit("run-wait")
    await wait_until(lambda: "postponed" in run_kinds(rec, "run-wait"), 10, "postponed")
    assert manager.state("w1") == DroneState.IDLE  # nothing took off in the storm
    stormy.wind_m_s = 4.0  # the wind drops
    await asyncio.wait_for(dispatcher.wait("run-wait"), 60)
    assert run_row(db, "run-wait").state == "completed", run_row(db, "run-wait").reason
    await dispatcher.stop()


async def test_a_run_waits_for_a_pilots_approval(sim, make_fleet) -> None:  # type: ignore[no-untyped-def]
    manager, rec, plan_id = await _fleet(sim, make_fleet, "a1", 2)
    db = manager.db
    dispatcher = Dispatcher(db, rec, manager, LocalAuthority())
    with db.session() as s:
        s.add(Mission(id="run-approve", plan_id=plan_id, state="scheduled", doc={"requires_approval": True}))
    dispatcher.submit("run-approve")
    await wait_until(lambda: "awaiting_approval" in run_kinds(rec, "run-approve"), 10, "awaiting approval")
    await asyncio.sleep(1.0)
    assert run_row(db, "run-approve").state == "scheduled" and manager.state("a1") == DroneState.IDLE
    await dispatcher.approve("run-approve", "duty-officer")
    await asyncio.wait_for(dispatcher.wait("run-approve"), 60)
    run = run_row(db, "run-approve")
    assert run.state == "completed" and run.doc["approved_by"] == "duty-officer"
    await dispatcher.stop()


async def test_a_run_waits_for_a_drone_whose_health_checks_are_settling(sim, make_fleet) -> None:  # type: ignore[no-untyped-def]
    """A drone connected and idle but not yet passing its checks (no GPS fix yet) is waited for up to
    `assign_wait_s`, so a run due just after the drone connects flies; one that never settles fails
    naming the checks."""
    manager, rec, plan_id = await _fleet(sim, make_fleet, "h1", 3)
    db = manager.db
    link = manager.links["h1"]
    await wait_until(lambda: link.snapshot()["health_ok"] is True, 10, "health ok")
    sim.control.set_gps(3, False)
    await wait_until(lambda: link.snapshot()["health_ok"] is False, 10, "health failing without GPS")
    with db.session() as s:
        s.add(Mission(id="run-never", plan_id=plan_id, state="scheduled"))
        s.add(Mission(id="run-settle", plan_id=plan_id, state="scheduled"))
    impatient = Dispatcher(db, rec, manager, LocalAuthority(), DispatchSettings(assign_wait_s=1.0))
    impatient.submit("run-never")
    await asyncio.wait_for(impatient.wait("run-never"), 20)
    never = run_row(db, "run-never")
    assert never.state == "failed" and never.reason == "no drone available: h1: health checks failing", never.reason
    await impatient.stop()

    dispatcher = Dispatcher(db, rec, manager, LocalAuthority(), DispatchSettings(assign_wait_s=30.0))
    dispatcher.submit("run-settle")
    await asyncio.sleep(2.0)
    assert run_row(db, "run-settle").state not in ("failed", "aborted") and manager.state("h1") == DroneState.IDLE
    sim.control.set_gps(3, True)  # the fix comes
    await asyncio.wait_for(dispatcher.wait("run-settle"), 60)
    run = run_row(db, "run-settle")
    assert run.state == "completed", run.reason
    await dispatcher.stop()


def test_resume_plan_keeps_takeoff_and_setup_then_flies_from_the_breakpoint() -> None:
    def item(cmd: int, lat: float = 0.0, p2: float = 0.0) -> MissionItem:
        return MissionItem(command=cmd, lat=lat, lon=lat, alt=20, param2=p2)

    plan = MissionPlan(items=[item(MavCmd.NAV_TAKEOFF, 1), item(MavCmd.DO_CHANGE_SPEED, p2=5),
                              item(MavCmd.NAV_WAYPOINT, 2), item(MavCmd.DO_CHANGE_SPEED, p2=8),
                              item(MavCmd.DO_SET_CAM_TRIGG_DIST), item(MavCmd.NAV_WAYPOINT, 3),
                              item(MavCmd.NAV_WAYPOINT, 4), item(MavCmd.NAV_RETURN_TO_LAUNCH)])
    resumed = resume_plan(plan, 6)
    assert [(i.command, i.lat, i.param2) for i in resumed.items] == [
        (MavCmd.NAV_TAKEOFF, 1, 0), (MavCmd.DO_CHANGE_SPEED, 0, 8), (MavCmd.DO_SET_CAM_TRIGG_DIST, 0, 0),
        (MavCmd.NAV_WAYPOINT, 4, 0), (MavCmd.NAV_RETURN_TO_LAUNCH, 0, 0)]
    assert len(plan.items) == 8  # the stored plan is untouched


async def test_refly_starts_from_the_last_reached_waypoint(tmp_path) -> None:  # type: ignore[no-untyped-def]
    from core.db import Database
    from core.events import EventBus
    from fleet.manager import FleetManager

    db = Database(f"sqlite:///{tmp_path / 'r.db'}")
    db.upgrade()
    bus = EventBus(db)
    await bus.start()
    plan = MissionPlan(items=[MissionItem(command=MavCmd.NAV_TAKEOFF, lat=30.7, lon=121.3, alt=10),
                              *[MissionItem(command=MavCmd.NAV_WAYPOINT, lat=30.7 + k * 1e-4, lon=121.3, alt=10)
                                for k in range(1, 5)]])
    with db.session() as s:
        s.add(PlanRow(id="p1", name="p", doc={"sorties": [{"plan": plan_document(plan)}]}))
        s.flush()
        s.add(Mission(id="run-x", plan_id="p1", state="failed", reason="low battery"))
        for k, reached in enumerate((0, 1, 2)):
            s.add(EventRow(seq=k + 1, id=f"e{k}", source="t", type="skypatrol.mission.progress.v1", subject="run-x",
                           time=datetime.now(UTC), data=json.dumps({"reached": reached})))
    manager = FleetManager(db, bus)  # no drones: the new run is created and then finds none to fly
    dispatcher = Dispatcher(db, bus, manager, LocalAuthority())
    new_id = await dispatcher.refly("run-x", "pilot-li")
    await dispatcher.wait(new_id)
    new = run_row(db, new_id)
    assert new.doc["resume_from"] == 2 and new.doc["refly_of"] == "run-x"
    assert new.state == "failed" and "no drone available" in new.reason
    await dispatcher.stop()
    await bus.stop()
    db.dispose()


def test_all_return_home_is_a_pilot_command(client, tokens) -> None:  # type: ignore[no-untyped-def]
    from tests.conftest import auth

    assert client.post("/api/v1/fleet/return-home", headers=auth(tokens["viewer"])).status_code == 403
    r = client.post("/api/v1/fleet/return-home", headers=auth(tokens["pilot"]))
    assert r.status_code == 200 and r.json() == {"results": {}}  # nothing is flying
    actions = [a["action"] for a in client.get("/api/v1/audit", headers=auth(tokens["admin"])).json()]
    assert actions == ["fleet.return_home"]
