"""Regenerate the simple items of a QGC ComplexItem that carries no embedded `Items`, from the
pattern's own fields (polygon/polyline, CameraCalc, angle, turnaround), with SkyPatrol's own
planner stages. The result flies the same pattern; it is not QGC's exact waypoint list."""

from __future__ import annotations

import math
from typing import Any

import numpy as np
from shapely.geometry import LineString, Polygon

from core.errors import BadInput
from geo import LocalFrame
from missions.formats._common import num
from missions.items import MavCmd, MavFrame, MissionItem
from missions.types import PathNode

REL = MavFrame.GLOBAL_RELATIVE_ALT


def _pts(raw: Any, key: str, where: str, minimum: int) -> list[tuple[float, float]]:
    pts = raw.get(key)
    if not isinstance(pts, list) or len(pts) < minimum:
        raise BadInput(f"{where}: {key!r} needs {minimum} or more [lat, lon] points to regenerate the pattern")
    out = []
    for p in pts:
        if not isinstance(p, list) or len(p) < 2:
            raise BadInput(f"{where}: bad point {p!r} in {key!r}")
        out.append((num(p[0], where), num(p[1], where)))
    return out


def _calc(raw: dict, where: str) -> dict:
    transect = raw.get("TransectStyleComplexItem")
    calc = (transect or {}).get("CameraCalc") if isinstance(transect, dict) else None
    calc = calc if isinstance(calc, dict) else raw.get("CameraCalc")
    return calc if isinstance(calc, dict) else {}


def _field(d: dict, keys: tuple[str, ...], where: str, default: float | None = None) -> float:
    for k in keys:
        if d.get(k) is not None:
            return num(d[k], f"{where} {k}")
    if default is None:
        raise BadInput(f"{where}: missing {keys[0]!r}, needed to regenerate the pattern")
    return default


def _frame_for(latlon: list[tuple[float, float]]) -> tuple[LocalFrame, np.ndarray]:
    lat0 = float(np.mean([p[0] for p in latlon]))
    lon0 = float(np.mean([p[1] for p in latlon]))
    frame = LocalFrame(lat0, lon0)
    e, n = frame.geodetic2en([p[0] for p in latlon], [p[1] for p in latlon])
    return frame, np.column_stack([e, n])


def _items(nodes: list[PathNode], frame: LocalFrame) -> list[MissionItem]:
    lats, lons = frame.en2geodetic([n.e_m for n in nodes], [n.n_m for n in nodes])
    out = []
    for k, n in enumerate(nodes):
        out.append(
            MissionItem(MavCmd.NAV_WAYPOINT, REL, 0.0, 0.0, 0.0, math.nan, float(lats[k]), float(lons[k]), n.alt_m)
        )
        if n.trigger_m is not None:
            out.append(
                MissionItem(
                    MavCmd.DO_SET_CAM_TRIGG_DIST,
                    MavFrame.MISSION,
                    n.trigger_m,
                    0.0,
                    1.0 if n.trigger_m else 0.0,
                    0.0,
                )
            )
    return out


def regenerate(kind: str, raw: dict, where: str) -> list[MissionItem]:
    calc = _calc(raw, where)
    transect = raw.get("TransectStyleComplexItem") if isinstance(raw.get("TransectStyleComplexItem"), dict) else {}
    grid = raw.get("grid") if isinstance(raw.get("grid"), dict) else {}
    if kind == "survey":
        return _survey(raw, calc, transect, grid, where)
    if kind == "CorridorScan":
        return _corridor(raw, calc, transect, where)
    return _structure(raw, calc, where)


def _survey(raw: dict, calc: dict, transect: dict, grid: dict, where: str) -> list[MissionItem]:
    from missions.route import lane_units, order_cells
    from missions.sweep_angle import cells_at

    latlon = _pts(raw, "polygon", where, 3)
    frame, xy = _frame_for(latlon)
    poly = Polygon(xy)
    if not poly.is_valid or poly.area <= 0:
        raise BadInput(f"{where}: the survey polygon is not a valid area")
    alt = _field(calc, ("DistanceToSurface",), where, None) if calc else _field(grid, ("altitude",), where)
    spacing = _field(calc, ("AdjustedFootprintSide",), where, None) if calc else _field(grid, ("spacing",), where)
    trigger = (
        _field(calc, ("AdjustedFootprintFrontal",), where, 0.0)
        if calc
        else _field(raw, ("cameraTriggerDistance",), where, 0.0)
    )
    angle = _field(raw, ("angle",), where, None) if "angle" in raw else _field(grid, ("angle",), where, 0.0)
    turnaround = (
        _field(transect, ("TurnAroundDistance",), where, 0.0)
        if transect
        else _field(grid, ("turnAroundDistance",), where, 0.0)
    )
    if spacing <= 0:
        raise BadInput(f"{where}: lane spacing must be positive")
    cells = cells_at(poly, None, angle % 180.0, spacing)
    ordered = order_cells(cells, tuple(xy[0]), angle % 180.0)
    nodes = [n for u in lane_units(ordered, angle % 180.0, alt, trigger or None, turnaround) for n in u.nodes]
    return _items(nodes, frame)


def _corridor(raw: dict, calc: dict, transect: dict, where: str) -> list[MissionItem]:
    latlon = _pts(raw, "polyline", where, 2)
    frame, xy = _frame_for(latlon)
    line = LineString(xy)
    width = _field(raw, ("CorridorWidth", "corridorWidth"), where)
    alt = _field(calc, ("DistanceToSurface",), where)
    spacing = _field(calc, ("AdjustedFootprintSide",), where)
    trigger = _field(calc, ("AdjustedFootprintFrontal",), where, 0.0)
    turnaround = _field(transect, ("TurnAroundDistance",), where, 0.0)
    if spacing <= 0:
        raise BadInput(f"{where}: AdjustedFootprintSide must be positive")
    count = max(1, math.ceil(width / spacing))
    nodes: list[PathNode] = []
    for k in range(count):
        off = (k - (count - 1) / 2.0) * spacing
        p = line.offset_curve(off, join_style="mitre", mitre_limit=3.0) if off else line
        if not isinstance(p, LineString) or p.is_empty:
            continue
        coords = list(p.coords)[:: -1 if k % 2 else 1]
        seg = [PathNode(x, y, alt, kind="lane") for x, y in coords]
        seg[0].trigger_m, seg[-1].trigger_m = (trigger or None), (0.0 if trigger else None)
        if turnaround > 0:
            for end, nxt, at in ((coords[0], coords[1], 0), (coords[-1], coords[-2], len(seg))):
                d = np.subtract(end, nxt)
                d = d / (np.linalg.norm(d) or 1.0) * turnaround
                seg.insert(at, PathNode(end[0] + d[0], end[1] + d[1], alt, kind="turnaround"))
        nodes.extend(seg)
    return _items(nodes, frame)


def _structure(raw: dict, calc: dict, where: str) -> list[MissionItem]:
    latlon = _pts(raw, "polygon", where, 3)
    frame, xy = _frame_for(latlon)
    standoff = _field(calc, ("DistanceToSurface",), where)
    layer_step = _field(calc, ("AdjustedFootprintFrontal",), where)
    trigger = _field(calc, ("AdjustedFootprintSide",), where, 0.0)
    height = _field(raw, ("StructureHeight",), where, 0.0)
    bottom = _field(raw, ("ScanBottomAlt",), where, 0.0)
    layers = int(_field(raw, ("Layers",), where, max(1.0, math.ceil((height - bottom) / max(layer_step, 1e-6)))))
    entrance = _field(raw, ("EntranceAltitude", "Altitude"), where, bottom + layer_step * layers)
    pitch = _field(raw, ("GimbalPitch",), where, 0.0)
    ring = Polygon(xy).buffer(standoff, join_style="mitre").exterior
    coords = list(ring.coords)
    alts = [bottom + layer_step * (k + 0.5) for k in range(max(layers, 1))]
    if raw.get("StartFromTop"):
        alts = alts[::-1]
    lats, lons = frame.en2geodetic([c[0] for c in coords], [c[1] for c in coords])
    out = [
        MissionItem(MavCmd.NAV_WAYPOINT, REL, 0.0, 0.0, 0.0, math.nan, float(lats[0]), float(lons[0]), entrance),
        MissionItem(MavCmd.DO_MOUNT_CONTROL, MavFrame.MISSION, pitch, 0.0, 0.0, 0.0, 0, 0, 2),
    ]
    for alt in alts:
        for k in range(len(coords)):
            out.append(
                MissionItem(MavCmd.NAV_WAYPOINT, REL, 0.0, 0.0, 0.0, math.nan, float(lats[k]), float(lons[k]), alt)
            )
            if k == 0 and trigger:
                out.append(MissionItem(MavCmd.DO_SET_CAM_TRIGG_DIST, MavFrame.MISSION, trigger, 0.0, 1.0, 0.0))
        if trigger:
            out.append(MissionItem(MavCmd.DO_SET_CAM_TRIGG_DIST, MavFrame.MISSION, 0.0, 0.0, 0.0, 0.0))
    out.append(MissionItem(MavCmd.NAV_WAYPOINT, REL, 0.0, 0.0, 0.0, math.nan, float(lats[0]), float(lons[0]), entrance))
    return out
