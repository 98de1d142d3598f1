"""The audit log: who changed what, when, and which ids. Written in the same transaction."""

from __future__ import annotations

from collections.abc import Iterable
from typing import Any

from sqlalchemy.orm import Session

from core.auth import Principal
from core.models import AuditLog


def record(session: Session, principal: Principal, action: str, target_type: str,
           target_id: str | int | Iterable[str | int] | None = None,
           details: dict[str, Any] | None = None) -> AuditLog:
    if target_id is None:
        ids: list[str] = []
    elif isinstance(target_id, str | int):
        ids = [str(target_id)]
    else:
        ids = [str(i) for i in target_id]
    row = AuditLog(actor=principal.name, actor_role=principal.role, token_id=principal.token_id,
                   action=action, target_type=target_type, target_ids={"ids": ids}, details=details)
    session.add(row)
    return row
