"""Parameters: read and write by name; the failsafe set the fleet relies on is applied on connect."""

from __future__ import annotations

from collections.abc import Mapping

from mavsdk.asyncio import System
from mavsdk.asyncio.plugins.param import ParamAsync, ParamError

from fleet.vehicle.errors import result_name, vehicle_call, vehicle_error


class VehicleParams:
    def __init__(self, system: System) -> None:
        self._param = ParamAsync(system)

    async def get_int(self, name: str) -> int:
        return int(await vehicle_call(f"read {name}", self._param.get_param_int(name)))

    async def get_float(self, name: str) -> float:
        return float(await vehicle_call(f"read {name}", self._param.get_param_float(name)))

    async def set(self, name: str, value: int | float) -> None:
        """Write `value` with the type it has (int or float); a WRONG_TYPE answer is retried as the
        other type when the value fits it, so a config file's `30` for a float parameter works."""
        as_int = not isinstance(value, float)
        try:
            await self._set_typed(name, value, as_int)
            return
        except ParamError as exc:
            if result_name(exc) != "WRONG_TYPE" or (as_int is False and not float(value).is_integer()):
                raise vehicle_error(f"{name}={value}", exc) from None
        await vehicle_call(f"set {name}", self._set_typed(name, value, not as_int))

    async def _set_typed(self, name: str, value: int | float, as_int: bool) -> None:
        if as_int:
            await self._param.set_param_int(name, int(value))
        else:
            await self._param.set_param_float(name, float(value))

    async def apply(self, values: Mapping[str, int | float]) -> None:
        for name, value in values.items():
            await self.set(name, value)
