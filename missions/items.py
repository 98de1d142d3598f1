"""The mission as MAVLink sees it: items with explicit frames, plus home, fence and rally points.

Every reader in missions/formats produces a `MissionPlan`, every writer consumes one, and the
fleet layer uploads one. Indexes of items are their positions in `items` (0-based).
"""

from __future__ import annotations

from dataclasses import dataclass, field
from enum import IntEnum


class MavCmd(IntEnum):
    """The MAV_CMD values SkyPatrol reads and writes (MAVLink common.xml)."""

    NAV_WAYPOINT = 16
    NAV_LOITER_UNLIM = 17
    NAV_LOITER_TURNS = 18
    NAV_LOITER_TIME = 19
    NAV_RETURN_TO_LAUNCH = 20
    NAV_LAND = 21
    NAV_TAKEOFF = 22
    NAV_LOITER_TO_ALT = 31
    NAV_DELAY = 93
    NAV_VTOL_TAKEOFF = 84
    NAV_VTOL_LAND = 85
    DO_JUMP = 177
    DO_CHANGE_SPEED = 178
    DO_SET_HOME = 179
    DO_SET_ROI_LOCATION = 195
    DO_SET_ROI_NONE = 197
    DO_DIGICAM_CONTROL = 203
    DO_MOUNT_CONTROL = 205
    DO_SET_CAM_TRIGG_DIST = 206
    DO_GIMBAL_MANAGER_PITCHYAW = 1000
    IMAGE_START_CAPTURE = 2000
    IMAGE_STOP_CAPTURE = 2001
    VIDEO_START_CAPTURE = 2500
    VIDEO_STOP_CAPTURE = 2501


class MavFrame(IntEnum):
    GLOBAL = 0  # altitude AMSL
    MISSION = 2  # no position
    GLOBAL_RELATIVE_ALT = 3  # altitude above home
    GLOBAL_INT = 5
    GLOBAL_RELATIVE_ALT_INT = 6
    GLOBAL_TERRAIN_ALT = 10  # altitude above ground
    GLOBAL_TERRAIN_ALT_INT = 11


# Commands whose x/y/z are a position the vehicle flies to (or over).
POSITIONAL_COMMANDS = frozenset(
    {
        MavCmd.NAV_WAYPOINT,
        MavCmd.NAV_LOITER_UNLIM,
        MavCmd.NAV_LOITER_TURNS,
        MavCmd.NAV_LOITER_TIME,
        MavCmd.NAV_LAND,
        MavCmd.NAV_TAKEOFF,
        MavCmd.NAV_LOITER_TO_ALT,
        MavCmd.NAV_VTOL_TAKEOFF,
        MavCmd.NAV_VTOL_LAND,
    }
)


@dataclass(slots=True)
class MissionItem:
    """One MAVLink MISSION_ITEM_INT, positions in degrees (not 1e7) and metres."""

    command: int
    frame: int = MavFrame.GLOBAL_RELATIVE_ALT
    param1: float = 0.0
    param2: float = 0.0
    param3: float = 0.0
    param4: float = 0.0
    lat: float = 0.0  # x
    lon: float = 0.0  # y
    alt: float = 0.0  # z, in the reference `frame` names
    autocontinue: bool = True

    @property
    def is_positional(self) -> bool:
        return self.command in POSITIONAL_COMMANDS and not (self.lat == 0.0 and self.lon == 0.0)


@dataclass(slots=True)
class FencePolygon:
    vertices: list[tuple[float, float]]  # (lat, lon)
    inclusion: bool = True


@dataclass(slots=True)
class FenceCircle:
    lat: float
    lon: float
    radius_m: float
    inclusion: bool = True


@dataclass(slots=True)
class MissionPlan:
    items: list[MissionItem] = field(default_factory=list)
    home_lat: float | None = None
    home_lon: float | None = None
    home_alt_amsl_m: float | None = None
    cruise_speed_m_s: float | None = None
    hover_speed_m_s: float | None = None
    fence_polygons: list[FencePolygon] = field(default_factory=list)
    fence_circles: list[FenceCircle] = field(default_factory=list)
    rally_points: list[tuple[float, float, float]] = field(default_factory=list)  # lat, lon, alt_rel_m
