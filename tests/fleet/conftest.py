"""Fleet fixtures: one simulator process per test module (over UDP, through MAVSDK, time-scaled)
and a FleetManager on a fresh database and event bus per test, recording every event it publishes.

A module that sets `BACKENDS = ("sim", "px4")` runs each of its tests against the built-in
simulator and against real PX4 SITL (marked `px4`; skipped with the reason where `PX4_DIR` names
no PX4 build). PX4 runs at `PX4_SPEED` times real time (module attribute, default 1): PX4 counts
a ground station as present while its last heartbeat is under 2.5 s old in simulated time, and
MAVSDK sends one per wall second, so beyond 2x PX4 sees its ground station come and go; and
PX4's simulated baro, compass and battery are not held in lockstep, so on a busy machine a
faster run starves them into sensor timeouts mid-flight."""

from __future__ import annotations

from collections.abc import AsyncIterator, Awaitable, Callable, Sequence
from pathlib import Path
from typing import Any

import pytest

from airspace.model import Zone
from airspace.store import ZoneStore
from core.db import Database
from core.events import Event, EventBus
from core.models import Drone
from core.settings import FleetSettings
from fleet.manager import FleetManager
from sitl.px4 import Px4Unavailable, find_px4_build

from .simfleet import Px4Sim, Sim, start_px4, start_sim, stop_sim

PX4_DEFAULT_SPEED = 1.0
PX4_TEST_TIMEOUT_S = 1500  # PX4 flies the same missions at a tenth of the simulator's pace


def pytest_generate_tests(metafunc: pytest.Metafunc) -> None:
    backends = getattr(metafunc.module, "BACKENDS", None)
    if backends and "sim" in metafunc.fixturenames:
        px4_marks = [pytest.mark.px4, pytest.mark.timeout(PX4_TEST_TIMEOUT_S)]
        params = [pytest.param(b, marks=px4_marks) if b == "px4" else b for b in backends]
        metafunc.parametrize("sim", params, indirect=True, scope="module")


@pytest.fixture(scope="module")
def sim(request: pytest.FixtureRequest) -> Sim | Px4Sim:
    """`SIM_DRONES` vehicles at `SIM_SPEED` (module attributes) in one simulator process, or as
    many PX4 SITL instances (with the module's `PX4_PARAMS` at boot besides the harness's own)."""
    drones = getattr(request.module, "SIM_DRONES", 4)
    speed = getattr(request.module, "SIM_SPEED", 10.0)
    if getattr(request, "param", "sim") == "px4":
        try:
            build = find_px4_build()
        except Px4Unavailable as exc:
            pytest.skip(f"PX4 SITL not available: {exc}")
        px4 = start_px4(drones, getattr(request.module, "PX4_SPEED", PX4_DEFAULT_SPEED), speed, build,
                        getattr(request.module, "PX4_PARAMS", None))
        yield px4
        px4.stop()
        return
    s = start_sim(drones, speed)
    yield s
    rc = stop_sim(s)
    assert rc == 0, f"simulator exit status {rc}: {s.log.read_text()[-2000:]}"


class RecordingBus:
    """The real event bus (stored, ordered) with a record of everything published through it."""

    def __init__(self, bus: EventBus) -> None:
        self.bus = bus
        self.events: list[Event] = []

    async def publish(self, type: str, data: Any = None, *, subject: str | None = None,
                      live_only: bool = False) -> Event:
        e = await self.bus.publish(type, data, subject=subject, live_only=live_only)
        self.events.append(e)
        return e

    def of(self, type_suffix: str, drone_id: str | None = None) -> list[dict[str, Any]]:
        out = []
        for e in self.events:
            if e.type == f"skypatrol.{type_suffix}.v1":
                d = e.data
                if drone_id is None or d.get("drone_id") == drone_id:
                    out.append(d)
        return out

    def states(self, drone_id: str) -> list[str]:
        return [d["to"] for d in self.of("drone.state_changed", drone_id)]


MakeFleet = Callable[..., Awaitable[tuple[FleetManager, RecordingBus]]]


# PX4 SITL streams position and attitude at 50 Hz; at that rate several vehicles' callbacks
# outrun MAVSDK's user-callback queue on a busy machine ("a subscriber is not keeping up") and
# MAVSDK drops callbacks, MISSION_ITEM_REACHED among them. The platform asks for less.
PX4_FLEET_SETTINGS = {"telemetry_rate_hz": 10.0}


@pytest.fixture
async def make_fleet(tmp_path: Path, request: pytest.FixtureRequest) -> AsyncIterator[MakeFleet]:
    """make_fleet({drone_id: url}, zones=[...], **fleet_settings) -> (started manager, recording bus)."""
    made: list[tuple[FleetManager, EventBus, Database]] = []
    backend = request.getfixturevalue("sim") if "sim" in request.fixturenames else None
    backend_settings = PX4_FLEET_SETTINGS if isinstance(backend, Px4Sim) else {}

    async def make(drones: dict[str, str], zones: Sequence[Zone] = (), **overrides: Any):
        db = Database(f"sqlite:///{tmp_path / f'fleet-{len(made)}.db'}")
        db.upgrade()
        with db.session() as s:
            for drone_id, url in drones.items():
                s.add(Drone(id=drone_id, name=drone_id, connection_url=url, state="offline"))
            if zones:
                ZoneStore(s).put_many(zones)
        bus = EventBus(db)
        await bus.start()
        settings = FleetSettings(**{"link_lost_after_s": 1.0, "landed_idle_after_s": 1.0,
                                    "sync_interval_s": 0.5, **backend_settings, **overrides})
        rec = RecordingBus(bus)
        manager = FleetManager(db, rec, settings)
        await manager.start()
        made.append((manager, bus, db))
        return manager, rec

    yield make
    for manager, bus, db in made:
        await manager.stop()
        await bus.stop()
        db.dispose()
