"""The simulator's cameras as MJPEG streams, and an edge worker that turns one into events."""

from __future__ import annotations

import asyncio
import inspect
import json
import math
import time
from pathlib import Path

import cv2
import httpx
import numpy as np
from pymavlink.dialects.v20 import common as mavlink

from core.db import Database
from core.events import EventBus
from inference.camera import camera_from_dict
from inference.detectors.own import default_detector
from inference.live_stream import FlightInspector, stream_parts
from sitl.autopilot import CommandRequest
from sitl.camera_stream import CameraConfig, CameraStreamServer
from sitl.ports import free_udp_base
from sitl.simulator import FleetSimulator, SimConfig
from sitl.world import default_world
from sitl.world.model import TruckRoute

NAN = math.nan


def command(c: int, *params: float, lat: float | None = None, lon: float | None = None,
            alt: float | None = None) -> CommandRequest:
    return CommandRequest(c, tuple((list(params) + [NAN] * 4)[:4]), lat, lon, alt)  # type: ignore[arg-type]


async def until(check, timeout_s: float, step_s: float = 0.1) -> bool:  # type: ignore[no-untyped-def]
    deadline = time.monotonic() + timeout_s
    while time.monotonic() < deadline:
        result = check()
        if inspect.isawaitable(result):
            result = await result
        if result:
            return True
        await asyncio.sleep(step_s)
    return False


async def test_camera_of_a_flying_drone_feeds_detections_into_the_event_stream(tmp_path: Path) -> None:
    world = default_world()
    # Home over site s1's cones, beside the lane the muck trucks drive west in.
    lat, lon = world.frame.en2geodetic(np.array([-45.0]), np.array([0.0]))
    sim = FleetSimulator(SimConfig(drones=1, base_port=free_udp_base(1), homes=[(float(lat[0]), float(lon[0]), 4.0)],
                                   speed_factor=5.0))
    await sim.start()
    now = time.time()
    # A muck truck that passes under the camera ~30 simulated seconds in, after the climb (8 m/s from east 250).
    world.routes = [TruckRoute("m1", "muck_truck", world.routes[0].line, 8.0, (now - 7.0,))]
    cams = CameraStreamServer(sim, world, CameraConfig(width=320, height=180, fps=2.0), epoch=now)
    port = await cams.start()
    base = f"http://127.0.0.1:{port}"
    db = Database(f"sqlite:///{tmp_path / 'sp.db'}")
    db.upgrade()
    bus = EventBus(db)
    await bus.start()
    stop = asyncio.Event()
    worker: asyncio.Task[None] | None = None
    try:
        async with httpx.AsyncClient(timeout=10) as http:
            listed = (await http.get(f"{base}/cameras")).json()
            assert [c["system_id"] for c in listed] == [1]
            camera = camera_from_dict((await http.get(f"{base}/camera/1.json")).json())
            snap = await http.get(f"{base}/camera/1.jpg")
            image = cv2.imdecode(np.frombuffer(snap.content, np.uint8), cv2.IMREAD_COLOR)
            assert image.shape == (180, 320, 3) and json.loads(snap.headers["x-skypatrol-pose"])["in_air"] is False
            # On the ground the stream says so with a pose-only part.
            parts = stream_parts(f"{base}/camera/1.mjpg", client=http)
            first = await anext(parts)
            assert first.frame is None and not first.in_air and abs(first.pose.lat_deg - lat[0]) < 1e-6
            await parts.aclose()

        inspector = FlightInspector("d1", camera, default_detector(), bus)
        worker = asyncio.create_task(inspector.run(f"{base}/camera/1.mjpg", stop))
        ap = sim.vehicles[0].autopilot
        assert ap.handle_command(command(mavlink.MAV_CMD_COMPONENT_ARM_DISARM, 1.0))[0] == mavlink.MAV_RESULT_ACCEPTED
        assert ap.handle_command(command(mavlink.MAV_CMD_NAV_TAKEOFF, alt=30.0))[0] == mavlink.MAV_RESULT_ACCEPTED
        assert await until(lambda: inspector.in_flight and inspector.frames >= 5, 30)
        await until(lambda: sim.sim_time_s > 38.0, 30)  # hover while the truck passes
        assert ap.handle_command(command(mavlink.MAV_CMD_NAV_LAND))[0] == mavlink.MAV_RESULT_ACCEPTED

        async def events() -> list:
            return [e for e in await bus.read(0, 100) if e.type.startswith("skypatrol.detection.")]

        assert await until(lambda: inspector.flights == 1, 60), "the flight was not closed on landing"
        assert await until(lambda: _has(events, "skypatrol.detection.road_works.v1"), 10)
        found = await events()
        site = next(e for e in found if e.type == "skypatrol.detection.road_works.v1")
        assert site.subject == "d1" and site.data["objects"].get("traffic_cone", 0) >= 3
        assert any(e.type == "skypatrol.detection.muck_truck.v1" for e in found), \
            ([e.type for e in found], inspector.frames)
        assert cams.frames_sent >= inspector.frames >= 10
    finally:
        stop.set()
        if worker is not None:
            worker.cancel()
            await asyncio.gather(worker, return_exceptions=True)
        await cams.close()
        await bus.stop()
        await sim.stop()


async def _has(events, kind: str) -> bool:  # type: ignore[no-untyped-def]
    return any(e.type == kind for e in await events())


async def test_main_job_flies_on_without_inspection_when_the_cameras_do_not_answer(tmp_path: Path) -> None:
    from types import SimpleNamespace

    from skypatrol.main_job import Driver
    from skypatrol.site import load_site
    from tests.conftest import free_port

    driver = Driver("http://127.0.0.1:9", "token")
    sim = SimpleNamespace(camera_url=f"http://127.0.0.1:{free_port()}")  # nothing listens there
    try:
        assert await driver.start_cameras(load_site("jinshan"), sim, tmp_path) is None  # type: ignore[arg-type]
        assert driver.cameras is None
        assert await driver.start_cameras(load_site("jinshan"), None, tmp_path) is None  # cameras off
    finally:
        await driver.close()
