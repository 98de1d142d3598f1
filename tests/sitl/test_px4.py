"""The same MAVSDK flight against real PX4 SITL (SIH), where a PX4 build is available.

The fleet tests run against PX4 too (tests/fleet, modules with `BACKENDS = ("sim", "px4")`);
this is the plain MAVSDK check of the launcher itself: start, fly, stop."""

from __future__ import annotations

import pytest

from sitl.px4 import Px4Fleet, Px4Unavailable, find_px4_build, param_type

from .conftest import wait_until

pytestmark = pytest.mark.px4


def px4_build_or_skip():
    try:
        return find_px4_build()
    except Px4Unavailable as exc:
        pytest.skip(f"PX4 SITL not available: {exc}")


def test_find_px4_build_names_what_is_missing(tmp_path, monkeypatch):
    with pytest.raises(Px4Unavailable, match="no built px4"):
        find_px4_build(tmp_path)
    monkeypatch.delenv("PX4_DIR", raising=False)
    with pytest.raises(Px4Unavailable, match="PX4_DIR is not set"):
        find_px4_build()


@pytest.mark.timeout(600)
async def test_px4_sih_takes_off_and_lands_at_its_own_home():
    build = px4_build_or_skip()
    from mavsdk.asyncio import ComponentType, Configuration, Mavsdk
    from mavsdk.asyncio.plugins.action import ActionAsync
    from mavsdk.asyncio.plugins.telemetry import TelemetryAsync

    from .conftest import first

    home = (30.7500000, 121.3500000, 4.0)
    assert param_type(build, "SIH_LOC_LAT0") in ("INT32", "FLOAT")
    boot_params = {"BAT1_V_LOAD_DROP": 0.0, "COM_FAIL_ACT_T": 2.5}
    with Px4Fleet(build, drones=2, homes=[home], tap=True, params=boot_params) as fleet:
        mavsdk = Mavsdk(Configuration.create_with_component_type(ComponentType.GROUND_STATION))
        try:
            await mavsdk.add_any_connection(fleet.connection_urls()[0])
            system = await mavsdk.first_autopilot(timeout_s=60)
            assert system is not None and await system.get_system_id() == 1
            await wait_until(lambda: fleet.state(0)["home"] is not None and fleet.state(1)["home"] is not None, 60,
                             "both homes")
            assert fleet.state(0)["home"][:2] == pytest.approx(home[:2], abs=2e-5)  # where it was asked to be
            assert fleet.state(1)["system_id"] == 2 and fleet.state(1)["home"][0] != pytest.approx(home[0], abs=1e-4)
            for i in range(2):  # the boot-time parameters, in each instance
                shown = fleet.shell(i, "param", "show", "BAT1_V_LOAD_DROP")
                assert "BAT1_V_LOAD_DROP [" in shown and ": 0.0000" in shown, shown
                assert ": 2.5000" in fleet.shell(i, "param", "show", "COM_FAIL_ACT_T")
            tel, action = TelemetryAsync(system), ActionAsync(system)
            await first(tel.subscribe_health(), lambda h: h.is_armable, 120, "PX4 ready to arm")
            await action.set_takeoff_altitude(8.0)
            await action.arm()
            await action.takeoff()
            await wait_until(lambda: fleet.state(0)["alt_rel_m"] > 7.0, 60, "takeoff to 8 m, as the vehicle reports")
            assert fleet.state(0)["armed"] and not fleet.state(0)["landed"]
            await action.land()
            await first(tel.subscribe_armed(), lambda armed: not armed, 120, "landed and disarmed")
            assert fleet.state(0)["distance_home_m"] < 2.0 and fleet.state(0)["landed"]
        finally:
            mavsdk.destroy()
    assert fleet.processes == [] and fleet.taps == []
