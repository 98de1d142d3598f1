"""The simulator as a separate process, flown through MAVSDK over UDP like PX4 SITL."""

from __future__ import annotations

import asyncio
import json
import math
import subprocess
import sys
import time

import pytest
from mavsdk.asyncio.plugins.action import ActionAsync, ActionError
from mavsdk.asyncio.plugins.geofence import Circle, FenceType, GeofenceAsync, GeofenceData, Point, Polygon
from mavsdk.asyncio.plugins.info import InfoAsync
from mavsdk.asyncio.plugins.mavlink_direct import MavlinkDirectAsync
from mavsdk.asyncio.plugins.mission import MissionAsync, MissionError
from mavsdk.asyncio.plugins.mission_raw import MissionRawAsync
from mavsdk.asyncio.plugins.param import ParamAsync, ParamError
from mavsdk.asyncio.plugins.telemetry import FixType, FlightMode, LandedState, TelemetryAsync

from .conftest import REPO, VEHICLE, first, wait_until
from .missions import RawMission, offset


async def healthy_home(system) -> tuple[float, float]:
    tel = TelemetryAsync(system)
    await first(tel.subscribe_health_all_ok(), lambda ok: ok, 20, "health all ok")
    home = await tel.home()
    return home.latitude_deg, home.longitude_deg


class ReachedRecorder:
    """Every MISSION_ITEM_REACHED the vehicle sends, seen through MAVSDK's mavlink_direct."""

    def __init__(self, system) -> None:
        self.seqs: list[int] = []
        self.camera_triggers = 0
        self._direct = MavlinkDirectAsync(system)
        self._tasks: list[asyncio.Task] = []

    async def __aenter__(self) -> ReachedRecorder:
        async def record(name: str) -> None:
            async for msg in self._direct.subscribe_message(name):
                if name == "MISSION_ITEM_REACHED":
                    self.seqs.append(json.loads(msg.fields_json)["seq"])
                else:
                    self.camera_triggers += 1

        self._tasks = [asyncio.create_task(record(n)) for n in ("MISSION_ITEM_REACHED", "CAMERA_TRIGGER")]
        await asyncio.sleep(0.2)
        return self

    async def __aexit__(self, *exc: object) -> None:
        for task in self._tasks:
            task.cancel()
        await asyncio.gather(*self._tasks, return_exceptions=True)


async def wait_landed_disarmed(system, timeout_s: float) -> None:
    tel = TelemetryAsync(system)
    await first(tel.subscribe_armed(), lambda armed: not armed, timeout_s, "disarmed after landing")
    await first(tel.subscribe_landed_state(), lambda s: s == LandedState.ON_GROUND, 10, "on the ground")


# ---------------------------------------------------------------------------------------- basics
async def test_connects_as_px4_with_health_ok(sim_fleet, connect):
    system = await connect(VEHICLE["health"])
    assert (await system.autopilot_type()).name == "PX4"
    lat, lon = await healthy_home(system)
    tel = TelemetryAsync(system)
    assert abs(lat - 30.7410) < 0.001 and abs(lon - 121.3420) < 0.001
    gps = await first(tel.subscribe_gps_info(), lambda g: True, 10, "gps info")
    assert gps.fix_type == FixType.FIX_3D and gps.num_satellites >= 6
    battery = await first(tel.subscribe_battery(), lambda b: True, 10, "battery")
    assert battery.remaining_percent > 95 and 14 < battery.voltage_v < 17.5
    await first(tel.subscribe_flight_mode(), lambda f: f == FlightMode.HOLD, 10, "hold on the ground")
    await first(tel.subscribe_landed_state(), lambda s: s == LandedState.ON_GROUND, 10, "on the ground")
    version = await InfoAsync(system).get_version()  # AUTOPILOT_VERSION via REQUEST_MESSAGE
    assert (version.flight_sw_major, version.flight_sw_minor) == (1, 15)
    await tel.set_rate_position(10.0)  # SET_MESSAGE_INTERVAL is accepted


async def test_params_read_and_set_as_px4(sim_fleet, connect):
    system = await connect(VEHICLE["params"])
    param = ParamAsync(system)
    assert await param.get_param_float("MIS_TAKEOFF_ALT") == pytest.approx(2.5)
    assert await param.get_param_int("NAV_DLL_ACT") == 0
    assert await param.get_param_int("GF_ACTION") == 2
    await param.set_param_int("COM_LOW_BAT_ACT", 3)
    assert await param.get_param_int("COM_LOW_BAT_ACT") == 3
    await param.set_param_float("MPC_XY_CRUISE", 7.5)
    assert await param.get_param_float("MPC_XY_CRUISE") == pytest.approx(7.5)
    with pytest.raises(ParamError):
        await param.set_param_float("NAV_DLL_ACT", 2.0)  # wrong type, as on PX4
    with pytest.raises(ParamError):
        await param.get_param_float("NO_SUCH_PARAM")
    everything = await param.get_all_params()
    names = {p.name for p in everything.int_params} | {p.name for p in everything.float_params}
    assert {"NAV_DLL_ACT", "GF_ACTION", "COM_LOW_BAT_ACT", "RTL_RETURN_ALT", "BAT_LOW_THR"} <= names


async def test_arm_takeoff_land(sim_fleet, connect):
    system = await connect(VEHICLE["takeoff_land"])
    await healthy_home(system)
    action, tel = ActionAsync(system), TelemetryAsync(system)
    await action.set_takeoff_altitude(8.0)
    assert await action.get_takeoff_altitude() == pytest.approx(8.0)
    await action.arm()
    await action.takeoff()
    await first(tel.subscribe_position(), lambda p: p.relative_altitude_m > 7.5, 30, "takeoff to 8 m")
    await first(tel.subscribe_flight_mode(), lambda m: m == FlightMode.HOLD, 20, "hold after takeoff")
    assert await tel.in_air()
    await action.land()
    await first(tel.subscribe_flight_mode(), lambda m: m == FlightMode.LAND, 10, "land mode")
    await wait_landed_disarmed(system, 60)
    state = sim_fleet.control.state(VEHICLE["takeoff_land"])
    assert state["alt_rel_m"] < 0.1 and state["distance_home_m"] < 2.0


async def test_refused_commands_surface_as_errors(sim_fleet, connect):
    vehicle = VEHICLE["refusals"]
    system = await connect(vehicle)
    await healthy_home(system)
    action, mission = ActionAsync(system), MissionAsync(system)
    with pytest.raises(ActionError) as takeoff_refused:
        await action.takeoff()  # disarmed: PX4 refuses
    assert takeoff_refused.value.result.name == "COMMAND_DENIED"
    with pytest.raises(MissionError):
        await mission.start_mission()  # no mission: the switch to Mission mode is refused
    with pytest.raises(ActionError):
        await action.do_orbit(20.0, 2.0, 0, math.nan, math.nan, math.nan)  # unsupported, answered, not ignored
    sim_fleet.control.set_battery(vehicle, 0.10)
    try:
        with pytest.raises(ActionError):
            await action.arm()  # low battery: arming denied
    finally:
        sim_fleet.control.set_battery(vehicle, 1.0)
    await action.arm()
    await action.takeoff()
    tel = TelemetryAsync(system)
    await first(tel.subscribe_in_air(), lambda air: air, 20, "in air")
    with pytest.raises(ActionError):
        await action.disarm()  # in the air: refused unless forced
    await action.land()
    await wait_landed_disarmed(system, 60)


# -------------------------------------------------------------------------------------- missions
async def fly_raw_mission(system, build, timeout_s: float = 90.0) -> ReachedRecorder:
    lat, lon = await healthy_home(system)
    mission = build(RawMission(lat, lon))
    raw = MissionRawAsync(system)
    await raw.upload_mission(mission.items)
    downloaded = await raw.download_mission()
    assert [(i.command, i.x, i.y) for i in downloaded] == [(i.command, i.x, i.y) for i in mission.items]
    async with ReachedRecorder(system) as recorder:
        await ActionAsync(system).arm()
        await raw.start_mission()
        await wait_landed_disarmed(system, timeout_s)
        await asyncio.sleep(0.3)
    recorder.count = len(mission.items)  # type: ignore[attr-defined]
    return recorder


async def test_three_vehicles_fly_three_missions_at_once(sim_fleet, connect):
    def mission_a(m: RawMission) -> RawMission:
        return (
            m.takeoff(20)
            .change_speed(10)
            .trigger_distance(20)
            .waypoint(100, 0, 20)
            .waypoint(100, 100, 25)
            .trigger_distance(0)
            .waypoint(0, 100, 20)
            .land(0, 0)
        )

    def mission_b(m: RawMission) -> RawMission:  # implicit takeoff, a timed loiter, a jump, return
        return m.waypoint(60, 0, 30).loiter_time(60, 60, 30, 5).jump(0, 1).waypoint(0, 60, 30).rtl()

    def mission_c(m: RawMission) -> RawMission:  # hold time, loiter turns
        return m.takeoff(15).waypoint(-50, -50, 15, hold_s=3).loiter_turns(-50, 0, 15, 1, 15).land(0, -20)

    ids = (VEHICLE["mission_a"], VEHICLE["mission_b"], VEHICLE["mission_c"])
    systems = [await connect(i) for i in ids]
    started = time.monotonic()
    recorders = await asyncio.gather(
        *(fly_raw_mission(s, b) for s, b in zip(systems, (mission_a, mission_b, mission_c), strict=True))
    )
    for vehicle, rec in zip(ids, recorders, strict=True):
        assert set(rec.seqs) == set(range(rec.count)), f"vehicle {vehicle}: reached {rec.seqs}"  # type: ignore[attr-defined]
    # Mission B ran its DO_JUMP once: items 0 and 1 reached twice, in order.
    assert recorders[1].seqs == [0, 1, 2, 0, 1, 2, 3, 4]
    # Mission A triggered the camera every 20 m along the two 100 m legs between the trigger items.
    assert 8 <= recorders[0].camera_triggers <= 12, recorders[0].camera_triggers
    states = [sim_fleet.control.state(i) for i in ids]
    assert all(s["landed"] and not s["armed"] for s in states)
    assert states[1]["distance_home_m"] < 2.0  # mission B ended with RTL
    assert time.monotonic() - started < 90


async def test_pause_and_resume_mid_mission(sim_fleet, connect):
    vehicle = VEHICLE["pause_resume"]
    system = await connect(vehicle)
    lat, lon = await healthy_home(system)
    m = RawMission(lat, lon).takeoff(20).waypoint(120, 0, 20).waypoint(120, 120, 20).land(0, 0)
    raw, tel = MissionRawAsync(system), TelemetryAsync(system)
    await raw.upload_mission(m.items)
    async with ReachedRecorder(system) as rec:
        await ActionAsync(system).arm()
        await raw.start_mission()
        await first(raw.subscribe_mission_progress(), lambda p: p.current == 2, 40, "heading to item 2")
        await asyncio.sleep(0.5)
        await raw.pause_mission()
        await first(tel.subscribe_flight_mode(), lambda f: f == FlightMode.HOLD, 10, "hold")
        await asyncio.sleep(1.0)  # 10 simulated s to come to a stop
        held = sim_fleet.control.state(vehicle)
        await asyncio.sleep(1.0)
        still = sim_fleet.control.state(vehicle)
        moved = math.hypot(still["east_m"] - held["east_m"], still["north_m"] - held["north_m"])
        assert moved < 1.5 and still["ground_speed_m_s"] < 0.5
        assert still["mission_seq"] == 2 and still["mission_state"] == 4  # MISSION_STATE_PAUSED
        await raw.start_mission()  # resume from the current item, not from the top
        await first(tel.subscribe_flight_mode(), lambda f: f == FlightMode.MISSION, 10, "mission again")
        await wait_landed_disarmed(system, 90)
        await asyncio.sleep(0.3)
    assert rec.seqs == [0, 1, 2, 3]
    assert await raw.is_mission_finished()


# ------------------------------------------------------------------------------------- failsafes
async def start_outbound(system, north_m: float, alt_m: float = 20) -> tuple[float, float]:
    lat, lon = await healthy_home(system)
    m = RawMission(lat, lon).takeoff(alt_m).waypoint(north_m, 0, alt_m).land(north_m, 0)
    raw = MissionRawAsync(system)
    await raw.upload_mission(m.items)
    await ActionAsync(system).arm()
    await raw.start_mission()
    return lat, lon


async def test_link_loss_triggers_return_as_px4(sim_fleet, connect):
    vehicle = VEHICLE["link_loss"]
    system = await connect(vehicle)
    param = ParamAsync(system)
    await param.set_param_int("NAV_DLL_ACT", 2)  # what the fleet layer sets on connect
    await param.set_param_float("RTL_RETURN_ALT", 30.0)
    await start_outbound(system, 300)
    await wait_until(lambda: sim_fleet.control.state(vehicle)["distance_home_m"] > 60, 30, "60 m out")
    cut = sim_fleet.control.cut_link(vehicle, duration_s=40)  # simulated seconds
    await wait_until(lambda: sim_fleet.control.state(vehicle)["mode"] == "RTL", 15, "RTL after link loss")
    state = sim_fleet.control.state(vehicle)
    assert state["link_cut"] and state["link_lost"]
    assert state["time_s"] - cut["time_s"] >= 10.0  # COM_DL_LOSS_T, simulated
    await wait_until(lambda: not sim_fleet.control.state(vehicle)["link_cut"], 15, "link back")
    tel = TelemetryAsync(system)
    await first(tel.subscribe_flight_mode(), lambda f: f == FlightMode.RETURN_TO_LAUNCH, 15, "RTL seen by GCS")
    await wait_landed_disarmed(system, 90)
    final = sim_fleet.control.state(vehicle)
    assert final["distance_home_m"] < 2.0 and not final["link_lost"]


async def test_low_battery_returns_then_lands(sim_fleet, connect):
    vehicle = VEHICLE["low_battery"]
    system = await connect(vehicle)
    await ParamAsync(system).set_param_int("COM_LOW_BAT_ACT", 3)  # return at critical, land at emergency
    await ParamAsync(system).set_param_float("RTL_RETURN_ALT", 25.0)
    await start_outbound(system, 200)
    tel = TelemetryAsync(system)
    await wait_until(lambda: sim_fleet.control.state(vehicle)["distance_home_m"] > 60, 30, "60 m out")
    sim_fleet.control.set_battery(vehicle, 0.14)  # low: a warning only
    await asyncio.sleep(0.5)
    assert await tel.flight_mode() == FlightMode.MISSION
    sim_fleet.control.set_battery(vehicle, 0.065)  # critical
    await first(tel.subscribe_flight_mode(), lambda f: f == FlightMode.RETURN_TO_LAUNCH, 10, "RTL on critical")
    await asyncio.sleep(0.5)
    sim_fleet.control.set_battery(vehicle, 0.045)  # emergency
    await first(tel.subscribe_flight_mode(), lambda f: f == FlightMode.LAND, 10, "land on emergency")
    await wait_landed_disarmed(system, 90)
    assert sim_fleet.control.state(vehicle)["distance_home_m"] > 5  # landed where it was, not at home


async def test_geofence_breach_returns(sim_fleet, connect):
    vehicle = VEHICLE["geofence"]
    system = await connect(vehicle)
    lat, lon = await healthy_home(system)
    await ParamAsync(system).set_param_int("GF_ACTION", 3)  # return
    square = [Point(*offset(lat, lon, n, e)) for n, e in ((-80, -80), (80, -80), (80, 80), (-80, 80))]
    no_fly = Circle(Point(*offset(lat, lon, -60, 60)), 10.0, FenceType.EXCLUSION)
    await GeofenceAsync(system).upload_geofence(GeofenceData([Polygon(square, FenceType.INCLUSION)], [no_fly]))
    fence = await MissionRawAsync(system).download_geofence()
    assert len(fence) == 5  # four vertices and one circle
    await start_outbound(system, 200)
    tel = TelemetryAsync(system)
    await first(tel.subscribe_flight_mode(), lambda f: f == FlightMode.RETURN_TO_LAUNCH, 40, "RTL on breach")
    state = sim_fleet.control.state(vehicle)
    assert 75 < state["distance_home_m"] < 95 and state["fence_breached"]
    await wait_landed_disarmed(system, 90)
    assert sim_fleet.control.state(vehicle)["distance_home_m"] < 2.0


# -------------------------------------------------------------------------------------- examples
def test_example_script_flies_the_simulator(sim_fleet):
    url = sim_fleet.url(VEHICLE["example"])
    done = subprocess.run(
        [sys.executable, str(REPO / "examples" / "fly_mission_mavsdk.py"), "--url", url, "--max-time", "120"],
        capture_output=True,
        text=True,
        timeout=150,
        cwd=REPO,
    )
    assert done.returncode == 0, done.stdout[-2000:] + done.stderr[-2000:]
    assert "landed and disarmed" in done.stdout
    state = sim_fleet.control.state(VEHICLE["example"])
    assert state["landed"] and not state["armed"] and state["distance_home_m"] < 2.0
