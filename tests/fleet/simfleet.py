"""The simulator as a separate process for the fleet tests (the same wire as PX4 SITL: UDP, MAVSDK),
plus small builders of `MissionPlan`s in metres around a vehicle's home."""

from __future__ import annotations

import asyncio
import math
import signal
import subprocess
import sys
import tempfile
import time
from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from missions.items import MavCmd, MavFrame, MissionItem, MissionPlan
from sitl.control import ControlClient
from sitl.ports import free_udp_base

REPO = Path(__file__).resolve().parents[2]
REL = MavFrame.GLOBAL_RELATIVE_ALT
NOPOS = MavFrame.MISSION


@dataclass
class Sim:
    proc: subprocess.Popen[str]
    control: ControlClient
    urls: list[str]
    log: Path

    def url(self, system_id: int) -> str:
        return self.urls[system_id - 1]

    def state(self, system_id: int) -> dict[str, Any]:
        return self.control.state(system_id)

    def home(self, system_id: int) -> tuple[float, float]:
        st = self.state(system_id)  # on the ground at home before its first flight
        return st["lat"], st["lon"]


def start_sim(drones: int, speed: float) -> Sim:
    base = free_udp_base(drones)
    control_port = free_udp_base(1)
    log = Path(tempfile.mkstemp(prefix="sitl-fleet-", suffix=".log")[1])
    cmd = [sys.executable, "-m", "sitl", "--drones", str(drones), "--base-port", str(base), "--speed-factor",
           str(speed), "--seed", "11", "--control-port", str(control_port)]
    proc = subprocess.Popen(cmd, cwd=REPO, stdout=subprocess.PIPE, stderr=log.open("w"), text=True)
    assert proc.stdout is not None
    urls: list[str] = []
    deadline = time.monotonic() + 30
    while len(urls) < drones and time.monotonic() < deadline:
        line = proc.stdout.readline()
        if not line:
            break
        urls.append(line.strip())
    if len(urls) < drones:
        proc.kill()
        raise RuntimeError(f"simulator did not start: {log.read_text()[-2000:]}")
    return Sim(proc, ControlClient(control_port), urls, log)


def stop_sim(sim: Sim) -> int:
    sim.proc.send_signal(signal.SIGINT)
    try:
        return sim.proc.wait(15)
    except subprocess.TimeoutExpired:
        sim.proc.kill()
        return -9


def offset(lat: float, lon: float, north_m: float, east_m: float) -> tuple[float, float]:
    r = 6378137.0
    return lat + math.degrees(north_m / r), lon + math.degrees(east_m / (r * math.cos(math.radians(lat))))


class Plan:
    """MissionPlan items with positions in metres north/east of home."""

    def __init__(self, home_lat: float, home_lon: float) -> None:
        self.home = (home_lat, home_lon)
        self.plan = MissionPlan(home_lat=home_lat, home_lon=home_lon)

    def _add(self, cmd: int, frame: int, p1: float = 0, p2: float = 0, p3: float = 0, p4: float = math.nan,
             north_m: float | None = None, east_m: float | None = None, alt_m: float = 0.0) -> Plan:
        lat = lon = 0.0
        if north_m is not None and east_m is not None:
            lat, lon = offset(*self.home, north_m, east_m)
        self.plan.items.append(MissionItem(cmd, frame, p1, p2, p3, p4, lat, lon, alt_m))
        return self

    def takeoff(self, alt_m: float) -> Plan:
        return self._add(MavCmd.NAV_TAKEOFF, REL, north_m=0, east_m=0, alt_m=alt_m)

    def waypoint(self, north_m: float, east_m: float, alt_m: float, hold_s: float = 0) -> Plan:
        return self._add(MavCmd.NAV_WAYPOINT, REL, hold_s, 2.0, north_m=north_m, east_m=east_m, alt_m=alt_m)

    def loiter_time(self, north_m: float, east_m: float, alt_m: float, seconds: float) -> Plan:
        return self._add(MavCmd.NAV_LOITER_TIME, REL, seconds, north_m=north_m, east_m=east_m, alt_m=alt_m)

    def land(self, north_m: float, east_m: float) -> Plan:
        return self._add(MavCmd.NAV_LAND, REL, north_m=north_m, east_m=east_m, alt_m=0)

    def rtl(self) -> Plan:
        return self._add(MavCmd.NAV_RETURN_TO_LAUNCH, NOPOS)

    def change_speed(self, speed_m_s: float) -> Plan:
        return self._add(MavCmd.DO_CHANGE_SPEED, NOPOS, 1, speed_m_s, -1)

    def trigger_distance(self, metres: float) -> Plan:
        return self._add(MavCmd.DO_SET_CAM_TRIGG_DIST, NOPOS, metres, 0, 0)

    def jump(self, to_index: int, repeats: int) -> Plan:
        return self._add(MavCmd.DO_JUMP, NOPOS, to_index, repeats)


async def wait_until(predicate: Callable[[], bool], timeout_s: float, what: str, poll_s: float = 0.05) -> None:
    deadline = time.monotonic() + timeout_s
    while not predicate():
        if time.monotonic() > deadline:
            raise AssertionError(f"timed out after {timeout_s} s waiting for {what}")
        await asyncio.sleep(poll_s)
