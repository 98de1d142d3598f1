"""Parameters: read and write by name; the failsafe set the fleet relies on is applied on connect."""

from __future__ import annotations

from collections.abc import Mapping

from mavsdk.asyncio import System
from mavsdk.asyncio.plugins.param import ParamAsync, ParamError

from core.errors import Refused
from fleet.vehicle.errors import result_name, vehicle_call, vehicle_error


class VehicleParams:
    def __init__(self, system: System) -> None:
        self._param = ParamAsync(system)

    async def get_int(self, name: str) -> int:
        return int(await vehicle_call(f"read {name}", self._param.get_param_int(name)))

    async def get_float(self, name: str) -> float:
        return float(await vehicle_call(f"read {name}", self._param.get_param_float(name)))

    async def set(self, name: str, value: int | float) -> None:
        """Write `value` as the type the vehicle holds `name` in, so a config file's `30` for a float
        parameter works. The type comes from reading the parameter first: autopilots differ in how
        they answer a write of the wrong type (PX4 ignores it, which would read as a timeout)."""
        as_int = await self._holds_int(name, guess=not isinstance(value, float))
        if as_int and not float(value).is_integer():
            raise Refused(f"{name} is an integer parameter: {value} does not fit", {"param": name, "value": value})
        await vehicle_call(f"set {name}", self._set_typed(name, value, as_int))

    async def _holds_int(self, name: str, guess: bool) -> bool:
        read = self._param.get_param_int if guess else self._param.get_param_float
        try:
            await read(name)
            return guess
        except ParamError as exc:
            if result_name(exc) == "WRONG_TYPE":
                return not guess
            raise vehicle_error(f"read {name}", exc) from None

    async def _set_typed(self, name: str, value: int | float, as_int: bool) -> None:
        if as_int:
            await self._param.set_param_int(name, int(value))
        else:
            await self._param.set_param_float(name, float(value))

    async def apply(self, values: Mapping[str, int | float]) -> None:
        for name, value in values.items():
            await self.set(name, value)
