"""Fleet fixtures: one simulator process per test module (over UDP, through MAVSDK, time-scaled)
and a FleetManager on a fresh database and event bus per test, recording every event it publishes."""

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

from .simfleet import Sim, start_sim, stop_sim


@pytest.fixture(scope="module")
def sim(request: pytest.FixtureRequest) -> Sim:
    """`SIM_DRONES` vehicles at `SIM_SPEED` (module attributes) in one simulator process."""
    drones = getattr(request.module, "SIM_DRONES", 4)
    speed = getattr(request.module, "SIM_SPEED", 10.0)
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


@pytest.fixture
async def make_fleet(tmp_path: Path) -> AsyncIterator[MakeFleet]:
    """make_fleet({drone_id: url}, zones=[...], **fleet_settings) -> (started manager, recording bus)."""
    made: list[tuple[FleetManager, EventBus, Database]] = []

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
                                    "sync_interval_s": 0.5, **overrides})
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
