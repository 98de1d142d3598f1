"""A live camera stream with its pose in every frame, inspected flight by flight.

`stream_parts(url)` reads an MJPEG stream (`multipart/x-mixed-replace`) whose parts carry the
pose they were taken at in an `X-SkyPatrol-Pose` header (the simulator's cameras, `sitl.camera_stream`;
a drone's video carries its telemetry the same way). A JPEG part is a frame; a JSON part is the
pose alone (the drone on the ground).

`FlightInspector` runs the pipeline over the frames of one flight at a time: a new pipeline when
the drone is in the air again, `finish()` (sites, last tracks) when a part says it is on the ground
or the stream ends. Events go to the `EventSink` it is given, with the mission id that
`mission_for(drone_id)` names at take-off as subject (the drone id where there is none).
"""

from __future__ import annotations

import asyncio
import json
import logging
from collections.abc import AsyncIterator, Awaitable, Callable
from dataclasses import dataclass
from typing import Any

import cv2
import httpx
import numpy as np

from core.events import EventSink
from geo import LocalFrame
from inference.aggregate.aggregator import Aggregator, Publication
from inference.camera import CameraModel
from inference.detectors import Detector
from inference.georef import TerrainProvider
from inference.pipeline import Pipeline
from inference.types import Frame, Pose

log = logging.getLogger(__name__)
POSE_HEADER = "x-skypatrol-pose"


@dataclass(slots=True)
class StreamPart:
    pose: Pose
    in_air: bool
    frame: Frame | None  # None for a pose-only part


def pose_from_header(doc: dict[str, Any]) -> Pose:
    nan = float("nan")
    return Pose(t=float(doc["t"]), lat_deg=float(doc["lat"]), lon_deg=float(doc["lon"]),
                alt_rel_m=float(doc.get("alt_rel_m", nan)), alt_amsl_m=float(doc.get("alt_amsl_m", nan)),
                yaw_deg=float(doc.get("yaw_deg", 0.0)), pitch_deg=float(doc.get("pitch_deg", 0.0)),
                roll_deg=float(doc.get("roll_deg", 0.0)), gimbal_yaw_deg=float(doc.get("gimbal_yaw_deg", nan)),
                gimbal_pitch_deg=float(doc.get("gimbal_pitch_deg", nan)),
                gimbal_roll_deg=float(doc.get("gimbal_roll_deg", nan)))


async def stream_parts(url: str, *, client: httpx.AsyncClient | None = None) -> AsyncIterator[StreamPart]:
    """The parts of an MJPEG stream with pose headers, as they arrive."""
    own = client is None
    http = client or httpx.AsyncClient(timeout=httpx.Timeout(10.0, read=30.0))
    index = 0
    try:
        async with http.stream("GET", url) as r:
            r.raise_for_status()
            media = r.headers.get("content-type", "")
            if "boundary=" not in media:
                raise ValueError(f"{url}: not a multipart stream ({media})")
            boundary = b"--" + media.split("boundary=", 1)[1].strip().strip('"').encode()
            buf = b""
            async for chunk in r.aiter_bytes():
                buf += chunk
                while True:
                    start = buf.find(boundary)
                    if start < 0:
                        break
                    head_end = buf.find(b"\r\n\r\n", start)
                    if head_end < 0:
                        break
                    headers: dict[str, str] = {}
                    for line in buf[start + len(boundary):head_end].decode("latin-1").split("\r\n"):
                        if ":" in line:
                            k, v = line.split(":", 1)
                            headers[k.strip().lower()] = v.strip()
                    length = int(headers.get("content-length", "-1"))
                    if length < 0 or len(buf) < head_end + 4 + length:
                        break
                    body = buf[head_end + 4:head_end + 4 + length]
                    buf = buf[head_end + 4 + length:]
                    if POSE_HEADER not in headers:
                        continue
                    doc = json.loads(headers[POSE_HEADER])
                    pose = pose_from_header(doc)
                    frame = None
                    if headers.get("content-type", "").startswith("image/"):
                        image = cv2.imdecode(np.frombuffer(body, np.uint8), cv2.IMREAD_COLOR)
                        if image is None:
                            continue
                        frame = Frame(image, pose.t, index, pose=pose)
                        index += 1
                    yield StreamPart(pose, bool(doc.get("in_air", frame is not None)), frame)
    finally:
        if own:
            await http.aclose()


MissionLookup = Callable[[str], Awaitable[str | None]]


class FlightInspector:
    """One drone's camera stream -> the pipeline, one flight at a time -> events."""

    def __init__(self, drone_id: str, camera: CameraModel, detector: Detector, sink: EventSink, *,
                 aggregator_factory: Callable[[LocalFrame, str | None], Aggregator] | None = None,
                 mission_for: MissionLookup | None = None, frame: LocalFrame | None = None,
                 terrain: TerrainProvider | None = None) -> None:
        self.drone_id = drone_id
        self.camera = camera
        self.detector = detector
        self.sink = sink
        self.mission_for = mission_for
        self.local_frame = frame
        self.terrain = terrain  # the ground under the camera (a DEM); None: flat at the home's height
        self._aggregator_factory = aggregator_factory or (
            lambda f, mission: Aggregator(f, mission_id=mission, drone_id=drone_id))
        self.pipeline: Pipeline | None = None
        self.mission_id: str | None = None
        self.flights = 0
        self.frames = 0
        self.published = 0

    @property
    def in_flight(self) -> bool:
        return self.pipeline is not None

    async def feed(self, part: StreamPart) -> None:
        if part.in_air and part.frame is not None:
            if self.pipeline is None:
                self.mission_id = await self.mission_for(self.drone_id) if self.mission_for else None
                mission = self.mission_id
                self.pipeline = Pipeline(camera=self.camera, detector=self.detector, frame=self.local_frame,
                                         terrain=self.terrain,
                                         aggregator_factory=lambda f: self._aggregator_factory(f, mission))
            pubs = await asyncio.to_thread(self.pipeline.process, part.frame)
            self.frames += 1
            await self._publish(pubs)
        elif not part.in_air and self.pipeline is not None:
            await self.end_flight()

    async def end_flight(self) -> None:
        if self.pipeline is None:
            return
        pubs = await asyncio.to_thread(self.pipeline.finish)
        self.pipeline = None
        self.flights += 1
        await self._publish(pubs)

    async def _publish(self, pubs: list[Publication]) -> None:
        for p in pubs:
            await self.sink.publish(p.type, p.data, subject=self.mission_id or self.drone_id)
            self.published += 1

    async def run(self, url: str, stop: asyncio.Event, *, retry_s: float = 2.0) -> None:
        """Follow the stream until `stop`; reconnect after errors; end the flight when it breaks."""
        while not stop.is_set():
            try:
                async for part in stream_parts(url):
                    await self.feed(part)
                    if stop.is_set():
                        break
            except (httpx.HTTPError, ValueError, OSError) as exc:
                log.warning("camera stream %s: %s", url, exc)
            await self.end_flight()
            if not stop.is_set():
                try:
                    await asyncio.wait_for(stop.wait(), retry_s)
                except TimeoutError:
                    pass
