"""Approved muck-truck transport: routes as GeoJSON LineStrings, buffered into corridors, and the
hours trucks may run.

FeatureCollection properties (foreign member, optional): `"timezone": "Asia/Shanghai"`,
`"hours": ["22:00-06:00"]` (hours for every route). Feature properties: `id`, `buffer_m`
(corridor half-width, default 25), `hours` (overrides the collection's). Hours are local
`HH:MM-HH:MM` windows; a window may cross midnight.

A track is off route when at least `min_off_route_m` of its path (and `min_off_fraction` of its
points) lies outside every corridor; off hours when its first sighting falls outside the hours of
the route it drove (or of every route, for a track on none). Without routes, neither is judged.
"""

from __future__ import annotations

import re
from dataclasses import dataclass
from datetime import datetime, time
from pathlib import Path
from typing import Any
from zoneinfo import ZoneInfo, ZoneInfoNotFoundError

import numpy as np
import shapely
from shapely.geometry import shape
from shapely.geometry.base import BaseGeometry

from core.errors import BadInput
from geo import LocalFrame, geometry_geodetic2enu
from inference.aggregate.permits import read_feature_collection

_WINDOW = re.compile(r"^\s*(\d{1,2}):(\d{2})\s*-\s*(\d{1,2}):(\d{2})\s*$")


def parse_window(text: str, where: str) -> tuple[time, time]:
    m = _WINDOW.match(str(text))
    if not m:
        raise BadInput(f"{where}: hours {text!r} are not HH:MM-HH:MM")
    h1, m1, h2, m2 = (int(v) for v in m.groups())
    if h1 > 24 or h2 > 24 or m1 > 59 or m2 > 59:
        raise BadInput(f"{where}: hours {text!r} out of range")
    return time(h1 % 24, m1), time(h2 % 24, m2)


def in_window(t: time, window: tuple[time, time]) -> bool:
    a, b = window
    if a == b:
        return True  # 00:00-24:00
    return a <= t < b if a < b else (t >= a or t < b)


@dataclass(frozen=True, slots=True)
class Route:
    route_id: str
    corridor_enu: BaseGeometry
    hours: tuple[tuple[time, time], ...]


@dataclass(frozen=True, slots=True)
class RouteVerdict:
    route_id: str | None  # the route most of the track followed
    off_route: bool
    off_route_m: float
    off_route_fraction: float
    off_hours: bool
    local_time: str


class RouteRules:
    def __init__(self, routes: list[Route], timezone: str = "Asia/Shanghai", *, min_off_route_m: float = 40.0,
                 min_off_fraction: float = 0.2) -> None:
        self.routes = routes
        try:
            self.tz = ZoneInfo(timezone)
        except (ZoneInfoNotFoundError, ValueError):
            raise BadInput(f"unknown time zone {timezone!r}") from None
        self.min_off_route_m = min_off_route_m
        self.min_off_fraction = min_off_fraction

    @classmethod
    def from_geojson(cls, source: str | Path | dict[str, Any], frame: LocalFrame) -> RouteRules:
        data = read_feature_collection(source, "approved routes")
        default_hours = [parse_window(w, "approved routes") for w in data.get("hours", [])]
        routes = []
        for i, f in enumerate(data["features"]):
            where = f"approved route feature {i}"
            try:
                geom = shape(f["geometry"])
            except (KeyError, TypeError, ValueError, AttributeError, shapely.errors.GEOSException) as exc:
                raise BadInput(f"{where}: bad geometry ({exc})") from None
            if geom.geom_type not in ("LineString", "MultiLineString"):
                raise BadInput(f"{where}: a route is a LineString or MultiLineString")
            props = f.get("properties") or {}
            buffer_m = props.get("buffer_m", 25.0)
            if not isinstance(buffer_m, int | float) or not 0 < buffer_m <= 500:
                raise BadInput(f"{where}: buffer_m must be in (0, 500]")
            hours = [parse_window(w, where) for w in props.get("hours", [])] or default_hours
            routes.append(Route(str(props.get("id", f"route-{i + 1}")),
                                geometry_geodetic2enu(geom, frame).buffer(float(buffer_m)), tuple(hours)))
        return cls(routes, str(data.get("timezone", "Asia/Shanghai")))

    def check(self, t: list[float], east: list[float], north: list[float]) -> RouteVerdict | None:
        if not self.routes or not t:
            return None
        inside = np.array([shapely.contains_xy(r.corridor_enu, east, north) for r in self.routes])  # (R, N)
        on_any = inside.any(axis=0)
        e, n = np.asarray(east), np.asarray(north)
        seg = np.hypot(np.diff(e), np.diff(n))
        off_seg = ~(on_any[:-1] & on_any[1:]) if len(on_any) > 1 else np.zeros(0, dtype=bool)
        off_m = float(seg[off_seg].sum())
        off_frac = float(1.0 - on_any.mean())
        off_route = off_frac >= self.min_off_fraction and (off_m >= self.min_off_route_m or on_any.sum() == 0)
        counts = inside.sum(axis=1)
        best = int(np.argmax(counts))
        route = self.routes[best] if counts[best] > 0 else None
        local = datetime.fromtimestamp(t[0], self.tz)
        hours = route.hours if route else tuple(w for r in self.routes for w in r.hours)
        off_hours = bool(hours) and not any(in_window(local.time(), w) for w in hours)
        return RouteVerdict(route.route_id if route else None, bool(off_route), off_m, off_frac, off_hours,
                            local.isoformat(timespec="seconds"))

