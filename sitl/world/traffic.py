"""Vehicles along their routes: where each departure is at time t (constant speed along the line)."""

from __future__ import annotations

import math
from dataclasses import dataclass

import numpy as np

from sitl.world.model import TruckRoute, World


@dataclass(frozen=True, slots=True)
class VehicleState:
    id: str  # "<route id>#<departure index>": the ground-truth track id
    kind: str
    east_m: float
    north_m: float
    heading_deg: float  # clockwise from north
    speed_mps: float
    length_m: float
    width_m: float
    height_m: float
    loaded: bool
    covered: bool


def position_on_route(route: TruckRoute, distance_m: float) -> tuple[float, float, float]:
    """(east, north, heading) at a distance along the route."""
    cum = route.cumulative_m
    i = int(np.clip(np.searchsorted(cum, distance_m, side="right") - 1, 0, len(cum) - 2))
    a, b = route.line[i], route.line[i + 1]
    seg = cum[i + 1] - cum[i]
    f = 0.0 if seg <= 0 else (distance_m - cum[i]) / seg
    p = a + f * (b - a)
    heading = math.degrees(math.atan2(b[0] - a[0], b[1] - a[1])) % 360.0
    return float(p[0]), float(p[1]), heading


def vehicles_at(world: World, t: float) -> list[VehicleState]:
    out = []
    for route in world.routes:
        total = float(route.cumulative_m[-1])
        for k, dep in enumerate(route.departures):
            # The vehicle's centre runs from half a length before the start to half after the end.
            s = (t - dep) * route.speed_mps
            if not 0.0 <= s <= total:
                continue
            e, n, hdg = position_on_route(route, s)
            out.append(VehicleState(f"{route.id}#{k}", route.vehicle, e, n, hdg, route.speed_mps, route.length_m,
                                    route.width_m, route.height_m, route.loaded, route.covered))
    return out


def overlapping_routes(world: World, t0: float, t1: float, *, keep: frozenset[str] = frozenset(),
                       step_s: float = 0.25, gap_m: float = 1.0, max_heading_deg: float = 5.0) -> set[str]:
    """Routes whose vehicle runs into another one in its lane between `t0` and `t1` (the routes drive
    at constant speed and do not follow each other): of two that overlap (headings within `max_heading_deg`,
    centres less than the mean width apart across and less than the mean length plus `gap_m` along),
    the later route is returned, never one in `keep`. Removing them leaves a world in which no
    vehicle drives through another over that time."""
    order = {r.id: i for i, r in enumerate(world.routes)}
    dropped: set[str] = set()
    for t in np.arange(t0, t1 + 1e-9, step_s):
        vs = [v for v in vehicles_at(world, float(t)) if v.id.split("#")[0] not in dropped]
        for i, a in enumerate(vs):
            ra = a.id.split("#")[0]
            if ra in dropped:
                continue
            h = math.radians(a.heading_deg)
            u = (math.sin(h), math.cos(h))
            for b in vs[i + 1:]:
                rb = b.id.split("#")[0]
                turn = abs((a.heading_deg - b.heading_deg + 180.0) % 360.0 - 180.0)
                if rb in dropped or rb == ra or turn > max_heading_deg:
                    continue
                de, dn = b.east_m - a.east_m, b.north_m - a.north_m
                along = abs(de * u[0] + dn * u[1])
                across = abs(de * u[1] - dn * u[0])
                if across < (a.width_m + b.width_m) / 2 and along < (a.length_m + b.length_m) / 2 + gap_m:
                    later = max((ra, rb), key=lambda r: (r not in keep, order[r]))
                    if later in keep:
                        continue  # two kept routes: leave them
                    dropped.add(later)
                    if later == ra:
                        break
    return dropped
