"""Rule layer, after georeferencing: detections placed on the ground, then labels settled by
metric size (what a blob or a box measures on the ground, from the ground resolution).

- orange blobs: up to 1.2 m -> traffic cone; long and thin (1.2-4.5 m, <= 1 m wide) -> barrier;
  measured with the stretch a standing thing's height adds along an oblique line of sight taken off;
- earth-coloured blobs: a load bed of 4-9.5 m x 1.6-3.4 m -> muck truck (the loaded bed of a
  heavy truck of 7-12 m); >= 20 m2 -> excavation / bare soil;
- yellow blobs: 3-12 m and >= 1.5 m wide -> excavator / construction machinery;
- model boxes: a `muck_truck` must have heavy-truck length (6.5-16 m: the 7-12 m of the trade, and
  an upright image box of a truck seen diagonally measures more), else it is a `truck`; a `truck` of
  that length with an earth-coloured load visible is a `muck_truck`.
"""

from __future__ import annotations

import math
from dataclasses import dataclass, replace

import numpy as np
from numpy.typing import NDArray

from inference.detectors.colour import EARTH, TARP, cue_fraction
from inference.georef import Georeferencer
from inference.types import Detection, GeoDetection, Pose

# Height above the ground of the point a detection's centre shows (m): a box centre sits about
# mid-height; a colour blob of a truck's load is its top.
CENTRE_HEIGHT_M = {"muck_truck": 1.8, "truck": 1.6, "car": 0.7, "bus": 1.6, "traffic_cone": 0.35,
                   "barrier": 0.5, "excavator": 1.5, "excavation": 0.0}
LOAD_TOP_HEIGHT_M = 2.8


@dataclass(frozen=True, slots=True)
class SizeRules:
    cone_max_m: float = 1.2
    cone_height_m: float = 0.7  # a road cone's height (its footprint stretches by this in oblique views)
    barrier_height_m: float = 0.9
    barrier_length_m: tuple[float, float] = (1.2, 4.5)
    barrier_max_width_m: float = 1.0
    load_length_m: tuple[float, float] = (4.0, 9.5)
    load_width_m: tuple[float, float] = (1.6, 3.4)
    # What a heavy truck's box measures on the ground: 7-12 m of truck, but a model box is upright in the
    # image, so a truck seen diagonally (and its height, seen obliquely) measures up to a third more.
    muck_truck_length_m: tuple[float, float] = (6.5, 16.0)
    excavation_min_area_m2: float = 20.0
    excavator_length_m: tuple[float, float] = (3.0, 12.0)
    excavator_min_width_m: float = 1.5
    earth_load_fraction: float = 0.2
    tarp_load_fraction: float = 0.2


def _centre_height(d: Detection, label: str) -> float:
    if d.cue == "earth" and label == "muck_truck":
        return LOAD_TOP_HEIGHT_M
    return CENTRE_HEIGHT_M.get(label, 0.0)


def place_detections(georef: Georeferencer, pose: Pose, detections: list[Detection], *, t: float,
                     frame_index: int, labels: list[str] | None = None) -> list[GeoDetection]:
    """Georeference a frame's detections in one vectorised call (centres and outline corners)."""
    if not detections:
        return []
    labels = labels or [d.label for d in detections]
    centres, corners, heights = [], [], []
    for d, label in zip(detections, labels, strict=True):
        if d.footprint_px is not None:
            c = np.asarray(d.footprint_px, dtype=float).reshape(4, 2)
        else:
            x1, y1, x2, y2 = d.box
            c = np.array([[x1, y1], [x2, y1], [x2, y2], [x1, y2]], dtype=float)
        corners.append(c)
        centres.append(c.mean(axis=0))
        heights.append(_centre_height(d, label))
    n = len(detections)
    pts = np.vstack([np.asarray(centres), np.vstack(corners)])
    lift = np.concatenate([heights, np.repeat(heights, 4)])
    g = georef.locate(pose, pts, lift)
    ce, cn = g.east_m[n:].reshape(n, 4), g.north_m[n:].reshape(n, 4)
    cam_e, cam_n = georef.frame.geodetic2en(np.array([pose.lat_deg]), np.array([pose.lon_deg]))
    cam_e, cam_n = float(np.asarray(cam_e)[0]), float(np.asarray(cam_n)[0])
    out = []
    for i, (d, label) in enumerate(zip(detections, labels, strict=True)):
        if not math.isfinite(g.lat_deg[i]):
            continue
        length, width = _rect_sides(ce[i], cn[i])
        cot, cos_long, cos_short = _sight(ce[i], cn[i], float(g.east_m[i]) - cam_e, float(g.north_m[i]) - cam_n,
                                          float(g.range_m[i]))
        out.append(GeoDetection(detection=d, label=label, score=d.score, t=t, frame_index=frame_index,
                                lat_deg=float(g.lat_deg[i]), lon_deg=float(g.lon_deg[i]),
                                east_m=float(g.east_m[i]), north_m=float(g.north_m[i]),
                                sigma_m=float(g.sigma_m[i]), length_m=length, width_m=width,
                                range_m=float(g.range_m[i]), view_cot=cot, sight_cos_long=cos_long,
                                sight_cos_short=cos_short))
    return out


def _sight(e: NDArray[np.float64], n: NDArray[np.float64], de: float, dn: float,
           range_m: float) -> tuple[float, float, float]:
    """For a ground quadrilateral seen along the horizontal direction `de, dn` (camera -> thing) at
    slant range `range_m`: the cotangent of the sight's elevation, and |cos| of the angle between the
    sight and the long side, then the short side (NaN where unknown). From the sight itself, so right
    over terrain too."""
    dist = math.hypot(de, dn)
    height = math.sqrt(max(range_m * range_m - dist * dist, 0.0)) if math.isfinite(range_m) else math.nan
    if not (np.isfinite(e).all() and np.isfinite(n).all()) or not math.isfinite(height) or height <= 0:
        return math.nan, math.nan, math.nan
    if dist < 1e-6:  # straight down: no stretch
        return 0.0, 0.0, 0.0
    u = np.array([de, dn]) / dist
    s0 = np.array([e[1] - e[0], n[1] - n[0]])
    s1 = np.array([e[2] - e[1], n[2] - n[1]])
    n0, n1 = float(np.hypot(*s0)), float(np.hypot(*s1))
    if n0 < 1e-9 or n1 < 1e-9:
        return dist / height, 0.0, 0.0
    c0, c1 = abs(float(u @ s0)) / n0, abs(float(u @ s1)) / n1
    length, _ = _rect_sides(e, n)
    # Sides 0 and 2 are one pair, 1 and 3 the other (`_rect_sides`): the long side is the longer pair.
    long_is_0 = math.isclose(length, (n0 + float(np.hypot(e[3] - e[2], n[3] - n[2]))) / 2.0)
    return dist / height, (c0 if long_is_0 else c1), (c1 if long_is_0 else c0)


def _rect_sides(e: NDArray[np.float64], n: NDArray[np.float64]) -> tuple[float, float]:
    """Long and short side of a ground quadrilateral (mean of opposite sides)."""
    if not (np.isfinite(e).all() and np.isfinite(n).all()):
        return math.nan, math.nan
    s = np.hypot(np.diff(np.append(e, e[0])), np.diff(np.append(n, n[0])))
    a, b = (s[0] + s[2]) / 2.0, (s[1] + s[3]) / 2.0
    return float(max(a, b)), float(min(a, b))


def settle_label(gd: GeoDetection, image: NDArray[np.uint8] | None, rules: SizeRules = SizeRules()) -> str | None:
    """The label a detection keeps after the size rules, or None to drop it."""
    d, L, W = gd.detection, gd.length_m, gd.width_m
    if math.isnan(L):
        return gd.label
    if d.cue == "orange":
        # Seen obliquely a standing thing's footprint stretches along the sight by its height times the
        # sight's cotangent: size a cone and a barrier with that stretch taken off.
        cone_l, _ = _unstretched(gd, rules.cone_height_m, L, W)
        if cone_l <= rules.cone_max_m:
            return "traffic_cone"
        bar_l, bar_w = _unstretched(gd, rules.barrier_height_m, L, W)
        if rules.barrier_length_m[0] < bar_l <= rules.barrier_length_m[1] and bar_w <= rules.barrier_max_width_m:
            return "barrier"
        return None
    if d.cue == "earth":
        if (rules.load_length_m[0] <= L <= rules.load_length_m[1]
                and rules.load_width_m[0] <= W <= rules.load_width_m[1]):
            return "muck_truck"
        if L * W >= rules.excavation_min_area_m2:
            return "excavation"
        return None
    if d.cue == "yellow":
        if rules.excavator_length_m[0] <= L <= rules.excavator_length_m[1] and W >= rules.excavator_min_width_m:
            return "excavator"
        return None
    heavy = rules.muck_truck_length_m[0] <= L <= rules.muck_truck_length_m[1]
    if gd.label == "muck_truck" and not heavy:
        return "truck"
    if gd.label == "truck" and heavy and load_on(gd, image, rules) is not None:
        return "muck_truck"
    return gd.label


def _unstretched(gd: GeoDetection, height_m: float, length: float, width: float) -> tuple[float, float]:
    """Long and short side of the footprint with the height stretch along the sight taken off each
    side in proportion to how much of the sight runs along it (the measured sides where the sight is
    unknown)."""
    if not (math.isfinite(gd.view_cot) and math.isfinite(gd.sight_cos_long) and math.isfinite(gd.sight_cos_short)):
        return length, width
    stretch = height_m * gd.view_cot
    a = max(length - stretch * gd.sight_cos_long, 0.0)
    b = max(width - stretch * gd.sight_cos_short, 0.0)
    return max(a, b), min(a, b)


def load_on(gd: GeoDetection, image: NDArray[np.uint8] | None, rules: SizeRules = SizeRules()) -> str | None:
    """The load a heavy vehicle's box shows: "earth" (an uncovered load), "tarp" (a green cover) or None."""
    d = gd.detection
    if d.cue == "earth":
        return "earth"
    if image is None or d.cue is not None or gd.label not in ("truck", "muck_truck") or math.isnan(gd.length_m) \
            or not rules.muck_truck_length_m[0] <= gd.length_m <= rules.muck_truck_length_m[1]:
        return None
    if cue_fraction(image, d.box, EARTH) >= rules.earth_load_fraction:
        return "earth"
    if cue_fraction(image, d.box, TARP) >= rules.tarp_load_fraction:
        return "tarp"
    return None


def apply_size_rules(georef: Georeferencer, pose: Pose, image: NDArray[np.uint8] | None,
                     placed: list[GeoDetection], rules: SizeRules = SizeRules()) -> list[GeoDetection]:
    """Settle labels (and note loads seen on heavy vehicles); detections whose label changed are placed
    again at that label's height."""
    keep: list[GeoDetection] = []
    moved: list[tuple[int, str]] = []
    for gd in placed:
        label = settle_label(gd, image, rules)
        if label is None:
            continue
        if label == "muck_truck":
            gd.load = load_on(gd, image, rules)
        if label != gd.label:
            if _centre_height(gd.detection, label) != _centre_height(gd.detection, gd.label):
                moved.append((len(keep), label))
            gd = replace(gd, label=label)
        keep.append(gd)
    if moved:
        again = place_detections(georef, pose, [keep[i].detection for i, _ in moved], t=keep[0].t,
                                 frame_index=keep[0].frame_index, labels=[lab for _, lab in moved])
        if len(again) == len(moved):
            for (i, _), gd in zip(moved, again, strict=True):
                gd.load = keep[i].load
                keep[i] = gd
    return keep

