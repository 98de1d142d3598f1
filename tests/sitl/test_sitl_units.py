"""The simulator's parts in-process: geometry, parameters, modes, flight model limits, failsafes,
determinism, and the CLI's bad-input contract."""

from __future__ import annotations

import math
import subprocess
import sys

import pymap3d
import pytest
from pymavlink.dialects.v20 import common as mav

from sitl.autopilot import ACCEPTED, REJECTED, UNSUPPORTED, Autopilot, CommandRequest
from sitl.local_frame import LocalFrame
from sitl.mission_store import FENCE, MISSION, Geofence, StoredItem
from sitl.params import ParamStore, int_to_wire, wire_to_int
from sitl.px4_modes import FlightMode, custom_mode_of, flight_mode_from

from .conftest import REPO

HOME = (30.7410, 121.3420, 4.0)
NAN = math.nan


def test_local_frame_agrees_with_pymap3d_over_a_patrol_area():
    frame = LocalFrame(*HOME)
    for east, north, up in ((2000.0, -1500.0, 120.0), (-300.0, 4000.0, 30.0), (5.0, 5.0, 0.0)):
        lat, lon, alt = frame.enu2geodetic(east, north, up)
        assert alt == HOME[2] + up  # up is the altitude above the origin's
        # east/north: pymap3d's, for the point at the origin's altitude
        e_ref, n_ref, _ = pymap3d.geodetic2enu(lat, lon, HOME[2], *HOME)
        assert math.hypot(e_ref - east, n_ref - north) < 0.005
        e2, n2, u2 = frame.geodetic2enu(lat, lon, alt)
        assert math.hypot(e2 - east, n2 - north) < 0.005 and abs(u2 - up) < 1e-9


def test_int_params_travel_bytewise_as_px4():
    assert wire_to_int(int_to_wire(10040)) == 10040
    assert wire_to_int(int_to_wire(-1)) == -1
    params = ParamStore()
    params.set_from_wire("NAV_DLL_ACT", int_to_wire(2))
    assert params.get_int("NAV_DLL_ACT") == 2
    assert params.type_of("NAV_DLL_ACT") == mav.MAV_PARAM_TYPE_INT32
    assert params.type_of("MIS_TAKEOFF_ALT") == mav.MAV_PARAM_TYPE_REAL32
    assert params.names() == sorted(params.names())  # indexes are stable


def test_px4_custom_modes():
    assert custom_mode_of(FlightMode.MISSION) == (4 << 16) | (4 << 24)
    assert custom_mode_of(FlightMode.RTL) == (4 << 16) | (5 << 24)
    for mode in FlightMode:
        value = custom_mode_of(mode)
        assert flight_mode_from((value >> 16) & 0xFF, value >> 24) == mode
    assert flight_mode_from(3, 0) is None  # POSCTL: not simulated (no manual control input)


def _item(seq, command, x=0, y=0, p1=0.0, p2=0.0, p3=0.0, z=20.0, mtype=MISSION, frame=None):
    frame = mav.MAV_FRAME_GLOBAL_RELATIVE_ALT_INT if frame is None else frame
    return StoredItem(seq, frame, command, 1, p1, p2, p3, NAN, x, y, z, mtype)


def _at(frame: LocalFrame, east: float, north: float) -> tuple[int, int]:
    lat, lon, _ = frame.enu2geodetic(east, north, 0.0)
    return round(lat * 1e7), round(lon * 1e7)


def test_geofence_inclusion_polygon_and_exclusion_circle():
    frame = LocalFrame(*HOME)
    corners = [(-50, -50), (50, -50), (50, 50), (-50, 50)]
    items = [
        _item(i, mav.MAV_CMD_NAV_FENCE_POLYGON_VERTEX_INCLUSION, *_at(frame, e, n), p1=4, mtype=FENCE)
        for i, (e, n) in enumerate(corners)
    ]
    items.append(_item(4, mav.MAV_CMD_NAV_FENCE_CIRCLE_EXCLUSION, *_at(frame, 30, 30), p1=10, mtype=FENCE))
    fence = Geofence.from_items(items, frame)
    assert fence.inside(0, 0)
    assert not fence.inside(60, 0)  # outside the inclusion square
    assert not fence.inside(32, 28)  # inside the exclusion circle
    assert fence.inside(-45, 45)


def fly(ap: Autopilot, seconds: float, dt: float = 0.05, watch=None) -> None:
    for _ in range(int(seconds / dt)):
        ap.step(dt)
        ap.post_step()
        if watch:
            watch(ap)


def cmd(command: int, *params: float, alt: float | None = None) -> CommandRequest:
    p = (list(params) + [NAN] * 4)[:4]
    return CommandRequest(command, tuple(p), None, None, alt)  # type: ignore[arg-type]


def test_flight_model_respects_speed_acceleration_climb_and_yaw_limits():
    ap = Autopilot(1, *HOME, seed=1)
    ap.params.set("MPC_XY_CRUISE", 8.0)
    ap.on_param_changed("MPC_XY_CRUISE")
    frame = ap.frame
    ap.missions.replace(
        MISSION,
        [
            _item(0, mav.MAV_CMD_NAV_WAYPOINT, *_at(frame, 0, 300), z=30),
            _item(1, mav.MAV_CMD_NAV_WAYPOINT, *_at(frame, 300, 300), z=30),
        ],
    )
    ap.on_mission_replaced(MISSION)
    assert ap.set_mode(FlightMode.MISSION)[0] == ACCEPTED
    assert ap.arm()[0] == ACCEPTED
    peaks = {"speed": 0.0, "climb": 0.0, "acc": 0.0, "yaw_rate": 0.0}
    last = [0.0, 0.0]

    def watch(a: Autopilot) -> None:
        m = a.model
        peaks["speed"] = max(peaks["speed"], m.ground_speed_m_s)
        peaks["climb"] = max(peaks["climb"], m.vel_up_m_s)
        peaks["acc"] = max(peaks["acc"], math.hypot(m.vel_east_m_s - last[0], m.vel_north_m_s - last[1]) / 0.05)
        peaks["yaw_rate"] = max(peaks["yaw_rate"], abs(m.yaw_rate_rad_s))
        last[:] = [m.vel_east_m_s, m.vel_north_m_s]

    fly(ap, 120, watch=watch)
    assert ap.mission_state == mav.MISSION_STATE_COMPLETE and ap.mode == FlightMode.HOLD
    assert 7.5 < peaks["speed"] <= 8.0 + 1e-9
    assert peaks["climb"] <= ap.p("MPC_Z_VEL_MAX_UP") + 1e-9
    assert peaks["acc"] <= ap.p("MPC_ACC_HOR") + 1e-6
    assert peaks["yaw_rate"] <= math.radians(ap.p("MPC_YAWRAUTO_MAX")) + 1e-6


def test_battery_drains_faster_in_fast_flight_than_in_hover():
    def drain(speed: float) -> float:
        ap = Autopilot(1, *HOME, seed=3)
        ap.arm()
        ap.handle_command(cmd(mav.MAV_CMD_NAV_TAKEOFF))
        fly(ap, 20)
        ap.params.set("MPC_XY_CRUISE", speed)
        ap.handle_command(
            CommandRequest(
                mav.MAV_CMD_DO_REPOSITION,
                (NAN,) * 4,  # type: ignore[arg-type]
                *ap.frame.enu2geodetic(0, 5000, 0)[:2],
                NAN,
            )
        )
        start = ap.battery.remaining
        fly(ap, 60)
        return start - ap.battery.remaining

    hover_like, fast = drain(1.0), drain(12.0)
    assert fast > hover_like * 1.2 > 0


def test_same_seed_same_flight_other_seed_other_noise():
    def trace(seed: int) -> list[tuple[float, float]]:
        ap = Autopilot(1, *HOME, seed=seed)
        ap.params.set("SIH_WIND_GUST", 3.0)
        ap.on_param_changed("SIH_WIND_GUST")
        ap.arm()
        ap.handle_command(cmd(mav.MAV_CMD_NAV_TAKEOFF))
        out = []
        fly(ap, 30, watch=lambda a: out.append(a.estimated_geodetic()[:2]))
        return out

    assert trace(5) == trace(5)
    assert trace(5) != trace(6)


def test_commands_refused_as_px4():
    ap = Autopilot(1, *HOME, seed=0)
    assert ap.handle_command(cmd(mav.MAV_CMD_NAV_TAKEOFF))[0] == REJECTED  # disarmed
    assert ap.handle_command(cmd(mav.MAV_CMD_DO_SET_MODE, 1, 4, 4))[0] == REJECTED  # mission mode, no mission
    assert ap.handle_command(cmd(mav.MAV_CMD_DO_SET_MODE, 1, 3, 0))[0] == REJECTED  # POSCTL without sticks
    assert ap.handle_command(cmd(mav.MAV_CMD_DO_ORBIT, 10))[0] == UNSUPPORTED
    ap.gps_ok = False
    assert ap.handle_command(cmd(mav.MAV_CMD_COMPONENT_ARM_DISARM, 1))[0] == REJECTED  # no GPS
    assert ap.handle_command(cmd(mav.MAV_CMD_COMPONENT_ARM_DISARM, 1, 21196))[0] == ACCEPTED  # forced
    ap.gps_ok = True
    ap.handle_command(cmd(mav.MAV_CMD_NAV_TAKEOFF))
    fly(ap, 5)
    assert ap.in_air
    assert ap.handle_command(cmd(mav.MAV_CMD_COMPONENT_ARM_DISARM, 0))[0] == REJECTED  # in the air


def test_failsafes_follow_their_parameters():
    ap = Autopilot(1, *HOME, seed=0)
    ap.arm()
    ap.handle_command(cmd(mav.MAV_CMD_NAV_TAKEOFF))
    fly(ap, 5)
    ap.set_link_lost(True)  # NAV_DLL_ACT 0 (PX4 default): nothing happens
    assert ap.mode == FlightMode.TAKEOFF or ap.mode == FlightMode.HOLD
    ap.set_link_lost(False)
    ap.params.set("NAV_DLL_ACT", 3)
    ap.set_link_lost(True)
    assert ap.mode == FlightMode.LAND
    fly(ap, 30)
    assert ap.landed and not ap.armed  # landed, then disarmed after COM_DISARM_LAND


def test_motor_failure_falls_and_disarms():
    ap = Autopilot(1, *HOME, seed=0)
    ap.arm()
    ap.params.set("MIS_TAKEOFF_ALT", 20.0)
    ap.handle_command(cmd(mav.MAV_CMD_NAV_TAKEOFF))
    fly(ap, 20)
    assert ap.relative_alt_m > 15
    ap.inject("motor", failed=True)
    fly(ap, 5)
    assert ap.landed and not ap.armed and ap.arm()[0] == REJECTED


@pytest.mark.parametrize(
    "args",
    [
        ["--drones", "0"],
        ["--drones", "256"],
        ["--drones", "x"],
        ["--home", "91,0"],
        ["--home", "1,2", "--home", "3,4"],
        ["--speed-factor", "0"],
        ["--base-port", "80"],
        ["--no-such-option"],
    ],
)
def test_cli_bad_input_is_one_line_and_exit_2(args):
    done = subprocess.run([sys.executable, "-m", "sitl", *args], capture_output=True, text=True, timeout=30, cwd=REPO)
    assert done.returncode == 2
    assert done.stdout == ""
    assert len(done.stderr.strip().splitlines()) == 1, done.stderr


def test_cli_prints_urls_then_exits_cleanly_on_sigterm():
    import signal

    from .conftest import free_udp_ports

    base = free_udp_ports(3)
    proc = subprocess.Popen(
        [sys.executable, "-m", "sitl", "--drones", "3", "--base-port", str(base)],
        cwd=REPO,
        stdout=subprocess.PIPE,
        stderr=subprocess.PIPE,
        text=True,
    )
    try:
        lines = [proc.stdout.readline() for _ in range(3)]  # type: ignore[union-attr]
        assert lines == [f"udpin://0.0.0.0:{base + i}\n" for i in range(3)]
    finally:
        proc.send_signal(signal.SIGTERM)
        assert proc.wait(10) == 0


def test_gps_loss_in_flight_lands_where_it_is():
    ap = Autopilot(1, *HOME, seed=0)
    ap.arm()
    ap.params.set("MIS_TAKEOFF_ALT", 10.0)
    ap.handle_command(cmd(mav.MAV_CMD_NAV_TAKEOFF))
    fly(ap, 15)
    ap.inject("gps", ok=False)
    fly(ap, 0.1)
    assert ap.mode == FlightMode.LAND
    fly(ap, 40)
    assert ap.landed and not ap.armed


def test_rtl_goes_to_the_closest_rally_point():
    ap = Autopilot(1, *HOME, seed=0)
    frame = ap.frame
    ap.missions.replace(
        mav.MAV_MISSION_TYPE_RALLY,
        [_item(0, mav.MAV_CMD_NAV_RALLY_POINT, *_at(frame, 100, 0), mtype=mav.MAV_MISSION_TYPE_RALLY)],
    )
    ap.params.set("RTL_RETURN_ALT", 15.0)
    ap.arm()
    ap.handle_command(cmd(mav.MAV_CMD_NAV_TAKEOFF))
    fly(ap, 5)
    ap.handle_command(
        CommandRequest(
            mav.MAV_CMD_DO_REPOSITION,
            (NAN,) * 4,  # type: ignore[arg-type]
            *frame.enu2geodetic(120, 0, 0)[:2],
            NAN,
        )
    )
    fly(ap, 40)
    assert ap.handle_command(cmd(mav.MAV_CMD_NAV_RETURN_TO_LAUNCH))[0] == ACCEPTED
    fly(ap, 90)
    assert ap.landed and math.hypot(ap.model.east_m - 100, ap.model.north_m) < 1.5
