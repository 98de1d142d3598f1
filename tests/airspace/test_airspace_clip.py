"""Legs clipped by polygons in numpy agree with GEOS overlay, degenerate configurations included."""

from __future__ import annotations

from datetime import UTC, datetime

import numpy as np
import shapely

from airspace.check import check_route
from airspace.clip import PolygonEdges, clip_legs
from airspace.index import ZoneIndex

from airspace_testkit import route, square, volume, zone  # isort: skip


def _intervals(pair: np.ndarray, t0: np.ndarray, t1: np.ndarray, n: int) -> list[list[tuple[float, float]]]:
    """Per pair, the union of its pieces as sorted disjoint intervals."""
    out: list[list[tuple[float, float]]] = [[] for _ in range(n)]
    for p, a, b in sorted(zip(pair.tolist(), t0.tolist(), t1.tolist(), strict=True)):
        if out[p] and a <= out[p][-1][1] + 1e-12:
            out[p][-1] = (out[p][-1][0], max(out[p][-1][1], b))
        else:
            out[p].append((a, b))
    return out


def _geos(ax, ay, dx, dy, polys):  # type: ignore[no-untyped-def]
    """The reference: shapely's intersection, pieces as leg parameters."""
    legs = shapely.linestrings(np.stack([np.column_stack([ax, ay]), np.column_stack([ax + dx, ay + dy])], axis=1))
    parts, pair = shapely.get_parts(shapely.intersection(legs, polys), return_index=True)
    t0, t1, keep = [], [], []
    for g, p in zip(parts, pair, strict=True):
        if g.is_empty:
            continue
        c = shapely.get_coordinates(g)
        t = ((c[:, 0] - ax[p]) * dx[p] + (c[:, 1] - ay[p]) * dy[p]) / (dx[p] ** 2 + dy[p] ** 2)
        t0.append(t.min())
        t1.append(t.max())
        keep.append(p)
    return _intervals(np.array(keep, dtype=int), np.array(t0), np.array(t1), len(ax))


def _numpy_then_exact(ax, ay, dx, dy, polys):  # type: ignore[no-untyped-def]
    """What the check does: the numpy pass, and GEOS for the pairs it leaves."""
    c = clip_legs(ax, ay, dx, dy, np.arange(len(polys)), PolygonEdges.of(polys))
    got = _intervals(c.pair, c.t0, c.t1, len(ax))
    exact = _geos(ax[c.exact], ay[c.exact], dx[c.exact], dy[c.exact], polys[c.exact])
    for i, p in enumerate(c.exact.tolist()):
        got[p] = exact[i]
    return got, len(c.exact)


def _assert_same(a, b) -> None:  # type: ignore[no-untyped-def]
    assert len(a) == len(b)
    for x, y in zip(a, b, strict=True):
        assert len(x) == len(y)
        for (x0, x1), (y0, y1) in zip(x, y, strict=True):
            assert abs(x0 - y0) < 1e-9 and abs(x1 - y1) < 1e-9


def test_random_legs_and_polygons_with_holes() -> None:
    rng = np.random.default_rng(7)
    n = 3000
    centre = rng.uniform(-500, 500, (n, 2))
    k = rng.integers(3, 12, n)
    polys = []
    for i in range(n):
        ang = rng.uniform(0, 2 * np.pi) + np.arange(k[i]) * 2 * np.pi / k[i] + rng.uniform(-0.2, 0.2, k[i])
        r = rng.uniform(20, 200) * rng.uniform(0.5, 1.0, k[i])
        shell = np.column_stack([centre[i, 0] + r * np.cos(ang), centre[i, 1] + r * np.sin(ang)])
        holes = []
        if i % 3 == 0:  # a hole around the centre, well inside the shell
            a, hr = np.linspace(0, 2 * np.pi, 9)[:-1], 0.25 * r.min()
            holes = [np.column_stack([centre[i, 0] + hr * np.cos(a), centre[i, 1] + hr * np.sin(a)])]
        polys.append(shapely.Polygon(shell, holes))
    polys_arr = np.array(polys)
    assert shapely.is_valid(polys_arr).all()
    ax, ay = (centre + rng.uniform(-300, 300, (n, 2))).T
    dx, dy = rng.normal(0, 300, (2, n))
    got, _ = _numpy_then_exact(ax, ay, dx, dy, polys_arr)
    _assert_same(got, _geos(ax, ay, dx, dy, polys_arr))
    assert sum(len(x) == 1 for x in got) > 300 and sum(len(x) > 1 for x in got) > 10  # in and out again


def test_degenerate_configurations_go_to_exact_clipping_and_agree() -> None:
    sq = shapely.box(0, 0, 100, 100)
    holed = shapely.Polygon([(0, 0), (100, 0), (100, 100), (0, 100)], [[(40, 40), (60, 40), (60, 60), (40, 60)]])
    cases = [
        ((-50, 0), (50, 0), sq),  # along an edge
        ((-50, -50), (150, 150), sq),  # through two vertices
        ((-50, 50), (0, 50), sq),  # ends on the boundary
        ((0, 50), (-50, 50), sq),  # starts on the boundary, going out
        ((50, 50), (50, 50 + 1e-9), sq),  # nearly no length
        ((-50, 100 + 1e-8), (150, 100 + 1e-8), sq),  # grazing an edge
        ((50, -50), (50, 150), holed),  # across the hole
        ((40, -50), (40, 150), holed),  # along the hole's edge
        ((-50, 50), (40, 50), holed),  # ends on the hole's edge
        ((30, 30), (70, 70), holed),  # through the hole's corners
        ((-10, 50), (110, 50.000001), sq),  # a plain crossing
    ]
    ax = np.array([a[0] for a, _, _ in cases], float)
    ay = np.array([a[1] for a, _, _ in cases], float)
    dx = np.array([b[0] for _, b, _ in cases], float) - ax
    dy = np.array([b[1] for _, b, _ in cases], float) - ay
    polys = np.array([p for _, _, p in cases])
    got, exact = _numpy_then_exact(ax, ay, dx, dy, polys)
    _assert_same(got, _geos(ax, ay, dx, dy, polys))
    assert exact >= 8  # the degenerate ones were left to GEOS


def test_route_along_a_zone_diagonal_through_its_corners() -> None:
    z = zone("CORNER", "PROHIBITED", volume(square(400, -50, 500, 50)))
    at = datetime(2025, 3, 3, 10, 0, tzinfo=UTC)
    (v,) = check_route(route((0, -450, 50), (1000, 550, 50)), at, 4.0, ZoneIndex([z])).violations
    assert v.zone_id == "CORNER" and v.segment_index == 1
    assert check_route(route((0, -560, 50), (1000, 440, 50)), at, 4.0, ZoneIndex([z])).clear  # 7 m beside it
