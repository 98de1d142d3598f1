"""World file: a GeoJSON FeatureCollection (lon/lat) with an `origin` foreign member.

```
{"type": "FeatureCollection", "skypatrol_world": 1,
 "origin": {"lat": 30.7416, "lon": 121.3415, "alt_amsl_m": 4.0},
 "features": [
   {"geometry": LineString, "properties": {"kind": "road", "id": "r1", "width_m": 14, "lanes": 4}},
   {"geometry": Polygon,    "properties": {"kind": "road_works", "id": "s1", "permitted": false}},
   {"geometry": Point,      "properties": {"kind": "traffic_cone" | "barrier" | "excavator", "id": "c1",
                                            "site_id": "s1", "heading_deg": 90}},
   {"geometry": Polygon,    "properties": {"kind": "excavation", "id": "x1", "site_id": "s1"}},
   {"geometry": LineString, "properties": {"kind": "truck_route", "id": "m1", "vehicle": "muck_truck",
                                            "speed_mps": 8, "loaded": true, "covered": false,
                                            "departures": ["2025-03-03T02:00:00Z", ...]
                                            | "timetable": {"first": ISO, "every_s": 90, "count": 20}}}
 ]}
```
Headings are degrees clockwise from north. Object sizes have defaults per kind (`length_m`,
`width_m`, `height_m` override). Everything metric lives in the origin's local ENU frame.
"""

from __future__ import annotations

import json
import math
from dataclasses import dataclass, field
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

import numpy as np
from numpy.typing import NDArray

from geo import LocalFrame

FloatArray = NDArray[np.float64]

# length (along heading), width, height in metres.
DEFAULT_SIZES: dict[str, tuple[float, float, float]] = {
    "traffic_cone": (0.45, 0.45, 0.7),
    "barrier": (2.0, 0.45, 0.9),
    "excavator": (6.5, 3.0, 3.0),
    "muck_truck": (10.0, 2.5, 3.2),
    "truck": (9.0, 2.5, 3.4),
    "car": (4.6, 1.8, 1.5),
    "bus": (12.0, 2.5, 3.2),
}
OBJECT_KINDS = frozenset({"traffic_cone", "barrier", "excavator"})
VEHICLE_KINDS = frozenset({"muck_truck", "truck", "car", "bus"})


class WorldError(ValueError):
    """A broken world file (message names the feature)."""


@dataclass(frozen=True, slots=True)
class Road:
    id: str
    line: FloatArray  # (N, 2) east, north
    width_m: float
    lanes: int = 2


@dataclass(frozen=True, slots=True)
class StaticObject:
    id: str
    kind: str
    east_m: float
    north_m: float
    heading_deg: float
    length_m: float
    width_m: float
    height_m: float
    site_id: str | None = None


@dataclass(frozen=True, slots=True)
class Area:
    id: str
    kind: str  # "road_works" | "excavation"
    polygon: FloatArray  # (N, 2) east, north (open ring)
    site_id: str | None = None
    permitted: bool = False


@dataclass(frozen=True, slots=True)
class TruckRoute:
    id: str
    vehicle: str
    line: FloatArray  # (N, 2)
    speed_mps: float
    departures: tuple[float, ...]  # unix seconds
    loaded: bool = True
    covered: bool = False
    length_m: float = 10.0
    width_m: float = 2.5
    height_m: float = 3.2

    @property
    def cumulative_m(self) -> FloatArray:
        seg = np.hypot(*np.diff(self.line, axis=0).T)
        return np.concatenate([[0.0], np.cumsum(seg)])


@dataclass(slots=True)
class World:
    lat0_deg: float
    lon0_deg: float
    alt0_amsl_m: float
    roads: list[Road] = field(default_factory=list)
    objects: list[StaticObject] = field(default_factory=list)
    areas: list[Area] = field(default_factory=list)
    routes: list[TruckRoute] = field(default_factory=list)

    @property
    def frame(self) -> LocalFrame:
        return LocalFrame(self.lat0_deg, self.lon0_deg, self.alt0_amsl_m)

    def bounds_m(self, margin_m: float = 60.0) -> tuple[float, float, float, float]:
        """(east_min, north_min, east_max, north_max) of everything, grown by the margin."""
        pts = [np.zeros((1, 2))]
        pts += [r.line for r in self.roads] + [a.polygon for a in self.areas] + [r.line for r in self.routes]
        pts += [np.array([[o.east_m, o.north_m]]) for o in self.objects]
        allp = np.vstack(pts)
        lo, hi = allp.min(axis=0) - margin_m, allp.max(axis=0) + margin_m
        return float(lo[0]), float(lo[1]), float(hi[0]), float(hi[1])


def _iso(v: Any, where: str) -> float:
    try:
        dt = datetime.fromisoformat(str(v).replace("Z", "+00:00"))
    except ValueError:
        raise WorldError(f"{where}: {v!r} is not an ISO 8601 time") from None
    if dt.tzinfo is None:
        raise WorldError(f"{where}: {v!r} has no time zone")
    return dt.timestamp()


def _coords(geom: dict[str, Any], kind: str, where: str) -> Any:
    if not isinstance(geom, dict) or geom.get("type") != kind:
        raise WorldError(f"{where}: expected a {kind} geometry")
    return geom.get("coordinates")


def world_from_geojson(data: dict[str, Any]) -> World:
    if not isinstance(data, dict) or data.get("type") != "FeatureCollection":
        raise WorldError("a world file is a GeoJSON FeatureCollection")
    origin = data.get("origin") or {}
    try:
        lat0, lon0 = float(origin["lat"]), float(origin["lon"])
        alt0 = float(origin.get("alt_amsl_m", 0.0))
    except (KeyError, TypeError, ValueError):
        raise WorldError("world origin {lat, lon[, alt_amsl_m]} is missing or not numbers") from None
    world = World(lat0, lon0, alt0)
    frame = world.frame

    def en(coords: Any, where: str) -> FloatArray:
        try:
            a = np.asarray(coords, dtype=float).reshape(-1, 2 if np.asarray(coords).shape[-1] == 2 else 3)[:, :2]
        except (TypeError, ValueError):
            raise WorldError(f"{where}: bad coordinates") from None
        e, n = frame.geodetic2en(a[:, 1], a[:, 0])
        return np.column_stack([e, n])

    for i, f in enumerate(data.get("features") or []):
        props = f.get("properties") or {}
        kind = props.get("kind")
        fid = str(props.get("id", f"{kind}-{i + 1}"))
        where = f"world feature {i} ({kind})"
        geom = f.get("geometry")
        if kind == "road":
            line = en(_coords(geom, "LineString", where), where)
            world.roads.append(Road(fid, line, float(props.get("width_m", 10.0)),
                                    int(props.get("lanes", 2))))
        elif kind in OBJECT_KINDS:
            p = en([_coords(geom, "Point", where)], where)[0]
            L, W, H = DEFAULT_SIZES[kind]
            world.objects.append(StaticObject(fid, kind, float(p[0]), float(p[1]), float(props.get("heading_deg", 0.0)),
                                              float(props.get("length_m", L)), float(props.get("width_m", W)),
                                              float(props.get("height_m", H)), props.get("site_id")))
        elif kind in ("road_works", "excavation"):
            ring = en(_coords(geom, "Polygon", where)[0], where)
            if len(ring) > 1 and np.allclose(ring[0], ring[-1]):
                ring = ring[:-1]
            world.areas.append(Area(fid, kind, ring, props.get("site_id", fid if kind == "road_works" else None),
                                    bool(props.get("permitted", False))))
        elif kind == "truck_route":
            vehicle = str(props.get("vehicle", "muck_truck"))
            if vehicle not in VEHICLE_KINDS:
                raise WorldError(f"{where}: vehicle must be one of {sorted(VEHICLE_KINDS)}")
            if "departures" in props:
                deps = tuple(sorted(_iso(v, where) for v in props["departures"]))
            elif "timetable" in props:
                tt = props["timetable"]
                first, every, count = _iso(tt["first"], where), float(tt.get("every_s", 60)), int(tt.get("count", 1))
                deps = tuple(first + k * every for k in range(count))
            else:
                raise WorldError(f"{where}: a truck route needs departures or a timetable")
            L, W, H = DEFAULT_SIZES[vehicle]
            speed = float(props.get("speed_mps", 8.0))
            if not (math.isfinite(speed) and speed > 0):
                raise WorldError(f"{where}: speed_mps must be positive")
            world.routes.append(TruckRoute(fid, vehicle, en(_coords(geom, "LineString", where), where), speed, deps,
                                           bool(props.get("loaded", True)), bool(props.get("covered", False)),
                                           float(props.get("length_m", L)), float(props.get("width_m", W)),
                                           float(props.get("height_m", H))))
        else:
            raise WorldError(f"{where}: unknown kind {kind!r}")
    return world


def world_to_geojson(world: World) -> dict[str, Any]:
    frame = world.frame

    def lonlat(pts: FloatArray) -> list[list[float]]:
        lat, lon = frame.en2geodetic(pts[:, 0], pts[:, 1])
        return [[round(float(x), 8), round(float(y), 8)] for x, y in zip(lon, lat, strict=True)]

    feats: list[dict[str, Any]] = []
    for r in world.roads:
        feats.append({"type": "Feature", "geometry": {"type": "LineString", "coordinates": lonlat(r.line)},
                      "properties": {"kind": "road", "id": r.id, "width_m": r.width_m, "lanes": r.lanes}})
    for a in world.areas:
        ring = lonlat(np.vstack([a.polygon, a.polygon[:1]]))
        props: dict[str, Any] = {"kind": a.kind, "id": a.id, "site_id": a.site_id}
        if a.kind == "road_works":
            props["permitted"] = a.permitted
        feats.append({"type": "Feature", "geometry": {"type": "Polygon", "coordinates": [ring]}, "properties": props})
    for o in world.objects:
        feats.append({"type": "Feature",
                      "geometry": {"type": "Point", "coordinates": lonlat(np.array([[o.east_m, o.north_m]]))[0]},
                      "properties": {"kind": o.kind, "id": o.id, "site_id": o.site_id, "heading_deg": o.heading_deg,
                                     "length_m": o.length_m, "width_m": o.width_m, "height_m": o.height_m}})
    for rt in world.routes:
        deps = [datetime.fromtimestamp(t, UTC).isoformat().replace("+00:00", "Z") for t in rt.departures]
        feats.append({"type": "Feature", "geometry": {"type": "LineString", "coordinates": lonlat(rt.line)},
                      "properties": {"kind": "truck_route", "id": rt.id, "vehicle": rt.vehicle,
                                     "speed_mps": rt.speed_mps, "loaded": rt.loaded, "covered": rt.covered,
                                     "departures": deps, "length_m": rt.length_m, "width_m": rt.width_m,
                                     "height_m": rt.height_m}})
    return {"type": "FeatureCollection", "skypatrol_world": 1,
            "origin": {"lat": world.lat0_deg, "lon": world.lon0_deg, "alt_amsl_m": world.alt0_amsl_m},
            "features": feats}


def load_world(path: str | Path) -> World:
    p = Path(path)
    try:
        data = json.loads(p.read_text(encoding="utf-8"))
    except (OSError, UnicodeDecodeError, json.JSONDecodeError) as exc:
        raise WorldError(f"{p}: not a world GeoJSON file ({exc})") from None
    return world_from_geojson(data)
