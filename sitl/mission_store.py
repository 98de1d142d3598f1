"""What a vehicle stores through the mission protocol: the mission, the geofence, rally points.

Items are kept exactly as uploaded (MISSION_ITEM_INT fields) so a download returns them
unchanged. The geofence is compiled into local polygons and circles for the breach check.
"""

from __future__ import annotations

import math
from dataclasses import dataclass, field

from pymavlink.dialects.v20 import common as mavlink

from sitl.local_frame import LocalFrame

MISSION = mavlink.MAV_MISSION_TYPE_MISSION
FENCE = mavlink.MAV_MISSION_TYPE_FENCE
RALLY = mavlink.MAV_MISSION_TYPE_RALLY

# Commands accepted in each list; anything else is refused with MAV_MISSION_UNSUPPORTED.
NAV_COMMANDS = frozenset(
    {
        mavlink.MAV_CMD_NAV_WAYPOINT,
        mavlink.MAV_CMD_NAV_LOITER_UNLIM,
        mavlink.MAV_CMD_NAV_LOITER_TURNS,
        mavlink.MAV_CMD_NAV_LOITER_TIME,
        mavlink.MAV_CMD_NAV_RETURN_TO_LAUNCH,
        mavlink.MAV_CMD_NAV_LAND,
        mavlink.MAV_CMD_NAV_TAKEOFF,
        mavlink.MAV_CMD_NAV_LOITER_TO_ALT,
        mavlink.MAV_CMD_NAV_DELAY,
    }
)
DO_COMMANDS = frozenset(
    {
        mavlink.MAV_CMD_DO_JUMP,
        mavlink.MAV_CMD_DO_CHANGE_SPEED,
        mavlink.MAV_CMD_DO_SET_HOME,
        mavlink.MAV_CMD_DO_SET_SERVO,
        mavlink.MAV_CMD_DO_LAND_START,
        mavlink.MAV_CMD_DO_SET_ROI_LOCATION,
        mavlink.MAV_CMD_DO_SET_ROI_NONE,
        mavlink.MAV_CMD_DO_SET_ROI,
        mavlink.MAV_CMD_DO_DIGICAM_CONTROL,
        mavlink.MAV_CMD_DO_MOUNT_CONTROL,
        mavlink.MAV_CMD_DO_SET_CAM_TRIGG_DIST,
        mavlink.MAV_CMD_DO_GIMBAL_MANAGER_PITCHYAW,
        mavlink.MAV_CMD_DO_GIMBAL_MANAGER_CONFIGURE,
        mavlink.MAV_CMD_IMAGE_START_CAPTURE,
        mavlink.MAV_CMD_IMAGE_STOP_CAPTURE,
        mavlink.MAV_CMD_VIDEO_START_CAPTURE,
        mavlink.MAV_CMD_VIDEO_STOP_CAPTURE,
        mavlink.MAV_CMD_DO_VTOL_TRANSITION,
        mavlink.MAV_CMD_CONDITION_DELAY,
        mavlink.MAV_CMD_CONDITION_YAW,
    }
)
FENCE_COMMANDS = frozenset(
    {
        mavlink.MAV_CMD_NAV_FENCE_RETURN_POINT,
        mavlink.MAV_CMD_NAV_FENCE_POLYGON_VERTEX_INCLUSION,
        mavlink.MAV_CMD_NAV_FENCE_POLYGON_VERTEX_EXCLUSION,
        mavlink.MAV_CMD_NAV_FENCE_CIRCLE_INCLUSION,
        mavlink.MAV_CMD_NAV_FENCE_CIRCLE_EXCLUSION,
    }
)
RALLY_COMMANDS = frozenset({mavlink.MAV_CMD_NAV_RALLY_POINT})
ACCEPTED_COMMANDS = {
    MISSION: NAV_COMMANDS | DO_COMMANDS,
    FENCE: FENCE_COMMANDS,
    RALLY: RALLY_COMMANDS,
}
GLOBAL_FRAMES = frozenset(
    {
        mavlink.MAV_FRAME_GLOBAL,
        mavlink.MAV_FRAME_GLOBAL_RELATIVE_ALT,
        mavlink.MAV_FRAME_GLOBAL_INT,
        mavlink.MAV_FRAME_GLOBAL_RELATIVE_ALT_INT,
        mavlink.MAV_FRAME_GLOBAL_TERRAIN_ALT,
        mavlink.MAV_FRAME_GLOBAL_TERRAIN_ALT_INT,
    }
)
ACCEPTED_FRAMES = GLOBAL_FRAMES | {mavlink.MAV_FRAME_MISSION}


@dataclass(slots=True)
class StoredItem:
    """One MISSION_ITEM_INT as uploaded (x, y: degrees * 1e7 in global frames)."""

    seq: int
    frame: int
    command: int
    autocontinue: int
    param1: float
    param2: float
    param3: float
    param4: float
    x: int
    y: int
    z: float
    mission_type: int = MISSION

    @property
    def lat_deg(self) -> float:
        return self.x * 1e-7

    @property
    def lon_deg(self) -> float:
        return self.y * 1e-7


def check_item(item: StoredItem) -> int:
    """MAV_MISSION_ACCEPTED, or the MAV_MISSION_RESULT that refuses the item."""
    if item.command not in ACCEPTED_COMMANDS.get(item.mission_type, frozenset()):
        return mavlink.MAV_MISSION_UNSUPPORTED
    if item.frame not in ACCEPTED_FRAMES:
        return mavlink.MAV_MISSION_UNSUPPORTED_FRAME
    if item.frame in GLOBAL_FRAMES and (abs(item.x) > 900_000_000 or abs(item.y) > 1_800_000_000):
        return mavlink.MAV_MISSION_INVALID_PARAM5_X
    if item.command == mavlink.MAV_CMD_DO_JUMP and item.param1 < 0:
        return mavlink.MAV_MISSION_INVALID_PARAM1
    return mavlink.MAV_MISSION_ACCEPTED


@dataclass(slots=True)
class MissionStore:
    lists: dict[int, list[StoredItem]] = field(default_factory=lambda: {MISSION: [], FENCE: [], RALLY: []})

    def get(self, mission_type: int) -> list[StoredItem]:
        return self.lists[mission_type]

    def replace(self, mission_type: int, items: list[StoredItem]) -> None:
        self.lists[mission_type] = items

    def clear(self, mission_type: int) -> None:
        if mission_type == mavlink.MAV_MISSION_TYPE_ALL:
            for key in self.lists:
                self.lists[key] = []
        else:
            self.lists[mission_type] = []


def _inside_polygon(px: float, py: float, poly: list[tuple[float, float]]) -> bool:
    inside = False
    j = len(poly) - 1
    for i in range(len(poly)):
        xi, yi = poly[i]
        xj, yj = poly[j]
        if (yi > py) != (yj > py) and px < (xj - xi) * (py - yi) / (yj - yi) + xi:
            inside = not inside
        j = i
    return inside


@dataclass(slots=True)
class Geofence:
    """PX4's rule: inside at least one inclusion area (if any) and outside every exclusion area."""

    inclusion_polygons: list[list[tuple[float, float]]] = field(default_factory=list)
    exclusion_polygons: list[list[tuple[float, float]]] = field(default_factory=list)
    inclusion_circles: list[tuple[float, float, float]] = field(default_factory=list)
    exclusion_circles: list[tuple[float, float, float]] = field(default_factory=list)

    @classmethod
    def from_items(cls, items: list[StoredItem], frame: LocalFrame) -> Geofence:
        fence = cls()
        i = 0
        while i < len(items):
            item = items[i]
            east, north, _ = frame.geodetic2enu(item.lat_deg, item.lon_deg, 0.0)
            if item.command in (
                mavlink.MAV_CMD_NAV_FENCE_POLYGON_VERTEX_INCLUSION,
                mavlink.MAV_CMD_NAV_FENCE_POLYGON_VERTEX_EXCLUSION,
            ):
                count = max(int(item.param1), 1)
                vertices = []
                for vertex in items[i : i + count]:
                    e, n, _ = frame.geodetic2enu(vertex.lat_deg, vertex.lon_deg, 0.0)
                    vertices.append((e, n))
                if len(vertices) >= 3:
                    target = (
                        fence.inclusion_polygons
                        if item.command == mavlink.MAV_CMD_NAV_FENCE_POLYGON_VERTEX_INCLUSION
                        else fence.exclusion_polygons
                    )
                    target.append(vertices)
                i += count
                continue
            if item.command == mavlink.MAV_CMD_NAV_FENCE_CIRCLE_INCLUSION:
                fence.inclusion_circles.append((east, north, item.param1))
            elif item.command == mavlink.MAV_CMD_NAV_FENCE_CIRCLE_EXCLUSION:
                fence.exclusion_circles.append((east, north, item.param1))
            i += 1
        return fence

    @property
    def empty(self) -> bool:
        return not (
            self.inclusion_polygons or self.exclusion_polygons or self.inclusion_circles or self.exclusion_circles
        )

    def inside(self, east_m: float, north_m: float) -> bool:
        has_inclusion = bool(self.inclusion_polygons or self.inclusion_circles)
        in_inclusion = any(_inside_polygon(east_m, north_m, p) for p in self.inclusion_polygons) or any(
            math.hypot(east_m - e, north_m - n) <= r for e, n, r in self.inclusion_circles
        )
        in_exclusion = any(_inside_polygon(east_m, north_m, p) for p in self.exclusion_polygons) or any(
            math.hypot(east_m - e, north_m - n) < r for e, n, r in self.exclusion_circles
        )
        return (in_inclusion or not has_inclusion) and not in_exclusion
