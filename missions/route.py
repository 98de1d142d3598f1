"""Route: cells and their lanes into one flying order of work units (boustrophedon inside a
cell, nearest next cell between cells), with turnaround points and camera triggers."""

from __future__ import annotations

import math

import numpy as np

from missions.decomposition import Cell, sweep_rotation_deg, unrotate_xy
from missions.types import PathNode, WorkUnit


def _to_rot(xy: tuple[float, float], angle_deg: float) -> tuple[float, float]:
    t = math.radians(sweep_rotation_deg(angle_deg))
    c, s = math.cos(t), math.sin(t)
    return xy[0] * c - xy[1] * s, xy[0] * s + xy[1] * c


def order_cells(
    cells: list[Cell], start_enu: tuple[float, float], angle_deg: float
) -> list[list[tuple[float, float, float]]]:
    """Lanes as (y, x_from, x_to) in the rotated frame, in flying order."""
    pos = _to_rot(start_enu, angle_deg)
    left = list(range(len(cells)))
    lanes: list[list[tuple[float, float, float]]] = []
    while left:
        best = None
        for ci in left:
            rows = cells[ci].rows
            for rev_rows in (False, True):
                first = rows[-1] if rev_rows else rows[0]
                for from_right in (False, True):
                    entry = (first[2] if from_right else first[1], first[0])
                    d = math.dist(pos, entry)
                    if best is None or d < best[0]:
                        best = (d, ci, rev_rows, from_right)
        assert best is not None
        _, ci, rev_rows, from_right = best
        left.remove(ci)
        rows = cells[ci].rows[::-1] if rev_rows else cells[ci].rows
        cell_lanes = []
        for k, (y, x0, x1) in enumerate(rows):
            rtl = from_right if k % 2 == 0 else not from_right
            cell_lanes.append((y, x1, x0) if rtl else (y, x0, x1))
        lanes.append(cell_lanes)
        pos = (cell_lanes[-1][2], cell_lanes[-1][0])
    return lanes


def lane_units(
    ordered: list[list[tuple[float, float, float]]],
    angle_deg: float,
    alt_m: float,
    trigger_m: float | None,
    turnaround_m: float,
) -> list[WorkUnit]:
    """One work unit per lane: [turnaround in], lane start (trigger on), lane end (trigger off),
    [turnaround out], all back in ENU."""
    units = []
    for cell in ordered:
        for y, xa, xb in cell:
            d = 1.0 if xb >= xa else -1.0
            xs = [xa, xb]
            kinds = ["lane_start", "lane_end"]
            if turnaround_m > 0:
                xs = [xa - d * turnaround_m, *xs, xb + d * turnaround_m]
                kinds = ["turnaround", *kinds, "turnaround"]
            e, n = unrotate_xy(np.array(xs), np.full(len(xs), y), angle_deg)
            nodes = []
            for k, kind in enumerate(kinds):
                node = PathNode(float(e[k]), float(n[k]), alt_m, kind=kind)
                if trigger_m:
                    if kind == "lane_start":
                        node.trigger_m = trigger_m
                    elif kind == "lane_end":
                        node.trigger_m = 0.0
                nodes.append(node)
            units.append(WorkUnit(nodes=nodes))
    return units
