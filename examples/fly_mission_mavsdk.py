#!/usr/bin/env python3
"""Fly a small mission with plain MAVSDK (the native 4.x binding) - no SkyPatrol code.

Works against PX4 SITL, a real PX4 vehicle, or the SkyPatrol simulator:

    skypatrol sim --drones 1 &            # or: python -m sitl --drones 1
    python examples/fly_mission_mavsdk.py --url udpin://0.0.0.0:14540

It connects, waits until the vehicle is healthy and has a home position, uploads four waypoints
about 60 m around home (return to launch after the last one), arms, flies the mission to
completion, returns and lands. Exit status 0 when the vehicle is back on the ground.
"""

from __future__ import annotations

import argparse
import asyncio
import math
import sys

from mavsdk.asyncio import ComponentType, Configuration, Mavsdk
from mavsdk.asyncio.plugins.action import ActionAsync
from mavsdk.asyncio.plugins.mission import MissionAsync, MissionItem, MissionPlan
from mavsdk.asyncio.plugins.telemetry import TelemetryAsync


def offset(lat: float, lon: float, north_m: float, east_m: float) -> tuple[float, float]:
    """A point north_m / east_m away (flat-earth; fine for a few hundred metres)."""
    earth_radius_m = 6378137.0
    return (
        lat + math.degrees(north_m / earth_radius_m),
        lon + math.degrees(east_m / (earth_radius_m * math.cos(math.radians(lat)))),
    )


def waypoint(lat: float, lon: float, alt_m: float, speed_m_s: float) -> MissionItem:
    return MissionItem(
        latitude_deg=lat,
        longitude_deg=lon,
        relative_altitude_m=alt_m,
        speed_m_s=speed_m_s,
        is_fly_through=True,
        acceptance_radius_m=3.0,
    )


async def fly(url: str, timeout_s: float) -> int:
    config = Configuration.create_with_component_type(ComponentType.GROUND_STATION)
    mavsdk = Mavsdk(config)
    try:
        await mavsdk.add_any_connection(url)
        system = await mavsdk.first_autopilot(timeout_s=timeout_s)
        if system is None:
            print(f"no autopilot on {url} within {timeout_s} s", file=sys.stderr)
            return 1
        telemetry, action, mission = TelemetryAsync(system), ActionAsync(system), MissionAsync(system)

        print("waiting for health (GPS fix, home position)...")
        async for health in telemetry.subscribe_health():
            if health.is_global_position_ok and health.is_home_position_ok and health.is_armable:
                break
        home = await telemetry.home()
        print(f"home: {home.latitude_deg:.7f}, {home.longitude_deg:.7f}")

        corners = [(40.0, 0.0), (40.0, 40.0), (0.0, 40.0), (-10.0, 10.0)]
        items = [waypoint(*offset(home.latitude_deg, home.longitude_deg, n, e), 15.0, 8.0) for n, e in corners]
        await mission.set_return_to_launch_after_mission(True)
        await mission.upload_mission(MissionPlan(items))
        print(f"uploaded {len(items)} waypoints")

        await action.arm()
        await mission.start_mission()
        print("mission started")
        async for progress in mission.subscribe_mission_progress():
            print(f"progress: {progress.current}/{progress.total}")
            if progress.current == progress.total and progress.total > 0:
                break
        print("mission complete, returning")

        async for in_air in telemetry.subscribe_in_air():
            if not in_air:
                break
        async for armed in telemetry.subscribe_armed():
            if not armed:
                break
        print("landed and disarmed")
        return 0
    finally:
        mavsdk.destroy()


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--url", default="udpin://0.0.0.0:14540", help="MAVSDK connection URL")
    parser.add_argument("--timeout", type=float, default=20.0, help="seconds to wait for the vehicle")
    parser.add_argument("--max-time", type=float, default=600.0, help="give up after this many seconds")
    args = parser.parse_args()
    try:
        return asyncio.run(asyncio.wait_for(fly(args.url, args.timeout), args.max_time))
    except TimeoutError:
        print(f"the flight did not finish within {args.max_time} s", file=sys.stderr)
        return 1


if __name__ == "__main__":
    sys.exit(main())
