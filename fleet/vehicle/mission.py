"""Mission: a `MissionPlan` uploaded item for item through MAVSDK's mission_raw (explicit frames,
DO_ items kept), started, paused, resumed from the current item (as PX4 does), cleared; progress
and every MISSION_ITEM_REACHED as streams."""

from __future__ import annotations

import json
import math
from collections.abc import AsyncIterator

from mavsdk.asyncio import System
from mavsdk.asyncio.plugins.mavlink_direct import MavlinkDirectAsync
from mavsdk.asyncio.plugins.mission_raw import MissionItem as RawItem
from mavsdk.asyncio.plugins.mission_raw import MissionRawAsync

from fleet.vehicle.errors import vehicle_call
from fleet.vehicle.types import MissionProgress
from missions.items import MavFrame, MissionItem, MissionPlan

MISSION_TYPE_MISSION = 0
MISSION_TYPE_FENCE = 1
MISSION_TYPE_RALLY = 2
# MISSION_ITEM_INT carries latitude/longitude as degrees * 1e7 in global frames; the float frames
# are sent as their _INT twins, as QGroundControl does.
INT_FRAME = {
    MavFrame.GLOBAL: MavFrame.GLOBAL_INT,
    MavFrame.GLOBAL_RELATIVE_ALT: MavFrame.GLOBAL_RELATIVE_ALT_INT,
    MavFrame.GLOBAL_TERRAIN_ALT: MavFrame.GLOBAL_TERRAIN_ALT_INT,
}
GLOBAL_INT_FRAMES = frozenset({MavFrame.GLOBAL_INT, MavFrame.GLOBAL_RELATIVE_ALT_INT, MavFrame.GLOBAL_TERRAIN_ALT_INT})


def _param(v: float) -> float:
    return float(v) if v is not None else math.nan


def raw_item(seq: int, item: MissionItem, mission_type: int = MISSION_TYPE_MISSION) -> RawItem:
    frame = int(INT_FRAME.get(item.frame, item.frame))
    if frame in GLOBAL_INT_FRAMES:
        x, y = round(item.lat * 1e7), round(item.lon * 1e7)
    else:  # MISSION frame and others: param5/param6 as integers
        x, y = round(item.lat), round(item.lon)
    return RawItem(seq, int(frame), int(item.command), int(seq == 0), int(bool(item.autocontinue)),
                   _param(item.param1), _param(item.param2), _param(item.param3), _param(item.param4),
                   x, y, float(item.alt), mission_type)


def raw_items(plan: MissionPlan) -> list[RawItem]:
    return [raw_item(i, it) for i, it in enumerate(plan.items)]


def plan_item(raw: RawItem) -> MissionItem:
    """A downloaded item back in degrees (the _INT frame kept: it is what the vehicle holds)."""
    scale = 1e-7 if raw.frame in GLOBAL_INT_FRAMES else 1.0
    return MissionItem(command=raw.command, frame=raw.frame, param1=raw.param1, param2=raw.param2,
                       param3=raw.param3, param4=raw.param4, lat=raw.x * scale, lon=raw.y * scale, alt=raw.z,
                       autocontinue=bool(raw.autocontinue))


class VehicleMission:
    def __init__(self, system: System) -> None:
        self._raw = MissionRawAsync(system)
        self._direct = MavlinkDirectAsync(system)

    async def upload(self, plan: MissionPlan) -> int:
        """Upload the plan's items (replacing what the vehicle holds); returns the item count."""
        items = raw_items(plan)
        await vehicle_call("mission upload", self._raw.upload_mission(items))
        return len(items)

    async def download(self) -> list[MissionItem]:
        return [plan_item(r) for r in await vehicle_call("mission download", self._raw.download_mission())]

    async def start(self) -> None:
        await vehicle_call("start mission", self._raw.start_mission())

    async def pause(self) -> None:
        """Hold where it is; the current item is kept."""
        await vehicle_call("pause", self._raw.pause_mission())

    async def resume(self) -> None:
        """Back to Mission mode: PX4 flies on from the current item, not from the top."""
        await vehicle_call("resume", self._raw.start_mission())

    async def set_current(self, index: int) -> None:
        await vehicle_call("set current item", self._raw.set_current_mission_item(index))

    async def clear(self) -> None:
        await vehicle_call("clear mission", self._raw.clear_mission())

    async def progress(self) -> MissionProgress:
        p = await vehicle_call("read mission progress", self._raw.mission_progress())
        return MissionProgress(int(p.current), int(p.total))

    async def is_finished(self) -> bool:
        return bool(await vehicle_call("read mission finished", self._raw.is_mission_finished()))

    async def subscribe_progress(self) -> AsyncIterator[MissionProgress]:
        async for p in self._raw.subscribe_mission_progress():
            yield MissionProgress(int(p.current), int(p.total))

    async def subscribe_reached(self) -> AsyncIterator[int]:
        """The index of every MISSION_ITEM_REACHED the vehicle sends (DO_JUMP repeats included)."""
        async for msg in self._direct.subscribe_message("MISSION_ITEM_REACHED"):
            try:
                yield int(json.loads(msg.fields_json)["seq"])
            except (ValueError, KeyError, TypeError):
                continue
