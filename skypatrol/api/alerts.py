"""Alerts: the duty officers' cases (viewer reads; pilots acknowledge, assign, close, reopen)."""

from __future__ import annotations

import asyncio
from datetime import datetime
from typing import Annotated, Any, Literal

from fastapi import APIRouter, Depends, Path, Query, Request
from pydantic import BaseModel, ConfigDict, Field
from sqlalchemy import select
from sqlalchemy.orm import Session

from core.auth import Principal, require_role
from core.db import get_session
from core.errors import NotFound
from core.models import Alert
from skypatrol.alerts import STATUS_CHANGED, change_status, status_event_data

router = APIRouter(prefix="/api/v1/alerts", tags=["alerts"])
AlertId = Annotated[str, Path(max_length=128)]


class AlertOut(BaseModel):
    model_config = ConfigDict(from_attributes=True)
    id: str
    seq: int
    type: str
    subject: str | None
    raised_at: datetime
    data: dict[str, Any] | None
    status: Literal["open", "acknowledged", "assigned", "closed"]
    assignee: str | None
    note: str | None
    updated_at: datetime
    updated_by: str | None


class AlertAction(BaseModel):
    model_config = ConfigDict(extra="forbid")
    assignee: str | None = Field(default=None, min_length=1, max_length=128)
    note: str | None = Field(default=None, max_length=2000)


@router.get("", response_model=list[AlertOut], summary="Alerts, newest first")
def list_alerts(
    status: Annotated[Literal["open", "acknowledged", "assigned", "closed"] | None, Query()] = None,
    type: Annotated[str | None, Query(max_length=128)] = None,
    before_seq: Annotated[int | None, Query(ge=1, le=2**62)] = None,
    limit: Annotated[int, Query(ge=1, le=1000)] = 100,
    session: Session = Depends(get_session),
    _: Principal = Depends(require_role("viewer")),
) -> list[Alert]:
    q = select(Alert)
    if status is not None:
        q = q.where(Alert.status == status)
    if type is not None:
        q = q.where(Alert.type == type)
    if before_seq is not None:
        q = q.where(Alert.seq < before_seq)
    return list(session.execute(q.order_by(Alert.seq.desc()).limit(limit)).scalars())


@router.get("/{alert_id}", response_model=AlertOut, summary="One alert")
def get_alert(alert_id: AlertId, session: Session = Depends(get_session),
              _: Principal = Depends(require_role("viewer"))) -> Alert:
    alert = session.get(Alert, alert_id)
    if alert is None:
        raise NotFound(f"alert {alert_id} does not exist")
    return alert


@router.post("/{alert_id}/{action}", response_model=AlertOut,
             summary="Acknowledge, assign (needs an assignee), close or reopen an alert",
             responses={404: {"description": "no such alert"}, 409: {"description": "not allowed from its status"}})
async def act_on_alert(request: Request, alert_id: AlertId,
                       action: Annotated[str, Path(pattern="^(acknowledge|assign|close|reopen)$")],
                       body: AlertAction | None = None,
                       principal: Principal = Depends(require_role("pilot"))) -> AlertOut:
    body = body or AlertAction()

    def apply() -> AlertOut:
        with request.app.state.db.session() as s:
            alert = change_status(s, principal, alert_id, action, body.assignee, body.note)
            s.flush()
            return AlertOut.model_validate(alert)

    out = await asyncio.to_thread(apply)
    await request.app.state.bus.publish(STATUS_CHANGED, status_event_data(out), subject=alert_id)
    return out
