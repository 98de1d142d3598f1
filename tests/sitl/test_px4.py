"""The same MAVSDK flight against real PX4 SITL (SIH), where a PX4 build is available."""

from __future__ import annotations

import pytest

from sitl.px4 import Px4Fleet, Px4Unavailable, find_px4_build

pytestmark = pytest.mark.px4


def px4_build_or_skip():
    try:
        return find_px4_build()
    except Px4Unavailable as exc:
        pytest.skip(f"PX4 SITL not available: {exc}")


def test_find_px4_build_names_what_is_missing(tmp_path):
    with pytest.raises(Px4Unavailable, match="no built px4"):
        find_px4_build(tmp_path)


async def test_px4_sih_takes_off_and_lands():
    build = px4_build_or_skip()
    from mavsdk.asyncio import ComponentType, Configuration, Mavsdk
    from mavsdk.asyncio.plugins.action import ActionAsync
    from mavsdk.asyncio.plugins.telemetry import TelemetryAsync

    from .conftest import first

    with Px4Fleet(build, drones=1) as fleet:
        mavsdk = Mavsdk(Configuration.create_with_component_type(ComponentType.GROUND_STATION))
        try:
            await mavsdk.add_any_connection(fleet.connection_urls()[0])
            system = await mavsdk.first_autopilot(timeout_s=60)
            assert system is not None
            tel, action = TelemetryAsync(system), ActionAsync(system)
            await first(tel.subscribe_health_all_ok(), lambda ok: ok, 120, "PX4 health")
            await action.arm()
            await action.takeoff()
            await first(tel.subscribe_position(), lambda p: p.relative_altitude_m > 2.0, 60, "takeoff")
            await action.land()
            await first(tel.subscribe_armed(), lambda armed: not armed, 120, "landed and disarmed")
        finally:
            mavsdk.destroy()
