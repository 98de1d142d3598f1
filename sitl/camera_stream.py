"""Each simulated drone's camera as a stream: MJPEG over HTTP from the simulator process.

The camera is rendered from the sitl world (`sitl.world.render.Renderer`) at the vehicle's true
position and heading, with a stabilised gimbal at a fixed pitch (nadir by default), at `fps` frames
per *simulated* second, only while a client is connected and the vehicle is in the air (no client,
no CPU). Routes, on 127.0.0.1:
- `GET /cameras`: JSON list of the cameras (`system_id`, `stream`, `snapshot`, `camera`);
- `GET /camera/<system id>.mjpg`: `multipart/x-mixed-replace` JPEG frames. Each part carries the
  pose it was taken at in an `X-SkyPatrol-Pose` header (JSON: `t` unix seconds on the simulation
  clock, `lat`, `lon`, `alt_rel_m`, `alt_amsl_m`, `yaw_deg`, `pitch_deg`, `roll_deg`, `gimbal_pitch_deg`,
  `gimbal_yaw_deg`, `gimbal_roll_deg`, `in_air`), as a drone's video carries its telemetry (DJI's
  subtitles, MISB KLV). On the ground a JSON part with that pose (`in_air` false) comes once a
  second instead of a picture, so a consumer knows the flight ended;
- `GET /camera/<system id>.jpg`: one frame now; `GET /camera/<system id>.json`: the camera file.
The simulation clock is the wall time at start plus simulated seconds, so the world's traffic and
the drones move on the same clock at any speed factor.
"""

from __future__ import annotations

import asyncio
import contextlib
import json
import math
import socket
import time
from dataclasses import dataclass
from typing import Any

import cv2
import numpy as np

from sitl.world.camera import CameraPose, SimCamera
from sitl.world.model import World
from sitl.world.render import Renderer

BOUNDARY = "skypatrolframe"


@dataclass(frozen=True, slots=True)
class CameraConfig:
    width: int = 480
    height: int = 270
    fps: float = 2.0  # frames per simulated second
    hfov_deg: float = 60.0
    gimbal_pitch_deg: float = -90.0
    jpeg_quality: int = 80
    min_alt_m: float = 2.0  # below this (or landed) the camera sends ground parts, not pictures


class CameraStreamServer:
    """Serves the cameras of a `FleetSimulator`'s vehicles (duck-typed: `vehicles`, `sim_time_s`,
    `config.speed_factor`)."""

    def __init__(self, sim: Any, world: World, config: CameraConfig | None = None, *,
                 epoch: float | None = None) -> None:
        self.sim = sim
        self.world = world
        self.config = config or CameraConfig()
        self.camera = SimCamera.from_hfov(self.config.width, self.config.height, self.config.hfov_deg)
        self.epoch = time.time() - sim.sim_time_s if epoch is None else epoch
        self._renderer: Renderer | None = None
        self._render_lock = asyncio.Lock()
        self._server: asyncio.base_events.Server | None = None
        self._connections: set[asyncio.Task[Any]] = set()
        self.frames_sent = 0

    def clock(self) -> float:
        return self.epoch + float(self.sim.sim_time_s)

    async def start(self, host: str = "127.0.0.1", port: int = 0) -> int:
        self._server = await asyncio.start_server(self._handle, host, port)
        return int(self._server.sockets[0].getsockname()[1])

    async def close(self) -> None:
        if self._server is not None:
            self._server.close()
            for task in list(self._connections):  # open streams never end by themselves
                task.cancel()
            await asyncio.gather(*self._connections, return_exceptions=True)
            with contextlib.suppress(Exception):
                await asyncio.wait_for(self._server.wait_closed(), 2.0)

    # -- camera --------------------------------------------------------------------------------
    def _vehicle(self, system_id: int) -> Any:
        for v in self.sim.vehicles:
            if v.autopilot.system_id == system_id:
                return v
        return None

    def pose(self, vehicle: Any) -> dict[str, Any]:
        ap = vehicle.autopilot
        lat, lon, alt_amsl = ap.position_geodetic()
        m = ap.model
        alt_rel = float(ap.relative_alt_m)
        return {"system_id": ap.system_id, "t": round(self.clock(), 3), "lat": lat, "lon": lon,
                "alt_rel_m": round(alt_rel, 3), "alt_amsl_m": round(float(alt_amsl), 3),
                "yaw_deg": round(math.degrees(m.yaw_rad) % 360.0, 3), "pitch_deg": round(math.degrees(m.pitch_rad), 3),
                "roll_deg": round(math.degrees(m.roll_rad), 3), "gimbal_pitch_deg": self.config.gimbal_pitch_deg,
                "gimbal_yaw_deg": 0.0, "gimbal_roll_deg": 0.0,
                "in_air": bool(ap.in_air and alt_rel >= self.config.min_alt_m)}

    def _render_jpeg(self, pose: dict[str, Any]) -> bytes:
        if self._renderer is None:
            self._renderer = Renderer(self.world, self.camera, seed=1)
        e, n = self.world.frame.geodetic2en(np.array([pose["lat"]]), np.array([pose["lon"]]))
        up = max(0.5, pose["alt_amsl_m"] - self.world.alt0_amsl_m)
        cam = CameraPose(float(e[0]), float(n[0]), up, pose["yaw_deg"], self.config.gimbal_pitch_deg, 0.0)
        frame = self._renderer.render(cam, pose["t"])
        ok, buf = cv2.imencode(".jpg", frame.image, [cv2.IMWRITE_JPEG_QUALITY, self.config.jpeg_quality])
        if not ok:
            raise RuntimeError("JPEG encoding failed")
        return buf.tobytes()

    async def snapshot(self, vehicle: Any) -> tuple[dict[str, Any], bytes]:
        pose = self.pose(vehicle)
        async with self._render_lock:  # one render at a time: the renderer's noise generator is shared
            jpeg = await asyncio.to_thread(self._render_jpeg, pose)
        return pose, jpeg

    def camera_file(self) -> dict[str, Any]:
        return self.camera.to_camera_file("sitl-camera", self.config.gimbal_pitch_deg)

    # -- HTTP ----------------------------------------------------------------------------------
    async def _handle(self, reader: asyncio.StreamReader, writer: asyncio.StreamWriter) -> None:
        task = asyncio.current_task()
        if task is not None:
            self._connections.add(task)
            task.add_done_callback(self._connections.discard)
        try:
            request = (await asyncio.wait_for(reader.readline(), 10.0)).decode("latin-1").split()
            while (await asyncio.wait_for(reader.readline(), 10.0)) not in (b"\r\n", b"\n", b""):
                pass
            if len(request) < 2 or request[0] != "GET":
                await self._reply(writer, 405, "text/plain", b"GET only\n")
                return
            path = request[1].split("?", 1)[0]
            if path == "/cameras":
                body = [{"system_id": v.autopilot.system_id, "stream": f"/camera/{v.autopilot.system_id}.mjpg",
                         "snapshot": f"/camera/{v.autopilot.system_id}.jpg",
                         "camera": f"/camera/{v.autopilot.system_id}.json"} for v in self.sim.vehicles]
                await self._reply(writer, 200, "application/json", json.dumps(body).encode())
                return
            name = path.removeprefix("/camera/")
            stem, _, ext = name.partition(".")
            vehicle = self._vehicle(int(stem)) if path.startswith("/camera/") and stem.isdigit() else None
            if vehicle is None or ext not in ("mjpg", "jpg", "json"):
                await self._reply(writer, 404, "text/plain", b"no such camera\n")
                return
            if ext == "json":
                await self._reply(writer, 200, "application/json", json.dumps(self.camera_file()).encode())
            elif ext == "jpg":
                pose, jpeg = await self.snapshot(vehicle)
                await self._reply(writer, 200, "image/jpeg", jpeg, {"X-SkyPatrol-Pose": json.dumps(pose)})
            else:
                await self._stream(vehicle, writer)
        except (ConnectionError, TimeoutError, asyncio.IncompleteReadError, asyncio.CancelledError):
            pass
        finally:
            writer.close()
            with contextlib.suppress(Exception):
                await writer.wait_closed()

    @staticmethod
    async def _reply(writer: asyncio.StreamWriter, status: int, media: str, body: bytes,
                     headers: dict[str, str] | None = None) -> None:
        reason = {200: "OK", 404: "Not Found", 405: "Method Not Allowed"}[status]
        extra = "".join(f"{k}: {v}\r\n" for k, v in (headers or {}).items())
        writer.write(f"HTTP/1.1 {status} {reason}\r\nContent-Type: {media}\r\nContent-Length: {len(body)}\r\n"
                     f"Cache-Control: no-store\r\nConnection: close\r\n{extra}\r\n".encode() + body)
        await writer.drain()

    async def _stream(self, vehicle: Any, writer: asyncio.StreamWriter) -> None:
        sock = writer.get_extra_info("socket")
        if sock is not None:  # a small send buffer: a slow reader gets fresh frames, not a backlog
            with contextlib.suppress(OSError):
                sock.setsockopt(socket.SOL_SOCKET, socket.SO_SNDBUF, 64 * 1024)
        writer.write(f"HTTP/1.1 200 OK\r\nContent-Type: multipart/x-mixed-replace; boundary={BOUNDARY}\r\n"
                     f"Cache-Control: no-store\r\nConnection: close\r\n\r\n".encode())
        await writer.drain()
        period = 1.0 / self.config.fps
        last_frame = -math.inf
        last_ground = -math.inf
        while True:
            speed = max(1e-3, float(self.sim.config.speed_factor))
            pose = self.pose(vehicle)
            sim_now = float(self.sim.sim_time_s)
            if not pose["in_air"]:
                if time.monotonic() - last_ground >= 1.0:
                    await self._part(writer, "application/json", json.dumps(pose).encode(), pose)
                    last_ground = time.monotonic()
                await asyncio.sleep(0.2)
                continue
            due = last_frame + period - sim_now
            if due > 0:
                await asyncio.sleep(min(0.2, due / speed))
                continue
            pose, jpeg = await self.snapshot(vehicle)
            last_frame = sim_now
            await self._part(writer, "image/jpeg", jpeg, pose)
            self.frames_sent += 1

    @staticmethod
    async def _part(writer: asyncio.StreamWriter, media: str, body: bytes, pose: dict[str, Any]) -> None:
        writer.write(f"--{BOUNDARY}\r\nContent-Type: {media}\r\nContent-Length: {len(body)}\r\n"
                     f"X-SkyPatrol-Pose: {json.dumps(pose)}\r\n\r\n".encode() + body + b"\r\n")
        await writer.drain()
