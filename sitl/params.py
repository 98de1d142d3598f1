"""PX4 parameters the simulator knows, with PX4's names, types and defaults.

Only parameters the simulator acts on (or that MAVSDK and QGroundControl read) are listed; each
one changes behaviour as it does on PX4. Integer parameters travel "bytewise" as PX4 sends them:
the four bytes of the int32 reinterpreted as the float field of PARAM_VALUE / PARAM_SET.
"""

from __future__ import annotations

import struct
from dataclasses import dataclass

from pymavlink.dialects.v20 import common as mavlink

INT32 = mavlink.MAV_PARAM_TYPE_INT32
REAL32 = mavlink.MAV_PARAM_TYPE_REAL32


@dataclass(frozen=True, slots=True)
class ParamDef:
    name: str
    type: int  # MAV_PARAM_TYPE_INT32 or MAV_PARAM_TYPE_REAL32
    default: float
    doc: str


PX4_PARAMS: tuple[ParamDef, ...] = (
    # Identity
    ParamDef("MAV_SYS_ID", INT32, 1, "system id (set per vehicle)"),
    ParamDef("MAV_COMP_ID", INT32, 1, "component id of the autopilot"),
    ParamDef("MAV_TYPE", INT32, 2, "MAV_TYPE_QUADROTOR"),
    ParamDef("SYS_AUTOSTART", INT32, 10040, "airframe: sihsim quadx"),
    ParamDef("SYS_HITL", INT32, 0, "HITL off"),
    ParamDef("COM_RC_IN_MODE", INT32, 4, "no RC / joystick input (manual modes are refused)"),
    # Multicopter position control
    ParamDef("MPC_XY_CRUISE", REAL32, 5.0, "default horizontal speed in auto modes, m/s"),
    ParamDef("MPC_XY_VEL_MAX", REAL32, 12.0, "maximum horizontal speed, m/s"),
    ParamDef("MPC_Z_VEL_MAX_UP", REAL32, 3.0, "maximum climb rate, m/s"),
    ParamDef("MPC_Z_VEL_MAX_DN", REAL32, 1.5, "maximum descent rate, m/s"),
    ParamDef("MPC_ACC_HOR", REAL32, 3.0, "horizontal acceleration in auto modes, m/s^2"),
    ParamDef("MPC_ACC_UP_MAX", REAL32, 4.0, "maximum upward acceleration, m/s^2"),
    ParamDef("MPC_ACC_DOWN_MAX", REAL32, 3.0, "maximum downward acceleration, m/s^2"),
    ParamDef("MPC_YAWRAUTO_MAX", REAL32, 45.0, "yaw rate limit in auto modes, deg/s"),
    ParamDef("MPC_TKO_SPEED", REAL32, 1.5, "takeoff climb rate, m/s"),
    ParamDef("MPC_LAND_SPEED", REAL32, 0.7, "landing descent rate near the ground, m/s"),
    ParamDef("MPC_LAND_ALT1", REAL32, 10.0, "below this height the descent slows, m"),
    ParamDef("MPC_LAND_ALT2", REAL32, 5.0, "below this height descend at MPC_LAND_SPEED, m"),
    # Mission / navigator
    ParamDef("MIS_TAKEOFF_ALT", REAL32, 2.5, "takeoff altitude above home, m"),
    ParamDef("NAV_ACC_RAD", REAL32, 10.0, "default acceptance radius, m"),
    ParamDef("NAV_MC_ALT_RAD", REAL32, 0.8, "vertical acceptance radius for multicopters, m"),
    ParamDef("NAV_LOITER_RAD", REAL32, 80.0, "default loiter radius, m"),
    ParamDef("MIS_DIST_1WP", REAL32, 900.0, "maximum distance home -> first waypoint, m (0: off)"),
    # Return
    ParamDef("RTL_RETURN_ALT", REAL32, 60.0, "return altitude above home, m"),
    ParamDef("RTL_DESCEND_ALT", REAL32, 30.0, "loiter/descend altitude above home before landing, m"),
    ParamDef("RTL_LAND_DELAY", REAL32, 0.0, "hover before landing, s (-1: hover forever)"),
    ParamDef("RTL_MIN_DIST", REAL32, 10.0, "closer than this: no climb before return, m"),
    ParamDef("RTL_TYPE", INT32, 0, "0: return to home or the closest rally point"),
    # Commander / failsafes
    ParamDef("NAV_DLL_ACT", INT32, 0, "data link loss action: 0 off, 1 hold, 2 return, 3 land, 5 terminate, 6 disarm"),
    ParamDef("COM_DL_LOSS_T", INT32, 10, "data link loss timeout, s"),
    ParamDef("COM_DLL_EXCEPT", INT32, 0, "bitmask: 1 no link-loss failsafe in mission, 2 in hold"),
    ParamDef("NAV_RCL_ACT", INT32, 2, "RC loss action (no RC is simulated; kept for GCS)"),
    ParamDef(
        "COM_LOW_BAT_ACT",
        INT32,
        0,
        "0 warn, 1 return at critical, 2 land at critical, 3 return at critical + land at emergency",
    ),
    ParamDef("COM_ARM_WO_GPS", INT32, 0, "1: allow arming without a GPS fix"),
    ParamDef("COM_DISARM_LAND", REAL32, 2.0, "disarm after landing, s (<=0: off)"),
    ParamDef("COM_DISARM_PRFLT", REAL32, 10.0, "disarm when armed on the ground without takeoff, s (<=0: off)"),
    ParamDef("COM_POS_FS_DELAY", INT32, 1, "delay before position loss failsafe, s"),
    ParamDef("CBRK_SUPPLY_CHK", INT32, 0, "circuit breaker"),
    # Geofence
    ParamDef("GF_ACTION", INT32, 2, "geofence breach: 0 none, 1 warning, 2 hold, 3 return, 4 terminate, 5 land"),
    ParamDef("GF_MAX_HOR_DIST", REAL32, 0.0, "maximum horizontal distance from home, m (0: off)"),
    ParamDef("GF_MAX_VER_DIST", REAL32, 0.0, "maximum height above home, m (0: off)"),
    ParamDef("GF_SOURCE", INT32, 0, "0: global position"),
    ParamDef("GF_PREDICT", INT32, 0, "1: act on the predicted position"),
    # Battery
    ParamDef("BAT_LOW_THR", REAL32, 0.15, "low battery level (warning), fraction"),
    ParamDef("BAT_CRIT_THR", REAL32, 0.07, "critical battery level, fraction"),
    ParamDef("BAT_EMERGEN_THR", REAL32, 0.05, "emergency battery level, fraction"),
    ParamDef("BAT1_N_CELLS", INT32, 4, "cells in series"),
    ParamDef("BAT1_V_CHARGED", REAL32, 4.05, "full cell voltage, V"),
    ParamDef("BAT1_V_EMPTY", REAL32, 3.6, "empty cell voltage, V"),
    ParamDef("BAT1_CAPACITY", REAL32, 5000.0, "capacity, mAh"),
    ParamDef("BAT1_R_INTERNAL", REAL32, 0.02, "internal resistance, ohm"),
    # Camera trigger
    ParamDef("TRIG_MODE", INT32, 4, "4: distance based, on command"),
    ParamDef("TRIG_DIST", REAL32, 25.0, "default trigger distance, m"),
    # Simulation (SIH-like)
    ParamDef("SIH_WIND_N", REAL32, 0.0, "mean wind towards north, m/s"),
    ParamDef("SIH_WIND_E", REAL32, 0.0, "mean wind towards east, m/s"),
    ParamDef("SIH_WIND_GUST", REAL32, 0.0, "gust intensity (std. dev.), m/s"),
    ParamDef("SIH_HOVER_I", REAL32, 18.0, "battery current in hover, A"),
)

_BY_NAME = {p.name: p for p in PX4_PARAMS}


def int_to_wire(value: int) -> float:
    """The float whose four bytes are the int32 `value` (PX4's bytewise encoding)."""
    return struct.unpack("<f", struct.pack("<i", int(value)))[0]


def wire_to_int(value: float) -> int:
    return struct.unpack("<i", struct.pack("<f", value))[0]


class ParamStore:
    """One vehicle's parameters: typed values, ordered as PX4 indexes them (by name)."""

    def __init__(self, overrides: dict[str, float] | None = None) -> None:
        self._defs = sorted(PX4_PARAMS, key=lambda p: p.name)
        self._index = {p.name: i for i, p in enumerate(self._defs)}
        self._values: dict[str, float] = {p.name: p.default for p in self._defs}
        for name, value in (overrides or {}).items():
            self.set(name, value)

    def __len__(self) -> int:
        return len(self._defs)

    def __contains__(self, name: str) -> bool:
        return name in _BY_NAME

    def names(self) -> list[str]:
        return [p.name for p in self._defs]

    def index_of(self, name: str) -> int:
        return self._index[name]

    def name_at(self, index: int) -> str | None:
        return self._defs[index].name if 0 <= index < len(self._defs) else None

    def type_of(self, name: str) -> int:
        return _BY_NAME[name].type

    def get(self, name: str) -> float:
        return self._values[name]

    def get_int(self, name: str) -> int:
        return int(self._values[name])

    def set(self, name: str, value: float) -> None:
        if name not in _BY_NAME:
            raise KeyError(name)
        self._values[name] = int(value) if _BY_NAME[name].type == INT32 else float(value)

    def wire_value(self, name: str) -> float:
        value = self._values[name]
        return int_to_wire(int(value)) if _BY_NAME[name].type == INT32 else float(value)

    def set_from_wire(self, name: str, wire: float) -> None:
        """Store a PARAM_SET value; the type is the parameter's own, as PX4 does."""
        if _BY_NAME[name].type == INT32:
            self._values[name] = wire_to_int(wire)
        else:
            self._values[name] = float(wire)
