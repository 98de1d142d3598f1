"""Road-works sites: static detections (cones, barriers, machinery, excavation) merged into object
instances across frames, clustered into sites, and matched against the sites of earlier patrols.

A site is a cluster of at least `min_objects` objects, each seen in at least `min_sightings`
frames, with neighbours within `link_m` (single linkage); its polygon is the convex hull of its
objects grown by `margin_m`. A site seen again on a later patrol (its polygon overlaps a stored
site's, or their centres lie within `match_m`) updates that site: same id, last seen moved on.
"""

from __future__ import annotations

import math
import uuid
from collections import Counter
from dataclasses import dataclass, field
from typing import Any

import numpy as np
import shapely
from numpy.typing import NDArray
from shapely.geometry import mapping, shape

from geo import LocalFrame, geometry_enu2geodetic, geometry_geodetic2enu
from inference.types import GeoDetection

MERGE_M = {"traffic_cone": 1.0, "barrier": 2.0, "excavator": 5.0, "excavation": 8.0}


@dataclass(frozen=True, slots=True)
class SiteConfig:
    min_sightings: int = 2
    min_objects: int = 3
    link_m: float = 15.0
    margin_m: float = 3.0
    match_m: float = 30.0


@dataclass(slots=True)
class StaticObject:
    label: str
    east_m: float
    north_m: float
    sightings: int
    first_t: float
    last_t: float
    best: GeoDetection
    sum_w: float = 0.0
    positions: list[tuple[float, float]] = field(default_factory=list)


class StaticObjectMap:
    """Merges repeated sightings of the same static object (nearest within its label's radius)."""

    def __init__(self) -> None:
        self.objects: list[StaticObject] = []

    def add(self, gd: GeoDetection) -> StaticObject:
        radius = max(MERGE_M.get(gd.label, 2.0), 0.5 * gd.length_m if math.isfinite(gd.length_m) else 0.0)
        best, best_d = None, math.inf
        for o in self.objects:
            if o.label != gd.label:
                continue
            d = math.hypot(o.east_m - gd.east_m, o.north_m - gd.north_m)
            if d < best_d:
                best, best_d = o, d
        w = 1.0 / max(gd.sigma_m, 0.1) ** 2
        if best is None or best_d > radius:
            o = StaticObject(gd.label, gd.east_m, gd.north_m, 1, gd.t, gd.t, gd, w, [(gd.east_m, gd.north_m)])
            self.objects.append(o)
            return o
        # Inverse-variance weighted mean: near-nadir sightings count more than oblique ones.
        best.east_m = (best.east_m * best.sum_w + gd.east_m * w) / (best.sum_w + w)
        best.north_m = (best.north_m * best.sum_w + gd.north_m * w) / (best.sum_w + w)
        best.sum_w += w
        best.sightings += 1
        best.first_t, best.last_t = min(best.first_t, gd.t), max(best.last_t, gd.t)
        best.positions.append((gd.east_m, gd.north_m))
        if gd.score > best.best.score:
            best.best = gd
        return best


@dataclass(slots=True)
class SiteObservation:
    """One patrol's view of a site, before matching with the store."""

    objects: list[StaticObject]
    polygon_enu: shapely.Polygon

    @property
    def counts(self) -> dict[str, int]:
        return dict(Counter(o.label for o in self.objects))

    @property
    def first_t(self) -> float:
        return min(o.first_t for o in self.objects)

    @property
    def last_t(self) -> float:
        return max(o.last_t for o in self.objects)

    @property
    def confidence(self) -> float:
        # More distinct objects and more sightings make a site more certain.
        scores = sorted((o.best.score for o in self.objects), reverse=True)
        base = float(np.mean(scores[:5]))
        return float(min(1.0, base * (1.0 - 0.5 ** len(self.objects))))

    @property
    def best(self) -> GeoDetection:
        return max((o.best for o in self.objects), key=lambda g: (g.score, -g.range_m))


def cluster_sites(objects: list[StaticObject], config: SiteConfig = SiteConfig()) -> list[SiteObservation]:
    objs = [o for o in objects if o.sightings >= config.min_sightings]
    if not objs:
        return []
    xy = np.array([[o.east_m, o.north_m] for o in objs])
    parent = list(range(len(objs)))

    def find(i: int) -> int:
        while parent[i] != i:
            parent[i] = parent[parent[i]]
            i = parent[i]
        return i

    d = np.hypot(xy[:, None, 0] - xy[None, :, 0], xy[:, None, 1] - xy[None, :, 1])
    for i, j in zip(*np.nonzero(np.triu(d <= config.link_m, k=1)), strict=True):
        parent[find(int(i))] = find(int(j))
    groups: dict[int, list[int]] = {}
    for i in range(len(objs)):
        groups.setdefault(find(i), []).append(i)
    out = []
    for members in groups.values():
        if len(members) < config.min_objects:
            continue
        pts: NDArray[np.float64] = xy[members]
        hull = shapely.MultiPoint([tuple(p) for p in pts]).convex_hull.buffer(config.margin_m, quad_segs=4)
        out.append(SiteObservation([objs[i] for i in members], hull))
    return out


def match_site(obs: SiteObservation, stored: list[dict[str, Any]], frame: LocalFrame,
               config: SiteConfig = SiteConfig()) -> dict[str, Any] | None:
    """The stored site this observation is (overlap, else nearest centre within `match_m`)."""
    best, best_d = None, math.inf
    c = obs.polygon_enu.centroid
    for s in stored:
        poly = geometry_geodetic2enu(shape(s["geometry"]), frame)
        if poly.intersects(obs.polygon_enu):
            return s
        dist = poly.centroid.distance(c)
        if dist < best_d:
            best, best_d = s, dist
    return best if best_d <= config.match_m else None


def site_record(obs: SiteObservation, frame: LocalFrame, previous: dict[str, Any] | None, *,
                mission_id: str | None) -> dict[str, Any]:
    """The stored form of a site after this patrol (GeoJSON geometry in lon/lat)."""
    geom = geometry_enu2geodetic(obs.polygon_enu, frame)
    rec: dict[str, Any] = dict(previous or {})
    rec["site_id"] = rec.get("site_id") or f"site-{uuid.uuid4().hex[:12]}"
    rec["geometry"] = _rounded(mapping(geom))
    rec["first_seen"] = min(obs.first_t, float(rec.get("first_seen", math.inf)))
    rec["last_seen"] = max(obs.last_t, float(rec.get("last_seen", -math.inf)))
    rec["patrols"] = int(rec.get("patrols", 0)) + 1
    rec["objects"] = obs.counts
    rec["last_mission_id"] = mission_id
    return rec


def _rounded(g: dict[str, Any]) -> dict[str, Any]:
    def r(c: Any) -> Any:
        if isinstance(c, list | tuple) and c and isinstance(c[0], int | float):
            return [round(float(v), 7) for v in c]
        return [r(x) for x in c]

    return {"type": g["type"], "coordinates": r(g["coordinates"])}
