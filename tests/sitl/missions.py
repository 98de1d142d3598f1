"""Mission builders for the simulator tests: raw MAVLink items (explicit frames) near a home."""

from __future__ import annotations

import math

from mavsdk.asyncio.plugins.mission_raw import MissionItem
from pymavlink.dialects.v20 import common as mav

REL = mav.MAV_FRAME_GLOBAL_RELATIVE_ALT_INT
MISSION_FRAME = mav.MAV_FRAME_MISSION


def offset(lat: float, lon: float, north_m: float, east_m: float) -> tuple[float, float]:
    r = 6378137.0
    return (
        lat + math.degrees(north_m / r),
        lon + math.degrees(east_m / (r * math.cos(math.radians(lat)))),
    )


class RawMission:
    """Appends MISSION_ITEM_INTs with positions given in metres north/east of home."""

    def __init__(self, home_lat: float, home_lon: float) -> None:
        self.home = (home_lat, home_lon)
        self.items: list[MissionItem] = []

    def _add(
        self,
        command: int,
        frame: int,
        p1: float = 0,
        p2: float = 0,
        p3: float = 0,
        p4: float = math.nan,
        north_m: float | None = None,
        east_m: float | None = None,
        alt_m: float = 0.0,
    ) -> RawMission:
        x = y = 0
        if north_m is not None and east_m is not None:
            lat, lon = offset(*self.home, north_m, east_m)
            x, y = round(lat * 1e7), round(lon * 1e7)
        seq = len(self.items)
        self.items.append(
            MissionItem(
                seq, frame, command, int(seq == 0), 1, p1, p2, p3, p4, x, y, alt_m, mav.MAV_MISSION_TYPE_MISSION
            )
        )
        return self

    def takeoff(self, alt_m: float) -> RawMission:
        return self._add(mav.MAV_CMD_NAV_TAKEOFF, REL, north_m=0, east_m=0, alt_m=alt_m)

    def waypoint(self, north_m: float, east_m: float, alt_m: float, hold_s: float = 0, radius_m: float = 2.0):
        return self._add(mav.MAV_CMD_NAV_WAYPOINT, REL, hold_s, radius_m, north_m=north_m, east_m=east_m, alt_m=alt_m)

    def loiter_time(self, north_m: float, east_m: float, alt_m: float, seconds: float) -> RawMission:
        return self._add(mav.MAV_CMD_NAV_LOITER_TIME, REL, seconds, north_m=north_m, east_m=east_m, alt_m=alt_m)

    def loiter_turns(self, north_m: float, east_m: float, alt_m: float, turns: float, radius_m: float):
        return self._add(
            mav.MAV_CMD_NAV_LOITER_TURNS, REL, turns, 0, radius_m, north_m=north_m, east_m=east_m, alt_m=alt_m
        )

    def land(self, north_m: float, east_m: float) -> RawMission:
        return self._add(mav.MAV_CMD_NAV_LAND, REL, north_m=north_m, east_m=east_m, alt_m=0)

    def rtl(self) -> RawMission:
        return self._add(mav.MAV_CMD_NAV_RETURN_TO_LAUNCH, MISSION_FRAME)

    def change_speed(self, speed_m_s: float) -> RawMission:
        return self._add(mav.MAV_CMD_DO_CHANGE_SPEED, MISSION_FRAME, 1, speed_m_s, -1)

    def trigger_distance(self, metres: float) -> RawMission:
        return self._add(mav.MAV_CMD_DO_SET_CAM_TRIGG_DIST, MISSION_FRAME, metres, 0, 0)

    def jump(self, to_seq: int, repeats: int) -> RawMission:
        return self._add(mav.MAV_CMD_DO_JUMP, MISSION_FRAME, to_seq, repeats)
