"""Telemetry: streams and one-shot reads, converted from MAVSDK's types into `fleet.vehicle.types`.

Each `subscribe_*` is an async iterator over MAVSDK's subscription; closing it unsubscribes.
"""

from __future__ import annotations

from collections.abc import AsyncIterator

from mavsdk.asyncio import System
from mavsdk.asyncio.plugins.mission_raw import MissionRawAsync
from mavsdk.asyncio.plugins.telemetry import TelemetryAsync

from fleet.vehicle.errors import vehicle_call
from fleet.vehicle.types import (
    Attitude,
    Battery,
    FlightMode,
    Health,
    Home,
    LandedState,
    MissionProgress,
    Position,
    VelocityNed,
)


def _position(p) -> Position:  # type: ignore[no-untyped-def]
    return Position(p.latitude_deg, p.longitude_deg, p.absolute_altitude_m, p.relative_altitude_m)


def _velocity(v) -> VelocityNed:  # type: ignore[no-untyped-def]
    return VelocityNed(v.north_m_s, v.east_m_s, v.down_m_s)


def _attitude(a) -> Attitude:  # type: ignore[no-untyped-def]
    return Attitude(a.roll_deg, a.pitch_deg, a.yaw_deg)


def _battery(b) -> Battery:  # type: ignore[no-untyped-def]
    return Battery(b.remaining_percent / 100.0, b.voltage_v)


def _health(h) -> Health:  # type: ignore[no-untyped-def]
    return Health(h.is_gyrometer_calibration_ok, h.is_accelerometer_calibration_ok, h.is_magnetometer_calibration_ok,
                  h.is_local_position_ok, h.is_global_position_ok, h.is_home_position_ok, h.is_armable)


def _home(h) -> Home:  # type: ignore[no-untyped-def]
    return Home(h.latitude_deg, h.longitude_deg, h.absolute_altitude_m)


def _flight_mode(m) -> FlightMode:  # type: ignore[no-untyped-def]
    try:
        return FlightMode(m.name.lower())
    except ValueError:
        return FlightMode.UNKNOWN


def _landed_state(s) -> LandedState:  # type: ignore[no-untyped-def]
    try:
        return LandedState(s.name.lower())
    except ValueError:
        return LandedState.UNKNOWN


def _progress(p) -> MissionProgress:  # type: ignore[no-untyped-def]
    return MissionProgress(int(p.current), int(p.total))


class VehicleTelemetry:
    def __init__(self, system: System) -> None:
        self._tel = TelemetryAsync(system)
        self._raw = MissionRawAsync(system)

    # -- streams -------------------------------------------------------------------------------
    async def subscribe_position(self) -> AsyncIterator[Position]:
        async for p in self._tel.subscribe_position():
            yield _position(p)

    async def subscribe_velocity(self) -> AsyncIterator[VelocityNed]:
        async for v in self._tel.subscribe_velocity_ned():
            yield _velocity(v)

    async def subscribe_attitude(self) -> AsyncIterator[Attitude]:
        async for a in self._tel.subscribe_attitude_euler():
            yield _attitude(a)

    async def subscribe_battery(self) -> AsyncIterator[Battery]:
        async for b in self._tel.subscribe_battery():
            yield _battery(b)

    async def subscribe_flight_mode(self) -> AsyncIterator[FlightMode]:
        async for m in self._tel.subscribe_flight_mode():
            yield _flight_mode(m)

    async def subscribe_armed(self) -> AsyncIterator[bool]:
        async for armed in self._tel.subscribe_armed():
            yield bool(armed)

    async def subscribe_in_air(self) -> AsyncIterator[bool]:
        async for in_air in self._tel.subscribe_in_air():
            yield bool(in_air)

    async def subscribe_landed_state(self) -> AsyncIterator[LandedState]:
        async for s in self._tel.subscribe_landed_state():
            yield _landed_state(s)

    async def subscribe_health(self) -> AsyncIterator[Health]:
        async for h in self._tel.subscribe_health():
            yield _health(h)

    async def subscribe_home(self) -> AsyncIterator[Home]:
        async for h in self._tel.subscribe_home():
            yield _home(h)

    async def subscribe_mission_progress(self) -> AsyncIterator[MissionProgress]:
        async for p in self._raw.subscribe_mission_progress():
            yield _progress(p)

    # -- one-shot reads (the latest value MAVSDK holds) ----------------------------------------
    async def position(self) -> Position:
        return _position(await vehicle_call("read position", self._tel.position()))

    async def velocity(self) -> VelocityNed:
        return _velocity(await vehicle_call("read velocity", self._tel.velocity_ned()))

    async def battery(self) -> Battery:
        return _battery(await vehicle_call("read battery", self._tel.battery()))

    async def flight_mode(self) -> FlightMode:
        return _flight_mode(await vehicle_call("read flight mode", self._tel.flight_mode()))

    async def armed(self) -> bool:
        return bool(await vehicle_call("read armed", self._tel.armed()))

    async def in_air(self) -> bool:
        return bool(await vehicle_call("read in-air", self._tel.in_air()))

    async def landed_state(self) -> LandedState:
        return _landed_state(await vehicle_call("read landed state", self._tel.landed_state()))

    async def health(self) -> Health:
        return _health(await vehicle_call("read health", self._tel.health()))

    async def health_all_ok(self) -> bool:
        return bool(await vehicle_call("read health", self._tel.health_all_ok()))

    async def home(self) -> Home:
        return _home(await vehicle_call("read home", self._tel.home()))

    async def mission_progress(self) -> MissionProgress:
        return _progress(await vehicle_call("read mission progress", self._raw.mission_progress()))

    # -- rates ---------------------------------------------------------------------------------
    async def set_rate_position(self, rate_hz: float) -> None:
        await vehicle_call("set position rate", self._tel.set_rate_position(rate_hz))

    async def set_stream_rates(self, rate_hz: float) -> None:
        """Ask the vehicle (SET_MESSAGE_INTERVAL) for the streams followed at high rate - position,
        velocity, attitude - at `rate_hz`."""
        await vehicle_call("set position rate", self._tel.set_rate_position(rate_hz))
        await vehicle_call("set velocity rate", self._tel.set_rate_velocity_ned(rate_hz))
        await vehicle_call("set attitude rate", self._tel.set_rate_attitude_euler(rate_hz))
