"""Drones: the fleet registry over HTTP (read: viewer; change: pilot)."""

from __future__ import annotations

from typing import Annotated

from fastapi import APIRouter, Depends, Path, Request, Response
from sqlalchemy.orm import Session

from core import audit
from core.auth import Principal, require_role
from core.db import get_session
from fleet import registry
from fleet.control_api import control, fleet_control
from fleet.maintenance import maintenance_of, record_maintenance
from fleet.schedules_api import router as schedules_router
from fleet.schemas import DroneCreate, DroneOut, DroneUpdate, MaintenanceCreate, MaintenanceOut

drones = APIRouter(prefix="/api/v1/drones", tags=["drones"])
DroneIdPath = Annotated[str, Path(max_length=64)]


@drones.get("", response_model=list[DroneOut], summary="List drones")
def list_drones(session: Session = Depends(get_session),
                _: Principal = Depends(require_role("viewer"))) -> list[DroneOut]:
    return [registry.to_out(d) for d in registry.list_drones(session)]


@drones.post("", status_code=201, response_model=DroneOut, summary="Add a drone")
def add_drone(body: DroneCreate, session: Session = Depends(get_session),
              principal: Principal = Depends(require_role("pilot"))) -> DroneOut:
    d = registry.add_drone(session, body)
    audit.record(session, principal, "drone.create", "drone", d.id, body.model_dump(mode="json"))
    return registry.to_out(d)


@drones.get("/{drone_id}", response_model=DroneOut, summary="One drone")
def get_drone(drone_id: DroneIdPath, session: Session = Depends(get_session),
              _: Principal = Depends(require_role("viewer"))) -> DroneOut:
    return registry.to_out(registry.get_drone(session, drone_id))


@drones.patch("/{drone_id}", response_model=DroneOut, summary="Change a drone's record")
def update_drone(drone_id: DroneIdPath, body: DroneUpdate, session: Session = Depends(get_session),
                 principal: Principal = Depends(require_role("pilot"))) -> DroneOut:
    d, _changes = registry.update_drone(session, drone_id, body)
    audit.record(session, principal, "drone.update", "drone", d.id, body.model_dump(mode="json", exclude_unset=True))
    return registry.to_out(d)


@drones.delete("/{drone_id}", status_code=204, summary="Remove a drone (not while it flies)")
def remove_drone(drone_id: DroneIdPath, session: Session = Depends(get_session),
                 principal: Principal = Depends(require_role("pilot"))) -> Response:
    registry.remove_drone(session, drone_id)
    audit.record(session, principal, "drone.delete", "drone", drone_id)
    return Response(status_code=204)


@drones.get("/{drone_id}/maintenance", response_model=MaintenanceOut,
            summary="Flights, flight hours, battery cycles, service due, and the maintenance done")
def get_maintenance(request: Request, drone_id: DroneIdPath, session: Session = Depends(get_session),
                    _: Principal = Depends(require_role("viewer"))) -> MaintenanceOut:
    return maintenance_of(session, drone_id, request.app.state.settings.fleet.service_interval_h)


@drones.post("/{drone_id}/maintenance", status_code=201, response_model=MaintenanceOut,
             summary="Record maintenance (a service resets the hours since service; a new battery its cycles)")
def add_maintenance(request: Request, drone_id: DroneIdPath, body: MaintenanceCreate,
                    session: Session = Depends(get_session),
                    principal: Principal = Depends(require_role("pilot"))) -> MaintenanceOut:
    record_maintenance(session, principal, drone_id, body)
    session.flush()
    return maintenance_of(session, drone_id, request.app.state.settings.fleet.service_interval_h)


router = APIRouter()
router.include_router(drones)
router.include_router(control)
router.include_router(fleet_control)
router.include_router(schedules_router)
