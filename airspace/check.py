"""Route and position checks against zones and the global rules.

A route is checked leg by leg in 3D: the horizontal part of a leg is intersected exactly with each
volume (in the index's metric frame), and the altitude, linear along the leg, is tested against the
volume's vertical band over the part that lies inside. One violation is reported per stretch of the
route inside a zone (or breaking a rule), at the first point of that stretch.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from datetime import datetime
from operator import attrgetter
from typing import Any

import numpy as np
import shapely
from numpy.typing import NDArray

from airspace.clip import PolygonEdges, clip_legs
from airspace.index import ZoneIndex
from airspace.model import Restriction, as_utc
from airspace.route import Route
from airspace.rules import CheckOptions
from airspace.terrain import DemProvider, FlatTerrain
from geo import LocalFrame

EPS = 1e-9
ALT_TOL_M = 1e-6
DEM_STEP_M = 5.0

KIND_ZONE = "zone"
KIND_HEIGHT = "height_rule"
KIND_SITE = "site_rule"


@dataclass(frozen=True, slots=True)
class Violation:
    kind: str  # "zone", "height_rule" or "site_rule"
    zone_id: str | None
    restriction: Restriction | None
    waypoint_index: int | None
    segment_index: int | None
    lat: float
    lon: float
    alt_rel_m: float
    alt_amsl_m: float
    detail: str

    @property
    def index(self) -> int:
        return self.waypoint_index if self.waypoint_index is not None else (self.segment_index or 0)

    def sort_key(self) -> tuple[Any, ...]:
        return (self.index, self.zone_id is None, self.zone_id or "", self.kind, self.detail)

    def to_json(self) -> dict[str, Any]:
        return {
            "zone_id": self.zone_id,
            "restriction": None if self.restriction is None else self.restriction.value,
            "kind": self.kind,
            "waypoint_index": self.waypoint_index,
            "segment_index": self.segment_index,
            "lat": round(self.lat, 8),
            "lon": round(self.lon, 8),
            "alt_rel_m": round(self.alt_rel_m, 2),
            "alt_amsl_m": round(self.alt_amsl_m, 2),
            "detail": self.detail,
        }


@dataclass(frozen=True, slots=True)
class RouteCheck:
    violations: tuple[Violation, ...]
    # Zones the route enters that do not stop it: NO_RESTRICTION ones and those it is authorised for.
    notices: tuple[Violation, ...] = ()

    @property
    def clear(self) -> bool:
        return not self.violations

    def to_json(self) -> dict[str, Any]:
        return {"clear": self.clear, "violations": [v.to_json() for v in self.violations]}


# ---------------------------------------------------------------------------------------------
# Legs


@dataclass(frozen=True)
class _Legs:
    """Leg k runs from route point k to point k + 1, in the index's frame, altitudes AMSL."""

    e0: NDArray[np.float64]
    n0: NDArray[np.float64]
    de: NDArray[np.float64]
    dn: NDArray[np.float64]
    a0: NDArray[np.float64]
    da: NDArray[np.float64]
    geoms: NDArray[np.object_]

    @property
    def length2(self) -> NDArray[np.float64]:
        return self.de**2 + self.dn**2


def _route_arrays(route: Route) -> tuple[NDArray[np.float64], NDArray[np.float64], NDArray[np.float64]]:
    """Latitudes, longitudes and altitudes above home of the route's points."""
    pts, n = route.points, len(route.points)
    return (
        np.fromiter(map(_LAT, pts), float, n),
        np.fromiter(map(_LON, pts), float, n),
        np.fromiter(map(_ALT, pts), float, n),
    )


_LAT, _LON, _ALT = attrgetter("lat"), attrgetter("lon"), attrgetter("alt_rel_m")


def _legs(
    lat: NDArray[np.float64],
    lon: NDArray[np.float64],
    alt_rel: NDArray[np.float64],
    frame: LocalFrame,
    home_amsl_m: float,
) -> _Legs:
    alt = home_amsl_m + alt_rel
    e, n = frame.geodetic2en(lat, lon)
    e0, n0, de, dn = e[:-1], n[:-1], np.diff(e), np.diff(n)
    degenerate = (de**2 + dn**2) == 0
    xy = np.empty((len(e0), 2, 2))
    xy[:, 0, 0], xy[:, 0, 1], xy[:, 1, 0], xy[:, 1, 1] = e0, n0, e[1:], n[1:]
    geoms = np.empty(len(e0), dtype=object)
    if (~degenerate).any():
        geoms[~degenerate] = shapely.linestrings(xy[~degenerate])
    if degenerate.any():
        geoms[degenerate] = shapely.points(e0[degenerate], n0[degenerate])
    return _Legs(e0, n0, de, dn, alt[:-1], np.diff(alt), geoms)


# ---------------------------------------------------------------------------------------------
# Where legs are inside volumes


@dataclass(frozen=True)
class _Parts:
    """Pieces of legs inside volumes: leg, volume and the leg parameter interval [t0, t1]."""

    leg: NDArray[np.intp]
    vol: NDArray[np.intp]
    t0: NDArray[np.float64]
    t1: NDArray[np.float64]


def _horizontal_parts(
    legs: _Legs, leg: NDArray[np.intp], vol: NDArray[np.intp], polys: NDArray[np.object_], edges: PolygonEdges
) -> _Parts:
    """Clipped in numpy; the few pairs too close to call in floating point by GEOS overlay."""
    if len(leg) == 0:
        empty = np.empty(0)
        return _Parts(leg, vol, empty, empty)
    c = clip_legs(legs.e0[leg], legs.n0[leg], legs.de[leg], legs.dn[leg], vol, edges)
    if len(c.exact) == 0:
        return _Parts(leg[c.pair], vol[c.pair], c.t0, c.t1)
    ex = _exact_parts(legs, leg[c.exact], vol[c.exact], polys)
    return _Parts(
        np.concatenate([leg[c.pair], ex.leg]),
        np.concatenate([vol[c.pair], ex.vol]),
        np.concatenate([c.t0, ex.t0]),
        np.concatenate([c.t1, ex.t1]),
    )


def _exact_parts(legs: _Legs, leg: NDArray[np.intp], vol: NDArray[np.intp], polys: NDArray[np.object_]) -> _Parts:
    if len(leg) == 0:
        empty = np.empty(0)
        return _Parts(leg, vol, empty, empty)
    inter = shapely.intersection(legs.geoms[leg], polys[vol])
    parts, part_pair = shapely.get_parts(inter, return_index=True)
    keep = ~shapely.is_empty(parts)
    parts, part_pair = parts[keep], part_pair[keep]
    coords, coord_part = shapely.get_coordinates(parts, return_index=True)
    pl = leg[part_pair][coord_part]
    l2 = legs.length2[pl]
    with np.errstate(invalid="ignore", divide="ignore"):
        t = ((coords[:, 0] - legs.e0[pl]) * legs.de[pl] + (coords[:, 1] - legs.n0[pl]) * legs.dn[pl]) / l2
    t = np.clip(np.where(l2 > 0, t, 0.0), 0.0, 1.0)
    t0 = np.full(len(parts), np.inf)
    t1 = np.full(len(parts), -np.inf)
    np.minimum.at(t0, coord_part, t)
    np.maximum.at(t1, coord_part, t)
    part_leg = leg[part_pair]
    t1 = np.where(legs.length2[part_leg] > 0, t1, 1.0)  # a vertical leg is inside over its whole length
    return _Parts(part_leg, vol[part_pair], t0, t1)


def _band_amsl(index: ZoneIndex, vol: NDArray[np.intp], ground: NDArray[np.float64], margin_m: float):  # type: ignore[no-untyped-def]
    lo = index.lower_m[vol] + np.where(index.lower_agl[vol], ground, 0.0) - margin_m
    hi = index.upper_m[vol] + np.where(index.upper_agl[vol], ground, 0.0) + margin_m
    return lo, hi


def _vertical_flat(
    parts: _Parts, legs: _Legs, index: ZoneIndex, ground_m: float, margin_m: float
) -> tuple[NDArray[np.bool_], NDArray[np.float64], NDArray[np.float64]]:
    """Exact for flat ground: the altitude is linear in t, so the band is one t interval."""
    a0, da = legs.a0[parts.leg], legs.da[parts.leg]
    lo, hi = _band_amsl(index, parts.vol, np.full(len(parts.leg), ground_m), margin_m)
    lo, hi = lo - ALT_TOL_M, hi + ALT_TOL_M
    with np.errstate(invalid="ignore", divide="ignore"):
        ta = np.where(da != 0, (lo - a0) / da, -np.inf)
        tb = np.where(da != 0, (hi - a0) / da, np.inf)
    level = da == 0
    level_inside = (a0 >= lo) & (a0 <= hi)
    t_lo = np.where(level, np.where(level_inside, -np.inf, np.inf), np.minimum(ta, tb))
    t_hi = np.where(level, np.where(level_inside, np.inf, -np.inf), np.maximum(ta, tb))
    first = np.maximum(parts.t0, t_lo)
    last = np.minimum(parts.t1, t_hi)
    return first <= last, first, last


def _vertical_sampled(
    parts: _Parts, legs: _Legs, index: ZoneIndex, dem: DemProvider, margin_m: float
) -> tuple[NDArray[np.bool_], NDArray[np.float64], NDArray[np.float64]]:
    """With a terrain model AGL limits follow the ground: sample each inside piece."""
    n = len(parts.leg)
    ok, first, last = np.zeros(n, bool), np.zeros(n), np.zeros(n)
    step = min(DEM_STEP_M, dem.resolution_m)
    for i in range(n):
        k = parts.leg[i]
        length = float(np.sqrt(legs.length2[k]))
        count = max(2, int(np.ceil((parts.t1[i] - parts.t0[i]) * length / step)) + 1)
        t = np.linspace(parts.t0[i], parts.t1[i], count)
        lat, lon = index.frame.en2geodetic(legs.e0[k] + t * legs.de[k], legs.n0[k] + t * legs.dn[k])
        ground = dem.ground_amsl_m(lat, lon)
        lo, hi = _band_amsl(index, np.full(count, parts.vol[i]), ground, margin_m)
        alt = legs.a0[k] + t * legs.da[k]
        inside = (alt >= lo - ALT_TOL_M) & (alt <= hi + ALT_TOL_M)
        if inside.any():
            ok[i], first[i], last[i] = True, t[inside.argmax()], t[len(t) - 1 - inside[::-1].argmax()]
    return ok, first, last


@dataclass(frozen=True)
class _Hit:
    """The route inside something (a zone, or breaking a rule) over leg `leg` from t0 to t1."""

    key: int  # zone index, or -1 for a rule
    leg: int
    t0: float
    t1: float


def _zone_hits(
    legs: _Legs,
    index: ZoneIndex,
    at: datetime,
    options: CheckOptions,
    home_amsl_m: float,
    polys: NDArray[np.object_],
    tree: shapely.STRtree,
    edges: PolygonEdges,
    vol_filter: NDArray[np.bool_] | None = None,
    margin_m: float = 0.0,
) -> list[_Hit]:
    # Candidates by bounding box only: the clipping below decides exactly anyway.
    leg, vol = tree.query(legs.geoms)
    if vol_filter is not None:
        keep = vol_filter[vol]
        leg, vol = leg[keep], vol[keep]
    keep = index.volumes_active(vol, at)
    parts = _horizontal_parts(legs, leg[keep], vol[keep], polys, edges)
    if options.dem is None:
        ok, first, last = _vertical_flat(parts, legs, index, home_amsl_m, margin_m)
    else:
        ok, first, last = _vertical_sampled(parts, legs, index, options.dem, margin_m)
    zone = index.volume_zone[parts.vol[ok]]
    return _group(zone, parts.leg[ok], first[ok], last[ok])


def _group(
    key: NDArray[np.intp], leg: NDArray[np.intp], t0: NDArray[np.float64], t1: NDArray[np.float64]
) -> list[_Hit]:
    """One hit per (key, leg): the earliest entry and the latest point inside."""
    if len(key) == 0:
        return []
    order = np.lexsort((t0, leg, key))
    key, leg, t0, t1 = key[order], leg[order], t0[order], t1[order]
    starts = np.flatnonzero(np.r_[True, (key[1:] != key[:-1]) | (leg[1:] != leg[:-1])])
    ends = np.maximum.reduceat(t1, starts)
    return [_Hit(int(key[s]), int(leg[s]), float(t0[s]), float(e)) for s, e in zip(starts, ends, strict=True)]


@dataclass(frozen=True)
class _Stretch:
    """A continuous piece of the route inside something: where it starts, and the first mission
    item position inside it (if any)."""

    first: _Hit
    waypoint_index: int | None


def _stretches(hits: list[_Hit], route: Route) -> list[_Stretch]:
    """Merge a key's hits on consecutive legs that meet at the waypoint between them."""
    out: list[_Stretch] = []
    last: dict[int, _Hit] = {}
    for h in sorted(hits, key=lambda h: (h.key, h.leg, h.t0)):
        prev = last.get(h.key)
        continues = prev is not None and prev.leg == h.leg - 1 and prev.t1 >= 1 - EPS and h.t0 <= EPS
        if not continues:
            start = route.points[h.leg]
            starts_at_item = h.t0 <= EPS and start.is_item_position
            out.append(_Stretch(h, start.item_index if starts_at_item else None))
        current = out[-1]
        end = route.points[h.leg + 1]
        if current.waypoint_index is None and h.t1 >= 1 - EPS and end.is_item_position:
            out[-1] = _Stretch(current.first, end.item_index)
        last[h.key] = h
    return out


# ---------------------------------------------------------------------------------------------
# Rules


def _height_hits(
    legs: _Legs, frame: LocalFrame, options: CheckOptions, home_amsl_m: float, limit_m: float
) -> list[_Hit]:
    n = len(legs.a0)
    if options.dem is None:
        agl0 = legs.a0 - home_amsl_m
        above = limit_m + ALT_TOL_M
        with np.errstate(invalid="ignore", divide="ignore"):
            t_cross = np.where(legs.da != 0, (above - agl0) / legs.da, np.inf)
        start_above = agl0 > above
        end_above = agl0 + legs.da > above
        first = np.where(start_above, 0.0, np.clip(t_cross, 0.0, 1.0))
        last = np.where(end_above, 1.0, np.clip(t_cross, 0.0, 1.0))
        ok = start_above | end_above
        return [_Hit(-1, k, float(first[k]), float(last[k])) for k in range(n) if ok[k]]
    hits = []
    for k in range(n):
        count = max(2, int(np.ceil(np.sqrt(legs.length2[k]) / min(DEM_STEP_M, options.dem.resolution_m))) + 1)
        t = np.linspace(0.0, 1.0, count)
        lat, lon = frame.en2geodetic(legs.e0[k] + t * legs.de[k], legs.n0[k] + t * legs.dn[k])
        agl = legs.a0[k] + t * legs.da[k] - options.dem.ground_amsl_m(lat, lon)
        over = agl > limit_m + ALT_TOL_M
        if over.any():
            hits.append(_Hit(-1, k, float(t[over.argmax()]), float(t[len(t) - 1 - over[::-1].argmax()])))
    return hits


def _home_distance_hits(legs: _Legs, frame: LocalFrame, route: Route, max_m: float) -> list[_Hit]:
    he, hn = frame.geodetic2en(route.home.lat, route.home.lon)
    px, py = legs.e0 - he, legs.n0 - hn
    a = legs.length2
    b = 2 * (px * legs.de + py * legs.dn)
    c = px**2 + py**2 - max_m**2
    hits = []
    for k in range(len(a)):
        end_c = a[k] + b[k] + c[k]
        if c[k] > 0:
            hits.append(_Hit(-1, k, 0.0, 1.0 if end_c > 0 else 0.0))
        elif end_c > 0:
            root = (-b[k] + np.sqrt(max(b[k] ** 2 - 4 * a[k] * c[k], 0.0))) / (2 * a[k])
            hits.append(_Hit(-1, k, float(min(max(root, 0.0), 1.0)), 1.0))
    return hits


# ---------------------------------------------------------------------------------------------
# Public checks


def _blocking(index: ZoneIndex, options: CheckOptions) -> NDArray[np.bool_]:
    return index.blocking(options.authorisations)


def check_route(
    route: Route,
    at: datetime,
    home_amsl_m: float,
    index: ZoneIndex,
    options: CheckOptions | None = None,
) -> RouteCheck:
    """Every leg of `route` against every volume in force at `at`, plus the global and site rules."""
    options = options or CheckOptions()
    at = as_utc(at)
    if len(route.points) < 2:
        return RouteCheck(())
    found: list[_Found] = []

    # Metric work happens in the index's frame when the route is in the zones' region, else
    # (no zones near) in a frame around home, for the rules alone.
    lat, lon, alt_rel = _route_arrays(route)
    near_zones = len(index) > 0 and index.covers(lat, lon, options.min_distance_from_zones_m or 0.0)
    frame = index.frame if near_zones else LocalFrame(route.home.lat, route.home.lon)
    legs = _legs(lat, lon, alt_rel, frame, home_amsl_m)
    limit = options.max_height_agl_m
    if limit is not None:
        detail = f"above the {limit:g} m true-height limit for {options.drone_class.value} drones"
        for s in _stretches(_height_hits(legs, frame, options, home_amsl_m, limit), route):
            found.append(_Found(s, legs, frame, KIND_HEIGHT, None, None, detail, True))
    if options.max_distance_from_home_m is not None:
        r = options.max_distance_from_home_m
        detail = f"more than {r:g} m from home (site rule)"
        for s in _stretches(_home_distance_hits(legs, frame, route, r), route):
            found.append(_Found(s, legs, frame, KIND_SITE, None, None, detail, True))

    if near_zones:
        blocking = _blocking(index, options)
        entered = _zone_hits(legs, index, at, options, home_amsl_m, index.polygons, index.tree, index.edges)
        for s in _stretches(entered, route):
            z = index.zones[s.first.key]
            detail = index.zone_detail(s.first.key)
            found.append(_Found(s, legs, frame, KIND_ZONE, z.id, z.restriction, detail, bool(blocking[s.first.key])))
        if options.min_distance_from_zones_m is not None:
            d = options.min_distance_from_zones_m
            polys, tree, edges = index.buffered(d)
            vol_filter = blocking[index.volume_zone]
            near = _zone_hits(legs, index, at, options, home_amsl_m, polys, tree, edges, vol_filter, d)
            inside = {(h.key, h.leg) for h in entered}
            for s in _stretches([h for h in near if (h.key, h.leg) not in inside], route):
                z = index.zones[s.first.key]
                detail = f"within {d:g} m of {z.restriction.value} zone {z.id!r} (site rule)"
                found.append(_Found(s, legs, frame, KIND_SITE, None, None, detail, True))

    made = _violations(route, home_amsl_m, found)
    violations = sorted((v for v, f in zip(made, found, strict=True) if f.blocking), key=Violation.sort_key)
    notices = sorted((v for v, f in zip(made, found, strict=True) if not f.blocking), key=Violation.sort_key)
    return RouteCheck(tuple(violations), tuple(notices))


@dataclass(frozen=True)
class _Found:
    stretch: _Stretch
    legs: _Legs
    frame: LocalFrame
    kind: str
    zone_id: str | None
    restriction: Restriction | None
    detail: str
    blocking: bool

    @property
    def east_north_m(self) -> tuple[float, float]:
        k, t = self.stretch.first.leg, self.stretch.first.t0
        return (self.legs.e0[k] + t * self.legs.de[k], self.legs.n0[k] + t * self.legs.dn[k])


def _violations(route: Route, home_amsl_m: float, found: list[_Found]) -> list[Violation]:
    """Violations at each stretch's first point; lat/lon converted per frame in one call."""
    lat = np.zeros(len(found))
    lon = np.zeros(len(found))
    for frame in {f.frame for f in found}:
        sel = [i for i, f in enumerate(found) if f.frame == frame]
        e, n = np.array([found[i].east_north_m for i in sel]).T
        lat[sel], lon[sel] = frame.en2geodetic(e, n)
    out = []
    for i, f in enumerate(found):
        k, t = f.stretch.first.leg, f.stretch.first.t0
        waypoint = f.stretch.waypoint_index
        segment = None if waypoint is not None else route.points[k + 1].item_index
        alt_amsl = float(f.legs.a0[k] + t * f.legs.da[k])
        out.append(
            Violation(
                f.kind,
                f.zone_id,
                f.restriction,
                waypoint,
                segment,
                float(lat[i]),
                float(lon[i]),
                alt_amsl - home_amsl_m,
                alt_amsl,
                f.detail,
            )
        )
    return out


# ---------------------------------------------------------------------------------------------
# Positions


@dataclass(frozen=True)
class PositionCheck:
    """Positions against zones and the height rule; arrays are aligned with the input."""

    zone_position: NDArray[np.intp]  # for each position-in-zone pair: the position
    zone_index: NDArray[np.intp]  # ... and the zone (index into ZoneIndex.zones)
    above_height_limit: NDArray[np.bool_]
    violating: NDArray[np.bool_]


def check_positions(
    lat_deg: Sequence[float] | NDArray[np.float64],
    lon_deg: Sequence[float] | NDArray[np.float64],
    alt_amsl_m: Sequence[float] | NDArray[np.float64],
    at: datetime,
    home_amsl_m: float,
    index: ZoneIndex,
    options: CheckOptions | None = None,
) -> PositionCheck:
    """Many positions at once (in-flight conformance): which are inside a blocking zone's volume
    in force at `at`, and which are above the drone class's true-height limit."""
    options = options or CheckOptions()
    at = as_utc(at)
    lat = np.asarray(lat_deg, dtype=float)
    lon = np.asarray(lon_deg, dtype=float)
    alt = np.asarray(alt_amsl_m, dtype=float)
    terrain = options.dem or FlatTerrain(home_amsl_m)
    ground = terrain.ground_amsl_m(lat, lon)
    near = np.flatnonzero(index.near(lat, lon))
    e, n = index.frame.geodetic2en(lat[near], lon[near])
    pos, vol = index.tree.query(shapely.points(e, n), predicate="intersects")
    pos = near[pos]
    blocking = _blocking(index, options)
    keep = blocking[index.volume_zone[vol]]
    pos, vol = pos[keep], vol[keep]
    keep = index.volumes_active(vol, at)
    pos, vol = pos[keep], vol[keep]
    lo, hi = _band_amsl(index, vol, ground[pos], 0.0)
    inside = (alt[pos] >= lo - ALT_TOL_M) & (alt[pos] <= hi + ALT_TOL_M)
    pos, zone = pos[inside], index.volume_zone[vol[inside]]
    pairs = np.unique(np.column_stack([pos, zone]), axis=0) if len(pos) else np.empty((0, 2), dtype=np.intp)
    limit = options.max_height_agl_m
    above = (alt - ground > limit + ALT_TOL_M) if limit is not None else np.zeros(len(lat), bool)
    violating = above.copy()
    violating[pairs[:, 0]] = True
    return PositionCheck(pairs[:, 0], pairs[:, 1], above, violating)
