"""The vehicle facades against the simulator process, and the pure parts of the fleet layer."""

from __future__ import annotations

import asyncio
import math

import pytest

from core.errors import Refused, Unavailable
from core.settings import FleetSettings
from fleet import failsafes
from fleet.link import TelemetrySnapshot, derive_state, path_to
from fleet.state import DroneState
from fleet.vehicle import FlightMode, Position, Vehicle, VelocityNed
from fleet.vehicle.mission import plan_item, raw_items
from missions.items import FenceCircle, FencePolygon, MavCmd, MavFrame, MissionItem

from .simfleet import Plan, free_udp_base, offset

BACKENDS = ("sim", "px4")
SIM_DRONES = 1
SIM_SPEED = 10.0
S = DroneState


async def test_facades_params_plan_with_fence_and_refusals(sim) -> None:  # type: ignore[no-untyped-def]
    v = await Vehicle.connect(sim.url(1), timeout_s=20)
    try:
        assert await v.connection.autopilot_name() == "PX4" and await v.connection.system_id() == 1
        await v.params.apply({"NAV_DLL_ACT": 2, "GF_ACTION": 3, "RTL_RETURN_ALT": 35, "COM_DL_LOSS_T": 10})
        assert await v.params.get_int("GF_ACTION") == 3
        assert await v.params.get_float("RTL_RETURN_ALT") == pytest.approx(35.0)  # an int for a float param
        home = await v.telemetry.home()
        assert abs(home.lat_deg - sim.home(1)[0]) < 1e-5
        assert await v.telemetry.flight_mode() == FlightMode.HOLD and not await v.telemetry.armed()
        batteries = v.telemetry.subscribe_battery()
        b = await asyncio.wait_for(anext(batteries), 10)
        await batteries.aclose()  # unsubscribe before the connection goes (MAVSDK frees the plugin)
        assert 0.9 < b.remaining <= 1.0 and 14 < b.voltage_v < 17.5
        p = Plan(home.lat_deg, home.lon_deg).takeoff(20).change_speed(8).waypoint(50, 0, 20).jump(1, 1).rtl()
        p.plan.fence_polygons = [FencePolygon([offset(home.lat_deg, home.lon_deg, n, e)
                                               for n, e in ((-90, -90), (90, -90), (90, 90), (-90, 90))])]
        p.plan.fence_circles = [FenceCircle(*offset(home.lat_deg, home.lon_deg, -60, 60), 10.0, inclusion=False)]
        p.plan.rally_points = [(*offset(home.lat_deg, home.lon_deg, 20, 20), 15.0)]
        assert await v.upload_plan(p.plan) == 5
        assert await v.geofence.download_count() == 5  # four vertices and one circle
        back = await v.mission.download()
        assert [i.command for i in back] == [i.command for i in p.plan.items]
        assert back[2].lat == pytest.approx(p.plan.items[2].lat, abs=1e-7) and back[3].param1 == 1  # DO_JUMP kept
        assert (await v.mission.progress()).total == 5
        await v.mission.clear()
        await v.geofence.clear()
        # Ready to arm: PX4 also waits for a ground station heartbeat when NAV_DLL_ACT is set.
        await wait_until_async(lambda: _armable(v), sim.wall(10), "armable")
        await v.action.arm()
        await v.action.takeoff(8.0)
        await wait_until_async(v.telemetry.in_air, sim.wall(20), "in the air")
        with pytest.raises(Refused, match="vehicle refused disarm: ") as refused:
            await v.action.disarm()  # in the air: refused unless forced
        assert refused.value.details == {"command": "disarm", "result": refused.value.details["result"]}
        assert refused.value.details["result"] not in ("SUCCESS", "TIMEOUT", "NO_SYSTEM")
        await v.action.land()
        await wait_until_async(lambda: _not(v.telemetry.armed()), sim.wall(60), "landed and disarmed")
    finally:
        await v.close()


async def _armable(v: Vehicle) -> bool:
    return (await v.telemetry.health()).armable


async def _not(flag) -> bool:  # type: ignore[no-untyped-def]
    return not await flag


async def wait_until_async(predicate, timeout_s: float, what: str) -> None:  # type: ignore[no-untyped-def]
    async def poll() -> None:
        while not await predicate():
            await asyncio.sleep(0.1)

    try:
        await asyncio.wait_for(poll(), timeout_s)
    except TimeoutError:
        raise AssertionError(f"timed out after {timeout_s} s waiting for {what}") from None


async def test_no_autopilot_is_unavailable() -> None:
    with pytest.raises(Unavailable, match="no autopilot"):
        await Vehicle.connect(f"udpin://0.0.0.0:{free_udp_base(1)}", timeout_s=0.3)


def test_mission_items_go_out_with_int_frames_and_come_back() -> None:
    items = [MissionItem(MavCmd.NAV_WAYPOINT, MavFrame.GLOBAL_RELATIVE_ALT, 0, 2, 0, math.nan, 30.7412345, 121.3421234,
                         25.5),
             MissionItem(MavCmd.DO_JUMP, MavFrame.MISSION, 0, 3)]
    from missions.items import MissionPlan

    raw = raw_items(MissionPlan(items=items))
    assert raw[0].frame == MavFrame.GLOBAL_RELATIVE_ALT_INT and raw[0].x == 307412345 and raw[0].current == 1
    assert raw[1].frame == MavFrame.MISSION and raw[1].x == 0 and raw[1].param2 == 3 and raw[1].current == 0
    back = plan_item(raw[0])
    assert back.lat == pytest.approx(30.7412345, abs=1e-9) and back.alt == pytest.approx(25.5)


def test_battery_reserve_counts_wind_and_descent() -> None:
    s = FleetSettings(return_speed_m_s=8, wind_m_s=3, descent_speed_m_s=2, endurance_s=1000, battery_margin=0.1)
    assert failsafes.return_time_s(500, 20, s) == pytest.approx(500 / 5 + 10)
    assert failsafes.battery_reserve(500, 20, s) == pytest.approx(110 / 1000 + 0.1)
    gale = FleetSettings(return_speed_m_s=8, wind_m_s=20)
    assert failsafes.return_time_s(100, 0, gale) == pytest.approx(100.0)  # never slower than 1 m/s


def test_predicted_track_follows_velocity() -> None:
    p = Position(30.74, 121.34, 24.0, 20.0)
    t, lat, lon, alt = failsafes.predicted_track(p, VelocityNed(10.0, 0.0, -1.0), 5.0, 1.0)
    assert list(t) == [0, 1, 2, 3, 4, 5]
    assert (lat[5] - lat[0]) * 111_000 == pytest.approx(50, rel=0.01) and lon[5] == pytest.approx(lon[0])
    assert alt[5] == pytest.approx(29.0, abs=0.01)
    assert failsafes.predict_breach(p, VelocityNed(1, 0, 0), 4.0, None, None, 5, 1) is None  # type: ignore[arg-type]


def test_state_follows_the_vehicle() -> None:
    t = TelemetrySnapshot()
    assert derive_state(S.OFFLINE, S.OFFLINE, t) == S.IDLE
    t.armed = True
    assert derive_state(S.IDLE, S.OFFLINE, t) == S.PREFLIGHT
    t.in_air, t.flight_mode = True, FlightMode.MISSION
    assert derive_state(S.PREFLIGHT, S.OFFLINE, t) == S.AIRBORNE
    t.flight_mode = FlightMode.RETURN_TO_LAUNCH
    assert derive_state(S.AIRBORNE, S.OFFLINE, t) == S.RETURNING
    assert derive_state(S.OFFLINE, S.AIRBORNE, t) == S.RETURNING  # reconciled after a link loss
    t.in_air = False
    assert derive_state(S.RETURNING, S.OFFLINE, t) == S.LANDED
    assert derive_state(S.OFFLINE, S.RETURNING, t) == S.LANDED  # landed while the link was down
    assert path_to(S.PREFLIGHT, S.RETURNING) == [S.AIRBORNE, S.RETURNING]
    assert path_to(S.IDLE, S.IDLE) == []
