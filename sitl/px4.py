"""Real PX4 SITL: N instances of PX4's SIH quadcopter (no Gazebo), as sitl_multiple_run.sh does.

Needs a PX4-Autopilot tree built for `px4_sitl_default` (or `px4_sitl`) with `PX4_DIR` pointing
at it. Instance i runs in its own working directory with `-i i`, airframe SYS_AUTOSTART=10040
("sihsim_quadx"), system id i+1, and sends MAVLink to the ground station on 127.0.0.1:14540+i -
the same ports and ids as the built-in simulator, so the same MAVSDK code flies either.

    with Px4Fleet.from_env(drones=3) as fleet:
        urls = fleet.connection_urls()
"""

from __future__ import annotations

import os
import shutil
import signal
import subprocess
import tempfile
import time
from dataclasses import dataclass, field
from pathlib import Path

from sitl.defaults import DEFAULT_BASE_PORT, DEFAULT_HOME

SIH_QUADX_AUTOSTART = 10040
PX4_GCS_BASE_PORT = 14540  # PX4's fixed "onboard to GCS" remote port for instance 0


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


@dataclass
class Px4Fleet:
    build_dir: Path
    drones: int = 1
    home: tuple[float, float, float] = DEFAULT_HOME
    speed_factor: float = 1.0
    processes: list[subprocess.Popen[bytes]] = field(default_factory=list)
    workdir: Path | None = None

    @classmethod
    def from_env(cls, drones: int = 1, **kw: object) -> Px4Fleet:
        return cls(find_px4_build(), drones, **kw)  # type: ignore[arg-type]

    def connection_urls(self) -> list[str]:
        # PX4 SITL instance i always talks to 14540+i; a different base port needs PX4's own
        # mavlink start lines to change, which this launcher does not do.
        return [f"udpin://0.0.0.0:{PX4_GCS_BASE_PORT + i}" for i in range(self.drones)]

    def start(self) -> None:
        if PX4_GCS_BASE_PORT != DEFAULT_BASE_PORT:  # pragma: no cover - constants kept in step
            raise RuntimeError("PX4 and the simulator disagree on the base port")
        self.workdir = Path(tempfile.mkdtemp(prefix="px4-sitl-"))
        lat, lon, alt = self.home
        for i in range(self.drones):
            instance_dir = self.workdir / f"instance_{i}"
            instance_dir.mkdir()
            env = dict(os.environ)
            env.update(
                PX4_SYS_AUTOSTART=str(SIH_QUADX_AUTOSTART),
                PX4_SIM_MODEL="sihsim_quadx",
                PX4_HOME_LAT=f"{lat:.7f}",
                PX4_HOME_LON=f"{lon:.7f}",
                PX4_HOME_ALT=f"{alt:.2f}",
                PX4_SIM_SPEED_FACTOR=f"{self.speed_factor:g}",
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
        time.sleep(1.0)
        dead = [i for i, p in enumerate(self.processes) if p.poll() is not None]
        if dead:
            self.stop()
            raise RuntimeError(f"PX4 instance(s) {dead} exited at start; logs under {self.workdir}")

    def stop(self) -> None:
        for p in self.processes:
            if p.poll() is None:
                os.killpg(p.pid, signal.SIGTERM)
        for p in self.processes:
            try:
                p.wait(10)
            except subprocess.TimeoutExpired:
                os.killpg(p.pid, signal.SIGKILL)
        self.processes.clear()
        if self.workdir is not None:
            shutil.rmtree(self.workdir, ignore_errors=True)

    def __enter__(self) -> Px4Fleet:
        self.start()
        return self

    def __exit__(self, *exc: object) -> None:
        self.stop()
