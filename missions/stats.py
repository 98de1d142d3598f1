"""Objective and statistics: length, duration, photos and battery of a flown path."""

from __future__ import annotations

import itertools
import math
from collections.abc import Sequence

from missions.drone import DroneModel
from missions.types import PathNode, SortieStats

SHARP_TURN_DEG = 45.0


def _heading(a: tuple[float, float], b: tuple[float, float]) -> float:
    return math.degrees(math.atan2(b[0] - a[0], b[1] - a[1]))


def path_metrics(
    home: tuple[float, float],
    nodes: Sequence[PathNode],
    drone: DroneModel,
    land: tuple[float, float] | None = None,
) -> SortieStats:
    """Take-off at home, fly the nodes, come back and land at home (or at `land`)."""
    pts = [home, *(n.xy for n in nodes), land or home]
    horiz = sum(math.dist(a, b) for a, b in itertools.pairwise(pts))
    alts = [0.0, *(n.alt_m for n in nodes), 0.0]
    vert = [b - a for a, b in itertools.pairwise(alts)]
    climb = sum(v for v in vert if v > 0)
    descent = -sum(v for v in vert if v < 0)
    t = horiz / drone.cruise_speed_m_s + climb / drone.climb_m_s + descent / drone.descent_m_s
    for k in range(1, len(pts) - 1):  # a multirotor slows down to turn at sharp corners
        if pts[k - 1] == pts[k] or pts[k] == pts[k + 1]:
            continue
        turn = abs((_heading(pts[k], pts[k + 1]) - _heading(pts[k - 1], pts[k]) + 180.0) % 360.0 - 180.0)
        if turn > SHARP_TURN_DEG:
            t += drone.turn_s
    photos = 0
    extra = 0.0
    trig = None
    for a, b in itertools.pairwise(nodes):
        if a.trigger_m is not None:
            trig = a.trigger_m or None
        if trig:
            photos += math.floor(math.dist(a.xy, b.xy) / trig) + (1 if a.trigger_m else 0)
    for n in nodes:
        extra += n.hold_s
        if n.orbit is not None:
            extra += 2 * math.pi * n.orbit.radius_m * n.orbit.turns / min(drone.cruise_speed_m_s, 5.0)
            horiz += 2 * math.pi * n.orbit.radius_m * n.orbit.turns
        if n.photo:
            photos += 1
    t += extra
    length = horiz + climb + descent
    battery = 100.0 * t / (drone.endurance_min * 60.0)
    return SortieStats(length_m=length, duration_s=t, photos=photos, battery_pct=battery)
