"""The MAVLink tap that gives PX4 SITL a link cut and a vehicle's own account, checked against the
built-in simulator (whose control port knows the truth) so it runs wherever the suite runs."""

from __future__ import annotations

import asyncio
import math
import struct

from mavsdk.asyncio import ComponentType, Configuration, Mavsdk

from sitl.mavlink_tap import MavlinkTap, mavlink_frames, px4_mode_name
from sitl.ports import free_udp_base
from sitl.px4_modes import FlightMode, custom_mode_of

from .conftest import start_sim, stop_sim, wait_until


def test_frames_split_a_datagram_and_modes_read_as_the_simulator_names_them() -> None:
    heartbeat = bytes([0xFD, 9, 0, 0, 7, 1, 1, 0, 0, 0]) + struct.pack("<IBBBBB", 5, 2, 12, 129, 4, 3) + b"\0\0"
    reached = bytes([0xFD, 1, 0, 0, 8, 3, 1, 46, 0, 0, 4]) + b"\0\0"  # trailing zero trimmed: seq 4
    frames = mavlink_frames(heartbeat + reached)
    assert [(f[0], f[1], f[2]) for f in frames] == [(0, 1, 1), (46, 3, 1)]
    assert frames[1][3] == b"\x04"
    assert [px4_mode_name(custom_mode_of(m)) for m in FlightMode] == ["HOLD", "TAKEOFF", "MISSION", "RTL", "LAND"]
    assert px4_mode_name(3 << 16) == "POSCTL"


async def test_tap_relays_cuts_and_reports_what_the_vehicle_says() -> None:
    sim, log = start_sim(1, 10.0)
    tap = MavlinkTap(vehicle_port=sim.base_port, gcs_port=free_udp_base(1)).start()
    mavsdk = Mavsdk(Configuration.create_with_component_type(ComponentType.GROUND_STATION))
    try:
        await mavsdk.add_any_connection(tap.gcs_url)
        system = await mavsdk.first_autopilot(timeout_s=20)
        assert system is not None and await system.get_system_id() == 1
        truth = sim.control.state(1)
        await wait_until(lambda: tap.state()["home"] is not None and tap.state()["lat"] is not None, 10, "home")
        st = tap.state()
        assert st["system_id"] == 1 and st["mode"] == truth["mode"] == "HOLD" and not st["armed"] and st["landed"]
        assert abs(st["home"][0] - truth["lat"]) < 1e-5 and abs(st["home"][1] - truth["lon"]) < 1e-5
        assert st["distance_home_m"] < 5.0 and not math.isnan(st["north_m"])
        await wait_until(lambda: tap.state()["gcs_heartbeats"] >= 1, 5, "a ground station heartbeat passed on")

        tap.cut(wall_s=None)
        assert tap.state()["link_cut"]
        await wait_until(lambda: sim.control.state(1)["link_lost"], 15, "the vehicle's data-link loss")
        heard = tap.state()["time_s"]
        await asyncio.sleep(0.5)
        assert tap.state()["time_s"] > heard  # still reading the vehicle while nothing passes
        tap.restore()
        await wait_until(lambda: not sim.control.state(1)["link_lost"], 15, "the link back")
        assert await system.is_connected()
    finally:
        mavsdk.destroy()
        tap.stop()
        assert stop_sim(sim) == 0, log.read_text()[-2000:]
