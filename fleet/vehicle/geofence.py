"""Geofence and rally points: the `MissionPlan`'s fence (inclusion/exclusion polygons and circles)
through MAVSDK's geofence plugin, rally points through mission_raw."""

from __future__ import annotations

from mavsdk.asyncio import System
from mavsdk.asyncio.plugins.geofence import Circle, FenceType, GeofenceAsync, GeofenceData, Point, Polygon
from mavsdk.asyncio.plugins.mission_raw import MissionItem as RawItem
from mavsdk.asyncio.plugins.mission_raw import MissionRawAsync

from fleet.vehicle.errors import vehicle_call
from missions.items import MavFrame, MissionPlan

MAV_CMD_NAV_RALLY_POINT = 5100
MISSION_TYPE_RALLY = 2


def _fence_type(inclusion: bool) -> FenceType:
    return FenceType.INCLUSION if inclusion else FenceType.EXCLUSION


def geofence_data(plan: MissionPlan) -> GeofenceData:
    polygons = [Polygon([Point(lat, lon) for lat, lon in p.vertices], _fence_type(p.inclusion))
                for p in plan.fence_polygons]
    circles = [Circle(Point(c.lat, c.lon), float(c.radius_m), _fence_type(c.inclusion)) for c in plan.fence_circles]
    return GeofenceData(polygons, circles)


def rally_items(plan: MissionPlan) -> list[RawItem]:
    # MISSION_ITEM_INT carries x/y as integers whatever the frame; the frame goes as plain
    # GLOBAL_RELATIVE_ALT because PX4 keeps a rally point's frame as sent and its RTL only knows
    # GLOBAL and GLOBAL_RELATIVE_ALT ("RTL: unsupported MAV_FRAME" for the _INT twins).
    return [RawItem(i, int(MavFrame.GLOBAL_RELATIVE_ALT), MAV_CMD_NAV_RALLY_POINT, int(i == 0), 1,
                    0.0, 0.0, 0.0, 0.0, round(lat * 1e7), round(lon * 1e7), float(alt), MISSION_TYPE_RALLY)
            for i, (lat, lon, alt) in enumerate(plan.rally_points)]


class VehicleGeofence:
    def __init__(self, system: System) -> None:
        self._fence = GeofenceAsync(system)
        self._raw = MissionRawAsync(system)

    async def upload(self, plan: MissionPlan) -> None:
        """The plan's fence (cleared on the vehicle when the plan has none) and its rally points."""
        if plan.fence_polygons or plan.fence_circles:
            await vehicle_call("geofence upload", self._fence.upload_geofence(geofence_data(plan)))
        else:
            await self.clear()
        if plan.rally_points:
            await vehicle_call("rally point upload", self._raw.upload_rally_points(rally_items(plan)))

    async def download_count(self) -> int:
        """How many fence items (vertices and circles) the vehicle holds."""
        return len(await vehicle_call("geofence download", self._raw.download_geofence()))

    async def clear(self) -> None:
        await vehicle_call("geofence clear", self._fence.clear_geofence())
