"""The pipeline: source -> pose -> detector -> georeferencer -> rules -> tracker -> aggregator -> sink.

`Pipeline.process(frame)` runs one frame through every stage and returns what to publish (tracks
that ended); `finish()` closes the remaining tracks and forms this patrol's sites. Without a detector given,
the pipeline uses `detectors.own.default_detector()` (the shipped model with colour cues). `run_pipeline`
drives a source into an `EventSink`. Frame time: the simulated camera hands its pose over; a log
keyed by video position (DJI .SRT) gives the frame's time from its position; otherwise the frame's
own time (video start + position) plus `time_offset_s` is looked up in the telemetry.
"""

from __future__ import annotations

import asyncio
import time
from collections.abc import Callable, Iterable
from dataclasses import dataclass, field, replace

from core.events import EventSink
from geo import LocalFrame
from inference.aggregate.aggregator import Aggregator, Publication
from inference.camera import CameraModel
from inference.detectors import Detector
from inference.georef import Georeferencer, PoseNoise, TerrainProvider
from inference.motion import MotionConfig, MotionCue
from inference.rules import SizeRules, apply_size_rules, place_detections
from inference.telemetry import PoseTrack
from inference.tracker import CLASS_VOTE, GroundTracker, Track, TrackerConfig
from inference.types import VEHICLE_LABELS, Detection, Frame, GeoDetection, Pose


@dataclass(slots=True)
class PipelineStats:
    frames: int = 0
    frames_without_pose: int = 0
    detections: int = 0
    placed: int = 0
    published: int = 0
    seconds: float = 0.0
    by_type: dict[str, int] = field(default_factory=dict)

    @property
    def fps(self) -> float:
        return self.frames / self.seconds if self.seconds > 0 else 0.0


FrameHook = Callable[[Frame, Pose, list[GeoDetection]], None]


class Pipeline:
    def __init__(self, *, camera: CameraModel, detector: Detector | None = None,
                 aggregator_factory: Callable[[LocalFrame], Aggregator],
                 poses: PoseTrack | None = None, frame: LocalFrame | None = None, home_amsl_m: float | None = None,
                 terrain: TerrainProvider | None = None, noise: PoseNoise | None = None, stabilised: bool = True,
                 tracker_config: TrackerConfig | None = None, size_rules: SizeRules | None = None,
                 time_offset_s: float = 0.0, on_frame: FrameHook | None = None,
                 motion: MotionConfig | None = MotionConfig()) -> None:
        self.camera = camera
        if detector is None:
            from inference.detectors.own import default_detector

            detector = default_detector()
        self.detector = detector
        self.poses = poses
        self.frame = frame
        self.home_amsl_m = home_amsl_m
        self.terrain = terrain
        self.noise = noise
        self.stabilised = stabilised
        self.tracker = GroundTracker(tracker_config)
        self.size_rules = size_rules or SizeRules()
        self.time_offset_s = time_offset_s
        self.on_frame = on_frame
        self.motion = MotionCue(motion) if motion is not None else None
        self._motion_live = False
        self._aggregator_factory = aggregator_factory
        self.aggregator: Aggregator | None = None
        self._georef: Georeferencer | None = None
        self.stats = PipelineStats()

    def pose_for(self, frame: Frame) -> tuple[Pose | None, float]:
        if frame.pose is not None:
            return frame.pose, frame.pose.t
        if self.poses is None:
            return None, frame.t
        t = frame.t + self.time_offset_s
        if self.poses.video_position_s is not None and frame.position_s is not None:
            at = self.poses.time_at_position(frame.position_s + self.time_offset_s)
            if at is not None:
                t = at
        return self.poses.at(t), t

    def _setup(self, pose: Pose, frame: Frame) -> Georeferencer:
        if self._georef is None:
            home = self.poses.home if self.poses is not None and self.poses.home else None
            if self.frame is None:
                self.frame = LocalFrame(home[0], home[1]) if home else LocalFrame(pose.lat_deg, pose.lon_deg)
            home_amsl = self.home_amsl_m
            if home_amsl is None:
                if home is not None and home[2] == home[2]:
                    home_amsl = home[2]
                elif pose.alt_amsl_m == pose.alt_amsl_m and pose.alt_rel_m == pose.alt_rel_m:
                    home_amsl = pose.alt_amsl_m - pose.alt_rel_m
                else:
                    home_amsl = 0.0
            h, w = frame.image.shape[:2]
            self._georef = Georeferencer(self.camera.scaled_to(w, h), self.frame, home_amsl_m=home_amsl,
                                         terrain=self.terrain, noise=self.noise, stabilised=self.stabilised)
            self.aggregator = self._aggregator_factory(self.frame)
        return self._georef

    def process(self, frame: Frame) -> list[Publication]:
        t0 = time.perf_counter()
        self.stats.frames += 1
        pose, t = self.pose_for(frame)
        if pose is None:
            self.stats.frames_without_pose += 1
            self.stats.seconds += time.perf_counter() - t0
            return []
        if pose.t != t:
            pose = replace(pose, t=t)
        georef = self._setup(pose, frame)
        assert self.aggregator is not None
        dets = self.detector.detect(frame.image)
        dets = self._confirm(frame, pose, georef, dets)
        self.stats.detections += len(dets)
        placed = place_detections(georef, pose, dets, t=t, frame_index=frame.index)
        placed = apply_size_rules(georef, pose, frame.image, placed, self.size_rules)
        self.stats.placed += len(placed)
        vehicles = [g for g in placed if g.label in VEHICLE_LABELS]
        # Machinery or earth of a truck's size is tracked too: the detector takes some trucks for them,
        # and only motion tells (see `ClassVote`); what a moving track took is not a site's.
        # A static object cut by the frame edge is seen whole in other frames: its truncated
        # outline would bias its position and size (and, from frame to frame, fake a motion), so only
        # whole views are aggregated or tracked for motion.
        h, w = frame.image.shape[:2]
        movable = [g for g in placed if g.label in CLASS_VOTE.static_labels and _truck_sized(g)
                   and not _touches_edge(g.detection.box, w, h)]
        ended = self.tracker.update(t, vehicles + movable)
        for tr in self.tracker.merged:
            self.aggregator.forget_track(tr.id)
        moving = {id(tr.last) for tr in self.tracker.tracks
                  if tr.seen_last_update and tr.last is not None and tr.label in VEHICLE_LABELS}
        static = [g for g in placed if g.label not in VEHICLE_LABELS and id(g) not in moving
                  and not _touches_edge(g.detection.box, w, h)]
        self.aggregator.observe_static(static, frame.image)
        self.aggregator.observe_tracks(self.tracker.tracks, frame.index, frame.image)
        pubs = [p for tr in _best_first(ended) for p in self.aggregator.track_ended(tr)]
        if self.on_frame is not None:
            self.on_frame(frame, pose, placed)
        self._count(pubs)
        self.stats.seconds += time.perf_counter() - t0
        return pubs

    def _confirm(self, frame: Frame, pose: Pose, georef: Georeferencer, dets: list[Detection]) -> list[Detection]:
        """Weak boxes (`candidate`) kept where the motion cue sees them move; dropped without the cue. The
        cue starts with the first frame that has a candidate (a detector giving none costs nothing)."""
        if self.motion is None:
            return [d for d in dets if not d.candidate]
        self._motion_live = self._motion_live or any(d.candidate for d in dets)
        if not self._motion_live:
            return dets
        self.motion.update(frame.image, pose, georef)
        return self.motion.confirm(dets)

    def finish(self) -> list[Publication]:
        if self.aggregator is None:
            return []
        pubs = [p for tr in _best_first(self.tracker.flush()) for p in self.aggregator.track_ended(tr)]
        pubs += self.aggregator.finish()
        self._count(pubs)
        return pubs

    def _count(self, pubs: list[Publication]) -> None:
        self.stats.published += len(pubs)
        for p in pubs:
            self.stats.by_type[p.type] = self.stats.by_type.get(p.type, 0) + 1


async def run_pipeline(source: Iterable[Frame], pipeline: Pipeline, sink: EventSink, *,
                       in_thread: bool = False) -> PipelineStats:
    """Drive every frame of `source` through `pipeline`, publishing to `sink` as results appear.

    `in_thread=True` runs the CPU-bound stages off the event loop (live use next to other tasks).
    """
    for frame in source:
        pubs = await asyncio.to_thread(pipeline.process, frame) if in_thread else pipeline.process(frame)
        for p in pubs:
            await sink.publish(p.type, p.data, subject=p.subject)
    for p in pipeline.finish():
        await sink.publish(p.type, p.data, subject=p.subject)
    return pipeline.stats


def _best_first(tracks: list[Track]) -> list[Track]:
    """Tracks ending together, the best supported first: of two that are one vehicle, the aggregator
    reports the first."""
    return sorted(tracks, key=lambda tr: -len(tr.points))


def _truck_sized(g: GeoDetection) -> bool:
    """Of a heavy truck's size on the ground (4-16 m long, at most 4 m wide)."""
    return 4.0 <= g.length_m <= 16.0 and g.width_m <= 4.0


def _touches_edge(box: tuple[float, float, float, float], width: int, height: int, margin: float = 2.0) -> bool:
    x1, y1, x2, y2 = box
    return x1 <= margin or y1 <= margin or x2 >= width - margin or y2 >= height - margin
