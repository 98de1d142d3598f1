"""One simulator process per test session, reached over UDP through MAVSDK, as a GCS would.

Each test flies its own vehicle (system id), so tests stay independent while sharing the process.
Simulated time runs SPEED times wall time; every wait is a generous wall-clock timeout.
"""

from __future__ import annotations

import asyncio
import contextlib
import signal
import subprocess
import sys
import tempfile
import time
from collections.abc import AsyncIterator, Awaitable, Callable
from dataclasses import dataclass
from pathlib import Path

import pytest
from mavsdk.asyncio import ComponentType, Configuration, Mavsdk, System

from sitl.control import ControlClient
from sitl.ports import free_udp_base as free_udp_ports

REPO = Path(__file__).resolve().parents[2]
SPEED = 10.0
DRONES = 12
# Which vehicle (system id) each test flies.
VEHICLE = {
    "health": 1,
    "takeoff_land": 2,
    "refusals": 3,
    "mission_a": 4,
    "mission_b": 5,
    "mission_c": 6,
    "pause_resume": 7,
    "link_loss": 8,
    "low_battery": 9,
    "geofence": 10,
    "example": 11,
    "params": 12,
}


@dataclass
class SimProcess:
    proc: subprocess.Popen[str]
    base_port: int
    control: ControlClient
    urls: list[str]

    def url(self, system_id: int) -> str:
        return self.urls[system_id - 1]


def start_sim(drones: int, speed: float, extra: list[str] | None = None) -> tuple[SimProcess, Path]:
    base = free_udp_ports(drones)
    control_port = free_udp_ports(1)
    log = Path(tempfile.mkstemp(prefix="sitl-", suffix=".log")[1])
    cmd = [
        sys.executable,
        "-m",
        "sitl",
        "--drones",
        str(drones),
        "--base-port",
        str(base),
        "--speed-factor",
        str(speed),
        "--seed",
        "7",
        "--control-port",
        str(control_port),
        *(extra or []),
    ]
    proc = subprocess.Popen(cmd, cwd=REPO, stdout=subprocess.PIPE, stderr=log.open("w"), text=True)
    assert proc.stdout is not None
    urls = []
    deadline = time.monotonic() + 30
    while len(urls) < drones and time.monotonic() < deadline:
        line = proc.stdout.readline()
        if not line:
            break
        urls.append(line.rstrip("\n"))
    if len(urls) < drones:
        proc.kill()
        raise RuntimeError(f"simulator did not start: {log.read_text()}")
    return SimProcess(proc, base, ControlClient(control_port), urls), log


def stop_sim(sim: SimProcess) -> int:
    sim.proc.send_signal(signal.SIGINT)
    try:
        return sim.proc.wait(15)
    except subprocess.TimeoutExpired:
        sim.proc.kill()
        return -9


@pytest.fixture(scope="session")
def sim_fleet() -> SimProcess:
    sim, log = start_sim(DRONES, SPEED)
    yield sim
    rc = stop_sim(sim)
    assert rc == 0, f"simulator exit status {rc}: {log.read_text()[-2000:]}"


Connect = Callable[[int], Awaitable[System]]


@pytest.fixture
async def connect(sim_fleet: SimProcess) -> AsyncIterator[Connect]:
    """connect(system_id) -> MAVSDK System over the vehicle's own UDP port; torn down after the test."""
    instances: list[Mavsdk] = []

    async def _connect(system_id: int) -> System:
        mavsdk = Mavsdk(Configuration.create_with_component_type(ComponentType.GROUND_STATION))
        instances.append(mavsdk)
        await mavsdk.add_any_connection(sim_fleet.url(system_id))
        system = await mavsdk.first_autopilot(timeout_s=20.0)
        assert system is not None, f"vehicle {system_id} not seen within 20 s"
        assert await system.get_system_id() == system_id
        return system

    yield _connect
    for mavsdk in instances:
        mavsdk.destroy()


async def wait_until(predicate: Callable[[], bool], timeout_s: float, what: str, poll_s: float = 0.1) -> None:
    deadline = time.monotonic() + timeout_s
    while not predicate():
        if time.monotonic() > deadline:
            raise AssertionError(f"timed out after {timeout_s} s waiting for {what}")
        await asyncio.sleep(poll_s)


async def first(agen: AsyncIterator, predicate: Callable[[object], bool], timeout_s: float, what: str) -> object:
    """The first item of an async stream that satisfies predicate, within a wall-clock timeout."""

    async def _scan() -> object:
        async for item in agen:
            if predicate(item):
                return item
        raise AssertionError(f"stream ended before {what}")

    try:
        return await asyncio.wait_for(_scan(), timeout_s)
    except TimeoutError:
        raise AssertionError(f"timed out after {timeout_s} s waiting for {what}") from None
    finally:
        with contextlib.suppress(Exception):
            await agen.aclose()
