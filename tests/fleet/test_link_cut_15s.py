"""The issue's exact case: the link cut for 15 s mid-mission. At 4x time-scaling that is 3.75 s of
wall clock, past the simulator's wall-clock floor for missing ground-station heartbeats, so the
vehicle's own data-link failsafe (COM_DL_LOSS_T 10 s) trips as on PX4."""

from __future__ import annotations

from fleet.state import DroneState

from .simfleet import wait_until
from .test_fleet_failsafes import FAST_RTL, fly_outbound

BACKENDS = ("sim", "px4")
SIM_DRONES = 1
SIM_SPEED = 4.0
S = DroneState


async def test_link_cut_for_15_s_vehicle_returns_platform_reconciles(sim, make_fleet) -> None:  # type: ignore[no-untyped-def]
    manager, rec = await make_fleet({"k1": sim.url(1)}, link_lost_after_s=1.0, failsafe_params=FAST_RTL)
    await fly_outbound(manager, sim, "k1", 1, 300)
    await wait_until(lambda: sim.state(1)["distance_home_m"] > 60, sim.wall(40), "60 m out")
    sim.cut_link(1, duration_s=15)
    await wait_until(lambda: rec.of("drone.link_lost", "k1"), 5, "link_lost event")
    await wait_until(lambda: sim.state(1)["mode"] == "RTL", sim.wall(10), "vehicle RTL on its own")
    await wait_until(lambda: rec.of("drone.link_restored", "k1"), sim.wall(15), "link_restored event")
    restored = rec.of("drone.link_restored", "k1")[0]
    assert restored["state"] == "returning" and restored["in_air"]
    assert restored["mission_current"] == sim.state(1)["mission_seq"]  # reconciled, not restarted
    await wait_until(lambda: manager.state("k1") == S.IDLE, sim.wall(90), "landed at home")
    assert sim.state(1)["distance_home_m"] < 2.0
