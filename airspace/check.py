"""Route and position checks against zones and the global rules.

A route is checked leg by leg in 3D: the horizontal part of a leg is intersected exactly with each
volume (in the index's metric frame), and the altitude, linear along the leg, is tested against the
volume's vertical band over the part that lies inside. One violation is reported per stretch of the
route inside a zone (or breaking a rule), at the first point of that stretch.
"""

from __future__ import annotations

from collections.abc import Callable, Sequence
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
class _Hits:
    """The route inside something (a zone, or breaking a rule): one row per (key, leg), sorted by
    key then leg; over leg `leg` from t0 to t1. `key` is a zone index, or -1 for a rule."""

    key: NDArray[np.intp]
    leg: NDArray[np.intp]
    t0: NDArray[np.float64]
    t1: NDArray[np.float64]

    @classmethod
    def group(
        cls, key: NDArray[np.intp], leg: NDArray[np.intp], t0: NDArray[np.float64], t1: NDArray[np.float64]
    ) -> _Hits:
        """One row per (key, leg) from pieces: the earliest entry and the latest point inside."""
        if len(key) == 0:
            return cls.empty()
        order = np.lexsort((t0, leg, key))
        key, leg, t0, t1 = key[order], leg[order], t0[order], t1[order]
        starts = np.flatnonzero(np.r_[True, (key[1:] != key[:-1]) | (leg[1:] != leg[:-1])])
        return cls(key[starts], leg[starts], t0[starts], np.maximum.reduceat(t1, starts))

    @classmethod
    def rule(cls, ok: NDArray[np.bool_], t0: NDArray[np.float64], t1: NDArray[np.float64]) -> _Hits:
        """Per leg: is a rule broken, and from where to where on the leg."""
        legs = np.flatnonzero(ok)
        return cls(np.full(len(legs), -1, dtype=np.intp), legs, t0[legs].astype(float), t1[legs].astype(float))

    @classmethod
    def empty(cls) -> _Hits:
        i, f = np.empty(0, dtype=np.intp), np.empty(0)
        return cls(i, i, f, f)

    def __len__(self) -> int:
        return len(self.key)

    def take(self, rows: NDArray[np.intp] | NDArray[np.bool_]) -> _Hits:
        return _Hits(self.key[rows], self.leg[rows], self.t0[rows], self.t1[rows])


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
) -> _Hits:
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
    return _Hits.group(zone, parts.leg[ok], first[ok], last[ok])


@dataclass(frozen=True)
class _Stretches:
    """Continuous pieces of the route inside something: the hit each starts with (its first
    point), and the first mission item position inside it (-1: none)."""

    hits: _Hits  # the first hit of each stretch
    waypoint: NDArray[np.intp]


def _stretches(h: _Hits, route: Route) -> _Stretches:
    """Merge a key's hits on consecutive legs that meet at the waypoint between them."""
    n = len(h)
    if n == 0:
        return _Stretches(h, np.empty(0, dtype=np.intp))
    at_start, at_end = h.t0 <= EPS, h.t1 >= 1 - EPS
    continues = np.r_[False, (h.key[1:] == h.key[:-1]) & (h.leg[1:] == h.leg[:-1] + 1) & at_end[:-1] & at_start[1:]]
    starts = np.flatnonzero(~continues)
    pts = route.points
    # A stretch names the item it starts at, else the first item it reaches the end of a leg at.
    firsts = (pts[k] for k in h.leg[starts].tolist())
    start_wp = np.array(
        [p.item_index if a and p.is_item_position else -1 for a, p in zip(at_start[starts], firsts, strict=True)],
        dtype=np.intp,
    )
    ends = np.flatnonzero(at_end)
    end_wp = np.full(n, -1, dtype=np.intp)
    end_wp[ends] = [p.item_index if p.is_item_position else -1 for p in (pts[k + 1] for k in h.leg[ends].tolist())]
    stretch = np.cumsum(~continues) - 1
    reached = np.flatnonzero(end_wp >= 0)
    first_reached = np.full(len(starts), n, dtype=np.intp)
    np.minimum.at(first_reached, stretch[reached], reached)
    later_wp = np.r_[end_wp, -1][first_reached]
    return _Stretches(h.take(starts), np.where(start_wp >= 0, start_wp, later_wp))


# ---------------------------------------------------------------------------------------------
# Rules


def _height_hits(legs: _Legs, frame: LocalFrame, options: CheckOptions, home_amsl_m: float, limit_m: float) -> _Hits:
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
        return _Hits.rule(start_above | end_above, first, last)
    ok, first, last = np.zeros(n, bool), np.zeros(n), np.zeros(n)
    for k in range(n):
        count = max(2, int(np.ceil(np.sqrt(legs.length2[k]) / min(DEM_STEP_M, options.dem.resolution_m))) + 1)
        t = np.linspace(0.0, 1.0, count)
        lat, lon = frame.en2geodetic(legs.e0[k] + t * legs.de[k], legs.n0[k] + t * legs.dn[k])
        agl = legs.a0[k] + t * legs.da[k] - options.dem.ground_amsl_m(lat, lon)
        over = agl > limit_m + ALT_TOL_M
        if over.any():
            ok[k], first[k], last[k] = True, t[over.argmax()], t[len(t) - 1 - over[::-1].argmax()]
    return _Hits.rule(ok, first, last)


def _home_distance_hits(legs: _Legs, frame: LocalFrame, route: Route, max_m: float) -> _Hits:
    he, hn = frame.geodetic2en(route.home.lat, route.home.lon)
    px, py = legs.e0 - he, legs.n0 - hn
    a = legs.length2
    b = 2 * (px * legs.de + py * legs.dn)
    c = px**2 + py**2 - max_m**2
    end_c = a + b + c
    with np.errstate(invalid="ignore", divide="ignore"):
        root = (-b + np.sqrt(np.maximum(b**2 - 4 * a * c, 0.0))) / (2 * a)
    starts_out = c > 0
    first = np.where(starts_out, 0.0, np.clip(np.nan_to_num(root), 0.0, 1.0))
    last = np.where(starts_out & ~(end_c > 0), 0.0, 1.0)
    return _Hits.rule(starts_out | (end_c > 0), first, last)


# ---------------------------------------------------------------------------------------------
# Public checks


def _flown_filter(route: Route, n_legs: int) -> Callable[[_Hits], _Hits]:
    """Drops hits on the legs that only join separate pieces of the route."""
    if not route.unflown_legs:
        return lambda h: h
    flown = np.ones(n_legs, dtype=bool)
    flown[list(route.unflown_legs)] = False
    return lambda h: h.take(flown[h.leg])


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
    flown = _flown_filter(route, len(legs.a0))
    limit = options.max_height_agl_m
    if limit is not None:
        detail = f"above the {limit:g} m true-height limit for {options.drone_class.value} drones"
        hits = flown(_height_hits(legs, frame, options, home_amsl_m, limit))
        found.append(_Found.rule(_stretches(hits, route), KIND_HEIGHT, detail))
    if options.max_distance_from_home_m is not None:
        r = options.max_distance_from_home_m
        detail = f"more than {r:g} m from home (site rule)"
        hits = flown(_home_distance_hits(legs, frame, route, r))
        found.append(_Found.rule(_stretches(hits, route), KIND_SITE, detail))

    if near_zones:
        blocking = _blocking(index, options)
        entered = flown(_zone_hits(legs, index, at, options, home_amsl_m, index.polygons, index.tree, index.edges))
        s = _stretches(entered, route)
        zones = s.hits.key
        found.append(_Found(KIND_ZONE, s, zones, [index.zone_detail(z) for z in zones.tolist()], blocking[zones]))
        if options.min_distance_from_zones_m is not None:
            d = options.min_distance_from_zones_m
            polys, tree, edges = index.buffered(d)
            vol_filter = blocking[index.volume_zone]
            near = flown(_zone_hits(legs, index, at, options, home_amsl_m, polys, tree, edges, vol_filter, d))
            inside = set(zip(entered.key.tolist(), entered.leg.tolist(), strict=True))
            outside = [(k, g) not in inside for k, g in zip(near.key.tolist(), near.leg.tolist(), strict=True)]
            s = _stretches(near.take(np.array(outside, dtype=bool)), route)
            details = [
                f"within {d:g} m of {index.zones[z].restriction.value} zone {index.zones[z].id!r} (site rule)"
                for z in s.hits.key.tolist()
            ]
            found.append(_Found(KIND_SITE, s, None, details, np.ones(len(details), bool)))

    made, blocks = _violations(route, home_amsl_m, legs, frame, index, found)
    violations = sorted((v for v, b in zip(made, blocks, strict=True) if b), key=Violation.sort_key)
    notices = sorted((v for v, b in zip(made, blocks, strict=True) if not b), key=Violation.sort_key)
    return RouteCheck(tuple(violations), tuple(notices))


@dataclass(frozen=True)
class _Found:
    """Stretches of one kind, ready to become violations (or notices, where not blocking)."""

    kind: str
    stretches: _Stretches
    zones: NDArray[np.intp] | None  # per stretch, the zone (index) it is inside; None for rules
    details: list[str]
    blocking: NDArray[np.bool_]

    @classmethod
    def rule(cls, s: _Stretches, kind: str, detail: str) -> _Found:
        n = len(s.hits)
        return cls(kind, s, None, [detail] * n, np.ones(n, bool))


def _violations(
    route: Route, home_amsl_m: float, legs: _Legs, frame: LocalFrame, index: ZoneIndex, found: list[_Found]
) -> tuple[list[Violation], list[bool]]:
    """Violations at each stretch's first point, computed for all stretches at once."""
    if not found:
        return [], []
    leg = np.concatenate([f.stretches.hits.leg for f in found])
    if len(leg) == 0:
        return [], []
    t = np.concatenate([f.stretches.hits.t0 for f in found])
    waypoint = np.concatenate([f.stretches.waypoint for f in found]).tolist()
    lat, lon = frame.en2geodetic(legs.e0[leg] + t * legs.de[leg], legs.n0[leg] + t * legs.dn[leg])
    alt_amsl = legs.a0[leg] + t * legs.da[leg]
    alt_rel = (alt_amsl - home_amsl_m).tolist()
    kinds, zone_ids, restrictions, details = [], [], [], []
    for f in found:
        n = len(f.details)
        kinds += [f.kind] * n
        details += f.details
        if f.zones is None:
            zone_ids += [None] * n
            restrictions += [None] * n
        else:
            zs = [index.zones[z] for z in f.zones.tolist()]
            zone_ids += [z.id for z in zs]
            restrictions += [z.restriction for z in zs]
    pts = route.points
    segment = [None if w >= 0 else pts[k + 1].item_index for w, k in zip(waypoint, leg.tolist(), strict=True)]
    made = [
        Violation(kind, zid, r, None if w < 0 else w, seg, la, lo, ar, aa, d)
        for kind, zid, r, w, seg, la, lo, ar, aa, d in zip(
            kinds, zone_ids, restrictions, waypoint, segment, lat.tolist(), lon.tolist(), alt_rel, alt_amsl.tolist(),
            details, strict=True,
        )
    ]
    return made, np.concatenate([f.blocking for f in found]).tolist()


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
