"""Transit legs around obstacles: the shortest path in the visibility graph of the buffered
obstacles' corners (exact for polygonal obstacles), Dijkstra over a few dozen nodes."""

from __future__ import annotations

import heapq
import math

import shapely
from shapely.geometry import LineString, Point
from shapely.geometry.base import BaseGeometry

from core.errors import BadInput
from missions.decomposition import as_polygons

CLEARANCE_EPS_M = 0.05  # corners sit this far outside the obstacle, so legs along edges stay out


class Obstacles:
    """Union of no-fly polygons (already buffered by the safety margin), in ENU metres."""

    def __init__(self, geom: BaseGeometry | None) -> None:
        self.geom = geom if geom is not None and not geom.is_empty else None
        self._corners: list[tuple[float, float]] = []
        if self.geom is not None:
            self.inner = self.geom.buffer(-0.01)  # touching the boundary is allowed
            shapely.prepare(self.inner)
            grown = self.geom.buffer(CLEARANCE_EPS_M, join_style="mitre")
            for poly in as_polygons(grown):
                for ring in [poly.exterior, *poly.interiors]:
                    self._corners.extend((float(x), float(y)) for x, y in list(ring.coords)[:-1])

    def __bool__(self) -> bool:
        return self.geom is not None

    def blocks(self, a: tuple[float, float], b: tuple[float, float]) -> bool:
        if self.geom is None:
            return False
        seg = LineString([a, b]) if a != b else Point(a)
        return bool(self.inner.intersects(seg))

    def contains(self, p: tuple[float, float]) -> bool:
        return self.geom is not None and bool(self.inner.contains(Point(p)))

    def path(self, a: tuple[float, float], b: tuple[float, float]) -> list[tuple[float, float]]:
        """Intermediate corners to fly from a to b without entering an obstacle ([] if direct)."""
        if not self.blocks(a, b):
            return []
        if self.contains(a) or self.contains(b):
            where = a if self.contains(a) else b
            raise BadInput(f"a point of the route ({where[0]:.0f} E, {where[1]:.0f} N m) lies inside a no-fly zone")
        nodes = [a, b, *self._corners]
        dist = {0: 0.0}
        prev: dict[int, int] = {}
        heap = [(0.0, 0)]
        done = set()
        while heap:
            d, i = heapq.heappop(heap)
            if i in done:
                continue
            done.add(i)
            if i == 1:
                break
            for j in range(1, len(nodes)):
                if j in done:
                    continue
                nd = d + math.dist(nodes[i], nodes[j])
                if nd < dist.get(j, math.inf) and not self.blocks(nodes[i], nodes[j]):
                    dist[j] = nd
                    prev[j] = i
                    heapq.heappush(heap, (nd, j))
        if 1 not in prev:
            raise BadInput("no way around the no-fly zones between two parts of the route")
        out = []
        k = prev[1]
        while k != 0:
            out.append(nodes[k])
            k = prev[k]
        return out[::-1]
