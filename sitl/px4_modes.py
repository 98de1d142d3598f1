"""PX4's custom flight modes as they appear in HEARTBEAT.custom_mode and MAV_CMD_DO_SET_MODE.

custom_mode = main_mode << 16 | sub_mode << 24 (PX4's px4_custom_mode union).
"""

from __future__ import annotations

from enum import IntEnum


class MainMode(IntEnum):
    MANUAL = 1
    ALTCTL = 2
    POSCTL = 3
    AUTO = 4
    ACRO = 5
    OFFBOARD = 6
    STABILIZED = 7
    RATTITUDE = 8


class AutoSubMode(IntEnum):
    READY = 1
    TAKEOFF = 2
    LOITER = 3
    MISSION = 4
    RTL = 5
    LAND = 6
    RTGS = 7
    FOLLOW_TARGET = 8
    PRECLAND = 9


class FlightMode(IntEnum):
    """The modes the simulator flies (a subset of PX4's navigation states)."""

    HOLD = 1
    TAKEOFF = 2
    MISSION = 3
    RTL = 4
    LAND = 5


_TO_CUSTOM = {
    FlightMode.HOLD: (MainMode.AUTO, AutoSubMode.LOITER),
    FlightMode.TAKEOFF: (MainMode.AUTO, AutoSubMode.TAKEOFF),
    FlightMode.MISSION: (MainMode.AUTO, AutoSubMode.MISSION),
    FlightMode.RTL: (MainMode.AUTO, AutoSubMode.RTL),
    FlightMode.LAND: (MainMode.AUTO, AutoSubMode.LAND),
}
_FROM_CUSTOM = {v: k for k, v in _TO_CUSTOM.items()}


def custom_mode_of(mode: FlightMode) -> int:
    main, sub = _TO_CUSTOM[mode]
    return (int(main) << 16) | (int(sub) << 24)


def flight_mode_from(main_mode: int, sub_mode: int) -> FlightMode | None:
    """The mode a DO_SET_MODE (main, sub) asks for, or None where the simulator has none."""
    try:
        key = (MainMode(main_mode), AutoSubMode(sub_mode) if main_mode == MainMode.AUTO else None)
    except ValueError:
        return None
    return _FROM_CUSTOM.get(key)  # type: ignore[arg-type]


def mode_name(main_mode: int, sub_mode: int) -> str:
    try:
        main = MainMode(main_mode)
    except ValueError:
        return f"mode {main_mode}/{sub_mode}"
    if main != MainMode.AUTO:
        return main.name
    try:
        return f"AUTO_{AutoSubMode(sub_mode).name}"
    except ValueError:
        return f"AUTO/{sub_mode}"
