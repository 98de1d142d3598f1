"""Airspace checks at city scale, beside a naive per-zone loop run on the same data.

10,000 zones (polygons and circles, mixed restrictions, bands and schedules) over 40 x 40 km around
Jinshan; one 1,000-waypoint route; 200,000 positions. The naive loop has no spatial index: it
visits every zone volume and tests it against all legs (or positions) at once with shapely's
vectorised predicates, then shares the exact 3D stage (legs clipped by the candidate volumes in
numpy, GEOS for near-degenerate pairs; vertical bands), so both give identical verdicts (checked
here). Goals: route check <= 50 ms warm and >= 50x the naive loop; >= 200,000 position checks/s.
"""

from __future__ import annotations

import copy
import statistics
import time
from datetime import UTC, datetime
from typing import Any

import numpy as np
import shapely

from airspace.check import check_positions, check_route
from airspace.index import ZoneIndex
from airspace.model import Zone
from airspace.route import Route
from geo import LocalFrame

ORIGIN = LocalFrame(30.7416, 121.3415)
HOME_AMSL_M = 4.0
AT = datetime(2025, 3, 3, 10, 0, tzinfo=UTC)
HALF_SIZE_M = 20_000.0
N_ZONES = 10_000
N_WAYPOINTS = 1_000
N_POSITIONS = 200_000
N_POSITIONS_NAIVE = 10_000


def _lonlat(e: np.ndarray, n: np.ndarray) -> list[tuple[float, float]]:
    lat, lon = ORIGIN.en2geodetic(e, n)
    return [(float(x), float(y)) for x, y in zip(lon, lat, strict=True)]


def make_zones(rng: np.random.Generator, count: int = N_ZONES) -> list[Zone]:
    restrictions = ["PROHIBITED", "REQ_AUTHORISATION", "CONDITIONAL", "NO_RESTRICTION"]
    zones = []
    centres = rng.uniform(-HALF_SIZE_M, HALF_SIZE_M, (count, 2))
    for i, (ce, cn) in enumerate(centres):
        size = float(rng.uniform(20, 150))
        upper = None if rng.random() < 0.5 else float(rng.choice([30.0, 60.0, 120.0]))
        if rng.random() < 0.3:
            lon, lat = _lonlat(np.array([ce]), np.array([cn]))[0]
            shape: dict[str, Any] = {"type": "Circle", "center": (lon, lat), "radius_m": size}
        else:
            angles = rng.uniform(0, 2 * np.pi) + np.arange(6) * np.pi / 3 + rng.uniform(-0.2, 0.2, 6)
            radii = size * rng.uniform(0.6, 1.0, 6)
            ring = _lonlat(ce + radii * np.cos(angles), cn + radii * np.sin(angles))
            shape = {"type": "Polygon", "rings": [[*ring, ring[0]]]}
        applicability = []
        if rng.random() < 0.1:
            applicability = [
                {"schedule": [{"days": ["MON", "TUE", "WED"], "start_time": "08:00", "end_time": "18:00"}]}
            ]
        zones.append(
            Zone.model_validate(
                {
                    "id": f"Z{i:05d}",
                    "name": f"zone {i}",
                    "restriction": restrictions[i % 4],
                    "volumes": [{"shape": shape, "upper": upper}],
                    "applicability": applicability,
                }
            )
        )
    return zones


def make_route(rng: np.random.Generator, count: int = N_WAYPOINTS) -> Route:
    steps = rng.normal(0, 60, (count, 2)) + np.array([35.0, 0.0])  # drifts east, ~35 km in all
    en = np.cumsum(steps, axis=0) + np.array([-HALF_SIZE_M * 0.9, 0.0])
    lat, lon = ORIGIN.en2geodetic(en[:, 0], en[:, 1])
    alt = rng.uniform(30, 110, count)
    home_lat, home_lon = ORIGIN.en2geodetic(en[0, 0], en[0, 1])
    return Route.from_waypoints(float(home_lat), float(home_lon), list(zip(lat, lon, alt, strict=True)))


class NaiveScan:
    """Candidate pairs without an index: every volume against every leg (or position)."""

    def __init__(self, polygons: np.ndarray) -> None:
        self.polygons = polygons

    def query(self, geoms: np.ndarray, predicate: str = "intersects") -> np.ndarray:
        assert predicate == "intersects"
        found_geom, found_vol = [], []
        for vi, poly in enumerate(self.polygons):  # the per-zone loop
            hit = np.flatnonzero(shapely.intersects(geoms, poly))
            if len(hit):
                found_geom.append(hit)
                found_vol.append(np.full(len(hit), vi))
        if not found_geom:
            return np.empty((2, 0), dtype=np.intp)
        return np.vstack([np.concatenate(found_geom), np.concatenate(found_vol)])


def naive_index(index: ZoneIndex) -> ZoneIndex:
    naive = copy.copy(index)
    naive.tree = NaiveScan(index.polygons)  # type: ignore[assignment]
    return naive


def _timed(fn, repeat: int) -> tuple[float, Any]:  # type: ignore[no-untyped-def]
    times, result = [], None
    for _ in range(repeat):
        t0 = time.perf_counter()
        result = fn()
        times.append(time.perf_counter() - t0)
    return statistics.median(times), result


def run() -> list[dict[str, Any]]:
    rng = np.random.default_rng(2024)
    zones = make_zones(rng)
    route = make_route(rng)
    t0 = time.perf_counter()
    index = ZoneIndex(zones)
    build_s = time.perf_counter() - t0
    naive = naive_index(index)

    check_route(route, AT, HOME_AMSL_M, index)  # warm-up
    fast_s, fast = _timed(lambda: check_route(route, AT, HOME_AMSL_M, index), 7)
    slow_s, slow = _timed(lambda: check_route(route, AT, HOME_AMSL_M, naive), 1)
    if fast != slow:
        raise AssertionError("indexed and naive route checks disagree")

    e, n = rng.uniform(-HALF_SIZE_M, HALF_SIZE_M, (2, N_POSITIONS))
    lat, lon = ORIGIN.en2geodetic(e, n)
    alt = HOME_AMSL_M + rng.uniform(0, 150, N_POSITIONS)
    check_positions(lat[:1000], lon[:1000], alt[:1000], AT, HOME_AMSL_M, index)  # warm-up
    pos_s, pos = _timed(lambda: check_positions(lat, lon, alt, AT, HOME_AMSL_M, index), 3)
    k = N_POSITIONS_NAIVE
    naive_pos_s, naive_pos = _timed(lambda: check_positions(lat[:k], lon[:k], alt[:k], AT, HOME_AMSL_M, naive), 1)
    if not np.array_equal(pos.violating[:k], naive_pos.violating):
        raise AssertionError("indexed and naive position checks disagree")

    verdict = f"{len(fast.violations)} violations, {len(fast.notices)} notices, identical to the naive loop"
    return [
        {
            "name": "airspace.index_build_10k_zones",
            "value": round(build_s * 1000, 1),
            "unit": "ms",
            "baseline": None,
            "goal": "",
            "note": "project 10,000 zones into the local frame, build the STRtree and flatten the edges (once)",
        },
        {
            "name": "airspace.route_1000_waypoints_vs_10k_zones",
            "value": round(fast_s * 1000, 2),
            "unit": "ms",
            "baseline": round(slow_s * 1000, 1),
            "goal": "<= 50 ms",
            "note": f"warm, median of 7; baseline: the naive per-zone loop; {verdict}",
        },
        {
            "name": "airspace.route_check_speedup_vs_naive",
            "value": round(slow_s / fast_s, 1),
            "unit": "x",
            "baseline": 1.0,
            "goal": ">= 50x",
            "note": "the per-zone loop (itself vectorised over legs) over the indexed check, same run",
        },
        {
            "name": "airspace.position_checks_per_s",
            "value": round(N_POSITIONS / pos_s),
            "unit": "positions/s",
            "baseline": round(k / naive_pos_s),
            "goal": ">= 200,000/s",
            "note": f"{N_POSITIONS:,} positions vs 10k zones; "
            f"naive loop on the first {k:,}, identical verdicts; {int(pos.violating.sum())} violating",
        },
    ]


if __name__ == "__main__":
    for row in run():
        print(row)
