"""Objective: the sweep angle that makes the shortest flight (lane length, row changes, turns)."""

from __future__ import annotations

import itertools
import math

from shapely.geometry.base import BaseGeometry

from missions.decomposition import Cell, boustrophedon_cells, lane_intervals, rotate


def candidate_angles(field_enu: BaseGeometry, step_deg: float = 15.0) -> list[float]:
    """Bearings (0-180, clockwise from north) of the convex hull's edges (one is always the
    minimum-width direction, which gives the fewest turns) plus a coarse fan."""
    angles: list[float] = []
    hull = field_enu.convex_hull
    coords = list(getattr(hull, "exterior", hull).coords) if not hull.is_empty else []
    edges = sorted(
        (
            (math.dist(a, b), math.degrees(math.atan2(b[0] - a[0], b[1] - a[1])) % 180.0)
            for a, b in itertools.pairwise(coords)
        ),
        reverse=True,
    )
    for _len, a in edges[:16]:
        angles.append(a)
    angles += [k * step_deg for k in range(int(180 / step_deg))]
    out: list[float] = []
    for a in angles:
        if all(min(abs(a - b), 180 - abs(a - b)) > 0.5 for b in out):
            out.append(round(a, 6))
    return out


def cells_cost_m(cells: list[Cell], spacing_m: float, turnaround_m: float, turn_penalty_m: float) -> float:
    """Flight length estimate: lanes, turnarounds, row changes, a penalty per turn and per cell."""
    cost = 0.0
    for cell in cells:
        prev = None
        for y, x0, x1 in cell.rows:
            cost += (x1 - x0) + 2.0 * turnaround_m + 2.0 * turn_penalty_m
            if prev is not None:
                cost += abs(y - prev[0]) + 0.5 * (abs(x0 - prev[1]) + abs(x1 - prev[2]))
            prev = (y, x0, x1)
        cost += 4.0 * spacing_m  # reaching the cell
    return cost


def cells_at(
    field_enu: BaseGeometry, blocked_enu: BaseGeometry | None, angle_deg: float, spacing_m: float
) -> list[Cell]:
    rows = lane_intervals(
        rotate(field_enu, angle_deg),
        None if blocked_enu is None else rotate(blocked_enu, angle_deg),
        spacing_m,
    )
    return boustrophedon_cells(rows)


def best_sweep_angle(
    field_enu: BaseGeometry,
    blocked_enu: BaseGeometry | None,
    spacing_m: float,
    turnaround_m: float,
    turn_penalty_m: float,
) -> tuple[float, list[Cell]]:
    best: tuple[float, float, list[Cell]] | None = None
    for a in candidate_angles(field_enu):
        cells = cells_at(field_enu, blocked_enu, a, spacing_m)
        cost = cells_cost_m(cells, spacing_m, turnaround_m, turn_penalty_m)
        if best is None or cost < best[0] - 1e-6:
            best = (cost, a, cells)
    assert best is not None
    return best[1], best[2]
