"""Evaluation of the detector and the whole pipeline on held-out rendered flights (synthetic).

Held-out flights fly over random worlds from `sitl.world.scenes` whose seeds training never uses
(>= 100000), with different styles, light and viewpoints: each passes over a road-works site at
40-150 m, nadir or oblique, while a muck truck and another truck drive along the site's road.
Reported, all synthetic:
- per class, the detector's recall and precision at IoU 0.5 per frame (objects under 2.5 px or
  less than half in the frame are "don't care": neither missed nor false when detected);
- muck-truck recall and precision per track (a published muck-truck track matches a true muck
  truck when its points lie within 5 m of that truck on average);
- road-works-site recall and precision (a published site matches a true site it overlaps or whose
  centre is within 15 m; a true site counts when >= 3 of its objects were seen in >= 2 frames);
- truck IDF1 (motmetrics, ground plane, 4 m gate) over trucks and muck trucks;
- georeferencing RMSE of detected cones against their true positions (exact pose).

`--truth-boxes` runs the same pipeline on the renderer's true vehicle boxes instead of a detector:
the figures then measure georeferencing, size rules, tracking and aggregation alone (what a perfect
vehicle detector would score), which tells detector errors from tracker errors.

    python -m inference.evaluate [--flights 6] [--frames 60] [--width 1280 --height 720] [--first-seed 100000]
        [--truth-boxes] [--verifier] [--no-motion] [--json]
"""

from __future__ import annotations

import argparse
import json
import math
import time
from collections.abc import Callable
from dataclasses import dataclass, field
from typing import Any

import numpy as np
from numpy.typing import NDArray
from shapely.geometry import Point, Polygon, shape

from inference.aggregate.aggregator import Aggregator
from inference.boxes import box_iou
from inference.camera import camera_from_dict
from inference.detectors import Detector
from inference.motion import MotionConfig
from inference.pipeline import Pipeline
from inference.types import LABELS, Detection, Frame, GeoDetection, Pose
from sitl.world.camera import CameraPose, SimCamera
from sitl.world.model import Road, TruckRoute, World
from sitl.world.render import TruthObject
from sitl.world.scenes import SCENE_T0, SceneRenderer, random_look, random_world
from sitl.world.traffic import overlapping_routes, vehicles_at

HELD_OUT_SEED = 100_000
IOU = 0.5
MIN_SIDE_PX = 2.5
MIN_VISIBLE = 0.5
TRUCKS = frozenset({"truck", "muck_truck"})
ROAD_WORKS = frozenset({"traffic_cone", "barrier", "excavator", "excavation"})


@dataclass(frozen=True, slots=True)
class Flight:
    seed: int
    world: World
    camera: SimCamera
    frames: list[tuple[float, CameraPose]]
    look_seed: int


def _site_world(seed: int) -> tuple[World, NDArray[np.float64], NDArray[np.float64], float]:
    """A held-out world with a road-works site; (world, the site's point on its road's axis, road direction,
    road width)."""
    s = seed
    while True:
        w = random_world(s)
        sites = [a for a in w.areas if a.kind == "road_works"]
        if sites:
            break
        s += 7919
    site = sites[0]
    centre = site.polygon.mean(axis=0)
    def off_axis(r: Road) -> float:
        d = (r.line[1] - r.line[0]) / np.linalg.norm(r.line[1] - r.line[0])
        v = centre - r.line[0]
        return abs(float(d[0] * v[1] - d[1] * v[0]))

    road = min(w.roads, key=off_axis)
    u = (road.line[1] - road.line[0]) / np.linalg.norm(road.line[1] - road.line[0])
    on_axis = road.line[0] + u * float(np.dot(centre - road.line[0], u))
    return w, on_axis, u, road.width_m


def held_out_flights(n: int = 3, *, frames: int = 50, width: int = 1280, height: int = 720, fps: float = 10.0,
                     first_seed: int = HELD_OUT_SEED) -> list[Flight]:
    """`n` held-out flights over road-works sites, trucks driving past (deterministic)."""
    out = []
    alts = (60.0, 100.0, 130.0, 45.0, 80.0, 150.0)
    pitches = (-90.0, -62.0, -90.0, -70.0, -55.0, -90.0)
    for i in range(n):
        seed = first_seed + 37 * i
        rng = np.random.default_rng(seed)
        world, centre, u, road_w = _site_world(seed)
        nrm = np.array([u[1], -u[0]])
        mid = SCENE_T0 + frames / fps / 2
        speed = float(rng.uniform(6, 11))
        # A muck truck (loaded; covered or not) passes the site mid-flight in the lane away from the
        # works, another truck 25 m behind it.
        cones = [np.array([o.east_m, o.north_m]) for o in world.objects if o.kind == "traffic_cone"]
        side = -1.0 if cones and float(np.mean([np.dot(c - centre, nrm) for c in cones])) > 0 else 1.0
        lane = nrm * side * road_w / 4
        line = np.array([centre + lane - u * 300, centre + lane + u * 300])
        dep = mid - 300 / speed + float(rng.uniform(-1.5, 1.5))
        for kind, delay, covered in (("muck_truck", 0.0, bool(i % 2)), ("truck", 25.0 / speed, False)):
            length = float(rng.uniform(9, 11.5)) if kind == "muck_truck" else float(rng.uniform(7, 9))
            world.routes.append(TruckRoute(f"eval-{kind}", kind, line, speed, (dep + delay,), loaded=True,
                                           covered=covered, length_m=length, width_m=2.5, height_m=3.3))
        # The world's own vehicles keep their lanes' order; one that the added trucks would drive through
        # during the flight is left out.
        drop = overlapping_routes(world, SCENE_T0, SCENE_T0 + frames / fps,
                                  keep=frozenset({"eval-muck_truck", "eval-truck"}))
        world.routes = [r for r in world.routes if r.id not in drop]
        alt, pitch = alts[i % len(alts)], pitches[i % len(pitches)]
        hfov = float(rng.uniform(55, 75))
        cam = SimCamera.from_hfov(width, height, hfov)
        yaw = math.degrees(math.atan2(u[0], u[1])) + float(rng.uniform(-20, 20))
        back = alt / math.tan(math.radians(-pitch)) if pitch > -89.9 else 0.0
        hdir = np.array([math.sin(math.radians(yaw)), math.cos(math.radians(yaw))])
        poses = []
        for k in range(frames):
            t = SCENE_T0 + k / fps
            along = (k / fps - frames / fps / 2) * 4.0  # the drone flies at 4 m/s along the road
            g = centre + u * along - hdir * back
            poses.append((t, CameraPose(float(g[0]), float(g[1]), alt, yaw, pitch, 0.0)))
        out.append(Flight(seed, world, cam, poses, seed + 1))
    return out


def render_flight(flight: Flight) -> list[tuple[NDArray[np.uint8], float, CameraPose, list[TruthObject]]]:
    r = SceneRenderer(flight.world, flight.camera, seed=flight.seed)
    look = random_look(np.random.default_rng(flight.look_seed))
    return [(f.image, t, p, f.objects) for t, p in flight.frames for f in [r.render(p, t, look)]]


def pose_of(world: World, p: CameraPose, t: float) -> Pose:
    lat, lon = world.frame.en2geodetic(np.array([p.east_m]), np.array([p.north_m]))
    return Pose(t=t, lat_deg=float(lat[0]), lon_deg=float(lon[0]), alt_rel_m=p.up_m,
                alt_amsl_m=p.up_m + world.alt0_amsl_m, yaw_deg=p.yaw_deg, gimbal_yaw_deg=0.0,
                gimbal_pitch_deg=p.pitch_deg, gimbal_roll_deg=p.roll_deg)


def cares(o: TruthObject) -> bool:
    x1, y1, x2, y2 = o.box
    return min(x2 - x1, y2 - y1) >= MIN_SIDE_PX and o.visible_fraction >= MIN_VISIBLE


@dataclass(slots=True)
class Counts:
    tp: int = 0
    fp: int = 0
    fn: int = 0

    @property
    def recall(self) -> float:
        return self.tp / (self.tp + self.fn) if self.tp + self.fn else math.nan

    @property
    def precision(self) -> float:
        return self.tp / (self.tp + self.fp) if self.tp + self.fp else math.nan


def match_frame(dets: list[Detection], truth: list[TruthObject], counts: dict[str, Counts]) -> list[tuple[int, int]]:
    """Per class greedy IoU matching; adds to `counts`; returns (detection, truth) index pairs."""
    pairs: list[tuple[int, int]] = []
    for label in LABELS:
        di = [i for i, d in enumerate(dets) if d.label == label]
        ti = [j for j, o in enumerate(truth) if o.label == label]
        c = counts.setdefault(label, Counts())
        iou = box_iou(np.array([dets[i].box for i in di], dtype=float).reshape(-1, 4),
                      np.array([truth[j].box for j in ti], dtype=float).reshape(-1, 4))
        used_d: set[int] = set()
        used_t: set[int] = set()
        for flat in np.argsort(-iou, axis=None):
            a, b = np.unravel_index(flat, iou.shape)
            if iou[a, b] < IOU:
                break
            if a in used_d or b in used_t:
                continue
            used_d.add(int(a))
            used_t.add(int(b))
            pairs.append((di[a], ti[b]))
        for b, j in enumerate(ti):
            if b not in used_t and cares(truth[j]):
                c.fn += 1
            elif b in used_t and cares(truth[j]):
                c.tp += 1
        for a, i in enumerate(di):
            if a in used_d:
                continue
            # A detection of a "don't care" object (tiny or cut by the edge) is not false.
            dont_care = [truth[j] for j in ti if not cares(truth[j])]
            if dont_care and box_iou(np.array([dets[i].box]), np.array([o.box for o in dont_care])).max() >= 0.3:
                continue
            c.fp += 1
    return pairs


class TruthBoxes:
    """A stand-in detector that reports the true boxes of the vehicles the evaluation shows it (set
    `current` to a frame's truth before each detect call), with their true labels."""

    def __init__(self, labels: frozenset[str] = frozenset({"muck_truck", "truck", "car", "bus"})) -> None:
        self.labels = labels
        self.current: list[TruthObject] = []

    def detect(self, image: NDArray[np.uint8]) -> list[Detection]:
        return [Detection(box=tuple(float(v) for v in o.box), label=o.label, score=0.9)  # type: ignore[arg-type]
                for o in self.current if o.label in self.labels and cares(o)]


class Recording:
    """Wraps a detector and keeps its last output (the model's own boxes, before the colour cues)."""

    def __init__(self, detector: Detector) -> None:
        self.detector = detector
        self.last: list[Detection] = []

    def detect(self, image: NDArray[np.uint8]) -> list[Detection]:
        self.last = self.detector.detect(image)
        return self.last


@dataclass(slots=True)
class Report:
    flights: int = 0
    frames: int = 0
    per_class: dict[str, Counts] = field(default_factory=dict)
    muck: Counts = field(default_factory=Counts)
    sites: Counts = field(default_factory=Counts)
    idf1: float = math.nan
    cone_errors: list[float] = field(default_factory=list)
    fps: float = math.nan

    @property
    def cone_rmse_m(self) -> float:
        return float(math.sqrt(np.mean(np.square(self.cone_errors)))) if self.cone_errors else math.nan

    def to_json(self) -> dict[str, Any]:
        def r(x: float) -> float | None:
            return None if math.isnan(x) else round(x, 3)

        return {"synthetic": True, "flights": self.flights, "frames": self.frames,
                "per_class": {k: {"recall": r(c.recall), "precision": r(c.precision), "tp": c.tp, "fp": c.fp,
                                  "fn": c.fn} for k, c in self.per_class.items()},
                "muck_truck": {"recall": r(self.muck.recall), "precision": r(self.muck.precision),
                               "tp": self.muck.tp, "fp": self.muck.fp, "fn": self.muck.fn},
                "road_works_site": {"recall": r(self.sites.recall), "precision": r(self.sites.precision),
                                    "tp": self.sites.tp, "fp": self.sites.fp, "fn": self.sites.fn},
                "truck_idf1": r(self.idf1), "cone_rmse_m": r(self.cone_rmse_m), "cones": len(self.cone_errors),
                "fps": r(self.fps)}


def evaluate(flights: list[Flight], *, model: Detector | None = None,
             wrap: Callable[[Detector], Detector] | None = None, progress: bool = False,
             truth_boxes: bool = False, verify: bool = False, motion: bool = True) -> Report:
    """Run the pipeline (the model with colour cues) over each flight and score it against the truth;
    `truth_boxes`: the true vehicle boxes instead of a detector (see the module's notes); `motion`: the
    model's weak vehicle boxes kept where the pipeline's motion cue sees them move (as in use)."""
    import motmetrics as mm

    from inference.detectors.own import CANDIDATE_CONF, ModelWithCues, own_detector

    if truth_boxes:
        model = TruthBoxes()
        wrap = wrap or (lambda d: d)
    model = model or own_detector(verify=verify, candidate_threshold=CANDIDATE_CONF if motion else None)
    rec = Recording(model)
    detector: Detector = wrap(rec) if wrap is not None else ModelWithCues(rec)
    report = Report()
    accs = []
    seconds = 0.0
    for flight in flights:
        acc, secs, n = _run_flight(flight, detector, rec, report, motion)
        accs.append(acc)
        seconds += secs
        report.frames += n
        report.flights += 1
        if progress:
            print(f"flight {flight.seed}: {n} frames", flush=True)
    mh = mm.metrics.create()
    summary = mh.compute_many(accs, metrics=["idf1"], generate_overall=True)
    report.idf1 = float(summary.loc["OVERALL", "idf1"])
    report.fps = report.frames / seconds if seconds else math.nan
    return report


def _run_flight(flight: Flight, detector: Detector, rec: Recording, report: Report,
                motion: bool = True) -> tuple[Any, float, int]:
    import motmetrics as mm

    world = flight.world
    rendered = render_flight(flight)
    acc = mm.MOTAccumulator(auto_id=True)
    cones = {o.id: (o.east_m, o.north_m) for o in world.objects if o.kind == "traffic_cone"}
    seen: dict[str, int] = {}
    ids: dict[str, int] = {}  # motmetrics wants numeric object ids
    current: list[list[TruthObject]] = [[]]
    holder: list[Pipeline] = []

    def hook(frame: Frame, pose: Pose, placed: list[GeoDetection]) -> None:
        truth_now = current[0]
        model_dets = [d for d in rec.last if not d.candidate]  # the detector's own boxes
        pairs = match_frame(model_dets, truth_now, report.per_class)
        by_det = {id(model_dets[i]): truth_now[j] for i, j in pairs}
        for g in placed:
            o = by_det.get(id(g.detection))
            if o is not None and o.label == "traffic_cone" and o.id in cones:
                e, n = cones[o.id]
                report.cone_errors.append(math.hypot(g.east_m - e, g.north_m - n))
        for o in truth_now:
            if cares(o) and o.label in ROAD_WORKS:
                seen[o.id] = seen.get(o.id, 0) + 1
        gt = [o for o in truth_now if o.label in TRUCKS and cares(o)]
        hyp = [tr for tr in holder[0].tracker.active if tr.label in TRUCKS and tr.seen_last_update]
        gt_xy = np.array([[o.east_m, o.north_m] for o in gt]).reshape(-1, 2)
        hyp_xy = np.array([tr.x[:2] for tr in hyp]).reshape(-1, 2)
        dist = mm.distances.norm2squared_matrix(gt_xy, hyp_xy, max_d2=16.0)
        acc.update([ids.setdefault(o.id, len(ids)) for o in gt], [tr.id for tr in hyp], dist)

    cam = camera_from_dict(flight.camera.to_camera_file())
    pipe = Pipeline(camera=cam, detector=detector, aggregator_factory=lambda f: Aggregator(f, mission_id="eval"),
                    frame=world.frame, home_amsl_m=world.alt0_amsl_m, on_frame=hook,
                    motion=MotionConfig() if motion else None)
    holder.append(pipe)
    pubs = []
    seconds = 0.0
    for i, (image, t, p, objs) in enumerate(rendered):
        current[0] = objs
        if isinstance(rec.detector, TruthBoxes):
            rec.detector.current = objs
        t0 = time.perf_counter()
        pubs += pipe.process(Frame(image, t, i, pose=pose_of(world, p, t)))
        seconds += time.perf_counter() - t0
    pubs += pipe.finish()
    _score_tracks(world, rendered, pubs, report)
    _score_sites(world, seen, pubs, report)
    return acc, seconds, len(rendered)


def _score_tracks(world: World, rendered: list, pubs: list, report: Report) -> None:
    seen_frames: dict[str, int] = {}
    for *_, objs in rendered:
        for o in objs:
            if o.label == "muck_truck" and cares(o):
                seen_frames[o.id] = seen_frames.get(o.id, 0) + 1
    truth_ids = {k for k, n in seen_frames.items() if n >= 5}
    matched: set[str] = set()
    for p in pubs:
        if p.type != "skypatrol.detection.muck_truck.v1":
            continue
        coords = p.data["geometry"]["coordinates"]
        coords = [coords] if p.data["geometry"]["type"] == "Point" else coords
        times = [_ts(s) for s in p.data["times"]]
        lon = np.array([c[0] for c in coords])
        lat = np.array([c[1] for c in coords])
        e, n = world.frame.geodetic2en(lat, lon)
        best, best_d = None, math.inf
        for vid in {v.id for t in times for v in vehicles_at(world, t) if v.kind == "muck_truck"}:
            ds = []
            for t, ee, nn in zip(times, np.atleast_1d(e), np.atleast_1d(n), strict=True):
                v = next((v for v in vehicles_at(world, t) if v.id == vid), None)
                ds.append(math.hypot(v.east_m - ee, v.north_m - nn) if v else 50.0)
            d = float(np.mean(ds))
            if d < best_d:
                best, best_d = vid, d
        if best is not None and best_d <= 5.0:
            report.muck.tp += best not in matched
            report.muck.fp += best in matched  # a second track of the same truck counts as false
            matched.add(best)
        else:
            report.muck.fp += 1
    report.muck.fn += len(truth_ids - matched)


def _ts(iso: str) -> float:
    from datetime import datetime

    return datetime.fromisoformat(iso.replace("Z", "+00:00")).timestamp()


def _score_sites(world: World, seen: dict[str, int], pubs: list, report: Report) -> None:
    truth: dict[str, Polygon] = {}
    for a in world.areas:
        if a.kind != "road_works":
            continue
        members = [o.id for o in world.objects if o.site_id == a.site_id]
        members += [x.id for x in world.areas if x.kind == "excavation" and x.site_id == a.site_id]
        if sum(seen.get(m, 0) >= 2 for m in members) >= 3:
            truth[a.id] = Polygon(a.polygon)
    matched: set[str] = set()
    for p in pubs:
        if p.type != "skypatrol.detection.road_works.v1":
            continue
        geom = shape(p.data["geometry"])
        ring = np.array(geom.exterior.coords)
        e, n = world.frame.geodetic2en(ring[:, 1], ring[:, 0])
        poly = Polygon(np.column_stack([e, n]))
        hit = None
        for sid, tp in truth.items():
            if poly.intersects(tp) or Point(poly.centroid).distance(tp.centroid) <= 15.0:
                hit = sid
                break
        if hit is None:
            # A site not among the counted truth: false only if it matches no true site at all.
            near_any = any(poly.intersects(Polygon(a.polygon)) for a in world.areas if a.kind == "road_works")
            report.sites.fp += not near_any
        else:
            report.sites.tp += hit not in matched
            report.sites.fp += hit in matched
            matched.add(hit)
    report.sites.fn += len(set(truth) - matched)


def main() -> None:
    ap = argparse.ArgumentParser(prog="python -m inference.evaluate", description=__doc__.splitlines()[0])
    ap.add_argument("--flights", type=int, default=6)
    ap.add_argument("--frames", type=int, default=60)
    ap.add_argument("--width", type=int, default=1280)
    ap.add_argument("--height", type=int, default=720)
    ap.add_argument("--first-seed", type=int, default=HELD_OUT_SEED)
    ap.add_argument("--truth-boxes", action="store_true", help="true vehicle boxes instead of the detector")
    ap.add_argument("--verifier", action="store_true",
                    help="the model's vehicle labels settled by the crop classifier (off by default, as in use)")
    ap.add_argument("--no-motion", action="store_true",
                    help="without the motion cue (the model's weak vehicle boxes dropped)")
    ap.add_argument("--json", action="store_true")
    a = ap.parse_args()
    flights = held_out_flights(a.flights, frames=a.frames, width=a.width, height=a.height, first_seed=a.first_seed)
    report = evaluate(flights, progress=not a.json, truth_boxes=a.truth_boxes, verify=a.verifier,
                      motion=not a.no_motion)
    out = report.to_json()
    if a.json:
        print(json.dumps(out))
        return
    print(f"held-out rendered flights (synthetic): {out['flights']} flights, {out['frames']} frames")
    for k, v in out["per_class"].items():
        print(f"  {k:14s} recall {v['recall']}  precision {v['precision']}  (tp {v['tp']} fp {v['fp']} fn {v['fn']})")
    for k in ("muck_truck", "road_works_site"):
        v = out[k]
        print(f"  {k} recall {v['recall']} precision {v['precision']} (tp {v['tp']} fp {v['fp']} fn {v['fn']})")
    print(f"  truck IDF1 {out['truck_idf1']}; cone RMSE {out['cone_rmse_m']} m over {out['cones']} detections; "
          f"pipeline {out['fps']} fps")


if __name__ == "__main__":
    main()
