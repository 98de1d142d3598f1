"""GeoJSON missions: a route LineString, one Feature per item (Point where it has a position,
null geometry otherwise) carrying command, frame, params and altitude, plus home, fence polygons
and circles, and rally points. Everything a MissionPlan holds survives a round trip.

A plain GeoJSON with only a LineString reads as NAV_WAYPOINTs at its vertices (z or 0 m).
"""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

from core.errors import BadInput
from missions.formats._common import command_name, has_position, json_num, num, read_text
from missions.items import FenceCircle, FencePolygon, MavCmd, MavFrame, MissionItem, MissionPlan


def geojson_document(plan: MissionPlan) -> dict:
    feats: list[dict] = []
    route = [[it.lon, it.lat, it.alt] for it in plan.items if it.is_positional]
    props: dict[str, Any] = {"role": "route"}
    if plan.cruise_speed_m_s is not None:
        props["cruise_speed_m_s"] = plan.cruise_speed_m_s
    if plan.hover_speed_m_s is not None:
        props["hover_speed_m_s"] = plan.hover_speed_m_s
    feats.append({"type": "Feature", "geometry": {"type": "LineString", "coordinates": route}, "properties": props})
    if plan.home_lat is not None and plan.home_lon is not None:
        feats.append(
            {
                "type": "Feature",
                "geometry": {"type": "Point", "coordinates": [plan.home_lon, plan.home_lat]},
                "properties": {"role": "home", "alt_amsl_m": plan.home_alt_amsl_m},
            }
        )
    for i, it in enumerate(plan.items):
        geom = {"type": "Point", "coordinates": [it.lon, it.lat, it.alt]} if has_position(it) else None
        feats.append(
            {
                "type": "Feature",
                "geometry": geom,
                "properties": {
                    "role": "item",
                    "index": i,
                    "command": int(it.command),
                    "command_name": command_name(it.command),
                    "frame": int(it.frame),
                    "alt_m": it.alt,
                    "params": [json_num(v) for v in (it.param1, it.param2, it.param3, it.param4)],
                    "autocontinue": bool(it.autocontinue),
                },
            }
        )
    for p in plan.fence_polygons:
        ring = [[lon, lat] for lat, lon in p.vertices]
        if ring and ring[0] != ring[-1]:
            ring.append(ring[0])
        feats.append(
            {
                "type": "Feature",
                "geometry": {"type": "Polygon", "coordinates": [ring]},
                "properties": {"role": "fence", "inclusion": p.inclusion},
            }
        )
    for c in plan.fence_circles:
        feats.append(
            {
                "type": "Feature",
                "geometry": {"type": "Point", "coordinates": [c.lon, c.lat]},
                "properties": {"role": "fence_circle", "radius_m": c.radius_m, "inclusion": c.inclusion},
            }
        )
    for lat, lon, alt in plan.rally_points:
        feats.append(
            {
                "type": "Feature",
                "geometry": {"type": "Point", "coordinates": [lon, lat, alt]},
                "properties": {"role": "rally", "alt_rel_m": alt},
            }
        )
    return {"type": "FeatureCollection", "features": feats}


def geojson_text(plan: MissionPlan, lossy: bool = False) -> str:
    return json.dumps(geojson_document(plan), indent=1) + "\n"


def write_geojson(plan: MissionPlan, path: str | Path, lossy: bool = False) -> None:
    Path(path).write_text(geojson_text(plan), encoding="utf-8")


def load_geojson(path_or_text: str | Path) -> tuple[dict, str]:
    text, source = read_text(path_or_text, "{")
    try:
        doc = json.loads(text)
    except json.JSONDecodeError as exc:
        raise BadInput(f"{source}: not valid JSON at line {exc.lineno} column {exc.colno}: {exc.msg}") from None
    if not isinstance(doc, dict) or doc.get("type") not in ("FeatureCollection", "Feature"):
        raise BadInput(f"{source}: not a GeoJSON Feature or FeatureCollection")
    return doc, source


def features_of(doc: dict, source: str) -> list[dict]:
    feats = doc.get("features") if doc.get("type") == "FeatureCollection" else [doc]
    if not isinstance(feats, list):
        raise BadInput(f"{source}: 'features' must be a list")
    for k, f in enumerate(feats):
        if not isinstance(f, dict) or f.get("type") != "Feature":
            raise BadInput(f"{source}: feature {k + 1} is not a GeoJSON Feature")
    return feats


def _point(geom: Any, where: str) -> tuple[float, float, float | None]:
    if not isinstance(geom, dict) or geom.get("type") != "Point":
        raise BadInput(f"{where}: expected a Point geometry")
    c = geom.get("coordinates")
    if not isinstance(c, list) or len(c) < 2:
        raise BadInput(f"{where}: a Point needs [lon, lat]")
    return num(c[1], where), num(c[0], where), (num(c[2], where) if len(c) > 2 else None)


def read_geojson(path_or_text: str | Path) -> MissionPlan:
    doc, source = load_geojson(path_or_text)
    feats = features_of(doc, source)
    plan = MissionPlan()
    items: list[tuple[int, MissionItem]] = []
    first_line: list | None = None
    for k, f in enumerate(feats):
        where = f"{source}: feature {k + 1}"
        props = f.get("properties") or {}
        role = props.get("role")
        geom = f.get("geometry")
        if role == "route":
            for key in ("cruise_speed_m_s", "hover_speed_m_s"):
                if props.get(key) is not None:
                    setattr(plan, key, num(props[key], f"{where} {key}"))
        elif role == "item":
            lat = lon = 0.0
            if geom is not None:
                lat, lon, _ = _point(geom, where)
            params = props.get("params") or [0, 0, 0, 0]
            if not isinstance(params, list) or len(params) != 4:
                raise BadInput(f"{where}: 'params' must hold param1-4")
            if "command" not in props:
                raise BadInput(f"{where}: item without 'command'")
            p = [num(v, f"{where} params") for v in params]
            items.append(
                (
                    int(props.get("index", len(items))),
                    MissionItem(
                        command=int(num(props["command"], f"{where} command")),
                        frame=int(num(props.get("frame", MavFrame.GLOBAL_RELATIVE_ALT), f"{where} frame")),
                        param1=p[0],
                        param2=p[1],
                        param3=p[2],
                        param4=p[3],
                        lat=lat,
                        lon=lon,
                        alt=num(props.get("alt_m", 0.0), f"{where} alt_m"),
                        autocontinue=bool(props.get("autocontinue", True)),
                    ),
                )
            )
        elif role == "home":
            plan.home_lat, plan.home_lon, z = _point(geom, where)
            alt = props.get("alt_amsl_m", z)
            plan.home_alt_amsl_m = None if alt is None else num(alt, where)
        elif role == "fence":
            if not isinstance(geom, dict) or geom.get("type") != "Polygon":
                raise BadInput(f"{where}: a fence must be a Polygon")
            ring = geom["coordinates"][0]
            verts = [(num(c[1], where), num(c[0], where)) for c in ring]
            if len(verts) > 1 and verts[0] == verts[-1]:
                verts.pop()
            plan.fence_polygons.append(FencePolygon(vertices=verts, inclusion=bool(props.get("inclusion", True))))
        elif role == "fence_circle":
            lat, lon, _ = _point(geom, where)
            plan.fence_circles.append(
                FenceCircle(
                    lat=lat,
                    lon=lon,
                    radius_m=num(props.get("radius_m"), where),
                    inclusion=bool(props.get("inclusion", True)),
                )
            )
        elif role == "rally":
            lat, lon, z = _point(geom, where)
            plan.rally_points.append((lat, lon, num(props.get("alt_rel_m", z or 0.0), where)))
        elif first_line is None and isinstance(geom, dict) and geom.get("type") == "LineString":
            first_line = geom.get("coordinates")
    if items:
        plan.items = [it for _, it in sorted(items, key=lambda t: t[0])]
    elif first_line:
        for c in first_line:
            plan.items.append(
                MissionItem(
                    command=MavCmd.NAV_WAYPOINT,
                    lat=num(c[1], source),
                    lon=num(c[0], source),
                    alt=num(c[2], source) if len(c) > 2 else 0.0,
                )
            )
    else:
        raise BadInput(f"{source}: no mission items and no route LineString")
    return plan
