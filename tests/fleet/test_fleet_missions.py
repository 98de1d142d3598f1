"""Through the FleetManager against the simulator process: missions flown to the end with every
item reached seen as an event, three drones at once; pause and resume mid-mission."""

from __future__ import annotations

import asyncio
import math
import time

import pytest

from core.errors import Refused
from fleet.state import DroneState

from .simfleet import Plan, wait_until

BACKENDS = ("sim", "px4")
SIM_DRONES = 4
SIM_SPEED = 10.0
S = DroneState


async def connected(manager, drone_ids, timeout_s: float = 20.0) -> None:  # type: ignore[no-untyped-def]
    await wait_until(lambda: all(manager.links[d].link_up and manager.state(d) == S.IDLE for d in drone_ids),
                     timeout_s, f"{drone_ids} connected and idle")
    await wait_until(lambda: all(manager.links[d].tel.home is not None for d in drone_ids), 10, "home")


def reached(rec, drone_id: str) -> list[int]:  # type: ignore[no-untyped-def]
    return [d["reached"] for d in rec.of("mission.progress", drone_id) if d["reached"] is not None]


async def test_three_drones_fly_three_missions_at_once(sim, make_fleet) -> None:  # type: ignore[no-untyped-def]
    ids = {"d1": 1, "d2": 2, "d3": 3}
    manager, rec = await make_fleet({d: sim.url(i) for d, i in ids.items()})
    await connected(manager, ids)
    homes = {d: sim.home(i) for d, i in ids.items()}
    plans = {
        "d1": Plan(*homes["d1"]).takeoff(20).change_speed(10).trigger_distance(20).waypoint(100, 0, 20)
        .waypoint(100, 100, 25).trigger_distance(0).waypoint(0, 100, 20).land(0, 0),
        # implicit takeoff, a timed loiter, a jump back once, return home
        "d2": Plan(*homes["d2"]).waypoint(60, 0, 30).loiter_time(60, 60, 30, 5).jump(0, 1).waypoint(0, 60, 30).rtl(),
        "d3": Plan(*homes["d3"]).takeoff(15).waypoint(-50, -50, 15, hold_s=3).land(0, -20),
    }
    for d, p in plans.items():
        assert await manager.upload_mission(d, p.plan, mission_id=f"m-{d}") == len(p.plan.items)
        assert manager.state(d) == S.PREFLIGHT
    started = time.monotonic()
    await asyncio.gather(*(manager.arm_and_start(d) for d in ids))
    await wait_until(lambda: all(manager.state(d) == S.IDLE and rec.states(d)[-1:] == ["idle"] for d in ids),
                     sim.wall(90), "all landed and idle again")  # the event stored too, not just the state set
    for d, p in plans.items():
        n = len(p.plan.items)
        seen = reached(rec, d)
        # Every MISSION_ITEM_REACHED the vehicle sent, once and in order, the last position's among
        # them. (The simulator reports each item; PX4 reports the latest item reached when its
        # mission feedback goes out, so an item passed in the same step as the next, such as a DO_
        # item, may go unreported by the vehicle itself, and a closing RTL item is never reported.)
        assert seen == sim.state(ids[d])["mission_reached"], f"{d}: reached {seen}"
        last_position = max(i for i, item in enumerate(p.plan.items) if item.lat or item.lon)
        assert last_position in seen and set(seen) <= set(range(n)), f"{d}: reached {seen}"
        ending = ["returning", "landed", "idle"] if d == "d2" else ["landed", "idle"]  # d2 ends with RTL
        assert rec.states(d) == ["idle", "preflight", "airborne", *ending], rec.states(d)
        progress = rec.of("mission.progress", d)
        assert all(e["mission_id"] == f"m-{d}" and e["total"] == n for e in progress), progress
    assert reached(rec, "d2").count(1) == 2  # the DO_JUMP ran once: the loiter flown twice
    assert sim.state(2)["distance_home_m"] < 2.0  # mission d2 ended with RTL
    telemetry = rec.of("telemetry")
    assert {t["drone_id"] for t in telemetry} == set(ids)
    stored = [e for e in rec.events if e.type == "skypatrol.telemetry.v1" and e.seq is not None]
    live = [e for e in rec.events if e.type == "skypatrol.telemetry.v1" and e.seq is None]
    elapsed = time.monotonic() - started
    # ~1 Hz stored per drone (wall clock), everything else live only
    assert 0.5 * elapsed * 3 <= len(stored) <= 1.5 * elapsed * 3 + 6, (len(stored), elapsed)
    assert len(live) > 5 * len(stored)
    assert all(s["from"] != s["to"] for s in rec.of("drone.state_changed"))
    with manager.db.session() as s:
        from core.models import Drone

        assert {r.id: r.state for r in s.query(Drone)} == dict.fromkeys(ids, "idle")


async def test_pause_and_resume_mid_mission(sim, make_fleet) -> None:  # type: ignore[no-untyped-def]
    manager, rec = await make_fleet({"p1": sim.url(4)})
    await connected(manager, ["p1"])
    with pytest.raises(Refused, match="idle"):
        await manager.command("p1", "pause")  # not flying: the state machine refuses
    plan = Plan(*sim.home(4)).takeoff(20).waypoint(120, 0, 20).waypoint(120, 120, 20).land(0, 0)
    await manager.upload_mission("p1", plan.plan, mission_id="m-pause")
    await manager.arm_and_start("p1")
    link = manager.links["p1"]
    await wait_until(lambda: link.mission.current == 2, sim.wall(40), "heading to item 2")
    await asyncio.sleep(0.5)
    out = await manager.command("p1", "pause")
    assert out["state"] == "airborne"
    await wait_until(lambda: link.tel.flight_mode.value == "hold", 10, "hold")
    await asyncio.sleep(1.0)  # 10 simulated s to stop
    a = sim.state(4)
    await asyncio.sleep(1.0)
    b = sim.state(4)
    assert math.hypot(a["east_m"] - b["east_m"], a["north_m"] - b["north_m"]) < 1.5
    assert b["mission_seq"] == 2
    await manager.command("p1", "resume")
    await wait_until(lambda: link.tel.flight_mode.value == "mission", 10, "mission again")
    await wait_until(lambda: manager.state("p1") == S.IDLE, sim.wall(90), "landed and idle")
    assert reached(rec, "p1") == [0, 1, 2, 3]  # resumed from item 2, not from the top
    assert [e["current"] for e in rec.of("mission.paused", "p1")] == [2]
    assert len(rec.of("mission.resumed", "p1")) == 1
