"""Typed values the vehicle facades hand out: plain dataclasses, units in the names, no MAVSDK types.

Altitudes name their reference (`alt_amsl_m`, `alt_rel_m`); battery is a fraction 0..1.
"""

from __future__ import annotations

import math
from dataclasses import dataclass
from enum import StrEnum


class FlightMode(StrEnum):
    UNKNOWN = "unknown"
    READY = "ready"
    TAKEOFF = "takeoff"
    HOLD = "hold"
    MISSION = "mission"
    RETURN_TO_LAUNCH = "return_to_launch"
    LAND = "land"
    OFFBOARD = "offboard"
    FOLLOW_ME = "follow_me"
    MANUAL = "manual"
    ALTCTL = "altctl"
    POSCTL = "posctl"
    ACRO = "acro"
    STABILIZED = "stabilized"
    RATTITUDE = "rattitude"


class LandedState(StrEnum):
    UNKNOWN = "unknown"
    ON_GROUND = "on_ground"
    IN_AIR = "in_air"
    TAKING_OFF = "taking_off"
    LANDING = "landing"


@dataclass(frozen=True, slots=True)
class Position:
    lat_deg: float
    lon_deg: float
    alt_amsl_m: float
    alt_rel_m: float


@dataclass(frozen=True, slots=True)
class VelocityNed:
    north_m_s: float
    east_m_s: float
    down_m_s: float

    @property
    def ground_speed_m_s(self) -> float:
        return math.hypot(self.north_m_s, self.east_m_s)


@dataclass(frozen=True, slots=True)
class Attitude:
    roll_deg: float
    pitch_deg: float
    yaw_deg: float  # heading, degrees clockwise from north

    @property
    def heading_deg(self) -> float:
        return self.yaw_deg % 360.0


@dataclass(frozen=True, slots=True)
class Battery:
    remaining: float  # 0..1
    voltage_v: float


@dataclass(frozen=True, slots=True)
class Health:
    gyro_ok: bool
    accel_ok: bool
    mag_ok: bool
    local_position_ok: bool
    global_position_ok: bool
    home_position_ok: bool
    armable: bool

    @property
    def all_ok(self) -> bool:
        return all((self.gyro_ok, self.accel_ok, self.mag_ok, self.local_position_ok, self.global_position_ok,
                    self.home_position_ok, self.armable))


@dataclass(frozen=True, slots=True)
class Home:
    lat_deg: float
    lon_deg: float
    alt_amsl_m: float


@dataclass(frozen=True, slots=True)
class MissionProgress:
    current: int  # index of the item the vehicle works on (== total when finished)
    total: int

    @property
    def finished(self) -> bool:
        return self.total > 0 and self.current >= self.total


class SystemStatus(StrEnum):
    """HEARTBEAT system_status (MAV_STATE), in the enum's order."""

    UNINIT = "uninit"
    BOOT = "boot"
    CALIBRATING = "calibrating"
    STANDBY = "standby"
    ACTIVE = "active"
    CRITICAL = "critical"  # PX4: armed with a failsafe active (an ordinary RTL on link loss too)
    EMERGENCY = "emergency"
    POWEROFF = "poweroff"
    FLIGHT_TERMINATION = "flight_termination"  # PX4: terminated or locked down (motors off)


@dataclass(frozen=True, slots=True)
class StatusText:
    severity: str  # "emergency", "alert", "critical", "error", "warning", "notice", "info", "debug"
    text: str
