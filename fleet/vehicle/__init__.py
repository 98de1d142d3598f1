"""Vehicles over MAVSDK: one owner of the connection, one thin typed async facade per concern.

`Vehicle.connect(url)` gives `.telemetry`, `.mission`, `.geofence`, `.action`, `.params`, `.status`
(HEARTBEAT system status, motor-output health, status texts). Nothing
here knows whether the autopilot is PX4 on a drone, PX4 SITL or SkyPatrol's simulator. Refusals
raise `core.errors.Refused` naming the vehicle's result; a missing link raises `Unavailable`.
"""

from fleet.vehicle.connection import VehicleConnection
from fleet.vehicle.types import (
    Attitude,
    Battery,
    FlightMode,
    Health,
    Home,
    LandedState,
    MissionProgress,
    Position,
    StatusText,
    SystemStatus,
    VelocityNed,
)
from fleet.vehicle.vehicle import Vehicle

__all__ = [
    "Attitude",
    "Battery",
    "FlightMode",
    "Health",
    "Home",
    "LandedState",
    "MissionProgress",
    "Position",
    "StatusText",
    "SystemStatus",
    "Vehicle",
    "VehicleConnection",
    "VelocityNed",
]
