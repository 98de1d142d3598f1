"""API schemas for drones (separate from the ORM rows)."""

from __future__ import annotations

from datetime import datetime
from typing import Annotated, Literal

from pydantic import BaseModel, ConfigDict, Field, field_validator

DroneId = Annotated[str, Field(pattern=r"^[a-z0-9][a-z0-9_-]{0,63}$", description="lower-case slug")]
CONNECTION_SCHEMES = ("udpin://", "udpout://", "tcpin://", "tcpout://", "serial://")


class Home(BaseModel):
    model_config = ConfigDict(extra="forbid")
    lat: float = Field(ge=-90, le=90)
    lon: float = Field(ge=-180, le=180)
    alt_amsl_m: float = Field(default=0.0, ge=-500, le=9000)


def _check_url(v: str | None) -> str | None:
    if v is not None and not v.startswith(CONNECTION_SCHEMES):
        raise ValueError(f"must be a MAVSDK connection string starting with one of {', '.join(CONNECTION_SCHEMES)}")
    return v


class DroneCreate(BaseModel):
    model_config = ConfigDict(extra="forbid")
    id: DroneId
    name: str = Field(min_length=1, max_length=128)
    model: str | None = Field(default=None, max_length=128)
    registration_no: str | None = Field(default=None, max_length=64, description="CAAC real-name registration")
    connection_url: str | None = Field(default=None, max_length=255)
    home: Home | None = None
    dock: str | None = Field(default=None, max_length=128)

    _url = field_validator("connection_url")(_check_url)


class DroneUpdate(BaseModel):
    model_config = ConfigDict(extra="forbid")
    name: str | None = Field(default=None, min_length=1, max_length=128)
    model: str | None = Field(default=None, max_length=128)
    registration_no: str | None = Field(default=None, max_length=64)
    connection_url: str | None = Field(default=None, max_length=255)
    home: Home | None = None
    dock: str | None = Field(default=None, max_length=128)

    _url = field_validator("connection_url")(_check_url)


class DroneOut(BaseModel):
    id: str
    name: str
    model: str | None
    registration_no: str | None
    connection_url: str | None
    home: Home | None
    dock: str | None
    state: str
    created_at: datetime
    updated_at: datetime
    flights_total: int = 0
    flight_h_total: float = 0.0
    battery_cycles: float = 0.0


MAINTENANCE_KINDS = ("service", "battery_replaced", "repair", "inspection", "firmware", "propellers", "other")


class MaintenanceCreate(BaseModel):
    """`service` resets the hours since service; `battery_replaced` starts a new pack's cycles."""

    model_config = ConfigDict(extra="forbid")
    kind: Literal["service", "battery_replaced", "repair", "inspection", "firmware", "propellers", "other"]
    note: str | None = Field(default=None, max_length=2000)


class MaintenanceRecordOut(BaseModel):
    id: int
    at: datetime
    kind: str
    note: str | None
    by: str
    flight_h_total_at: float
    battery_cycles_at: float


class MaintenanceOut(BaseModel):
    drone_id: str
    flights_total: int
    flight_h_total: float
    flight_h_since_service: float
    battery_cycles: float
    service_interval_h: float  # 0: no limit
    service_due: bool  # due drones are not dispatched
    last_service_at: datetime | None
    records: list[MaintenanceRecordOut]
