"""API schemas for drones (separate from the ORM rows)."""

from __future__ import annotations

from datetime import datetime
from typing import Annotated

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
