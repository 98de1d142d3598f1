"""The fleet: N vehicles in one process and one asyncio loop, stepped in simulated time.

Simulated time advances in fixed steps (STEP_S) scheduled against the wall clock so that it runs
`speed_factor` times faster than wall time; if the host cannot keep up, simulated time slows
down rather than skipping steps. Every random draw comes from a generator seeded with
(seed, system id), so a run is reproducible given the same commands at the same simulated times.

Embedding (in-process use, e.g. from tests or `skypatrol run`):

    sim = FleetSimulator(SimConfig(drones=3, base_port=14540))
    await sim.start()
    sim.inject(2, "battery", remaining=0.1)
    ...
    await sim.stop()
"""

from __future__ import annotations

import asyncio
import contextlib
import time
from dataclasses import dataclass, field

from sitl.autopilot import Autopilot
from sitl.defaults import DEFAULT_BASE_PORT, default_homes
from sitl.mavlink_link import VehicleLink

STEP_S = 0.05  # simulated seconds per physics step
MAX_STEPS_PER_WAKE = 40  # beyond this the simulation falls behind instead of freezing the loop


@dataclass(slots=True)
class SimConfig:
    drones: int = 1
    base_port: int = DEFAULT_BASE_PORT
    homes: list[tuple[float, float, float]] = field(default_factory=list)  # missing ones: defaults
    speed_factor: float = 1.0
    seed: int = 0
    host: str = "127.0.0.1"

    def resolved_homes(self) -> list[tuple[float, float, float]]:
        if len(self.homes) >= self.drones:
            return list(self.homes[: self.drones])
        origin = self.homes[-1] if self.homes else None
        extra = default_homes(self.drones - len(self.homes) + (1 if origin else 0), *([origin] if origin else []))
        return list(self.homes) + extra[(1 if origin else 0) :]


@dataclass(slots=True)
class SimVehicle:
    autopilot: Autopilot
    link: VehicleLink

    @property
    def system_id(self) -> int:
        return self.autopilot.system_id

    @property
    def port(self) -> int:
        return self.link.remote[1]


class FleetSimulator:
    def __init__(self, config: SimConfig) -> None:
        if not 1 <= config.drones <= 255:
            raise ValueError("1 to 255 vehicles (MAVLink system ids 1..255)")
        if config.speed_factor <= 0:
            raise ValueError("speed_factor must be positive")
        self.config = config
        self.vehicles: list[SimVehicle] = []
        for i, (lat, lon, alt) in enumerate(config.resolved_homes()):
            ap = Autopilot(i + 1, lat, lon, alt, seed=config.seed)
            link = VehicleLink(ap, (config.host, config.base_port + i), seed=config.seed)
            self.vehicles.append(SimVehicle(ap, link))
        self.sim_time_s = 0.0
        self.steps = 0
        self._task: asyncio.Task[None] | None = None
        self._first_heartbeats = asyncio.Event()
        self._stopping = False

    # ------------------------------------------------------------------ lifecycle
    async def start(self) -> None:
        loop = asyncio.get_running_loop()
        for v in self.vehicles:
            # PX4 SITL binds its own port and sends to the GCS port; an ephemeral local port
            # keeps several simulators (and test runs) from colliding.
            await loop.create_datagram_endpoint(lambda v=v: v.link, local_addr=(self.config.host, 0))
        self._task = asyncio.create_task(self._run(), name="sitl-fleet")
        started = asyncio.create_task(self._first_heartbeats.wait())
        await asyncio.wait({self._task, started}, return_when=asyncio.FIRST_COMPLETED)
        if self._task.done():
            started.cancel()
            self._task.result()  # raises what stopped the loop

    async def stop(self) -> None:
        self._stopping = True
        if self._task is not None:
            self._task.cancel()
            with contextlib.suppress(asyncio.CancelledError):
                await self._task
        for v in self.vehicles:
            if v.link.transport is not None:
                v.link.transport.close()

    async def __aenter__(self) -> FleetSimulator:
        await self.start()
        return self

    async def __aexit__(self, *exc: object) -> None:
        await self.stop()

    def connection_urls(self) -> list[str]:
        return [f"udpin://0.0.0.0:{v.port}" for v in self.vehicles]

    # ------------------------------------------------------------------ the loop
    async def _run(self) -> None:
        k = self.config.speed_factor
        wall0 = time.monotonic()
        sim0 = self.sim_time_s
        self._tick(time.monotonic())
        self._first_heartbeats.set()
        while not self._stopping:
            wall = time.monotonic()
            target = sim0 + (wall - wall0) * k
            n = 0
            while self.sim_time_s + STEP_S <= target + 1e-9 and n < MAX_STEPS_PER_WAKE:
                self._step()
                n += 1
            if n == MAX_STEPS_PER_WAKE and self.sim_time_s + STEP_S <= target:
                wall0, sim0 = wall, self.sim_time_s  # fell behind: slow simulated time down
            self._tick(wall)
            next_wall = wall0 + (self.sim_time_s + STEP_S - sim0) / k
            await asyncio.sleep(max(0.0, next_wall - time.monotonic()))

    def _step(self) -> None:
        for v in self.vehicles:
            v.autopilot.step(STEP_S)
            v.autopilot.post_step()
        self.sim_time_s += STEP_S
        self.steps += 1

    def _tick(self, wall: float) -> None:
        for v in self.vehicles:
            v.link.tick(v.autopilot.time_s, wall)

    # ------------------------------------------------------------------ fault injection
    def vehicle(self, system_id: int) -> SimVehicle:
        for v in self.vehicles:
            if v.system_id == system_id:
                return v
        raise KeyError(f"no vehicle with system id {system_id}")

    def inject(self, system_id: int, fault: str, **kw: object) -> dict:
        """Fault injection; see sitl/control.py for the faults and their arguments."""
        v = self.vehicle(system_id)
        if fault == "link":
            up = bool(kw.get("up", False))
            duration = kw.get("duration_s")
            until = v.autopilot.time_s + float(duration) if (not up and duration is not None) else None  # type: ignore[arg-type]
            v.link.set_cut(not up, until)
            return v.autopilot.snapshot() | {"link_cut": v.link.cut}
        if fault == "state":
            return v.autopilot.snapshot() | {"link_cut": v.link.cut}
        return v.autopilot.inject(fault, **kw) | {"link_cut": v.link.cut}  # type: ignore[arg-type]
