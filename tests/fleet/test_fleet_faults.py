"""A vehicle emergency mid-mission: a motor fails during a run, the drone goes to `fault` with a
`skypatrol.drone.fault.v1` event, the run records the fault, and commands a drone in fault may not
take are refused."""

from __future__ import annotations

import asyncio
import time
import uuid

import pytest

from airspace.local_authority import LocalAuthority
from core.errors import Refused
from core.models import Mission
from core.models import Plan as PlanRow
from fleet.dispatcher import Dispatcher, DispatchSettings
from fleet.state import DroneState
from missions.formats.qgc_plan import plan_document

from .simfleet import PX4_FAULT_PARAMS, Plan, run_kinds, run_row, wait_until

BACKENDS = ("sim", "px4")
SIM_DRONES = 1
SIM_SPEED = 10.0
S = DroneState
PX4_PARAMS = PX4_FAULT_PARAMS
FAULT_WITHIN_S = 5.0  # wall seconds from the failure to the event (HEARTBEAT 1 Hz, SYS_STATUS 1-2 Hz)


async def test_motor_failure_mid_mission_faults_the_drone_and_the_run_records_it(sim, make_fleet) -> None:  # type: ignore[no-untyped-def]
    manager, rec = await make_fleet({"f1": sim.url(1)})
    link = manager.links["f1"]
    await wait_until(lambda: link.link_up and manager.state("f1") == S.IDLE and link.tel.battery is not None
                     and link.tel.home is not None, sim.wall(30), "idle")
    plan = Plan(*sim.home(1)).takeoff(20).waypoint(400, 0, 20).rtl().plan
    plan_id = uuid.uuid4().hex
    db = manager.db
    with db.session() as s:
        s.add(PlanRow(id=plan_id, name="p", doc={"sorties": [{"plan": plan_document(plan)}]}))
    with db.session() as s:
        s.add(Mission(id="run-fault", plan_id=plan_id, state="scheduled"))
    dispatcher = Dispatcher(db, rec, manager, LocalAuthority(), DispatchSettings(report_interval_s=0.5))
    dispatcher.submit("run-fault")
    try:
        await wait_until(lambda: sim.state(1)["distance_home_m"] > 60, sim.wall(60), "60 m out")
    except AssertionError:
        run = run_row(db, "run-fault")
        raise AssertionError(f"not 60 m out: run {run.state} {run.reason}; drone {manager.state('f1')}; "
                             f"{run_kinds(rec, 'run-fault')}") from None
    assert manager.state("f1") == S.AIRBORNE and not rec.of("drone.fault", "f1")

    sim.fail_motor(1)
    failed_at = time.monotonic()
    await wait_until(lambda: rec.of("drone.fault", "f1"), FAULT_WITHIN_S, "the fault event")
    fault = rec.of("drone.fault", "f1")[0]
    assert fault["from_state"] == "airborne"
    assert fault["in_air"] and fault["armed"] and fault["lat"] is not None
    assert any(w in fault["reason"] for w in ("emergency", "flight_termination", "otor")), fault
    assert manager.state("f1") == S.FAULT
    assert time.monotonic() - failed_at < FAULT_WITHIN_S
    # The state change is published after the fault event (the state machine has moved already: its
    # event may still be on its way to the store).
    await wait_until(lambda: rec.states("f1")[-1:] == ["fault"], 5, "the state change to fault")

    # What the fault state forbids is refused, saying why; what it allows goes to the vehicle.
    with pytest.raises(Refused, match=r"is in fault \(.+\): pause is refused"):
        await manager.command("f1", "pause")
    with pytest.raises(Refused, match="is in fault"):
        await manager.upload_mission("f1", plan)
    with pytest.raises(Refused, match="is in fault"):
        await manager.arm_and_start("f1")

    # The run records it, and ends failed naming the fault once the vehicle is down.
    await wait_until(lambda: "fault" in run_kinds(rec, "run-fault"), 3, "the run's fault event")
    await asyncio.wait_for(dispatcher.wait("run-fault"), sim.wall(60))
    run = run_row(db, "run-fault")
    assert run.state == "failed" and run.reason.startswith("vehicle fault ("), run.reason
    assert len(run.doc["faults"]) == 1, run.doc["faults"]
    recorded = run.doc["faults"][0]
    assert recorded["in_air"] is True and recorded["drone_id"] == "f1"
    assert any(w in recorded["reason"] for w in ("emergency", "flight_termination", "otor")), recorded
    # Down, the vehicle still reports its emergency: the drone stays in fault and is not dispatched.
    assert manager.state("f1") == S.FAULT and manager.telemetry("f1")["fault"]
    await dispatcher.stop()
