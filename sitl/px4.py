"""Real PX4 SITL: N instances of PX4's SIH quadcopter (no Gazebo), as sitl_multiple_run.sh does.

Needs a PX4-Autopilot tree built for `px4_sitl_default` (or `px4_sitl`) with `PX4_DIR` pointing
at it. Instance i runs in its own working directory with `-i i`, airframe SYS_AUTOSTART=10040
("sihsim_quadx"), system id i+1, and sends MAVLink to the ground station on 127.0.0.1:14540+i -
the same ports and ids as the built-in simulator, so the same MAVSDK code flies either.

    with Px4Fleet.from_env(drones=3) as fleet:
        urls = fleet.connection_urls()

With `tap=True` a `MavlinkTap` sits between each instance and its ground station (which then
listens on a free port, see `connection_urls()`): the link can be cut (`cut_link`) and the
vehicle's own report read (`state`) the way the built-in simulator's control port allows.
Parameters go in at boot (`params`: PX4's startup script sources a `px4-rc.params` found first
on its PATH after the airframe's defaults and before the modules start, so each instance gets its
own in its working directory) or later through PX4's own shell (`px4-param --instance i`), so a
test can drain the simulated battery (SIM_BAT_*) without a second ground station on the link.
"""

from __future__ import annotations

import os
import re
import shutil
import signal
import socket
import subprocess
import sys
import tempfile
import time
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from sitl.defaults import DEFAULT_BASE_PORT, default_homes
from sitl.mavlink_tap import MavlinkTap
from sitl.ports import free_udp_base

SIH_QUADX_AUTOSTART = 10040
PX4_GCS_BASE_PORT = 14540  # PX4's fixed "onboard to GCS" remote port for instance 0
PX4_LOCAL_BASE_PORTS = (14580, 18570, 14280, 13030, 19450)  # what instance i binds, each +i
MAX_INSTANCES = 10  # from instance 10 on, PX4's startup script gives every instance port 14549


class Px4Unavailable(RuntimeError):
    """No usable PX4 build: PX4_DIR unset, or the tree holds no built px4 binary."""


def find_px4_build(px4_dir: str | os.PathLike[str] | None = None) -> Path:
    """The build directory (holding bin/px4 and etc/) of the PX4 tree at PX4_DIR."""
    root = px4_dir or os.environ.get("PX4_DIR")
    if not root:
        raise Px4Unavailable("PX4_DIR is not set (point it at a built PX4-Autopilot tree)")
    root_path = Path(root).expanduser()
    for candidate in ("build/px4_sitl_default", "build/px4_sitl"):
        build = root_path / candidate
        if (build / "bin" / "px4").is_file() and (build / "etc").is_dir():
            return build
    raise Px4Unavailable(f"no built px4 under {root_path}/build/px4_sitl_default (run `make px4_sitl_default`)")


def param_type(build_dir: Path, name: str) -> str | None:
    """INT32 or FLOAT as this build declares `name` (parameters.xml), None when unknown."""
    xml = build_dir / "parameters.xml"
    if not xml.is_file():
        return None
    m = re.search(rf'<parameter name="{re.escape(name)}"[^>]*type="(\w+)"', xml.read_text(errors="replace"))
    return m.group(1) if m else None


def _param_text(value: float | int) -> str:
    return repr(float(value)) if isinstance(value, float) else str(int(value))


def _udp_port_free(port: int) -> bool:
    with socket.socket(socket.AF_INET, socket.SOCK_DGRAM) as s:
        try:
            s.bind(("0.0.0.0", port))
        except OSError:
            return False
    return True


@dataclass
class Px4Fleet:
    build_dir: Path
    drones: int = 1
    homes: list[tuple[float, float, float]] = field(default_factory=list)  # missing ones: defaults
    speed_factor: float = 1.0
    tap: bool = False
    # Set at boot, before any module reads them (for parameters PX4 reads only at start).
    params: dict[str, float | int] = field(default_factory=dict)
    processes: list[subprocess.Popen[bytes]] = field(default_factory=list)
    taps: list[MavlinkTap] = field(default_factory=list)
    workdir: Path | None = None

    @classmethod
    def from_env(cls, drones: int = 1, **kw: Any) -> Px4Fleet:
        return cls(find_px4_build(), drones, **kw)

    def connection_urls(self) -> list[str]:
        """One MAVSDK URL per vehicle, in system id order."""
        if self.taps:
            return [t.gcs_url for t in self.taps]
        # PX4 SITL instance i always talks to 14540+i; a different base port needs PX4's own
        # mavlink start lines to change, which this launcher does not do.
        return [f"udpin://0.0.0.0:{PX4_GCS_BASE_PORT + i}" for i in range(self.drones)]

    def resolved_homes(self) -> list[tuple[float, float, float]]:
        return [*self.homes, *default_homes(self.drones)[len(self.homes):]][: self.drones]

    def _home_env(self, home: tuple[float, float, float]) -> dict[str, str]:
        lat, lon, alt = home
        # PX4 v1.15 declares SIH_LOC_LAT0/LON0 as INT32 in 1e-7 degrees; later releases as FLOAT degrees.
        scale = 1e7 if param_type(self.build_dir, "SIH_LOC_LAT0") == "INT32" else None
        fmt = (lambda v: str(round(v * scale))) if scale else (lambda v: f"{v:.7f}")
        return {"PX4_HOME_LAT": fmt(lat), "PX4_HOME_LON": fmt(lon), "PX4_HOME_ALT": f"{alt:.2f}"}

    def start(self) -> None:
        if PX4_GCS_BASE_PORT != DEFAULT_BASE_PORT:  # pragma: no cover - constants kept in step
            raise RuntimeError("PX4 and the simulator disagree on the base port")
        if not 1 <= self.drones <= MAX_INSTANCES:
            raise ValueError(f"PX4 SITL runs 1 to {MAX_INSTANCES} instances here, not {self.drones}")
        busy = [p + i for i in range(self.drones) for p in PX4_LOCAL_BASE_PORTS if not _udp_port_free(p + i)]
        if busy:
            raise RuntimeError(f"UDP ports {busy} are in use: is another PX4 SITL running?")
        self.workdir = Path(tempfile.mkdtemp(prefix="px4-sitl-"))
        try:
            if self.tap:
                base = free_udp_base(self.drones)
                for i in range(self.drones):
                    self.taps.append(MavlinkTap(PX4_GCS_BASE_PORT + i, base + i).start())
            for i, home in enumerate(self.resolved_homes()):
                instance_dir = self.workdir / f"instance_{i}"
                instance_dir.mkdir()
                env = dict(os.environ)
                if self.params:
                    self._write_boot_params(instance_dir)
                    env["PATH"] = f"{instance_dir}{os.pathsep}{env.get('PATH', os.defpath)}"
                env.update(
                    PX4_SYS_AUTOSTART=str(SIH_QUADX_AUTOSTART),
                    PX4_SIM_MODEL="sihsim_quadx",
                    PX4_SIM_SPEED_FACTOR=f"{self.speed_factor:g}",
                    **self._home_env(home),
                )
                log = (instance_dir / "px4.log").open("wb")
                cmd = [str(self.build_dir / "bin" / "px4"), "-i", str(i), "-d", str(self.build_dir / "etc")]
                self.processes.append(
                    subprocess.Popen(
                        cmd,
                        cwd=instance_dir,
                        env=env,
                        stdout=log,
                        stderr=subprocess.STDOUT,
                        stdin=subprocess.DEVNULL,
                        start_new_session=True,
                    )
                )
        except BaseException:
            self.stop()
            raise
        time.sleep(1.0)
        dead = [i for i, p in enumerate(self.processes) if p.poll() is not None]
        if dead:
            logs = self.log(dead[0])[-2000:]
            self.stop()
            raise RuntimeError(f"PX4 instance(s) {dead} exited at start:\n{logs}")

    def _write_boot_params(self, instance_dir: Path) -> None:
        """PX4's posix rcS runs `. px4-rc.params` ("user defined params for instances can be in
        PATH") after the airframe file and before dataman, the simulators and the controllers
        start; the px4 binary puts its own bin/ ahead of the PATH it is given and rcS appends
        etc/init.d-posix (PX4's empty default), so the instance directory's copy is the one read."""
        lines = ["#!/bin/sh", "# boot-time parameters from sitl.px4.Px4Fleet"]
        for name, value in self.params.items():
            if not re.fullmatch(r"[A-Z0-9_]{1,16}", name):
                raise ValueError(f"not a PX4 parameter name: {name!r}")
            lines.append(f"param set {name} {_param_text(value)}")
        (instance_dir / "px4-rc.params").write_text("\n".join(lines) + "\n")

    def log(self, instance: int) -> str:
        if self.workdir is None:
            return ""
        path = self.workdir / f"instance_{instance}" / "px4.log"
        return path.read_text(errors="replace") if path.is_file() else ""

    def shell(self, instance: int, command: str, *args: str, timeout_s: float = 10.0) -> str:
        """Run one PX4 shell command (`param set X 1`, `failure gps off`) in instance i."""
        client = self.build_dir / "bin" / f"px4-{command}"
        out = subprocess.run([str(client), "--instance", str(instance), *args], capture_output=True, text=True,
                             timeout=timeout_s, cwd=self.workdir)
        if out.returncode != 0:
            raise RuntimeError(f"px4-{command} {' '.join(args)} (instance {instance}): {out.stdout}{out.stderr}")
        return out.stdout

    def set_params(self, instance: int, params: dict[str, float | int]) -> None:
        for name, value in params.items():
            self.shell(instance, "param", "set", name, _param_text(value))

    def cut_link(self, instance: int, wall_s: float | None = None) -> None:
        self._tap(instance).cut(wall_s)

    def restore_link(self, instance: int) -> None:
        self._tap(instance).restore()

    def state(self, instance: int) -> dict[str, Any]:
        """The vehicle's own last report (mode, position, home, mission item, battery)."""
        return self._tap(instance).state()

    def _tap(self, instance: int) -> MavlinkTap:
        if not self.taps:
            raise RuntimeError("started without tap=True: no link control or state")
        return self.taps[instance]

    def stop(self) -> None:
        for p in self.processes:
            if p.poll() is None:
                os.killpg(p.pid, signal.SIGTERM)
        for p in self.processes:
            try:
                p.wait(10)
            except subprocess.TimeoutExpired:
                os.killpg(p.pid, signal.SIGKILL)
                p.wait(5)
        self.processes.clear()
        for t in self.taps:
            t.stop()
        self.taps.clear()
        if self.workdir is not None:
            if os.environ.get("PX4_SITL_KEEP_LOGS") == "1":  # for a post-mortem: px4.log and .ulg
                print(f"PX4 SITL logs kept under {self.workdir}", file=sys.stderr)
            else:
                shutil.rmtree(self.workdir, ignore_errors=True)
            self.workdir = None

    def __enter__(self) -> Px4Fleet:
        self.start()
        return self

    def __exit__(self, *exc: object) -> None:
        self.stop()
