"""The reference East China UAV hub: a FastAPI app over an `AuthorityEngine` (its own database).

It plays the authority: publishes zones and temporary restrictions, decides filed operational
intents by the filing rules, tracks positions, flags non-conformance and notifies. The protocol
is described in docs/hub-protocol.md; the OpenAPI document is at /openapi.json.
"""

from __future__ import annotations

from datetime import datetime
from typing import Annotated, Any

from fastapi import Depends, FastAPI, Header, Query, Request
from fastapi.responses import JSONResponse
from pydantic import BaseModel, Field

from airspace.authority import IntentRequest, Notification, OperationalIntent, PositionReport
from airspace.hub.engine import AuthorityEngine
from airspace.model import Zone
from core.errors import BadInput, SkyPatrolError

API = "/v1"


class ZoneList(BaseModel):
    zones: list[Zone]


class PositionBatch(BaseModel):
    reports: list[PositionReport] = Field(max_length=10_000)


class PositionAck(BaseModel):
    received: int


class Decision(BaseModel):
    accept: bool
    message: str = ""


class RevokedList(BaseModel):
    revoked: list[str]


class NotificationList(BaseModel):
    notifications: list[Notification]


def create_hub_app(engine: AuthorityEngine, admin_token: str | None = None) -> FastAPI:
    app = FastAPI(
        title="East China UAV hub (SkyPatrol reference)",
        version="1",
        description="Operational intents, zones and temporary restrictions, live positions, notifications.",
    )
    app.state.engine = engine

    @app.exception_handler(SkyPatrolError)
    async def _errors(_: Request, exc: SkyPatrolError) -> JSONResponse:
        return JSONResponse(
            status_code=exc.status_code,
            content={"error": {"code": exc.code, "message": exc.message, "details": exc.details}},
        )

    def hub_admin(authorization: Annotated[str | None, Header()] = None) -> None:
        if admin_token is not None and authorization != f"Bearer {admin_token}":
            raise _Forbidden("the hub operator's token is required")

    @app.get(f"{API}/health")
    def health() -> dict[str, str]:
        return {"status": "ok"}

    @app.get(f"{API}/zones", response_model=ZoneList)
    def zones(
        bbox: Annotated[str | None, Query(description="lon_min,lat_min,lon_max,lat_max")] = None,
        start: datetime | None = None,
        end: datetime | None = None,
    ) -> ZoneList:
        return ZoneList(zones=engine.zones(_bbox(bbox), start, end))

    @app.post(f"{API}/restrictions", response_model=RevokedList, status_code=201, dependencies=[Depends(hub_admin)])
    def add_restriction(zone: Zone) -> RevokedList:
        return RevokedList(revoked=engine.add_restriction(zone))

    @app.post(f"{API}/intents", response_model=OperationalIntent, status_code=201)
    def file_intent(
        request: IntentRequest, idempotency_key: Annotated[str | None, Header(max_length=128)] = None
    ) -> OperationalIntent:
        return engine.file_intent(request, idempotency_key)

    @app.get(f"{API}/intents/{{intent_id}}", response_model=OperationalIntent)
    def get_intent(intent_id: str) -> OperationalIntent:
        return engine.get_intent(intent_id)

    @app.post(f"{API}/intents/{{intent_id}}/activate", response_model=OperationalIntent)
    def activate(intent_id: str) -> OperationalIntent:
        return engine.activate(intent_id)

    @app.post(f"{API}/intents/{{intent_id}}/end", response_model=OperationalIntent)
    def end(intent_id: str) -> OperationalIntent:
        return engine.end(intent_id)

    @app.post(f"{API}/intents/{{intent_id}}/cancel", response_model=OperationalIntent)
    def cancel(intent_id: str) -> OperationalIntent:
        return engine.cancel(intent_id)

    @app.post(
        f"{API}/intents/{{intent_id}}/decision",
        response_model=OperationalIntent,
        dependencies=[Depends(hub_admin)],
    )
    def decide(intent_id: str, decision: Decision) -> OperationalIntent:
        return engine.decide(intent_id, decision.accept, decision.message)

    @app.get(f"{API}/intents/{{intent_id}}/positions", response_model=PositionBatch)
    def positions(intent_id: str) -> PositionBatch:
        engine.get_intent(intent_id)
        return PositionBatch(reports=engine.positions(intent_id))

    @app.post(f"{API}/positions", response_model=PositionAck)
    def report_positions(batch: PositionBatch) -> PositionAck:
        return PositionAck(received=engine.report_positions(batch.reports))

    @app.get(f"{API}/notifications", response_model=NotificationList)
    def notifications(after: int = 0, operator_id: str | None = None) -> NotificationList:
        return NotificationList(notifications=engine.notifications(after, operator_id))

    return app


class _Forbidden(SkyPatrolError):
    status_code = 403
    code = "forbidden"


def _bbox(value: str | None) -> tuple[float, float, float, float] | None:
    if value is None:
        return None
    try:
        parts: Any = tuple(float(x) for x in value.split(","))
    except ValueError:
        raise BadInput(f"bbox {value!r} is not four numbers") from None
    if len(parts) != 4:
        raise BadInput(f"bbox {value!r} is not lon_min,lat_min,lon_max,lat_max")
    return parts
