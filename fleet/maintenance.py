"""Wear and maintenance per drone: flights, flight hours and battery cycles (counted by the
dispatcher after every flight), and the maintenance done. A drone past its service interval
is not dispatched until a `service` is recorded."""

from __future__ import annotations

from datetime import UTC, datetime

from sqlalchemy import select
from sqlalchemy.orm import Session

from core import audit
from core.auth import Principal
from core.models import MaintenanceRecord
from fleet.registry import get_drone
from fleet.schemas import MaintenanceCreate, MaintenanceOut, MaintenanceRecordOut


def maintenance_of(session: Session, drone_id: str, service_interval_h: float) -> MaintenanceOut:
    d = get_drone(session, drone_id)
    rows = session.execute(select(MaintenanceRecord).where(MaintenanceRecord.drone_id == drone_id)
                           .order_by(MaintenanceRecord.id.desc())).scalars()
    since_h = (d.flight_s_since_service or 0.0) / 3600.0
    return MaintenanceOut(
        drone_id=d.id, flights_total=d.flights_total or 0, flight_h_total=(d.flight_s_total or 0.0) / 3600.0,
        flight_h_since_service=since_h, battery_cycles=d.battery_cycles or 0.0,
        service_interval_h=service_interval_h, service_due=service_interval_h > 0 and since_h >= service_interval_h,
        last_service_at=d.last_service_at,
        records=[MaintenanceRecordOut(id=r.id, at=r.at, kind=r.kind, note=r.note, by=r.by,
                                      flight_h_total_at=r.flight_s_total_at / 3600.0,
                                      battery_cycles_at=r.battery_cycles_at) for r in rows],
    )


def record_maintenance(session: Session, principal: Principal, drone_id: str, body: MaintenanceCreate) -> None:
    d = get_drone(session, drone_id)
    now = datetime.now(UTC)
    session.add(MaintenanceRecord(drone_id=d.id, at=now, kind=body.kind, note=body.note, by=principal.name,
                                  flight_s_total_at=d.flight_s_total or 0.0, battery_cycles_at=d.battery_cycles or 0.0))
    if body.kind == "service":
        d.flight_s_since_service = 0.0
        d.last_service_at = now
    elif body.kind == "battery_replaced":
        d.battery_cycles = 0.0
    audit.record(session, principal, f"drone.maintenance.{body.kind}", "drone", d.id, body.model_dump(mode="json"))
