"""The audit log, read-only (admin)."""

from __future__ import annotations

from datetime import datetime
from typing import Annotated, Any

from fastapi import APIRouter, Depends, Query
from pydantic import BaseModel
from sqlalchemy import select
from sqlalchemy.orm import Session

from core.auth import Principal, require_role
from core.db import get_session
from core.models import AuditLog

router = APIRouter(prefix="/api/v1/audit", tags=["audit"])


class AuditOut(BaseModel):
    id: int
    at: datetime
    actor: str
    actor_role: str
    token_id: str | None
    action: str
    target_type: str
    target_ids: list[str]
    details: dict[str, Any] | None


@router.get("", response_model=list[AuditOut], summary="Audit records after an id, oldest first")
def list_audit(
    after: Annotated[int, Query(ge=0, le=2**62)] = 0,
    target_type: Annotated[str | None, Query(max_length=64)] = None,
    limit: Annotated[int, Query(ge=1, le=1000)] = 100,
    session: Session = Depends(get_session),
    _: Principal = Depends(require_role("admin")),
) -> list[AuditOut]:
    q = select(AuditLog).where(AuditLog.id > after)
    if target_type:
        q = q.where(AuditLog.target_type == target_type)
    rows = session.execute(q.order_by(AuditLog.id).limit(limit)).scalars()
    return [AuditOut(id=r.id, at=r.at, actor=r.actor, actor_role=r.actor_role, token_id=r.token_id,
                     action=r.action, target_type=r.target_type,
                     target_ids=list((r.target_ids or {}).get("ids", [])), details=r.details)
            for r in rows]
