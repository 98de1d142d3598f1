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
