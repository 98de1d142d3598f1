"""One state machine per drone: which states follow which, and which commands each state allows.

`offline -> idle -> preflight -> airborne -> returning -> landed -> idle`, plus `fault`. A link
loss takes any state to `offline`; when the link returns the state is reconciled from what the
vehicle reports (it may still be airborne), not restarted.
"""

from __future__ import annotations

from enum import StrEnum

from core.errors import Refused


class DroneState(StrEnum):
    OFFLINE = "offline"
    IDLE = "idle"
    PREFLIGHT = "preflight"
    AIRBORNE = "airborne"
    RETURNING = "returning"
    LANDED = "landed"
    FAULT = "fault"


S = DroneState
ALL = frozenset(DroneState)

TRANSITIONS: dict[DroneState, frozenset[DroneState]] = {
    S.OFFLINE: ALL - {S.OFFLINE},  # reconciled from the vehicle when the link returns
    S.IDLE: frozenset({S.PREFLIGHT, S.AIRBORNE, S.OFFLINE, S.FAULT}),
    S.PREFLIGHT: frozenset({S.AIRBORNE, S.IDLE, S.OFFLINE, S.FAULT}),
    S.AIRBORNE: frozenset({S.RETURNING, S.LANDED, S.OFFLINE, S.FAULT}),
    S.RETURNING: frozenset({S.AIRBORNE, S.LANDED, S.OFFLINE, S.FAULT}),
    S.LANDED: frozenset({S.IDLE, S.PREFLIGHT, S.AIRBORNE, S.OFFLINE, S.FAULT}),
    S.FAULT: frozenset({S.IDLE, S.LANDED, S.OFFLINE, S.AIRBORNE, S.RETURNING}),
}

COMMANDS: dict[str, frozenset[DroneState]] = {
    "upload_mission": frozenset({S.IDLE, S.PREFLIGHT, S.LANDED}),
    "arm": frozenset({S.PREFLIGHT}),
    "takeoff": frozenset({S.PREFLIGHT}),
    "start_mission": frozenset({S.PREFLIGHT, S.AIRBORNE}),
    "pause": frozenset({S.AIRBORNE}),
    "resume": frozenset({S.AIRBORNE}),
    "rtl": frozenset({S.AIRBORNE, S.FAULT}),
    "land": frozenset({S.AIRBORNE, S.RETURNING, S.FAULT}),
    "kill": ALL - {S.OFFLINE},
}


class DroneStateMachine:
    def __init__(self, drone_id: str, state: DroneState = S.OFFLINE) -> None:
        self.drone_id = drone_id
        self.state = state

    def can(self, new: DroneState) -> bool:
        return new == self.state or new in TRANSITIONS[self.state]

    def transition(self, new: DroneState) -> bool:
        """Move to `new`; returns True when the state changed. Refuses an impossible move."""
        if new == self.state:
            return False
        if new not in TRANSITIONS[self.state]:
            raise Refused(f"drone {self.drone_id}: cannot go from {self.state} to {new}")
        self.state = new
        return True

    def check_command(self, command: str, fault: str | None = None) -> None:
        """Refuse a command the state does not allow; `fault` says why a drone in fault is there."""
        allowed = COMMANDS.get(command)
        if allowed is None:
            raise Refused(f"unknown command {command!r}")
        if self.state not in allowed:
            states = ", ".join(sorted(allowed))
            if self.state == S.FAULT:
                can = ", ".join(c for c, ok in COMMANDS.items() if S.FAULT in ok)
                raise Refused(f"drone {self.drone_id} is in fault ({fault or 'no global position in the air'}): "
                              f"{command} is refused (needs one of {states}); a drone in fault takes only {can}")
            raise Refused(f"drone {self.drone_id} is {self.state}: {command} needs one of {states}")
