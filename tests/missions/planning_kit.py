"""Builders for planning tests: shapes laid out in metres around a test origin, and an
independent reading of flown lanes from mission items."""

from __future__ import annotations

import math

import numpy as np
import pymap3d
from shapely.geometry import LineString, Polygon

from missions.drone import DroneModel
from missions.items import MavCmd, MissionPlan
from missions.sorties import DroneSpec
from missions.types import Home

LAT0, LON0 = 30.7416, 121.3415


def ll(e: float, n: float) -> tuple[float, float]:
    """(lon, lat) of a point e/n metres from the origin (pymap3d directly, not geo/)."""
    lat, lon, _ = pymap3d.enu2geodetic(e, n, 0.0, LAT0, LON0, 0.0)
    return float(lon), float(lat)


def en(lat: float, lon: float) -> tuple[float, float]:
    e, n, _ = pymap3d.geodetic2enu(lat, lon, 0.0, LAT0, LON0, 0.0)
    return float(e), float(n)


def polygon_ll(shell: list[tuple[float, float]], holes: list[list[tuple[float, float]]] = ()) -> Polygon:
    return Polygon([ll(*p) for p in shell], [[ll(*p) for p in h] for h in holes])


def drones(n: int = 1, endurance_min: float = 40.0, at: tuple[float, float] = (-50.0, -50.0)) -> list[DroneSpec]:
    lon, lat = ll(*at)
    return [DroneSpec(Home(f"dock-{k + 1}", lat, lon, 4.0), DroneModel(endurance_min=endurance_min)) for k in range(n)]


def flown_lanes(plan: MissionPlan) -> list[LineString]:
    """Stretches flown with distance triggering on, read from the items alone (ENU metres)."""
    lanes, current, on = [], [], False
    last = None
    for it in plan.items:
        if it.command in (MavCmd.NAV_WAYPOINT, MavCmd.NAV_LOITER_TURNS) and it.is_positional:
            last = en(it.lat, it.lon)
            if on:
                current.append(last)
        elif it.command == MavCmd.DO_SET_CAM_TRIGG_DIST:
            if it.param1 > 0 and not on:
                on, current = True, [last]
            elif it.param1 == 0 and on:
                on = False
                if len(current) >= 2:
                    lanes.append(LineString(current))
    return lanes


def path_xy(plan: MissionPlan) -> np.ndarray:
    return np.array([en(it.lat, it.lon) for it in plan.items if it.is_positional])


def heading_deg(a: tuple[float, float], b: tuple[float, float]) -> float:
    return math.degrees(math.atan2(b[0] - a[0], b[1] - a[1])) % 360
