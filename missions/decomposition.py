"""Decomposition: a (concave, holed) field into boustrophedon cells at a sweep angle.

The field is rotated so lanes run along x. Each lane owns a strip `spacing` high; the strip's
pieces of the field give the lane's intervals (so thin corners inside the strip are flown), and
the lane is cut wherever its centre line would pass over a blocked area (a hole of the field, a
no-fly zone). Intervals on consecutive lanes that overlap one-to-one form a cell, the classic
boustrophedon decomposition taken at lane resolution: a cell is flown as one back-and-forth.
"""

from __future__ import annotations

import itertools
import math
from dataclasses import dataclass, field

import numpy as np
import shapely
from shapely import affinity
from shapely.geometry import LineString, MultiPolygon, Polygon
from shapely.geometry.base import BaseGeometry

from core.errors import BadInput

MIN_INTERVAL_M = 0.5
MAX_LANES = 20000  # beyond this the request is a mistake (a spacing in mm, an area the size of a country)


@dataclass(slots=True)
class Cell:
    rows: list[tuple[float, float, float]] = field(default_factory=list)  # (y, x0, x1), rotated frame


def sweep_rotation_deg(angle_deg: float) -> float:
    """Rotation (counter-clockwise, degrees) that turns lanes at bearing `angle_deg` along +x."""
    return angle_deg - 90.0


def rotate(geom: BaseGeometry, angle_deg: float) -> BaseGeometry:
    return affinity.rotate(geom, sweep_rotation_deg(angle_deg), origin=(0.0, 0.0))


def unrotate_xy(x: np.ndarray, y: np.ndarray, angle_deg: float) -> tuple[np.ndarray, np.ndarray]:
    t = math.radians(-sweep_rotation_deg(angle_deg))
    c, s = math.cos(t), math.sin(t)
    return x * c - y * s, x * s + y * c


def lane_offsets(miny: float, maxy: float, spacing_m: float) -> np.ndarray:
    """Lane y positions, centred so both edges get the same margin (<= spacing/2)."""
    height = maxy - miny
    n = max(1, math.ceil(height / spacing_m - 1e-9))
    if n > MAX_LANES:
        raise BadInput(f"{n} lanes at {spacing_m:g} m spacing is too many (at most {MAX_LANES}); check the spacing")
    first = miny + (height - (n - 1) * spacing_m) / 2.0
    return first + spacing_m * np.arange(n)


def lane_intervals(
    field_rot: BaseGeometry, blocked_rot: BaseGeometry | None, spacing_m: float
) -> list[tuple[float, list[tuple[float, float]]]]:
    """For each lane (y) the x intervals to fly, field and blocked areas already rotated."""
    if field_rot.is_empty:
        return []
    minx, miny, maxx, maxy = field_rot.bounds
    ys = lane_offsets(miny, maxy, spacing_m)
    strips = shapely.box(minx - 1.0, ys - spacing_m / 2.0, maxx + 1.0, ys + spacing_m / 2.0)
    pieces = shapely.intersection(strips, field_rot)
    rows = []
    if blocked_rot is not None and not blocked_rot.is_empty:
        shapely.prepare(blocked_rot)
    for y, piece in zip(ys, pieces, strict=True):
        parts = [p for p in shapely.get_parts(piece) if isinstance(p, Polygon) and p.area > 1e-6]
        if not parts:
            continue
        spans = sorted((float(b[0]), float(b[2])) for b in shapely.bounds(parts))
        merged: list[list[float]] = []
        for x0, x1 in spans:  # pieces whose x ranges overlap are flown as one lane
            if merged and x0 <= merged[-1][1]:
                merged[-1][1] = max(merged[-1][1], x1)
            else:
                merged.append([x0, x1])
        out: list[tuple[float, float]] = []
        for x0, x1 in merged:
            segs = [(x0, x1)]
            if blocked_rot is not None and not blocked_rot.is_empty:
                line = LineString([(x0, y), (x1, y)])
                if blocked_rot.intersects(line):
                    free = line.difference(blocked_rot)
                    segs = []
                    for g in shapely.get_parts(free):
                        xs = [c[0] for c in g.coords]
                        segs.append((min(xs), max(xs)))
            out.extend((a, b) for a, b in sorted(segs) if b - a >= MIN_INTERVAL_M)
        if out:
            rows.append((float(y), out))
    return rows


def boustrophedon_cells(rows: list[tuple[float, list[tuple[float, float]]]]) -> list[Cell]:
    """Group lane intervals into cells: a lane interval continues the cell above it when the
    two overlap and neither overlaps anything else (no split, no merge)."""
    cells: list[Cell] = []
    prev: list[tuple[tuple[float, float], int]] = []  # (interval, cell index) of the previous lane
    prev_y = None
    step = _spacing_hint(rows)
    for y, intervals in rows:
        current: list[tuple[tuple[float, float], int]] = []
        adjacent = prev_y is not None and abs(y - prev_y) < 1.5 * step
        for iv in intervals:
            ups = [k for k, (p, _) in enumerate(prev) if adjacent and p[0] < iv[1] and iv[0] < p[1]]
            if len(ups) == 1:
                p_iv, p_cell = prev[ups[0]]
                downs = [q for q in intervals if q[0] < p_iv[1] and p_iv[0] < q[1]]
                if len(downs) == 1:
                    cells[p_cell].rows.append((y, iv[0], iv[1]))
                    current.append((iv, p_cell))
                    continue
            cells.append(Cell(rows=[(y, iv[0], iv[1])]))
            current.append((iv, len(cells) - 1))
        prev, prev_y = current, y
    return cells


def _spacing_hint(rows: list[tuple[float, list[tuple[float, float]]]]) -> float:
    if len(rows) < 2:
        return math.inf
    ys = sorted(r[0] for r in rows)
    return min(b - a for a, b in itertools.pairwise(ys)) or math.inf


def as_polygons(geom: BaseGeometry) -> list[Polygon]:
    if isinstance(geom, Polygon):
        return [] if geom.is_empty else [geom]
    if isinstance(geom, MultiPolygon):
        return [g for g in geom.geoms if not g.is_empty]
    return [g for g in shapely.get_parts(geom) if isinstance(g, Polygon) and not g.is_empty]
