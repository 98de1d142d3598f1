"""The airspace authority protocol: what SkyPatrol asks of the regional UAV hub.

Modelled on ASTM F3548 operational intents and the CAAC UOM practice: fetch zones and temporary
restrictions; file a flight as a 4D operational intent (volumes with altitude bands and time
windows) and get back an id and a state with reasons; activate, report positions, end, cancel;
receive notifications. `LocalAuthority` decides in-process, `HubClient` talks to a hub over HTTP;
the wire format is these models as JSON (docs/hub-protocol.md).
"""

from __future__ import annotations

from datetime import datetime
from enum import StrEnum
from typing import Any, Protocol, runtime_checkable

from pydantic import BaseModel, ConfigDict, Field, field_validator, model_validator

from airspace.model import Zone, as_utc
from airspace.rules import DroneClass


class IntentState(StrEnum):
    PENDING = "pending"  # filed, awaiting the authority's decision
    ACCEPTED = "accepted"
    REJECTED = "rejected"
    ACTIVATED = "activated"  # airborne
    ENDED = "ended"
    CANCELLED = "cancelled"
    REVOKED = "revoked"  # withdrawn by the authority (e.g. a new restriction)


LIVE_STATES = frozenset({IntentState.PENDING, IntentState.ACCEPTED, IntentState.ACTIVATED})


class _Wire(BaseModel):
    model_config = ConfigDict(extra="forbid")


class IntentVolume(_Wire):
    """A 4D volume: a horizontal outline, an altitude band AMSL, a time window (UTC)."""

    outline: list[tuple[float, float]] = Field(min_length=4)  # closed ring of (lon, lat)
    alt_lower_amsl_m: float
    alt_upper_amsl_m: float
    time_start: datetime
    time_end: datetime

    @field_validator("time_start", "time_end")
    @classmethod
    def _utc(cls, v: datetime) -> datetime:
        return as_utc(v)

    @model_validator(mode="after")
    def _ordered(self) -> IntentVolume:
        if self.alt_upper_amsl_m < self.alt_lower_amsl_m:
            raise ValueError("altitude band upper below lower")
        if self.time_end <= self.time_start:
            raise ValueError("time window ends before it starts")
        return self


class IntentRequest(_Wire):
    operator_id: str = Field(min_length=1)
    drone_id: str = Field(min_length=1)
    drone_class: DroneClass = DroneClass.LIGHT
    registration: str | None = None  # CAAC real-name registration number
    pilot_licence: str | None = None
    mission_id: str | None = None
    priority: int = 0
    emergency: bool = False
    home_amsl_m: float = 0.0  # ground height at take-off, for AGL limits
    authorisations: list[str] = Field(default_factory=list)  # zone ids already authorised
    volumes: list[IntentVolume] = Field(min_length=1)

    @property
    def time_start(self) -> datetime:
        return min(v.time_start for v in self.volumes)

    @property
    def time_end(self) -> datetime:
        return max(v.time_end for v in self.volumes)


class Reason(_Wire):
    code: str  # late_filing, conflict, prohibited_zone, too_late, not_allowed, ...
    message: str


class OperationalIntent(_Wire):
    id: str
    state: IntentState
    reasons: list[Reason] = Field(default_factory=list)
    needs_authorisation: bool = False
    request: IntentRequest
    filed_at: datetime
    updated_at: datetime
    conformant: bool = True


class PositionReport(_Wire):
    intent_id: str
    drone_id: str
    time: datetime
    lat: float = Field(ge=-90, le=90)
    lon: float = Field(ge=-180, le=180)
    alt_amsl_m: float

    @field_validator("time")
    @classmethod
    def _utc(cls, v: datetime) -> datetime:
        return as_utc(v)


class NotificationKind(StrEnum):
    RESTRICTION_ADDED = "restriction_added"
    PLAN_REVOKED = "plan_revoked"
    NONCONFORMANCE = "nonconformance"


class Notification(_Wire):
    seq: int
    kind: NotificationKind
    time: datetime
    operator_id: str | None = None  # None: for every operator
    intent_id: str | None = None
    detail: str
    data: dict[str, Any] = Field(default_factory=dict)


class DispatchReadiness(_Wire):
    """May a new flight be dispatched? False with a reason when the authority cannot be reached."""

    ok: bool
    reason: str | None = None


@runtime_checkable
class AirspaceAuthority(Protocol):
    def zones(
        self,
        bbox: tuple[float, float, float, float] | None = None,
        start: datetime | None = None,
        end: datetime | None = None,
    ) -> list[Zone]:
        """Zones and temporary restrictions in a (lon_min, lat_min, lon_max, lat_max) box, in force
        at some time in [start, end)."""
        ...

    def file_intent(self, request: IntentRequest, idempotency_key: str | None = None) -> OperationalIntent: ...

    def get_intent(self, intent_id: str) -> OperationalIntent: ...

    def activate(self, intent_id: str) -> OperationalIntent: ...

    def end(self, intent_id: str) -> OperationalIntent: ...

    def cancel(self, intent_id: str) -> OperationalIntent: ...

    def report_positions(self, reports: list[PositionReport]) -> int:
        """Report positions; returns how many the authority has now received (others are buffered)."""
        ...

    def notifications(self, after: int = 0, operator_id: str | None = None) -> list[Notification]: ...

    def dispatch_readiness(self) -> DispatchReadiness: ...
