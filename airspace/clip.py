"""Straight legs clipped by polygons, for many (leg, polygon) pairs at once, in numpy.

Every polygon's ring edges are flattened once (`PolygonEdges`, built with the index). A pair is
clipped by intersecting its leg with all of its polygon's edges in one vectorised pass: the
crossings cut the leg into sub-intervals, and each sub-interval's midpoint is tested inside or
outside (crossing number over every ring, so holes count). Pairs where floating point could decide
wrongly — a leg ending on or within a micrometre of the boundary, running along an edge, passing
through a vertex, or crossings closer together than that — are flagged and left to the exact
overlay (GEOS) by the caller, so the result is what `shapely.intersection` gives everywhere.
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np
import shapely
from numpy.typing import NDArray

#: Distances (metres) below which a configuration counts as degenerate and goes to GEOS.
TOL_M = 1e-6
#: |sin| of the angle between a leg and an edge below which they count as parallel.
PARALLEL_SIN = 1e-6


@dataclass(frozen=True, slots=True)
class PolygonEdges:
    """The edges of every ring of an array of polygons, grouped by polygon: rows of
    (x0, y0, dx, dy, length) in `data`, polygon i's edges at `start[i]:start[i] + count[i]`."""

    data: NDArray[np.float64]
    start: NDArray[np.intp]
    count: NDArray[np.intp]

    @classmethod
    def of(cls, polygons: NDArray[np.object_]) -> PolygonEdges:
        rings, ring_poly = shapely.get_rings(polygons, return_index=True)
        coords, coord_ring = shapely.get_coordinates(rings, return_index=True)
        same = coord_ring[1:] == coord_ring[:-1]
        d = (coords[1:] - coords[:-1])[same]
        data = np.column_stack([coords[:-1][same], d, np.hypot(d[:, 0], d[:, 1])])
        poly = ring_poly[coord_ring[:-1][same]]
        keep = data[:, 4] > 0  # repeated vertices
        data, poly = data[keep], poly[keep]
        order = np.argsort(poly, kind="stable")  # get_rings keeps the input order; be sure anyway
        data, poly = np.ascontiguousarray(data[order]), poly[order]
        count = np.bincount(poly, minlength=len(polygons)).astype(np.intp)
        start = (np.cumsum(count) - count).astype(np.intp)
        return cls(data, start, count)


@dataclass(frozen=True, slots=True)
class Clipped:
    """Pieces of legs inside polygons: `pair` indexes the input pairs, [t0, t1] the leg parameter.
    `exact` lists the pairs this pass could not decide robustly (to be clipped exactly)."""

    pair: NDArray[np.intp]
    t0: NDArray[np.float64]
    t1: NDArray[np.float64]
    exact: NDArray[np.intp]


def _expand(counts: NDArray[np.intp]) -> tuple[NDArray[np.intp], NDArray[np.intp]]:
    """Rows for `counts[i]` items of each i: (owner i, position within i)."""
    owner = np.repeat(np.arange(len(counts)), counts)
    first = np.cumsum(counts) - counts
    return owner, np.arange(len(owner)) - first[owner]


def clip_legs(
    ax: NDArray[np.float64],
    ay: NDArray[np.float64],
    dx: NDArray[np.float64],
    dy: NDArray[np.float64],
    poly: NDArray[np.intp],
    edges: PolygonEdges,
) -> Clipped:
    """Legs A + t D (t in [0, 1]), one per pair, each against polygon `poly` of `edges`.

    One pass over every (pair, edge): where the leg crosses the edge, and whether the edge cuts a
    ray from A (crossing number: is A inside?). Inside and outside alternate at each crossing,
    because every crossing kept is transversal and away from vertices; the others send the pair
    to exact clipping.
    """
    n_pairs = len(ax)
    empty_f, empty_i = np.empty(0), np.empty(0, dtype=np.intp)
    if n_pairs == 0:
        return Clipped(empty_i, empty_f, empty_f, empty_i)
    leg_len = np.hypot(dx, dy)
    unsure = leg_len < 4 * TOL_M

    row_pair, k = _expand(edges.count[poly])
    edge = edges.data[edges.start[poly][row_pair] + k]
    ex, ey, elen = edge[:, 2], edge[:, 3], edge[:, 4]
    ldx, ldy, llen = dx[row_pair], dy[row_pair], leg_len[row_pair]
    rax, ray = ax[row_pair], ay[row_pair]
    wx, wy = edge[:, 0] - rax, edge[:, 1] - ray  # edge start relative to A
    denom = ldx * ey - ldy * ex
    w_x_d = wx * ldy - wy * ldx
    with np.errstate(invalid="ignore", divide="ignore"):
        t = (wx * ey - wy * ex) / denom
        s = w_x_d / denom
        et, es = TOL_M / llen, TOL_M / elen
        parallel = np.abs(denom) <= PARALLEL_SIN * llen * elen
        hit = (t >= -et) & (t <= 1 + et) & (s >= -es) & (s <= 1 + es) & ~parallel
        clean = hit & (t > et) & (t < 1 - et) & (s > es) & (s < 1 - es)
        # Is A inside? Edges spanning A's y that lie to its east (wy, wy + ey: edge ends relative to A).
        spans = (wy > 0) != (wy + ey > 0)
        ray_hits = spans & (wx - wy * ex / ey > 0)
    awkward = hit & ~clean
    par = np.flatnonzero(parallel)
    if len(par):
        # A parallel edge on (or within a micrometre of) the leg's line, beside the leg: undecidable.
        pw_x, pw_y, pe_x, pe_y = wx[par], wy[par], ex[par], ey[par]
        pdx, pdy, pl = ldx[par], ldy[par], llen[par]
        with np.errstate(invalid="ignore", divide="ignore"):
            d0 = w_x_d[par] / pl
            d1 = ((pw_x + pe_x) * pdy - (pw_y + pe_y) * pdx) / pl
            p0 = (pw_x * pdx + pw_y * pdy) / (pl * pl)
            p1 = ((pw_x + pe_x) * pdx + (pw_y + pe_y) * pdy) / (pl * pl)
        near_line = (np.minimum(np.abs(d0), np.abs(d1)) <= TOL_M) | (np.sign(d0) != np.sign(d1))
        overlaps = (np.maximum(p0, p1) >= -et[par]) & (np.minimum(p0, p1) <= 1 + et[par])
        awkward[par[near_line & overlaps]] = True
    unsure[row_pair[awkward]] = True
    start_inside = (np.bincount(row_pair, weights=ray_hits, minlength=n_pairs) % 2) == 1

    # Intervals between consecutive crossings, inside and outside in turn.
    cross_pair, cross_t = row_pair[clean], t[clean]
    order = np.lexsort((cross_t, cross_pair))
    cross_pair, cross_t = cross_pair[order], cross_t[order]
    n_cross = np.bincount(cross_pair, minlength=n_pairs)
    iv_pair, iv_k = _expand(n_cross + 1)
    ci = (np.cumsum(n_cross) - n_cross)[iv_pair] + iv_k  # the crossing that ends this interval
    bounds = np.r_[cross_t, 1.0]
    iv_t1 = np.where(iv_k == n_cross[iv_pair], 1.0, bounds[np.minimum(ci, len(cross_t))])
    iv_t0 = np.where(iv_k == 0, 0.0, bounds[ci - 1])
    short = (iv_t1 - iv_t0) * leg_len[iv_pair] < 2 * TOL_M  # crossings too close together to trust
    unsure[iv_pair[short]] = True
    inside = start_inside[iv_pair] ^ (iv_k % 2 == 1)
    keep = np.flatnonzero(inside & ~unsure[iv_pair])
    return Clipped(iv_pair[keep], iv_t0[keep], iv_t1[keep], np.flatnonzero(unsure))
