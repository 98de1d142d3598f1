"""QGroundControl `.plan` files (JSON, fileType "Plan").

Reads the mission's SimpleItems in both layouts QGC has written (the old `coordinate` +
`param1..4`, and the current seven `params`), with `null` params read as NaN (MAVLink's "leave
unchanged"), the planned home, cruise/hover speeds, the geofence and rally points. Item indexes
in the returned plan are the items' positions in the file.
"""

from __future__ import annotations

import json
import math
from pathlib import Path
from typing import Any

from core.errors import BadInput
from missions.items import FenceCircle, FencePolygon, MissionItem, MissionPlan


def read_plan(path_or_text: str | Path) -> MissionPlan:
    """A `.plan` from a path, or from the JSON text itself."""
    text, source = _text_and_source(path_or_text)
    try:
        doc = json.loads(text)
    except json.JSONDecodeError as exc:
        raise BadInput(f"{source}: not JSON ({exc.msg} at line {exc.lineno} column {exc.colno})") from None
    if not isinstance(doc, dict) or doc.get("fileType") != "Plan":
        raise BadInput(f'{source}: not a QGroundControl plan (fileType is not "Plan")')
    mission = doc.get("mission")
    if not isinstance(mission, dict):
        raise BadInput(f"{source}: the plan has no mission")
    try:
        return _plan(doc, mission)
    except _Problem as exc:
        raise BadInput(f"{source}: {exc}") from None


class _Problem(ValueError):
    pass


def _text_and_source(path_or_text: str | Path) -> tuple[str, str]:
    if isinstance(path_or_text, Path) or not str(path_or_text).lstrip().startswith("{"):
        path = Path(path_or_text)
        try:
            return path.read_text(encoding="utf-8-sig"), str(path)
        except FileNotFoundError:
            raise BadInput(f"{path}: no such file") from None
        except (OSError, UnicodeDecodeError) as exc:
            raise BadInput(f"{path}: cannot be read ({exc.__class__.__name__})") from None
    return str(path_or_text), "plan"


def _plan(doc: dict[str, Any], mission: dict[str, Any]) -> MissionPlan:
    raw_items = mission.get("items", [])
    if not isinstance(raw_items, list):
        raise _Problem("mission items are not a list")
    plan = MissionPlan(items=[_item(i, raw) for i, raw in enumerate(raw_items)])
    home = mission.get("plannedHomePosition")
    if isinstance(home, list) and len(home) >= 2 and home[0] is not None and home[1] is not None:
        plan.home_lat = _num(home[0], "plannedHomePosition latitude")
        plan.home_lon = _num(home[1], "plannedHomePosition longitude")
        if len(home) > 2 and home[2] is not None:
            plan.home_alt_amsl_m = _num(home[2], "plannedHomePosition altitude")
    plan.cruise_speed_m_s = _opt_num(mission.get("cruiseSpeed"), "cruiseSpeed")
    plan.hover_speed_m_s = _opt_num(mission.get("hoverSpeed"), "hoverSpeed")
    _read_fence(doc.get("geoFence"), plan)
    rally = doc.get("rallyPoints")
    if isinstance(rally, dict):
        for j, p in enumerate(rally.get("points") or []):
            if not isinstance(p, list) or len(p) < 3:
                raise _Problem(f"rally point {j} is not [lat, lon, alt]")
            plan.rally_points.append(tuple(_num(v, f"rally point {j}") for v in p[:3]))  # type: ignore[arg-type]
    return plan


def _item(index: int, raw: Any) -> MissionItem:
    what = f"mission item {index}"
    if not isinstance(raw, dict):
        raise _Problem(f"{what} is not an object")
    kind = raw.get("type", "SimpleItem")
    if kind != "SimpleItem":
        pattern = raw.get("complexItemType", kind)
        raise _Problem(f"{what}: {pattern!r} items are not read; expand the pattern into waypoints in QGC")
    command = raw.get("command")
    if isinstance(command, bool) or not isinstance(command, int):
        raise _Problem(f"{what} has no integer command")
    frame = raw.get("frame", 3)
    if isinstance(frame, bool) or not isinstance(frame, int):
        raise _Problem(f"{what} has no integer frame")
    if "params" in raw:
        params = raw["params"]
        if not isinstance(params, list) or len(params) != 7:
            raise _Problem(f"{what}: params must be a list of 7 values")
        values = [_param(v, f"{what} param {k + 1}") for k, v in enumerate(params)]
    else:  # QGC before plan version 2: coordinate [lat, lon, alt] and param1..param4
        coordinate = raw.get("coordinate", [0, 0, 0])
        if not isinstance(coordinate, list) or len(coordinate) != 3:
            raise _Problem(f"{what}: coordinate must be [lat, lon, alt]")
        values = [_param(raw.get(f"param{k}"), f"{what} param{k}") for k in range(1, 5)]
        values += [_param(v, f"{what} coordinate") for v in coordinate]
    lat, lon, alt = (0.0 if math.isnan(v) else v for v in values[4:7])
    if not (-90 <= lat <= 90 and -180 <= lon <= 180):
        raise _Problem(f"{what}: position ({lat}, {lon}) is out of range")
    return MissionItem(
        command=command,
        frame=frame,
        param1=values[0],
        param2=values[1],
        param3=values[2],
        param4=values[3],
        lat=lat,
        lon=lon,
        alt=alt,
        autocontinue=bool(raw.get("autoContinue", True)),
    )


def _read_fence(fence: Any, plan: MissionPlan) -> None:
    if not isinstance(fence, dict):
        return
    for j, p in enumerate(fence.get("polygons") or []):
        vertices = p.get("polygon") if isinstance(p, dict) else None
        if not isinstance(vertices, list) or len(vertices) < 3:
            raise _Problem(f"geofence polygon {j} has fewer than 3 vertices")
        pts = [(_num(v[0], f"geofence polygon {j}"), _num(v[1], f"geofence polygon {j}")) for v in vertices]
        plan.fence_polygons.append(FencePolygon(pts, bool(p.get("inclusion", True))))
    for j, c in enumerate(fence.get("circles") or []):
        circle = c.get("circle") if isinstance(c, dict) else None
        if not isinstance(circle, dict) or not isinstance(circle.get("center"), list):
            raise _Problem(f"geofence circle {j} has no centre")
        lat, lon = (_num(v, f"geofence circle {j}") for v in circle["center"][:2])
        plan.fence_circles.append(
            FenceCircle(
                lat,
                lon,
                _num(circle.get("radius"), f"geofence circle {j} radius"),
                bool(c.get("inclusion", True)),
            )
        )


def _param(value: Any, what: str) -> float:
    return math.nan if value is None else _num(value, what)


def _opt_num(value: Any, what: str) -> float | None:
    return None if value is None else _num(value, what)


def _num(value: Any, what: str) -> float:
    if isinstance(value, bool) or not isinstance(value, int | float):
        raise _Problem(f"{what} is not a number: {value!r}")
    return float(value)
