"""Failsafes against the simulator process: a cut link (the vehicle returns on its own, the
platform reports and reconciles), the battery reserve to get home, a zone breach predicted ahead."""

from __future__ import annotations

import asyncio
import time

from airspace.model import Zone
from fleet.state import DroneState

from .simfleet import Plan, offset, wait_until

BACKENDS = ("sim", "px4")
SIM_DRONES = 3
SIM_SPEED = 10.0
S = DroneState
FAST_RTL = {"NAV_DLL_ACT": 2, "COM_DL_LOSS_T": 10, "GF_ACTION": 3, "COM_LOW_BAT_ACT": 3, "RTL_RETURN_ALT": 30.0}


async def fly_outbound(manager, sim, drone_id: str, system_id: int, north_m: float) -> None:  # type: ignore[no-untyped-def]
    link = manager.links[drone_id]
    await wait_until(lambda: link.link_up and manager.state(drone_id) == S.IDLE, sim.wall(20), "idle")
    plan = Plan(*sim.home(system_id)).takeoff(20).waypoint(north_m, 0, 20).land(north_m, 0)
    await manager.upload_mission(drone_id, plan.plan, mission_id=f"m-{drone_id}")
    await manager.arm_and_start(drone_id)


async def test_link_cut_vehicle_returns_platform_reports_and_reconciles(sim, make_fleet) -> None:  # type: ignore[no-untyped-def]
    manager, rec = await make_fleet({"l1": sim.url(1)}, link_lost_after_s=1.0, failsafe_params=FAST_RTL)
    await fly_outbound(manager, sim, "l1", 1, 400)
    link = manager.links["l1"]
    await wait_until(lambda: sim.state(1)["distance_home_m"] > 80, sim.wall(30), "80 m out")
    # 35 simulated s (3.5 s wall): past the vehicle's COM_DL_LOSS_T (10 s) and the simulator's
    # 2.5 s wall-clock floor for missing GCS heartbeats.
    sim.cut_link(1, duration_s=35)
    await wait_until(lambda: rec.of("drone.link_lost", "l1"), 5, "link_lost event")
    assert manager.state("l1") == S.OFFLINE
    await wait_until(lambda: sim.state(1)["mode"] == "RTL", sim.wall(10), "vehicle RTL on its own")
    await wait_until(lambda: rec.of("drone.link_restored", "l1"), sim.wall(15), "link_restored event")
    restored = rec.of("drone.link_restored", "l1")[0]
    assert restored["state"] == "returning" and restored["flight_mode"] == "return_to_launch"
    assert restored["in_air"] and restored["mission_total"] == 3
    assert restored["mission_current"] == sim.state(1)["mission_seq"] == 1  # not restarted
    assert [f["reason"] for f in rec.of("drone.failsafe", "l1")] == ["link_lost"]
    await wait_until(lambda: manager.state("l1") == S.IDLE, sim.wall(60), "landed at home")
    assert sim.state(1)["distance_home_m"] < 2.0
    states = rec.states("l1")
    i = states.index("offline", 1)
    assert states[i - 1:i + 3] == ["airborne", "offline", "returning", "landed"], states
    assert not link.mission.reached or 2 not in link.mission.reached  # the last leg was never flown


async def test_battery_below_reserve_to_get_home_returns(sim, make_fleet) -> None:  # type: ignore[no-untyped-def]
    manager, rec = await make_fleet({"b1": sim.url(2)}, failsafe_params=FAST_RTL, battery_margin=0.10,
                                    wind_m_s=3.0, return_speed_m_s=8.0, endurance_s=1500.0)
    await fly_outbound(manager, sim, "b1", 2, 400)
    await wait_until(lambda: sim.state(2)["distance_home_m"] > 100, sim.wall(30), "100 m out")
    assert not rec.of("drone.failsafe", "b1")
    # 10 %: above the vehicle's own critical level (7 %), below the reserve home (~12 %)
    sim.set_battery(2, 0.10)
    await wait_until(lambda: rec.of("drone.failsafe", "b1"), sim.wall(5), "battery failsafe")
    fs = rec.of("drone.failsafe", "b1")[0]
    assert fs["reason"] == "battery_reserve" and fs["action"] == "rtl" and "action_error" not in fs
    assert fs["battery_remaining"] < fs["reserve"] and fs["distance_home_m"] > 100 and fs["wind_m_s"] == 3.0
    # The vehicle reports the charge it was set to (PX4: no load-drop compensation, PX4_TEST_PARAMS).
    link = manager.links["b1"]
    await wait_until(lambda: link.tel.battery is not None and abs(link.tel.battery.remaining - 0.10) < 0.02,
                     sim.wall(2), "the vehicle reporting about 10 %")
    await wait_until(lambda: sim.state(2)["mode"] == "RTL", sim.wall(5), "vehicle RTL")
    await wait_until(lambda: manager.state("b1") == S.RETURNING, sim.wall(5), "returning")
    await wait_until(lambda: manager.state("b1") == S.IDLE, sim.wall(60), "landed")
    assert sim.state(2)["distance_home_m"] < 2.0
    assert len(rec.of("drone.failsafe", "b1")) == 1


async def test_zone_breach_predicted_ahead_returns(sim, make_fleet) -> None:  # type: ignore[no-untyped-def]
    lat, lon = sim.home(3)
    c_lat, c_lon = offset(lat, lon, 200, 0)
    zone = Zone.model_validate({"id": "no-fly-1", "name": "school", "restriction": "PROHIBITED", "volumes": [
        {"shape": {"type": "Circle", "center": (c_lon, c_lat), "radius_m": 40.0}, "lower": None, "upper": 120}]})
    manager, rec = await make_fleet({"z1": sim.url(3)}, zones=[zone], failsafe_params=FAST_RTL,
                                    breach_horizon_s=8.0, battery_failsafe=False)
    await fly_outbound(manager, sim, "z1", 3, 400)
    await wait_until(lambda: rec.of("drone.failsafe", "z1"), sim.wall(30), "zone failsafe")
    fs = rec.of("drone.failsafe", "z1")[0]
    assert fs["reason"] == "zone_breach_predicted" and fs["zone_id"] == "no-fly-1" and fs["action"] == "rtl"
    assert 0 < fs["in_s"] <= 8.0
    await wait_until(lambda: sim.state(3)["mode"] == "RTL", sim.wall(5), "vehicle RTL")
    farthest, deadline = 0.0, time.monotonic() + sim.wall(60)
    while manager.state("z1") != S.IDLE:
        farthest = max(farthest, sim.state(3)["north_m"])
        assert farthest < 160, "entered the zone"  # its edge is 160 m north
        assert time.monotonic() < deadline, "not landed within 60 s"
        await asyncio.sleep(0.05)
    assert sim.state(3)["distance_home_m"] < 2.0
