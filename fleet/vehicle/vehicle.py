"""One vehicle: its connection and a facade per concern, as MAVSDK's plugins are split."""

from __future__ import annotations

from fleet.vehicle.action import VehicleAction
from fleet.vehicle.connection import VehicleConnection
from fleet.vehicle.geofence import VehicleGeofence
from fleet.vehicle.mission import VehicleMission
from fleet.vehicle.params import VehicleParams
from fleet.vehicle.status import VehicleStatus
from fleet.vehicle.telemetry import VehicleTelemetry
from missions.items import MissionPlan


class Vehicle:
    def __init__(self, connection: VehicleConnection) -> None:
        system = connection.system
        self.connection = connection
        self.telemetry = VehicleTelemetry(system)
        self.mission = VehicleMission(system)
        self.geofence = VehicleGeofence(system)
        self.action = VehicleAction(system)
        self.params = VehicleParams(system)
        self.status = VehicleStatus(system)

    def release(self) -> None:
        """Destroy the MAVSDK plugins of every facade. MAVSDK aborts the process if a plugin outlives
        its Mavsdk instance, so they go first, explicitly, not whenever the collector gets to them."""
        for facade in (self.telemetry, self.mission, self.geofence, self.action, self.params, self.status):
            for value in vars(facade).values():
                destroy = getattr(value, "destroy", None)
                if callable(destroy):
                    destroy()

    async def close(self) -> None:
        self.release()
        await self.connection.close()

    @classmethod
    async def connect(cls, url: str, timeout_s: float = 20.0) -> Vehicle:
        """Open `url` and wait for its autopilot; `core.errors.Unavailable` when none answers."""
        connection = VehicleConnection(url)
        try:
            await connection.open(timeout_s)
        except BaseException:
            # Destroy MAVSDK here: left to the garbage collector it may be destroyed on one of its
            # own threads, which aborts the process.
            await connection.close()
            raise
        return cls(connection)

    async def upload_plan(self, plan: MissionPlan) -> int:
        """Fence and rally points first (so the mission never flies unfenced), then the items."""
        await self.geofence.upload(plan)
        return await self.mission.upload(plan)
