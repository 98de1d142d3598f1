"""The main job's moving parts beside the server: the simulated fleet at the site's docks, the
default patrols (planned and scheduled through the API, as a pilot would), the headless run
that flies one patrol and reports it, and an edge worker per simulated drone that inspects its
camera stream and delivers detections through the API.

Cameras (on by default; low resolution and frame rate, so the main job stays light):
`SKYPATROL_SIM_CAMERAS=0` turns them off, `SKYPATROL_SIM_CAMERA_FPS` (frames per simulated second,
default 2) and `SKYPATROL_SIM_CAMERA_SIZE` (default 480x270) size them.
"""

from __future__ import annotations

import asyncio
import contextlib
import json
import logging
import socket
import subprocess
import sys
import time
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import httpx

from core.errors import BadInput, Unavailable
from core.settings import SimCameraSettings
from skypatrol.site import Site

TERMINAL = ("completed", "rejected", "aborted", "failed", "missed")
log = logging.getLogger(__name__)


@dataclass(frozen=True, slots=True)
class CameraOptions:
    enabled: bool = True
    fps: float = 2.0  # frames per simulated second
    size: str = "480x270"

    @classmethod
    def from_settings(cls, settings: SimCameraSettings) -> CameraOptions:
        return cls(settings.enabled, settings.fps, settings.size)


def _free_tcp_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return int(s.getsockname()[1])


def start_simulator(site: Site, base_port: int, speed: float, seed: int = 1,
                    cameras: CameraOptions | None = None) -> subprocess.Popen[str]:
    """`skypatrol sim` for the site's drones, one per dock, as a separate process on the wire; with
    cameras, it serves each drone's camera (`camera_url` on the returned process)."""
    docks = {d["id"]: d for d in site.docks}
    homes = []
    for d in site.drones:
        dock = docks.get(d.get("dock", ""), site.docks[0] if site.docks else None)
        if dock is None:
            raise BadInput(f"site {site.id}: drone {d['id']} has no dock")
        homes += ["--home", f"{dock['lat']},{dock['lon']},{dock.get('alt_amsl_m', 0.0)}"]
    cmd = [sys.executable, "-m", "sitl", "--drones", str(len(site.drones)), "--base-port", str(base_port),
           "--speed-factor", str(speed), "--seed", str(seed), *homes]
    cameras = cameras or CameraOptions()
    camera_url = None
    if cameras.enabled:
        port = _free_tcp_port()
        cmd += ["--camera-port", str(port), "--camera-fps", str(cameras.fps), "--camera-size", cameras.size]
        camera_url = f"http://127.0.0.1:{port}"
    proc = subprocess.Popen(cmd, stdout=subprocess.PIPE, stderr=subprocess.DEVNULL, text=True,
                            preexec_fn=_die_with_parent if sys.platform == "linux" else None)
    assert proc.stdout is not None
    deadline = time.monotonic() + 30
    lines = 0
    while lines < len(site.drones) and time.monotonic() < deadline:
        if not proc.stdout.readline():
            break
        lines += 1
    if lines < len(site.drones):
        proc.kill()
        raise Unavailable("the simulated fleet did not start")
    proc.camera_url = camera_url  # type: ignore[attr-defined]
    return proc


def _die_with_parent() -> None:
    """In the child: the kernel sends SIGTERM when the main job ends, however it ends (even kill -9),
    so the simulated fleet never outlives it."""
    import ctypes
    import signal

    pr_set_pdeathsig = 1
    ctypes.CDLL("libc.so.6", use_errno=True).prctl(pr_set_pdeathsig, signal.SIGTERM)


def stop_simulator(proc: subprocess.Popen[str]) -> None:
    if proc.poll() is None:
        proc.terminate()
        try:
            proc.wait(10)
        except subprocess.TimeoutExpired:
            proc.kill()


def _road(site: Site, road_id: str) -> dict[str, Any]:
    roads = json.loads(site.file("roads").read_text())
    for f in roads["features"]:
        if f["properties"]["id"] == road_id:
            return f["geometry"]
    raise BadInput(f"site {site.id}: no road {road_id!r}")


def patrol_request(site: Site, patrol: dict[str, Any]) -> dict[str, Any]:
    """The `POST /api/v1/plans` body for one of the site's default patrols."""
    if patrol.get("pattern") != "corridor":
        raise BadInput(f"site {site.id}: patrol {patrol['id']} has an unknown pattern {patrol.get('pattern')!r}")
    dock = site.docks[0]
    zones = json.loads(site.file("zones").read_text())
    return {"name": patrol["name"], "corridor": {
        "line": _road(site, patrol["road"]), "width_m": patrol["width_m"], "alt_m": patrol["alt_m"],
        "fleet": {"homes": [{"name": dock["id"], "lat": dock["lat"], "lon": dock["lon"],
                             "alt_amsl_m": dock.get("alt_amsl_m")}]},
        "airspace": {"zones": zones}}}


class Driver:
    """The main job's client of its own API (the same calls a pilot's tools make)."""

    def __init__(self, url: str, token: str) -> None:
        self.url = url
        self.token = token
        self.http = httpx.AsyncClient(base_url=url, headers={"Authorization": f"Bearer {token}"}, timeout=60)
        self.cameras: CameraWorkers | None = None

    async def start_cameras(self, site: Site, sim: subprocess.Popen[str] | None,
                            data_dir: Path | None = None) -> CameraWorkers | None:
        """An edge worker per simulated drone with a camera (none when the cameras are off)."""
        camera_url = getattr(sim, "camera_url", None) if sim is not None else None
        if camera_url is None:
            return None
        if data_dir is None:
            from core.settings import get_settings

            data_dir = get_settings().data_dir
        workers = CameraWorkers(self, site, camera_url, data_dir)
        try:
            await workers.start()
        except (httpx.HTTPError, OSError, ValueError, KeyError, IndexError) as exc:
            # The patrols fly without inspection rather than not at all.
            log.warning("simulated cameras unavailable, no edge inspection: %s", exc)
            await workers.stop()
            return None
        self.cameras = workers
        return workers

    async def current_run(self, drone_id: str) -> str | None:
        """The id of the drone's run in progress, if any."""
        try:
            runs = await self.call("GET", "/api/v1/missions")
        except (Unavailable, httpx.HTTPError):
            return None
        for r in runs:
            if r.get("drone_id") == drone_id and r.get("state") not in TERMINAL:
                return str(r["id"])
        return None

    async def call(self, method: str, path: str, **kw: Any) -> Any:
        r = await self.http.request(method, path, **kw)
        if r.status_code >= 400:
            try:
                message = r.json()["error"]["message"]
            except Exception:
                message = r.text[:300]
            raise Unavailable(f"{method} {path}: {r.status_code} {message}")
        return r.json() if r.content else None

    async def ensure_patrols(self, site: Site) -> dict[str, str]:
        """Plan the site's default patrols once (and their schedules); patrol id -> plan id."""
        existing = {p["name"]: p["id"] for p in await self.call("GET", "/api/v1/plans")}
        schedules = {s["name"] for s in await self.call("GET", "/api/v1/schedules")}
        out = {}
        for patrol in site.doc.get("patrols", []):
            plan_id = existing.get(patrol["name"])
            if plan_id is None:
                plan_id = (await self.call("POST", "/api/v1/plans", json=patrol_request(site, patrol)))["id"]
            out[patrol["id"]] = plan_id
            sched = patrol.get("schedule")
            if sched and patrol["name"] not in schedules:
                tz = site.doc.get("timezone", "Asia/Shanghai")
                body = {"name": patrol["name"], "plan_id": plan_id, "timezone": tz, **sched}
                await self.call("POST", "/api/v1/schedules", json=body)
        return out

    async def wait_fleet_ready(self, count: int, timeout_s: float) -> None:
        deadline = time.monotonic() + timeout_s
        while time.monotonic() < deadline:
            drones = await self.call("GET", "/api/v1/drones")
            if sum(d["state"] == "idle" for d in drones) >= count:
                return
            await asyncio.sleep(0.5)
        raise Unavailable("the fleet did not become ready in time")

    async def fly(self, plan_id: str, timeout_s: float) -> dict[str, Any]:
        run = await self.call("POST", "/api/v1/missions", json={"plan_id": plan_id})
        deadline = time.monotonic() + timeout_s
        while time.monotonic() < deadline:
            run = await self.call("GET", f"/api/v1/missions/{run['id']}")
            if run["state"] in TERMINAL:
                break
            await asyncio.sleep(0.5)
        if self.cameras is not None and run.get("drone_id"):
            # The drone's edge worker closes the flight when its camera says it landed, then delivers.
            await self.cameras.settle(run["drone_id"], 30.0)
        return await self.call("GET", f"/api/v1/missions/{run['id']}/report")

    async def close(self) -> None:
        if self.cameras is not None:
            await self.cameras.stop()
        await self.http.aclose()


class CameraWorkers:
    """The simulated drones' edge workers: camera stream -> inspection pipeline (live pose from the
    stream) -> outbox -> `POST /api/v1/evidence` and `/api/v1/events`, as a real edge worker delivers.
    Detections of a patrol carry its run id as subject, so the run's report lists them."""

    def __init__(self, driver: Driver, site: Site, camera_url: str, data_dir: Path) -> None:
        self.driver = driver
        self.site = site
        self.camera_url = camera_url.rstrip("/")
        self.data_dir = Path(data_dir) / "edge"
        self.inspectors: dict[str, Any] = {}
        self.sinks: dict[str, Any] = {}
        self._stop = asyncio.Event()
        self._tasks: list[asyncio.Task[None]] = []

    async def start(self) -> None:
        from airspace.terrain import configured_dem
        from core.db import Database
        from core.settings import get_settings
        from inference.aggregate.aggregator import Aggregator
        from inference.aggregate.evidence import EvidenceStore
        from inference.aggregate.store import DatabaseSiteStore
        from inference.camera import camera_from_dict
        from inference.dem import DemGround
        from inference.detectors.own import default_detector
        from inference.edge import OutboxSink
        from inference.live_stream import FlightInspector

        # `dem_path`: detections placed on the terrain, not flat ground at home (a bad file stops the job).
        dem = configured_dem(get_settings())
        async with httpx.AsyncClient(timeout=10) as http:
            listed = (await http.get(f"{self.camera_url}/cameras")).json()
            camera = camera_from_dict((await http.get(f"{self.camera_url}{listed[0]['camera']}")).json())
        # One model session for all drones, on one thread: the main job shares the machine with the server.
        detector = default_detector(threads=1)
        # Sites live in the server's database: the same site seen on the next patrol updates its row.
        store = DatabaseSiteStore(Database.from_settings(get_settings()))
        for i, drone in enumerate(self.site.drones):
            drone_id = drone["id"]
            evidence_dir = self.data_dir / drone_id / "evidence"
            evidence = EvidenceStore(evidence_dir)
            sink = OutboxSink(self.driver.url, self.driver.token, self.data_dir / drone_id / "outbox.sqlite",
                              evidence_dir, source=f"urn:skypatrol:edge:{drone_id}")

            def aggregator(frame: Any, mission: str | None, drone_id: str = drone_id,
                           evidence: Any = evidence) -> Aggregator:
                return Aggregator(frame, mission_id=mission, drone_id=drone_id, site_store=store, evidence=evidence)

            terrain = DemGround(dem, on_first_miss=lambda msg, d=drone_id: log.warning("camera of %s: %s", d, msg)) \
                if dem is not None else None
            inspector = FlightInspector(drone_id, camera, detector, sink, aggregator_factory=aggregator,
                                        mission_for=self.driver.current_run, terrain=terrain)
            self.inspectors[drone_id] = inspector
            self.sinks[drone_id] = sink
            self._tasks.append(asyncio.create_task(sink.run(self._stop, interval_s=0.5), name=f"edge-out-{drone_id}"))
            self._tasks.append(asyncio.create_task(
                inspector.run(f"{self.camera_url}/camera/{i + 1}.mjpg", self._stop), name=f"edge-cam-{drone_id}"))

    async def settle(self, drone_id: str, timeout_s: float) -> bool:
        """Wait until the drone's flight is closed and its events delivered; False on timeout."""
        inspector, sink = self.inspectors.get(drone_id), self.sinks.get(drone_id)
        if inspector is None or sink is None:
            return True
        deadline = time.monotonic() + timeout_s
        while time.monotonic() < deadline:
            if not inspector.in_flight and sink.pending == 0:
                return True
            await asyncio.sleep(0.2)
        return False

    async def stop(self) -> None:
        self._stop.set()
        for t in self._tasks:
            t.cancel()
        for t in self._tasks:
            with contextlib.suppress(asyncio.CancelledError, Exception):
                await t
        for sink in self.sinks.values():
            await sink.drain(5.0)
            await sink.close()
