"""ORM rows (SQLAlchemy 2 typed). API schemas live apart from these (pydantic, per router)."""

from __future__ import annotations

from datetime import UTC, datetime
from typing import Any, ClassVar

from sqlalchemy import (
    JSON,
    BigInteger,
    Boolean,
    DateTime,
    Float,
    ForeignKey,
    Index,
    Integer,
    String,
    Text,
    UniqueConstraint,
)
from sqlalchemy.orm import DeclarativeBase, Mapped, mapped_column

# SQLite only makes INTEGER PRIMARY KEY the fast rowid alias; PostgreSQL gets a real BIGINT.
SeqInt = BigInteger().with_variant(Integer(), "sqlite")


def utcnow() -> datetime:
    return datetime.now(UTC)


class Base(DeclarativeBase):
    type_annotation_map: ClassVar[dict[Any, Any]] = {dict[str, Any]: JSON, datetime: DateTime(timezone=True)}


class Event(Base):
    """The append-only event log. `seq` is assigned by the single writer at commit."""

    __tablename__ = "events"
    seq: Mapped[int] = mapped_column(SeqInt, primary_key=True, autoincrement=False)
    id: Mapped[str] = mapped_column(String(128))
    source: Mapped[str] = mapped_column(String(255))
    type: Mapped[str] = mapped_column(String(128))
    subject: Mapped[str | None] = mapped_column(String(255))
    time: Mapped[datetime]
    datacontenttype: Mapped[str] = mapped_column(String(64), default="application/json")
    data: Mapped[str | None] = mapped_column(Text)  # JSON text, stored as received
    recorded_at: Mapped[datetime] = mapped_column(default=utcnow)
    __table_args__ = (
        UniqueConstraint("source", "id", name="uq_events_source_id"),
        Index("ix_events_type_seq", "type", "seq"),
        Index("ix_events_subject_seq", "subject", "seq"),
        Index("ix_events_time", "time"),
    )


class StreamCursor(Base):
    """How far a durable consumer (the MQTT bridge, say) has had events acknowledged."""

    __tablename__ = "stream_cursors"
    name: Mapped[str] = mapped_column(String(128), primary_key=True)
    seq: Mapped[int] = mapped_column(BigInteger, default=0)
    updated_at: Mapped[datetime] = mapped_column(default=utcnow, onupdate=utcnow)


class User(Base):
    __tablename__ = "users"
    id: Mapped[int] = mapped_column(Integer, primary_key=True, autoincrement=True)
    name: Mapped[str] = mapped_column(String(128), unique=True)
    role: Mapped[str] = mapped_column(String(16))
    licence_no: Mapped[str | None] = mapped_column(String(64))  # CAAC remote-pilot licence
    disabled: Mapped[bool] = mapped_column(Boolean, default=False)
    created_at: Mapped[datetime] = mapped_column(default=utcnow)


class Token(Base):
    """A bearer token; only its SHA-256 is stored."""

    __tablename__ = "tokens"
    id: Mapped[str] = mapped_column(String(32), primary_key=True)
    name: Mapped[str] = mapped_column(String(128))
    role: Mapped[str] = mapped_column(String(16))
    token_hash: Mapped[str] = mapped_column(String(64), unique=True)
    user_id: Mapped[int | None] = mapped_column(ForeignKey("users.id", ondelete="SET NULL"))
    created_at: Mapped[datetime] = mapped_column(default=utcnow)
    expires_at: Mapped[datetime | None]
    revoked_at: Mapped[datetime | None]
    last_used_at: Mapped[datetime | None]


class AuditLog(Base):
    __tablename__ = "audit_log"
    id: Mapped[int] = mapped_column(SeqInt, primary_key=True, autoincrement=True)
    at: Mapped[datetime] = mapped_column(default=utcnow)
    actor: Mapped[str] = mapped_column(String(128))
    actor_role: Mapped[str] = mapped_column(String(16))
    token_id: Mapped[str | None] = mapped_column(String(32))
    action: Mapped[str] = mapped_column(String(64))
    target_type: Mapped[str] = mapped_column(String(64))
    target_ids: Mapped[dict[str, Any] | None] = mapped_column(JSON)  # {"ids": [...]}
    details: Mapped[dict[str, Any] | None] = mapped_column(JSON)
    __table_args__ = (Index("ix_audit_target", "target_type", "at"),)


class Drone(Base):
    __tablename__ = "drones"
    id: Mapped[str] = mapped_column(String(64), primary_key=True)
    name: Mapped[str] = mapped_column(String(128))
    model: Mapped[str | None] = mapped_column(String(128))
    registration_no: Mapped[str | None] = mapped_column(String(64))  # CAAC real-name registration
    connection_url: Mapped[str | None] = mapped_column(String(255))
    home_lat: Mapped[float | None] = mapped_column(Float)
    home_lon: Mapped[float | None] = mapped_column(Float)
    home_alt_amsl_m: Mapped[float | None] = mapped_column(Float)
    dock: Mapped[str | None] = mapped_column(String(128))
    state: Mapped[str] = mapped_column(String(32), default="offline")
    doc: Mapped[dict[str, Any] | None] = mapped_column(JSON)
    created_at: Mapped[datetime] = mapped_column(default=utcnow)
    updated_at: Mapped[datetime] = mapped_column(default=utcnow, onupdate=utcnow)
    # Wear, counted by the dispatcher after every flight: battery cycles are full-discharge
    # equivalents of the fitted pack; a service resets the hours since service.
    flights_total: Mapped[int] = mapped_column(Integer, default=0, server_default="0")
    flight_s_total: Mapped[float] = mapped_column(Float, default=0.0, server_default="0")
    flight_s_since_service: Mapped[float] = mapped_column(Float, default=0.0, server_default="0")
    battery_cycles: Mapped[float] = mapped_column(Float, default=0.0, server_default="0")
    last_service_at: Mapped[datetime | None]


class MaintenanceRecord(Base):
    """Maintenance done on a drone: a service, a battery swap, a repair, an inspection."""

    __tablename__ = "maintenance_records"
    id: Mapped[int] = mapped_column(SeqInt, primary_key=True, autoincrement=True)
    drone_id: Mapped[str] = mapped_column(String(64), ForeignKey("drones.id", ondelete="CASCADE"), index=True)
    at: Mapped[datetime] = mapped_column(default=utcnow)
    kind: Mapped[str] = mapped_column(String(32))
    note: Mapped[str | None] = mapped_column(Text)
    by: Mapped[str] = mapped_column(String(128))
    flight_s_total_at: Mapped[float] = mapped_column(Float, default=0.0)
    battery_cycles_at: Mapped[float] = mapped_column(Float, default=0.0)


class Zone(Base):
    __tablename__ = "zones"
    id: Mapped[str] = mapped_column(String(128), primary_key=True)  # the zone id as given in the file
    name: Mapped[str] = mapped_column(String(255))
    restriction: Mapped[str] = mapped_column(String(32))
    doc: Mapped[dict[str, Any]] = mapped_column(JSON)
    source: Mapped[str | None] = mapped_column(String(255))
    updated_at: Mapped[datetime] = mapped_column(default=utcnow, onupdate=utcnow)


class Plan(Base):
    __tablename__ = "plans"
    id: Mapped[str] = mapped_column(String(64), primary_key=True)
    name: Mapped[str] = mapped_column(String(255))
    doc: Mapped[dict[str, Any]] = mapped_column(JSON)
    created_at: Mapped[datetime] = mapped_column(default=utcnow)
    created_by: Mapped[str | None] = mapped_column(String(128))


class Schedule(Base):
    __tablename__ = "schedules"
    id: Mapped[str] = mapped_column(String(64), primary_key=True)
    name: Mapped[str] = mapped_column(String(255))
    plan_id: Mapped[str | None] = mapped_column(ForeignKey("plans.id", ondelete="SET NULL"))
    kind: Mapped[str] = mapped_column(String(16))  # once | cron | daily
    spec: Mapped[dict[str, Any]] = mapped_column(JSON)
    enabled: Mapped[bool] = mapped_column(Boolean, default=True)
    created_at: Mapped[datetime] = mapped_column(default=utcnow)
    created_by: Mapped[str | None] = mapped_column(String(128))


class Mission(Base):
    """One flight of one plan by one drone (a "run")."""

    __tablename__ = "missions"
    id: Mapped[str] = mapped_column(String(64), primary_key=True)
    plan_id: Mapped[str | None] = mapped_column(ForeignKey("plans.id", ondelete="SET NULL"))
    drone_id: Mapped[str | None] = mapped_column(ForeignKey("drones.id", ondelete="SET NULL"))
    schedule_id: Mapped[str | None] = mapped_column(ForeignKey("schedules.id", ondelete="SET NULL"))
    state: Mapped[str] = mapped_column(String(32), default="scheduled")
    reason: Mapped[str | None] = mapped_column(Text)
    planned_start: Mapped[datetime | None]
    started_at: Mapped[datetime | None]
    ended_at: Mapped[datetime | None]
    doc: Mapped[dict[str, Any] | None] = mapped_column(JSON)
    created_at: Mapped[datetime] = mapped_column(default=utcnow)
    updated_at: Mapped[datetime] = mapped_column(default=utcnow, onupdate=utcnow)
    __table_args__ = (Index("ix_missions_state", "state"), Index("ix_missions_drone", "drone_id"))


class Alert(Base):
    """An alert a duty officer works: raised from an alert-worthy event, then acknowledged,
    assigned and closed. The event stays in the stream; this row carries the case's state."""

    __tablename__ = "alerts"
    id: Mapped[str] = mapped_column(String(128), primary_key=True)  # the raising event's id
    seq: Mapped[int] = mapped_column(BigInteger, unique=True)  # the raising event's seq
    type: Mapped[str] = mapped_column(String(128), index=True)
    subject: Mapped[str | None] = mapped_column(String(255))
    raised_at: Mapped[datetime]
    data: Mapped[dict[str, Any] | None] = mapped_column(JSON)
    status: Mapped[str] = mapped_column(String(16), default="open", index=True)
    assignee: Mapped[str | None] = mapped_column(String(128))
    note: Mapped[str | None] = mapped_column(Text)
    updated_at: Mapped[datetime] = mapped_column(default=utcnow, onupdate=utcnow)
    updated_by: Mapped[str | None] = mapped_column(String(128))


class RoadWorksSite(Base):
    """A road-works site as inspection keeps it between patrols: the same site seen again updates
    its row (`patrols` + 1, `first_seen` kept). `doc` is the whole record the aggregator keeps."""

    __tablename__ = "road_works_sites"
    site_id: Mapped[str] = mapped_column(String(64), primary_key=True)
    geometry: Mapped[dict[str, Any]] = mapped_column(JSON)  # GeoJSON Polygon, lon/lat
    centroid_lat: Mapped[float] = mapped_column(Float)
    centroid_lon: Mapped[float] = mapped_column(Float)
    first_seen: Mapped[datetime] = mapped_column(DateTime(timezone=True))
    last_seen: Mapped[datetime] = mapped_column(DateTime(timezone=True), index=True)
    patrols: Mapped[int] = mapped_column(Integer, default=1)
    objects: Mapped[dict[str, Any] | None] = mapped_column(JSON)
    last_mission_id: Mapped[str | None] = mapped_column(String(128))
    doc: Mapped[dict[str, Any]] = mapped_column(JSON)
    updated_at: Mapped[datetime] = mapped_column(DateTime(timezone=True), default=utcnow, onupdate=utcnow)
