"""The dispatcher with the real simulator process, MAVSDK, the fleet manager and an authority:
scheduled runs fly to completion on different drones; rejected filings and an unreachable hub
keep drones on the ground; the database refuses to book a drone twice."""

from __future__ import annotations

import uuid
from datetime import UTC, datetime, timedelta

import pytest
from sqlalchemy import select

from airspace.hub.client import HubClient
from airspace.local_authority import LocalAuthority
from airspace.model import Zone
from core.errors import BadInput
from core.models import Drone, Mission, User
from core.models import Plan as PlanRow
from fleet.dispatcher import Dispatcher, DispatchSettings
from fleet.schedules import ScheduleService, ScheduleSpec
from fleet.state import DroneState
from missions.formats.qgc_plan import plan_document
from tests.conftest import free_port

from .simfleet import Plan, wait_until

SIM_DRONES = 3
SIM_SPEED = 10.0
S = DroneState


async def _ready(manager, ids) -> None:  # type: ignore[no-untyped-def]
    await wait_until(lambda: all(manager.links[d].link_up and manager.state(d) == S.IDLE for d in ids), 30,
                     "connected and idle")
    await wait_until(lambda: all(manager.links[d].tel.home is not None
                                 and manager.links[d].tel.battery is not None for d in ids), 15, "home and battery")


def _store_plan(db, home: tuple[float, float], north_m: float = 60.0) -> str:  # type: ignore[no-untyped-def]
    plan = Plan(*home).takeoff(15).waypoint(north_m, 0, 15).waypoint(north_m, 40, 15).rtl().plan
    plan_id = uuid.uuid4().hex
    with db.session() as s:
        doc = {"kind": "mission", "sorties": [{"plan": plan_document(plan)}]}
        s.add(PlanRow(id=plan_id, name="test patrol", doc=doc))
    return plan_id


def _runs(db) -> dict[str, Mission]:  # type: ignore[no-untyped-def]
    with db.session() as s:
        return {m.id: m for m in s.execute(select(Mission)).scalars()}


def _run_states(rec, run_id: str) -> list[str]:  # type: ignore[no-untyped-def]
    return [e.type.split(".")[2] for e in rec.events if e.subject == run_id
            and e.type.startswith("skypatrol.mission.") and e.type.split(".")[2] != "progress"]


async def test_two_schedules_due_together_fly_two_drones_to_completion(sim, make_fleet) -> None:  # type: ignore[no-untyped-def]
    manager, rec = await make_fleet({"a1": sim.url(1), "a2": sim.url(2)})
    await _ready(manager, ["a1", "a2"])
    db = manager.db
    plan_id = _store_plan(db, sim.home(1))
    authority = LocalAuthority()
    dispatcher = Dispatcher(db, rec, manager, authority, DispatchSettings(report_interval_s=0.5))
    schedules = ScheduleService(db, rec, on_run=dispatcher.on_run)
    await schedules.start()
    with db.session() as s:  # the filing names the pilot's licence and each drone's registration
        s.add(User(name="pilot-li", role="pilot", licence_no="CAAC-UTC-0042"))
        s.add(User(name="no-licence", role="pilot"))
        for d in ("a1", "a2"):
            s.get(Drone, d).registration_no = f"UAS-{d.upper()}"  # type: ignore[union-attr]
    try:
        with pytest.raises(BadInput, match="'no-licence' has no CAAC remote-pilot licence"):
            schedules.add(ScheduleSpec(name="x", plan_id=plan_id, kind="once", at=datetime.now(UTC) + timedelta(
                hours=1), timezone="UTC", pilot="no-licence"))
        soon = datetime.now(UTC) + timedelta(seconds=1)
        for k in range(2):
            at = soon + timedelta(seconds=k * 0.3)
            schedules.add(ScheduleSpec(name=f"patrol {k}", plan_id=plan_id, kind="once", at=at, timezone="UTC",
                                       pilot="pilot-li"))
        await wait_until(lambda: len(_runs(db)) == 2, 20, "two runs created")
        finished = ("completed", "failed", "rejected", "aborted")
        await wait_until(lambda: all(r.state in finished for r in _runs(db).values()), 150, "both runs finished",
                         poll_s=0.5)
        runs = _runs(db)
        assert {r.state for r in runs.values()} == {"completed"}, {r.id: (r.state, r.reason) for r in runs.values()}
        assert {r.drone_id for r in runs.values()} == {"a1", "a2"}  # never the same drone twice
        for run_id in runs:
            states = _run_states(rec, run_id)
            assert states[:7] == ["scheduled", "planning", "filing", "approved", "assigned", "uploading", "started"]
            assert states[-1] == "completed" and "returning" in states
        # The authority received live position reports for each accepted intent.
        intents = [r.doc["intent_id"] for r in runs.values()]
        assert all(authority.positions(i) for i in intents)
        filed = [authority.get_intent(i).request for i in intents]
        assert {(f.registration, f.pilot_licence) for f in filed} == {("UAS-A1", "CAAC-UTC-0042"),
                                                                      ("UAS-A2", "CAAC-UTC-0042")}
        # Each drone's wear counters took the flight: one flight, its time, the battery it used.
        with db.session() as s:
            for d in (s.get(Drone, "a1"), s.get(Drone, "a2")):
                assert d is not None and d.flights_total == 1
                assert 3 < d.flight_s_total == d.flight_s_since_service < 150
                assert 0 < d.battery_cycles < 0.5
    finally:
        await schedules.stop()
        await dispatcher.stop()


async def test_a_rejected_filing_never_takes_off(sim, make_fleet) -> None:  # type: ignore[no-untyped-def]
    manager, rec = await make_fleet({"b1": sim.url(3)})
    await _ready(manager, ["b1"])
    db = manager.db
    home = sim.home(3)
    plan_id = _store_plan(db, home, north_m=80.0)
    lat, lon = home
    no_fly = Zone.model_validate({
        "id": "NF-TEST", "name": "no-fly", "restriction": "PROHIBITED",
        "volumes": [{"shape": {"type": "Circle", "center": [lon, lat + 0.0007], "radius_m": 30.0}}]})
    authority = LocalAuthority([no_fly])
    dispatcher = Dispatcher(db, rec, manager, authority)
    run_id = "run-rejected"
    with db.session() as s:
        s.add(Mission(id=run_id, plan_id=plan_id, state="scheduled"))
    dispatcher.submit(run_id)
    await dispatcher.wait(run_id)
    run = _runs(db)[run_id]
    assert run.state == "rejected" and "NF-TEST" in (run.reason or ""), run.reason
    assert run.drone_id is None and manager.state("b1") == S.IDLE
    assert "assigned" not in _run_states(rec, run_id)


async def test_an_unreachable_hub_means_no_dispatch(sim, make_fleet) -> None:  # type: ignore[no-untyped-def]
    manager, rec = await make_fleet({"c1": sim.url(3)})
    await _ready(manager, ["c1"])
    db = manager.db
    plan_id = _store_plan(db, sim.home(3))
    hub = HubClient(f"http://127.0.0.1:{free_port()}", retries=0, timeout_s=0.5, connect_timeout_s=0.3)
    dispatcher = Dispatcher(db, rec, manager, hub)
    with db.session() as s:
        s.add(Mission(id="run-hub-down", plan_id=plan_id, state="scheduled"))
    dispatcher.submit("run-hub-down")
    await dispatcher.wait("run-hub-down")
    run = _runs(db)["run-hub-down"]
    assert run.state == "failed" and "hub unreachable" in (run.reason or "")
    assert _run_states(rec, "run-hub-down") == ["planning", "failed"] and manager.state("c1") == S.IDLE
    hub.close()


async def test_a_drone_due_for_service_is_not_dispatched(sim, make_fleet) -> None:  # type: ignore[no-untyped-def]
    manager, rec = await make_fleet({"m1": sim.url(3)})
    await _ready(manager, ["m1"])
    db = manager.db
    with db.session() as s:
        drone = s.get(Drone, "m1")
        assert drone is not None
        drone.flight_s_since_service = 50.5 * 3600
    plan_id = _store_plan(db, sim.home(3))
    dispatcher = Dispatcher(db, rec, manager, LocalAuthority(), DispatchSettings(service_interval_h=50.0))
    with db.session() as s:
        s.add(Mission(id="run-service-due", plan_id=plan_id, state="scheduled"))
    dispatcher.submit("run-service-due")
    await dispatcher.wait("run-service-due")
    run = _runs(db)["run-service-due"]
    assert run.state == "failed" and "m1: service due (50.5 h flown since the last, service every 50 h)" in (
        run.reason or ""), run.reason
    assert manager.state("m1") == S.IDLE


def test_the_database_refuses_a_second_active_run_for_a_drone(tmp_path) -> None:  # type: ignore[no-untyped-def]
    from sqlalchemy.exc import IntegrityError

    from core.db import Database

    db = Database(f"sqlite:///{tmp_path / 'x.db'}")
    db.upgrade()
    with db.session() as s:
        s.add(Drone(id="d1", name="d1"))
        s.add(Mission(id="r1", drone_id="d1", state="flying"))
        s.add(Mission(id="r2", drone_id="d1", state="completed"))
    with pytest.raises(IntegrityError), db.session() as s:
        s.add(Mission(id="r3", drone_id="d1", state="assigned"))
    db.dispose()
