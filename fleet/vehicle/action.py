"""Action: arm, take off, return, land, hold, kill — each refusal a `Refused` naming the result."""

from __future__ import annotations

from mavsdk.asyncio import System
from mavsdk.asyncio.plugins.action import ActionAsync

from fleet.vehicle.errors import vehicle_call


class VehicleAction:
    def __init__(self, system: System) -> None:
        self._action = ActionAsync(system)

    async def arm(self) -> None:
        await vehicle_call("arm", self._action.arm())

    async def disarm(self) -> None:
        await vehicle_call("disarm", self._action.disarm())

    async def takeoff(self, alt_rel_m: float | None = None) -> None:
        if alt_rel_m is not None:
            await vehicle_call("set takeoff altitude", self._action.set_takeoff_altitude(alt_rel_m))
        await vehicle_call("takeoff", self._action.takeoff())

    async def return_to_launch(self) -> None:
        await vehicle_call("rtl", self._action.return_to_launch())

    async def land(self) -> None:
        await vehicle_call("land", self._action.land())

    async def hold(self) -> None:
        await vehicle_call("hold", self._action.hold())

    async def kill(self) -> None:
        """Motors off at once, wherever the vehicle is: the last resort."""
        await vehicle_call("kill", self._action.kill())
