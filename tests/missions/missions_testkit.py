"""Helpers shared by the missions tests."""

from __future__ import annotations

import math
from pathlib import Path

import pytest

from missions.items import MissionPlan

ROOT = Path(__file__).resolve().parents[2]
INTEROP = ROOT.parent / "shared" / "testdata" / "interop"
DEG_TOL = 1e-7
ALT_TOL = 0.01


def interop(name: str) -> Path:
    path = INTEROP / name
    if not path.exists():
        pytest.skip(f"shared test data absent: {path}")
    return path


def _same(a: float, b: float, tol: float) -> bool:
    return (math.isnan(a) and math.isnan(b)) or abs(a - b) <= tol


def assert_same_plan(a: MissionPlan, b: MissionPlan, *, speeds: bool = True, fence: bool = True) -> None:
    """Positions to 1e-7 deg, altitudes to 1 cm, commands, frames and params exactly (NaN = NaN)."""
    assert len(a.items) == len(b.items), (len(a.items), len(b.items))
    for k, (x, y) in enumerate(zip(a.items, b.items, strict=True)):
        assert (x.command, x.frame, x.autocontinue) == (y.command, y.frame, y.autocontinue), k
        assert _same(x.lat, y.lat, DEG_TOL) and _same(x.lon, y.lon, DEG_TOL), (k, x, y)
        assert _same(x.alt, y.alt, ALT_TOL), (k, x, y)
        for p in ("param1", "param2", "param3", "param4"):
            assert _same(getattr(x, p), getattr(y, p), 1e-9), (k, p, x, y)
    for h, tol in (("home_lat", DEG_TOL), ("home_lon", DEG_TOL), ("home_alt_amsl_m", ALT_TOL)):
        va, vb = getattr(a, h), getattr(b, h)
        assert (va is None) == (vb is None) and (va is None or _same(va, vb, tol)), (h, va, vb)
    if speeds:
        assert (a.cruise_speed_m_s, a.hover_speed_m_s) == (b.cruise_speed_m_s, b.hover_speed_m_s)
    if fence:
        assert len(a.fence_polygons) == len(b.fence_polygons)
        for p, q in zip(a.fence_polygons, b.fence_polygons, strict=True):
            assert p.inclusion == q.inclusion and len(p.vertices) == len(q.vertices)
            for (la, lo), (lb, lob) in zip(p.vertices, q.vertices, strict=True):
                assert _same(la, lb, DEG_TOL) and _same(lo, lob, DEG_TOL)
        assert [(c.inclusion, round(c.radius_m, 2)) for c in a.fence_circles] == [
            (c.inclusion, round(c.radius_m, 2)) for c in b.fence_circles
        ]
        assert len(a.rally_points) == len(b.rally_points)
        for p, q in zip(a.rally_points, b.rally_points, strict=True):
            assert _same(p[0], q[0], DEG_TOL) and _same(p[1], q[1], DEG_TOL) and _same(p[2], q[2], ALT_TOL)
