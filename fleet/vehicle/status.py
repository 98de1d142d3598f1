"""The vehicle's own account of its condition, read as a ground station reads it.

MAVSDK's Health carries no motor state and no system status, so two messages are taken raw through
the `mavlink_direct` plugin: HEARTBEAT's `system_status` (MAV_STATE) and SYS_STATUS's motor-output
health. Both come at 1-2 Hz; each stream yields only a change, so the platform does no work per
message beyond decoding it. STATUSTEXT comes through telemetry's status_text with its severity.
"""

from __future__ import annotations

import json
from collections.abc import AsyncIterator

from mavsdk.asyncio import System
from mavsdk.asyncio.plugins.mavlink_direct import MavlinkDirectAsync
from mavsdk.asyncio.plugins.telemetry import TelemetryAsync

from fleet.vehicle.types import StatusText, SystemStatus

MAV_AUTOPILOT_INVALID = 8  # a ground station's or companion's heartbeat, not the autopilot's
MAV_SYS_STATUS_SENSOR_MOTOR_OUTPUTS = 0x8000
_MAV_STATE = list(SystemStatus)  # MAV_STATE in enum order: UNINIT = 0 ... FLIGHT_TERMINATION = 8


def system_status_of(value: int) -> SystemStatus:
    return _MAV_STATE[value] if 0 <= value < len(_MAV_STATE) else SystemStatus.UNINIT


def motor_outputs_ok(present: int, enabled: int, health: int) -> bool:
    """False only when the vehicle reports motor outputs present and enabled but not healthy."""
    bit = MAV_SYS_STATUS_SENSOR_MOTOR_OUTPUTS
    return not (present & bit and enabled & bit) or bool(health & bit)


class VehicleStatus:
    def __init__(self, system: System) -> None:
        self._direct = MavlinkDirectAsync(system)
        self._tel = TelemetryAsync(system)

    async def subscribe_system_status(self) -> AsyncIterator[SystemStatus]:
        """The autopilot's HEARTBEAT system_status, on each change."""
        last = None
        async for m in self._direct.subscribe_message("HEARTBEAT"):
            try:
                fields = json.loads(m.fields_json)
            except ValueError:
                continue
            if fields.get("autopilot", MAV_AUTOPILOT_INVALID) == MAV_AUTOPILOT_INVALID:
                continue
            status = system_status_of(int(fields.get("system_status", 0)))
            if status != last:
                last = status
                yield status

    async def subscribe_motor_outputs_ok(self) -> AsyncIterator[bool]:
        """SYS_STATUS motor-output health (True where the vehicle does not report them), on each change."""
        last = None
        async for m in self._direct.subscribe_message("SYS_STATUS"):
            try:
                f = json.loads(m.fields_json)
            except ValueError:
                continue
            ok = motor_outputs_ok(int(f.get("onboard_control_sensors_present", 0)),
                                  int(f.get("onboard_control_sensors_enabled", 0)),
                                  int(f.get("onboard_control_sensors_health", 0)))
            if ok != last:
                last = ok
                yield ok

    async def subscribe_status_text(self) -> AsyncIterator[StatusText]:
        async for t in self._tel.subscribe_status_text():
            yield StatusText(t.type.name.lower(), str(t.text))
