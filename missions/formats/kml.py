"""KML: mission routes and polygons (QGroundControl's polygon KML included).

Written: a route LineString, one Point Placemark per positioned item with its command, frame and
params in ExtendedData, home, and fence polygons. KML has no place for items without a position
(RTL, DO_JUMP, camera triggers), fence circles or rally points: writing those is refused unless
lossy.
"""

from __future__ import annotations

import xml.etree.ElementTree as ET
from dataclasses import dataclass, field
from pathlib import Path
from xml.sax.saxutils import escape

from shapely.geometry import LineString, Point, Polygon
from shapely.geometry.base import BaseGeometry

from core.errors import BadInput
from missions.formats._common import command_name, fmt, has_position, num, read_text, refuse_unless_lossy
from missions.items import FencePolygon, MavCmd, MissionItem, MissionPlan


@dataclass
class Placemark:
    name: str
    geometries: list[BaseGeometry]  # (lon, lat[, alt])
    data: dict[str, str] = field(default_factory=dict)


def _local(tag: str) -> str:
    return tag.rsplit("}", 1)[-1]


def _coords(text: str | None, where: str) -> list[tuple[float, ...]]:
    out = []
    for tok in (text or "").split():
        parts = tok.split(",")
        if len(parts) < 2:
            raise BadInput(f"{where}: bad coordinate {tok!r} (expected lon,lat[,alt])")
        out.append(tuple(num(p, where) for p in parts[:3]))
    if not out:
        raise BadInput(f"{where}: empty <coordinates>")
    return out


def _geometries(elem: ET.Element, where: str) -> list[BaseGeometry]:
    out: list[BaseGeometry] = []
    for child in elem:
        tag = _local(child.tag)
        if tag == "Point":
            c = _coords(_find_text(child, "coordinates"), where)
            out.append(Point(c[0]))
        elif tag == "LineString":
            c = _coords(_find_text(child, "coordinates"), where)
            if len(c) < 2:
                raise BadInput(f"{where}: a LineString needs two or more points")
            out.append(LineString(c))
        elif tag == "Polygon":
            rings = {"outerBoundaryIs": [], "innerBoundaryIs": []}
            for b in child:
                bt = _local(b.tag)
                if bt in rings:
                    for ring in b.iter():
                        if _local(ring.tag) == "coordinates":
                            rings[bt].append(_coords(ring.text, where))
            if not rings["outerBoundaryIs"] or len(rings["outerBoundaryIs"][0]) < 3:
                raise BadInput(f"{where}: a Polygon needs an outer ring of three or more points")
            out.append(Polygon(rings["outerBoundaryIs"][0], rings["innerBoundaryIs"]))
        elif tag in ("MultiGeometry", "MultiTrack"):
            out.extend(_geometries(child, where))
    return out


def _find_text(elem: ET.Element, name: str) -> str | None:
    for e in elem.iter():
        if _local(e.tag) == name:
            return e.text
    return None


def parse_kml(path_or_text: str | Path) -> tuple[list[Placemark], str]:
    text, source = read_text(path_or_text, "<")
    try:
        root = ET.fromstring(text.encode("utf-8"))
    except ET.ParseError as exc:
        raise BadInput(f"{source}: not valid KML/XML ({exc})") from None
    if _local(root.tag) != "kml":
        raise BadInput(f"{source}: not a KML document (root element <{_local(root.tag)}>)")
    marks = []
    for k, pm in enumerate((e for e in root.iter() if _local(e.tag) == "Placemark"), start=1):
        name = (_find_text(pm, "name") or "").strip()
        where = f"{source}: Placemark {k}" + (f" {name!r}" if name else "")
        geoms = _geometries(pm, where)
        if not geoms:
            raise BadInput(f"{where} has no geometry")
        data = {}
        for d in pm.iter():
            if _local(d.tag) == "Data" and d.get("name"):
                data[d.get("name", "")] = (_find_text(d, "value") or "").strip()
        marks.append(Placemark(name=name, geometries=geoms, data=data))
    if not marks:
        raise BadInput(f"{source}: no Placemark in the KML")
    return marks, source


def read_kml(path_or_text: str | Path) -> MissionPlan:
    marks, source = parse_kml(path_or_text)
    plan = MissionPlan()
    items: list[tuple[int, MissionItem]] = []
    route: LineString | None = None
    for pm in marks:
        role = pm.data.get("role")
        g = pm.geometries[0]
        where = f"{source}: Placemark {pm.name!r}"
        if role == "item" and isinstance(g, Point):
            d = pm.data
            items.append(
                (
                    int(num(d.get("index"), where)),
                    MissionItem(
                        command=int(num(d.get("command"), where)),
                        frame=int(num(d.get("frame", 3), where)),
                        param1=num(d.get("param1", 0), where),
                        param2=num(d.get("param2", 0), where),
                        param3=num(d.get("param3", 0), where),
                        param4=num(d.get("param4", 0), where),
                        lat=g.y,
                        lon=g.x,
                        alt=num(d.get("alt_m", g.z if g.has_z else 0.0), where),
                        autocontinue=d.get("autocontinue", "1") not in ("0", "false"),
                    ),
                )
            )
        elif role == "home" and isinstance(g, Point):
            plan.home_lat, plan.home_lon = g.y, g.x
            if "alt_amsl_m" in pm.data:
                plan.home_alt_amsl_m = num(pm.data["alt_amsl_m"], where)
        elif isinstance(g, Polygon) and role in ("fence", None):
            plan.fence_polygons.append(
                FencePolygon(
                    vertices=[(y, x) for x, y, *_ in list(g.exterior.coords)[:-1]],
                    inclusion=pm.data.get("inclusion", "1") not in ("0", "false"),
                )
            )
        elif route is None and isinstance(g, LineString):
            route = g
    if items:
        plan.items = [it for _, it in sorted(items, key=lambda t: t[0])]
    elif route is not None:
        for c in route.coords:
            plan.items.append(
                MissionItem(command=MavCmd.NAV_WAYPOINT, lat=c[1], lon=c[0], alt=c[2] if len(c) > 2 else 0.0)
            )
    return plan


def _data(values: dict[str, object]) -> str:
    inner = "".join(f'<Data name="{k}"><value>{escape(str(v))}</value></Data>' for k, v in values.items())
    return f"<ExtendedData>{inner}</ExtendedData>"


def _coord(lon: float, lat: float, alt: float | None = None) -> str:
    return f"{fmt(lon)},{fmt(lat)}" + ("" if alt is None else f",{fmt(alt)}")


def kml_text(plan: MissionPlan, lossy: bool = False, name: str = "SkyPatrol mission") -> str:
    unplaced = [f"{i}:{command_name(it.command)}" for i, it in enumerate(plan.items) if not has_position(it)]
    lost = []
    if unplaced:
        lost.append(
            f"{len(unplaced)} item(s) without a position ({', '.join(unplaced[:5])}"
            + (", ..." if len(unplaced) > 5 else "")
            + ")"
        )
    if plan.fence_circles:
        lost.append(f"{len(plan.fence_circles)} fence circle(s)")
    if plan.rally_points:
        lost.append(f"{len(plan.rally_points)} rally point(s)")
    refuse_unless_lossy("KML", lost, lossy)
    parts = [
        '<?xml version="1.0" encoding="UTF-8"?>',
        '<kml xmlns="http://www.opengis.net/kml/2.2"><Document>',
        f"<name>{escape(name)}</name>",
    ]
    route = " ".join(_coord(it.lon, it.lat, it.alt) for it in plan.items if it.is_positional)
    if route:
        parts.append(
            "<Placemark><name>route</name>"
            + _data({"role": "route"})
            + f"<LineString><altitudeMode>relativeToGround</altitudeMode><coordinates>{route}"
            "</coordinates></LineString></Placemark>"
        )
    if plan.home_lat is not None and plan.home_lon is not None:
        d = {"role": "home"} | ({} if plan.home_alt_amsl_m is None else {"alt_amsl_m": fmt(plan.home_alt_amsl_m)})
        parts.append(
            "<Placemark><name>home</name>"
            + _data(d)
            + f"<Point><coordinates>{_coord(plan.home_lon, plan.home_lat)}</coordinates></Point></Placemark>"
        )
    for i, it in enumerate(plan.items):
        if not has_position(it):
            continue
        d = {
            "role": "item",
            "index": i,
            "command": int(it.command),
            "frame": int(it.frame),
            "param1": fmt(it.param1),
            "param2": fmt(it.param2),
            "param3": fmt(it.param3),
            "param4": fmt(it.param4),
            "alt_m": fmt(it.alt),
            "autocontinue": int(it.autocontinue),
        }
        mode = "absolute" if it.frame in (0, 5) else "relativeToGround"
        parts.append(
            f"<Placemark><name>{i} {command_name(it.command)}</name>"
            + _data(d)
            + f"<Point><altitudeMode>{mode}</altitudeMode><coordinates>{_coord(it.lon, it.lat, it.alt)}"
            "</coordinates></Point></Placemark>"
        )
    for k, p in enumerate(plan.fence_polygons, start=1):
        ring = [*p.vertices, p.vertices[0]] if p.vertices else []
        coords = " ".join(_coord(lon, lat) for lat, lon in ring)
        parts.append(
            f"<Placemark><name>fence {k}</name>"
            + _data({"role": "fence", "inclusion": int(p.inclusion)})
            + f"<Polygon><outerBoundaryIs><LinearRing><coordinates>{coords}</coordinates>"
            "</LinearRing></outerBoundaryIs></Polygon></Placemark>"
        )
    parts.append("</Document></kml>")
    return "\n".join(parts) + "\n"


def write_kml(plan: MissionPlan, path: str | Path, lossy: bool = False) -> None:
    Path(path).write_text(kml_text(plan, lossy, name=Path(path).stem), encoding="utf-8")
