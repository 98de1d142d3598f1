"""Path -> MAVLink mission items, every item with an explicit frame.

NAV_TAKEOFF, DO_CHANGE_SPEED, NAV_WAYPOINT (hold, acceptance radius, yaw), camera triggers
(DO_SET_CAM_TRIGG_DIST, or IMAGE_START_CAPTURE for single photos), gimbal (DO_MOUNT_CONTROL or
DO_GIMBAL_MANAGER_PITCHYAW), NAV_LOITER_TURNS for orbits, and NAV_RETURN_TO_LAUNCH or a landing
at a named point.
"""

from __future__ import annotations

import math
from dataclasses import dataclass

from geo import LocalFrame
from missions.items import MavCmd, MavFrame, MissionItem, MissionPlan
from missions.types import Home, PathNode

MISSION = MavFrame.MISSION
REL = MavFrame.GLOBAL_RELATIVE_ALT
MOUNT_MODE_MAVLINK_TARGETING = 2


@dataclass(frozen=True, slots=True)
class ItemOptions:
    speed_m_s: float = 10.0
    acceptance_m: float = 2.0
    gimbal_command: str = "mount"  # mount: DO_MOUNT_CONTROL; manager: DO_GIMBAL_MANAGER_PITCHYAW
    survey_gimbal_pitch_deg: float | None = -90.0
    land_at: tuple[str, float, float] | None = None  # (name, lat, lon); None = return to launch


def _gimbal(pitch: float, yaw: float, how: str) -> MissionItem:
    if how == "manager":
        return MissionItem(MavCmd.DO_GIMBAL_MANAGER_PITCHYAW, MISSION, pitch, yaw, math.nan, math.nan, 0, 0, 0)
    return MissionItem(MavCmd.DO_MOUNT_CONTROL, MISSION, pitch, 0.0, yaw, 0.0, 0, 0, MOUNT_MODE_MAVLINK_TARGETING)


def _heading_deg(a: PathNode, b: PathNode) -> float:
    return math.degrees(math.atan2(b.e_m - a.e_m, b.n_m - a.n_m)) % 360.0


def path_items(home: Home, nodes: list[PathNode], frame: LocalFrame, opts: ItemOptions) -> MissionPlan:
    plan = MissionPlan(
        home_lat=home.lat,
        home_lon=home.lon,
        home_alt_amsl_m=home.alt_amsl_m,
        cruise_speed_m_s=opts.speed_m_s,
        hover_speed_m_s=opts.speed_m_s,
    )
    items = plan.items
    first_alt = nodes[0].alt_m if nodes else 30.0
    items.append(MissionItem(MavCmd.NAV_TAKEOFF, REL, 0.0, 0.0, 0.0, math.nan, home.lat, home.lon, first_alt))
    items.append(MissionItem(MavCmd.DO_CHANGE_SPEED, MISSION, 1.0, opts.speed_m_s, -1.0, 0.0))
    if any(n.trigger_m for n in nodes) and opts.survey_gimbal_pitch_deg is not None:
        items.append(_gimbal(opts.survey_gimbal_pitch_deg, 0.0, opts.gimbal_command))
    lats, lons = frame.en2geodetic([n.e_m for n in nodes], [n.n_m for n in nodes])
    for k, node in enumerate(nodes):
        lat, lon = float(lats[k]), float(lons[k])
        yaw = node.yaw_deg
        if math.isnan(yaw) and node.kind in ("lane_start", "lane", "turnaround", "lane_end") and len(nodes) > 1:
            other = nodes[k + 1] if k + 1 < len(nodes) else nodes[k - 1]
            yaw = _heading_deg(node, other) if k + 1 < len(nodes) else _heading_deg(other, node)
        if node.orbit is not None:
            o = node.orbit
            # Reach the circle first, then orbit; param3 radius > 0 is clockwise.
            items.append(MissionItem(MavCmd.NAV_WAYPOINT, REL, 0.0, opts.acceptance_m, 0.0, yaw, lat, lon, node.alt_m))
            if node.gimbal is not None:
                items.append(_gimbal(node.gimbal[0], node.gimbal[1], opts.gimbal_command))
            items.append(
                MissionItem(
                    MavCmd.NAV_LOITER_TURNS,
                    REL,
                    o.turns,
                    0.0,
                    o.radius_m if o.clockwise else -o.radius_m,
                    0.0,
                    lat,
                    lon,
                    node.alt_m,
                )
            )
            continue
        items.append(
            MissionItem(MavCmd.NAV_WAYPOINT, REL, node.hold_s, opts.acceptance_m, 0.0, yaw, lat, lon, node.alt_m)
        )
        if node.gimbal is not None:
            items.append(_gimbal(node.gimbal[0], node.gimbal[1], opts.gimbal_command))
        if node.photo:
            items.append(MissionItem(MavCmd.IMAGE_START_CAPTURE, MISSION, 0.0, 0.0, 1.0, 0.0))
        if node.trigger_m is not None:
            # param3 = 1: take one photo at once when starting, so every lane starts with a photo.
            items.append(
                MissionItem(
                    MavCmd.DO_SET_CAM_TRIGG_DIST,
                    MISSION,
                    node.trigger_m,
                    0.0,
                    1.0 if node.trigger_m > 0 else 0.0,
                    0.0,
                )
            )
    if opts.land_at is not None:
        _name, lat, lon = opts.land_at
        items.append(
            MissionItem(
                MavCmd.NAV_WAYPOINT,
                REL,
                0.0,
                opts.acceptance_m,
                0.0,
                math.nan,
                lat,
                lon,
                nodes[-1].alt_m if nodes else first_alt,
            )
        )
        items.append(MissionItem(MavCmd.NAV_LAND, REL, 0.0, 0.0, 0.0, math.nan, lat, lon, 0.0))
    else:
        items.append(MissionItem(MavCmd.NAV_RETURN_TO_LAUNCH, MISSION))
    return plan
