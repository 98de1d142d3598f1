"""The zone model (ED-269 in spirit): a zone, its volumes and when it applies.

Times are UTC. Horizontal coordinates are GeoJSON order: (longitude, latitude) in degrees.
"""

from __future__ import annotations

from datetime import UTC, datetime, time, timedelta
from enum import StrEnum
from typing import Annotated, Literal

import shapely
from pydantic import BaseModel, ConfigDict, Field, field_validator, model_validator

FT_TO_M = 0.3048


class Restriction(StrEnum):
    PROHIBITED = "PROHIBITED"
    REQ_AUTHORISATION = "REQ_AUTHORISATION"
    CONDITIONAL = "CONDITIONAL"
    NO_RESTRICTION = "NO_RESTRICTION"


# Restrictions that stop a flight unless the plan carries an authorisation for the zone.
AUTHORISABLE = frozenset({Restriction.REQ_AUTHORISATION, Restriction.CONDITIONAL})


class VerticalReference(StrEnum):
    AGL = "AGL"  # above ground level
    AMSL = "AMSL"  # above mean sea level
    WGS84 = "WGS84"  # above the ellipsoid; compared as AMSL (geoid undulation not modelled)


class LengthUnit(StrEnum):
    M = "M"
    FT = "FT"


class Weekday(StrEnum):
    MON = "MON"
    TUE = "TUE"
    WED = "WED"
    THU = "THU"
    FRI = "FRI"
    SAT = "SAT"
    SUN = "SUN"
    ANY = "ANY"


WEEKDAYS = (Weekday.MON, Weekday.TUE, Weekday.WED, Weekday.THU, Weekday.FRI, Weekday.SAT, Weekday.SUN)


class _Model(BaseModel):
    model_config = ConfigDict(frozen=True, extra="forbid", allow_inf_nan=False)


class PolygonShape(_Model):
    """A polygon: the first ring is the outside, the others are holes; rings closed."""

    type: Literal["Polygon"] = "Polygon"
    rings: list[list[tuple[float, float]]] = Field(min_length=1)

    @model_validator(mode="after")
    def _sound(self) -> PolygonShape:
        for i, ring in enumerate(self.rings):
            if len(ring) < 4 or ring[0] != ring[-1]:
                raise ValueError(f"ring {i} must be closed and have at least 3 corners")
            if not all(-180 <= lon <= 180 and -90 <= lat <= 90 for lon, lat in ring):
                raise ValueError(f"ring {i} has a coordinate out of range")
        polygon = shapely.Polygon(self.rings[0], self.rings[1:])
        if not polygon.is_valid or polygon.area == 0:
            raise ValueError(f"polygon is invalid: {shapely.is_valid_reason(polygon)}")
        return self


class CircleShape(_Model):
    type: Literal["Circle"] = "Circle"
    center: tuple[float, float]  # (lon, lat)
    radius_m: float = Field(gt=0, le=1_000_000)

    @field_validator("center")
    @classmethod
    def _in_range(cls, v: tuple[float, float]) -> tuple[float, float]:
        if not (-180 <= v[0] <= 180 and -90 <= v[1] <= 90):
            raise ValueError("centre out of range")
        return v


Shape = Annotated[PolygonShape | CircleShape, Field(discriminator="type")]


class DailyPeriod(_Model):
    """On the given days, from start to end time (UTC). No days means every day; no start means
    midnight, no end means the end of the day; an end before the start runs past midnight."""

    days: list[Weekday] = Field(default_factory=list)
    start_time: time | None = None
    end_time: time | None = None

    def applies(self, at: datetime) -> bool:
        at = as_utc(at)
        t = at.time().replace(tzinfo=None)
        start = self.start_time or time(0, 0)
        end = self.end_time
        if end is None or end == start == time(0, 0):
            return self._on_day(at) and t >= start
        if end > start:
            return self._on_day(at) and start <= t < end
        # Overnight: the part after midnight belongs to the previous day's period.
        return (self._on_day(at) and t >= start) or (self._on_day(at - timedelta(days=1)) and t < end)

    def _on_day(self, at: datetime) -> bool:
        if not self.days or Weekday.ANY in self.days:
            return True
        return WEEKDAYS[at.weekday()] in self.days


class Applicability(_Model):
    """When a zone is in force: a window [start, end) and, within it, an optional weekly schedule."""

    permanent: bool = False
    start: datetime | None = None
    end: datetime | None = None
    schedule: list[DailyPeriod] = Field(default_factory=list)

    @field_validator("start", "end")
    @classmethod
    def _utc(cls, v: datetime | None) -> datetime | None:
        return as_utc(v) if v is not None else None

    @model_validator(mode="after")
    def _window_ordered(self) -> Applicability:
        if self.start and self.end and self.end <= self.start:
            raise ValueError("applicability ends before it starts")
        return self

    def applies(self, at: datetime) -> bool:
        at = as_utc(at)
        if self.start is not None and at < self.start:
            return False
        if self.end is not None and at >= self.end:
            return False
        return not self.schedule or any(p.applies(at) for p in self.schedule)


class Volume(_Model):
    """A horizontal shape between two vertical limits. A missing lower limit is the ground, a
    missing upper limit is unlimited. `applicability`, when set, overrides the zone's."""

    shape: Shape
    lower: float | None = None
    lower_reference: VerticalReference = VerticalReference.AGL
    upper: float | None = None
    upper_reference: VerticalReference = VerticalReference.AGL
    unit: LengthUnit = LengthUnit.M
    applicability: list[Applicability] | None = None

    @property
    def lower_m(self) -> float | None:
        return None if self.lower is None else self._to_m(self.lower)

    @property
    def upper_m(self) -> float | None:
        return None if self.upper is None else self._to_m(self.upper)

    def _to_m(self, value: float) -> float:
        return value * FT_TO_M if self.unit is LengthUnit.FT else value


class ZoneAuthority(_Model):
    name: str | None = None
    service: str | None = None
    contact_name: str | None = None
    email: str | None = None
    phone: str | None = None
    site_url: str | None = None
    purpose: str | None = None
    interval_before: str | None = None


class Zone(_Model):
    id: str = Field(min_length=1, max_length=128)
    name: str = ""
    restriction: Restriction
    reasons: list[str] = Field(default_factory=list)
    message: str | None = None
    restriction_conditions: str | None = None
    country: str | None = None
    authority: list[ZoneAuthority] = Field(default_factory=list)
    volumes: list[Volume] = Field(min_length=1)
    applicability: list[Applicability] = Field(default_factory=list)  # empty: always in force

    def volume_applies(self, volume: Volume, at: datetime) -> bool:
        periods = volume.applicability if volume.applicability is not None else self.applicability
        return not periods or any(p.applies(at) for p in periods)

    def applies(self, at: datetime) -> bool:
        return any(self.volume_applies(v, at) for v in self.volumes)


def as_utc(at: datetime) -> datetime:
    """Naive times are taken as UTC, aware ones converted to it."""
    return at.replace(tzinfo=UTC) if at.tzinfo is None else at.astimezone(UTC)
