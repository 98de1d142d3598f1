"""Drones in the database: the fleet registry."""

from __future__ import annotations

from sqlalchemy import select
from sqlalchemy.orm import Session

from core.errors import Conflict, NotFound, Refused
from core.models import Drone
from fleet.schemas import DroneCreate, DroneOut, DroneUpdate, Home
from fleet.state import DroneState

FLYING = {DroneState.PREFLIGHT, DroneState.AIRBORNE, DroneState.RETURNING}


def to_out(d: Drone) -> DroneOut:
    home = None
    if d.home_lat is not None and d.home_lon is not None:
        home = Home(lat=d.home_lat, lon=d.home_lon, alt_amsl_m=d.home_alt_amsl_m or 0.0)
    return DroneOut(id=d.id, name=d.name, model=d.model, registration_no=d.registration_no,
                    connection_url=d.connection_url, home=home, dock=d.dock, state=d.state,
                    created_at=d.created_at, updated_at=d.updated_at, flights_total=d.flights_total or 0,
                    flight_h_total=round((d.flight_s_total or 0.0) / 3600.0, 4),
                    battery_cycles=round(d.battery_cycles or 0.0, 4))


def get_drone(session: Session, drone_id: str) -> Drone:
    d = session.get(Drone, drone_id)
    if d is None:
        raise NotFound(f"drone {drone_id} not found")
    return d


def list_drones(session: Session) -> list[Drone]:
    return list(session.execute(select(Drone).order_by(Drone.id)).scalars())


def add_drone(session: Session, body: DroneCreate) -> Drone:
    if session.get(Drone, body.id) is not None:
        raise Conflict(f"drone {body.id} exists already")
    if body.connection_url and session.execute(
            select(Drone).where(Drone.connection_url == body.connection_url)).first():
        raise Conflict(f"another drone uses {body.connection_url}")
    d = Drone(id=body.id, name=body.name, model=body.model, registration_no=body.registration_no,
              connection_url=body.connection_url, dock=body.dock, state=DroneState.OFFLINE.value)
    _set_home(d, body.home)
    session.add(d)
    session.flush()
    return d


def update_drone(session: Session, drone_id: str, body: DroneUpdate) -> tuple[Drone, dict]:
    d = get_drone(session, drone_id)
    changes = body.model_dump(exclude_unset=True)
    for k, v in changes.items():
        if k == "home":
            _set_home(d, body.home)
        elif k != "name" or v is not None:
            setattr(d, k, v)
    session.flush()
    return d, changes


def remove_drone(session: Session, drone_id: str) -> Drone:
    d = get_drone(session, drone_id)
    if d.state in FLYING:
        raise Refused(f"drone {drone_id} is {d.state}: land it before removing it")
    session.delete(d)
    return d


def _set_home(d: Drone, home: Home | None) -> None:
    d.home_lat = home.lat if home else None
    d.home_lon = home.lon if home else None
    d.home_alt_amsl_m = home.alt_amsl_m if home else None
