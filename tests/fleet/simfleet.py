"""The vehicles the fleet tests fly, on the same wire either way (UDP, MAVSDK): the built-in
simulator as a separate process, or real PX4 SITL (SIH) where `PX4_DIR` points at a build; plus
small builders of `MissionPlan`s in metres around a vehicle's home.

Both backends answer the same questions: `url(i)`, `home(i)`, `state(i)` (the vehicle's own
account: mode, position, home distance, mission item) and inject the same faults (`cut_link`,
`set_battery`, `fail_motor`), each the way it can: the simulator through its control port, PX4 through a
MAVLink tap on its link and its own parameters. `wall(s)` turns a test's wall-clock timeout,
written for the simulator, into one for the backend at hand."""

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
from sitl.px4 import Px4Fleet

REPO = Path(__file__).resolve().parents[2]
REL = MavFrame.GLOBAL_RELATIVE_ALT
NOPOS = MavFrame.MISSION


@dataclass
class Sim:
    proc: subprocess.Popen[str]
    control: ControlClient
    urls: list[str]
    log: Path
    name = "sim"

    def url(self, system_id: int) -> str:
        return self.urls[system_id - 1]

    def state(self, system_id: int) -> dict[str, Any]:
        return self.control.state(system_id)

    def home(self, system_id: int) -> tuple[float, float]:
        st = self.state(system_id)  # on the ground at home before its first flight
        return st["lat"], st["lon"]

    def wall(self, timeout_s: float) -> float:
        return timeout_s

    def cut_link(self, system_id: int, duration_s: float) -> None:
        """Cut the link both ways for `duration_s` simulated seconds."""
        self.control.cut_link(system_id, duration_s=duration_s)

    def set_battery(self, system_id: int, remaining: float) -> None:
        self.control.set_battery(system_id, remaining)

    def fail_motor(self, system_id: int) -> None:
        """A motor fails: the vehicle falls, reporting HEARTBEAT EMERGENCY, motor outputs unhealthy
        and an EMERGENCY status text."""
        self.control.fail_motor(system_id)


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


@dataclass
class Px4Sim:
    """PX4 SITL instances (SIH) behind MAVLink taps; system id i is PX4 instance i-1."""

    fleet: Px4Fleet
    reference_speed: float  # the speed factor the tests' wall-clock timeouts were written for
    name = "px4"
    # PX4 cruises slower than the simulator's defaults and spends longer on takeoff and landing.
    SLACK = 2.0

    @property
    def urls(self) -> list[str]:
        return self.fleet.connection_urls()

    def url(self, system_id: int) -> str:
        return self.urls[system_id - 1]

    def state(self, system_id: int) -> dict[str, Any]:
        return self.fleet.state(system_id - 1)

    def home(self, system_id: int) -> tuple[float, float]:
        home = self.state(system_id)["home"]
        return home[0], home[1]

    def wall(self, timeout_s: float) -> float:
        return timeout_s * self.SLACK * self.reference_speed / self.fleet.speed_factor

    def cut_link(self, system_id: int, duration_s: float) -> None:
        self.fleet.cut_link(system_id - 1, duration_s / self.fleet.speed_factor)

    def set_battery(self, system_id: int, remaining: float) -> None:
        """PX4's simulated battery drains while armed down to SIM_BAT_MIN_PCT: a 1 s drain to the
        floor sets the state of charge (PX4 then reports it through its voltage-based estimate)."""
        self.fleet.set_params(system_id - 1, {"SIM_BAT_DRAIN": 1.0, "SIM_BAT_MIN_PCT": round(remaining * 100.0, 2)})

    def fail_motor(self, system_id: int) -> None:
        """PX4's own failure injection, `failure motor off -i 1` (SYS_FAILURE_EN=1), only rewrites
        the ESC reports (esc_status), which SIH does not publish: the motor keeps turning. So the
        vehicle's failure detector is made to trip as it would on the upset a lost motor causes:
        FD_FAIL_R/P lowered to 1 degree, its attitude failure fires and, with CBRK_FLIGHTTERM=0
        (PX4_FAULT_PARAMS, at boot), PX4 terminates the flight: motors off, HEARTBEAT
        FLIGHT_TERMINATION, the vehicle falls."""
        self.fleet.shell(system_id - 1, "failure", "motor", "off", "-i", "1")
        self.fleet.set_params(system_id - 1, {"FD_FAIL_R": 1, "FD_FAIL_P": 1})

    def stop(self) -> None:
        self.fleet.stop()


# Set at boot (Px4Fleet.params), before PX4's modules start.
# PX4 holds for COM_FAIL_ACT_T (5 s) before a failsafe action, and cancels it if the cause clears
# meanwhile; the built-in simulator acts at once. With PX4's default a link cut for exactly
# COM_DL_LOSS_T + 5 s (the 15 s) would race the vehicle's return against the link's.
# PX4's battery simulator reports no current (-1 A) and the open-circuit voltage of its state of
# charge; with no current the estimator adds back the sag it expects from the throttle
# (BAT1_V_LOAD_DROP per cell at full throttle; BAT1_R_INTERNAL only applies with a current), so a
# simulated 10 % was reported as about 20 % in flight. With no load drop the reported charge is the
# simulated one.
PX4_TEST_PARAMS = {"COM_FAIL_ACT_T": 0.0, "BAT1_V_LOAD_DROP": 0.0}


# For the fault tests: failure injection allowed, and flight termination on a critical failure.
PX4_FAULT_PARAMS = {"SYS_FAILURE_EN": 1, "CBRK_FLIGHTTERM": 0}


def start_px4(drones: int, speed: float, reference_speed: float, build: Path,
              params: dict[str, float | int] | None = None) -> Px4Sim:
    fleet = Px4Fleet(build, drones, speed_factor=speed, tap=True, params={**PX4_TEST_PARAMS, **(params or {})})
    fleet.start()
    # Ready once each vehicle knows its home and passes its pre-arm checks for a few seconds
    # running (the estimator settles a while after boot).
    deadline, ready_since = time.monotonic() + 120, [0.0] * drones
    while True:
        now = time.monotonic()
        for i in range(drones):
            st = fleet.state(i)
            ok = st["prearm_ok"] and st["home"] is not None and st["lat"] is not None
            ready_since[i] = (ready_since[i] or now) if ok else 0.0
        if all(t and now - t >= 3.0 for t in ready_since):
            return Px4Sim(fleet, reference_speed)
        if now > deadline:
            logs = fleet.log(0)[-2000:]
            fleet.stop()
            raise RuntimeError(f"PX4 SITL not ready within 120 s: {logs}")
        time.sleep(0.2)


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


def run_row(db: Any, run_id: str) -> Any:
    """The run's row (`core.models.Mission`) as stored now."""
    from core.models import Mission

    with db.session() as s:
        return s.get(Mission, run_id)


def run_kinds(rec: Any, run_id: str) -> list[str]:
    """The run's lifecycle events in order (`planning`, `approved`, ..., progress left out)."""
    return [e.type.split(".")[2] for e in rec.events if e.subject == run_id and e.type.startswith("skypatrol.mission.")
            and not e.type.endswith("progress.v1")]

