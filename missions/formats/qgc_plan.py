"""QGroundControl `.plan` files (JSON, fileType "Plan"; the older "Mission" files too).

Items are named in messages by their 0-based position in the file, as everywhere in SkyPatrol.

Reads the mission's SimpleItems in both layouts QGC has written (the old `coordinate` +
`param1..4`, and the current seven `params`), with `null` params read as NaN (MAVLink's "leave
unchanged"), the planned home, cruise/hover speeds, the geofence (polygons and circles with their
inclusion flags; version 1's single polygon too) and rally points. Item indexes in the returned
plan are the positions of the items flown (complex items expanded). Writes the current layout.

ComplexItems (survey, CorridorScan, StructureScan, any version) are flattened to the simple
items they fly: their embedded `Items` when the file has them, otherwise regenerated from the
pattern's own fields (polygon/polyline and CameraCalc) by the SkyPatrol planner.
"""

from __future__ import annotations

import json
import math
from pathlib import Path
from typing import Any

from core.errors import BadInput
from missions.formats._common import json_num, num, read_text
from missions.items import FenceCircle, FencePolygon, MissionItem, MissionPlan

FIRMWARE_PX4 = 12
VEHICLE_MULTIROTOR = 2


def read_plan(path_or_text: str | Path) -> MissionPlan:
    """A `.plan` from a path, or from the JSON text itself."""
    text, source = read_text(path_or_text, "{")
    return parse_plan_text(text, source)


def write_plan(plan: MissionPlan, path: str | Path) -> None:
    Path(path).write_text(plan_text(plan), encoding="utf-8")


def parse_plan_text(text: str, source: str) -> MissionPlan:
    try:
        doc = json.loads(text)
    except json.JSONDecodeError as exc:
        hint = "" if text.rstrip().endswith("}") else " (the file looks truncated)"
        raise BadInput(f"{source}: not valid JSON at line {exc.lineno} column {exc.colno}: {exc.msg}{hint}") from None
    return parse_plan_document(doc, source)


def _need(obj: Any, key: str, kind: type | tuple[type, ...], where: str) -> Any:
    if not isinstance(obj, dict) or key not in obj:
        raise BadInput(f"{where}: missing {key!r}")
    value = obj[key]
    if not isinstance(value, kind):
        raise BadInput(f"{where}: {key!r} has the wrong type")
    return value


def _latlon(value: Any, where: str) -> tuple[float, float]:
    if not isinstance(value, list | tuple) or len(value) < 2:
        raise BadInput(f"{where}: expected [lat, lon], got {value!r}")
    return num(value[0], where), num(value[1], where)


def parse_plan_document(doc: Any, source: str) -> MissionPlan:
    # The oldest QGC `.mission` files have no fileType: items sit at the top level.
    old_mission = isinstance(doc, dict) and "fileType" not in doc and isinstance(doc.get("items"), list)
    if not isinstance(doc, dict) or (doc.get("fileType") not in ("Plan", "Mission") and not old_mission):
        raise BadInput(f"{source}: not a QGroundControl plan (fileType must be 'Plan')")
    mission = doc.get("mission", doc) if doc.get("fileType") == "Plan" else doc
    if not isinstance(mission, dict):
        raise BadInput(f"{source}: 'mission' must be an object")
    plan = MissionPlan()
    home = mission.get("plannedHomePosition")
    if isinstance(home, dict):  # the old .mission form: a whole mission item
        home = home.get("coordinate")
    if home is not None:
        if not isinstance(home, list) or len(home) < 3:
            raise BadInput(f"{source}: plannedHomePosition must be [lat, lon, alt]")
        lat, lon, alt = (num(v, f"{source}: plannedHomePosition") for v in home[:3])
        if not (lat == 0.0 and lon == 0.0):
            plan.home_lat, plan.home_lon, plan.home_alt_amsl_m = lat, lon, alt
    for key, attr in (("cruiseSpeed", "cruise_speed_m_s"), ("hoverSpeed", "hover_speed_m_s")):
        if mission.get(key) is not None:
            setattr(plan, attr, num(mission[key], f"{source}: {key}"))
    items = _need(mission, "items", list, f"{source}: mission")
    for i, raw in enumerate(items):
        where = f"{source}: mission item {i}"
        if not isinstance(raw, dict):
            raise BadInput(f"{where}: expected an object")
        kind = raw.get("type")
        if kind in ("SimpleItem", "missionItem"):
            plan.items.append(parse_simple_item(raw, where))
        elif kind == "ComplexItem":
            plan.items.extend(parse_complex_item(raw, where))
        else:
            raise BadInput(f"{where}: unknown item type {kind!r}")
    _parse_fence(doc.get("geoFence"), plan, source)
    _parse_rally(doc.get("rallyPoints"), plan, source)
    return plan


def parse_simple_item(raw: dict, where: str) -> MissionItem:
    command = raw.get("command")
    if not isinstance(command, int) or isinstance(command, bool):
        raise BadInput(f"{where}: 'command' must be an integer")
    frame = raw.get("frame", 3)
    if not isinstance(frame, int):
        raise BadInput(f"{where}: 'frame' must be an integer")
    auto = bool(raw.get("autoContinue", True))
    if "coordinate" in raw:  # older forms: [lat, lon, alt] with param1-4 or a 4-long "params"
        coord = raw["coordinate"]
        if not isinstance(coord, list) or len(coord) != 3:
            raise BadInput(f"{where}: 'coordinate' must be [lat, lon, alt]")
        if isinstance(raw.get("params"), list):
            if len(raw["params"]) != 4:
                raise BadInput(f"{where}: with 'coordinate', 'params' must hold 4 values")
            p = [num(v, f"{where}, param {k + 1}") for k, v in enumerate(raw["params"])]
        else:
            p = [num(raw.get(f"param{k}", 0.0), f"{where}, param{k}") for k in range(1, 5)]
        p += [num(v, f"{where}, coordinate") for v in coord]
    elif "params" in raw:  # the current form: seven params, positions in 5-7
        params = raw["params"]
        if not isinstance(params, list) or len(params) != 7:
            raise BadInput(f"{where}: 'params' must hold 7 values")
        p = [num(v, f"{where}, param {k + 1}") for k, v in enumerate(params)]
    else:
        raise BadInput(f"{where}: neither 'params' nor 'coordinate'")
    for k in (4, 5, 6):  # a null position means 'none': keep it as 0 like MAVLink does
        if math.isnan(p[k]):
            p[k] = 0.0
    if not (-90 <= p[4] <= 90 and -180 <= p[5] <= 180):
        raise BadInput(f"{where}: position ({p[4]}, {p[5]}) is out of range")
    return MissionItem(
        command=command,
        frame=frame,
        param1=p[0],
        param2=p[1],
        param3=p[2],
        param4=p[3],
        lat=p[4],
        lon=p[5],
        alt=p[6],
        autocontinue=auto,
    )


def parse_complex_item(raw: dict, where: str) -> list[MissionItem]:
    kind = raw.get("complexItemType")
    where = f"{where} ({kind})"
    if kind not in ("survey", "CorridorScan", "StructureScan"):
        raise BadInput(f"{where}: complex item type {kind!r} is not supported")
    transect = raw.get("TransectStyleComplexItem")
    embedded = None
    if isinstance(transect, dict) and isinstance(transect.get("Items"), list):
        embedded = transect["Items"]
    elif isinstance(raw.get("items"), list):  # survey version 3 and older
        embedded = raw["items"]
    if embedded:
        return [parse_simple_item(it, f"{where}, embedded item {k}") for k, it in enumerate(embedded)]
    from missions.formats import _regenerate

    return _regenerate.regenerate(kind, raw, where)


def _parse_fence(fence: Any, plan: MissionPlan, source: str) -> None:
    if fence is None:
        return
    where = f"{source}: geoFence"
    if not isinstance(fence, dict):
        raise BadInput(f"{where}: must be an object")
    polys = fence.get("polygons")
    if polys is None and isinstance(fence.get("polygon"), list) and fence["polygon"]:
        polys = [{"polygon": fence["polygon"], "inclusion": True}]  # version 1: one inclusion polygon
    for k, poly in enumerate(polys or []):
        w = f"{where} polygon {k + 1}"
        verts = _need(poly, "polygon", list, w)
        plan.fence_polygons.append(
            FencePolygon(vertices=[_latlon(v, w) for v in verts], inclusion=bool(poly.get("inclusion", True)))
        )
    for k, circ in enumerate(fence.get("circles") or []):
        w = f"{where} circle {k + 1}"
        c = _need(circ, "circle", dict, w)
        lat, lon = _latlon(_need(c, "center", list, w), w)
        plan.fence_circles.append(
            FenceCircle(
                lat=lat,
                lon=lon,
                radius_m=num(c.get("radius"), f"{w} radius"),
                inclusion=bool(circ.get("inclusion", True)),
            )
        )


def _parse_rally(rally: Any, plan: MissionPlan, source: str) -> None:
    if rally is None:
        return
    where = f"{source}: rallyPoints"
    points = rally.get("points") if isinstance(rally, dict) else None
    for k, pt in enumerate(points or []):
        if not isinstance(pt, list) or len(pt) < 3:
            raise BadInput(f"{where} point {k + 1}: expected [lat, lon, alt]")
        plan.rally_points.append(tuple(num(v, f"{where} point {k + 1}") for v in pt[:3]))  # type: ignore[arg-type]


# --- writing ------------------------------------------------------------------------------
def simple_item_json(item: MissionItem, jump_id: int) -> dict:
    params = [item.param1, item.param2, item.param3, item.param4, item.lat, item.lon, item.alt]
    return {
        "autoContinue": bool(item.autocontinue),
        "command": int(item.command),
        "doJumpId": jump_id,
        "frame": int(item.frame),
        "params": [json_num(float(v)) for v in params],
        "type": "SimpleItem",
    }


def plan_document(plan: MissionPlan) -> dict:
    home = [plan.home_lat or 0.0, plan.home_lon or 0.0, plan.home_alt_amsl_m or 0.0]
    mission: dict[str, Any] = {
        "firmwareType": FIRMWARE_PX4,
        "globalPlanAltitudeMode": 1,
        "items": [simple_item_json(it, i + 1) for i, it in enumerate(plan.items)],
        "plannedHomePosition": [json_num(v) for v in home],
        "vehicleType": VEHICLE_MULTIROTOR,
        "version": 2,
    }
    # QGC treats the speeds as optional: leave them out rather than invent them.
    if plan.cruise_speed_m_s is not None:
        mission["cruiseSpeed"] = json_num(plan.cruise_speed_m_s)
    if plan.hover_speed_m_s is not None:
        mission["hoverSpeed"] = json_num(plan.hover_speed_m_s)
    return {
        "fileType": "Plan",
        "geoFence": {
            "circles": [
                {
                    "circle": {"center": [c.lat, c.lon], "radius": c.radius_m},
                    "inclusion": c.inclusion,
                    "version": 1,
                }
                for c in plan.fence_circles
            ],
            "polygons": [
                {"inclusion": p.inclusion, "polygon": [[lat, lon] for lat, lon in p.vertices], "version": 1}
                for p in plan.fence_polygons
            ],
            "version": 2,
        },
        "groundStation": "QGroundControl",
        "mission": mission,
        "rallyPoints": {"points": [list(p) for p in plan.rally_points], "version": 2},
        "version": 1,
    }


def plan_text(plan: MissionPlan) -> str:
    return json.dumps(plan_document(plan), indent=4) + "\n"
