"""Flying drones over HTTP: commands (pilot, audited) and the latest telemetry (viewer).

The fleet manager lives in `app.state.fleet`; without it (disabled) or without a link to the
drone the answer is 503. A command the state machine or the vehicle refuses is 409 with the reason.
"""

from __future__ import annotations

from enum import StrEnum
from typing import Annotated, Any

from fastapi import APIRouter, Depends, Path, Request
from pydantic import BaseModel
from sqlalchemy.orm import Session

from core import audit
from core.auth import Principal, require_role
from core.db import get_session
from core.errors import Unavailable
from fleet import registry
from fleet.manager import FleetManager

control = APIRouter(prefix="/api/v1/drones", tags=["drones"])
DroneIdPath = Annotated[str, Path(max_length=64)]


class DroneCommand(StrEnum):
    RTL = "rtl"
    LAND = "land"
    PAUSE = "pause"
    RESUME = "resume"
    HOLD = "hold"
    KILL = "kill"  # motors off at once, wherever the drone is: the last resort


class CommandOut(BaseModel):
    drone_id: str
    command: str
    state: str


def fleet_manager(request: Request) -> FleetManager:
    manager = getattr(request.app.state, "fleet", None)
    if manager is None:
        raise Unavailable("the fleet manager is not running (fleet.enabled is off)")
    return manager


@control.post("/{drone_id}/commands/{command}", response_model=CommandOut,
              summary="Send a drone home, land it, pause or resume its mission",
              responses={409: {"description": "refused by the drone's state or by the vehicle"},
                         503: {"description": "the drone is not connected"}})
async def send_command(drone_id: DroneIdPath, command: DroneCommand, session: Session = Depends(get_session),
                       principal: Principal = Depends(require_role("pilot")),
                       manager: FleetManager = Depends(fleet_manager)) -> CommandOut:
    registry.get_drone(session, drone_id)  # 404 for an unknown drone
    out = await manager.command(drone_id, command.value)
    audit.record(session, principal, f"drone.command.{command.value}", "drone", drone_id, out)
    return CommandOut(**out)


@control.get("/{drone_id}/telemetry", summary="The drone's latest telemetry and state")
async def latest_telemetry(drone_id: DroneIdPath, session: Session = Depends(get_session),
                           _: Principal = Depends(require_role("viewer")),
                           manager: FleetManager = Depends(fleet_manager)) -> dict[str, Any]:
    registry.get_drone(session, drone_id)
    return manager.telemetry(drone_id)


fleet_control = APIRouter(prefix="/api/v1/fleet", tags=["drones"])


class ReturnAllOut(BaseModel):
    results: dict[str, str]  # drone id -> "rtl" or the reason it was refused


@fleet_control.post("/return-home", response_model=ReturnAllOut,
                    summary="All return home: every flying drone is sent RTL",
                    responses={503: {"description": "the fleet manager is not running"}})
async def return_all(session: Session = Depends(get_session), principal: Principal = Depends(require_role("pilot")),
                     manager: FleetManager = Depends(fleet_manager)) -> ReturnAllOut:
    results = await manager.return_all()
    audit.record(session, principal, "fleet.return_home", "drone", sorted(results), results)
    return ReturnAllOut(results=results)
