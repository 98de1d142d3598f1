"""Tokens (admin): create (the secret is shown once), list, revoke; and `GET /api/v1/me`."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta
from typing import Annotated, Literal

from fastapi import APIRouter, Depends, Path, Response
from pydantic import BaseModel, ConfigDict, Field
from sqlalchemy import select
from sqlalchemy.orm import Session

from core import audit
from core.auth import Principal, create_token, require_role
from core.db import get_session
from core.errors import BadInput, NotFound
from core.models import Token, User

router = APIRouter(prefix="/api/v1", tags=["tokens"])
Role = Literal["viewer", "pilot", "admin"]


class TokenCreate(BaseModel):
    model_config = ConfigDict(extra="forbid")
    name: str = Field(min_length=1, max_length=128)
    role: Role
    expires_in_s: int | None = Field(default=None, ge=60, le=10 * 365 * 86400)
    user_id: int | None = Field(default=None, ge=1)


class TokenOut(BaseModel):
    id: str
    name: str
    role: Role
    user_id: int | None
    created_at: datetime
    expires_at: datetime | None
    revoked_at: datetime | None


class TokenCreated(TokenOut):
    token: str = Field(description="the bearer token; shown only once")


class Me(BaseModel):
    name: str
    role: Role
    token_id: str | None


def _out(row: Token) -> TokenOut:
    return TokenOut(id=row.id, name=row.name, role=row.role, user_id=row.user_id,  # type: ignore[arg-type]
                    created_at=row.created_at, expires_at=row.expires_at, revoked_at=row.revoked_at)


@router.get("/me", response_model=Me, summary="Who the presented token belongs to")
def me(principal: Principal = Depends(require_role("viewer"))) -> Me:
    return Me(name=principal.name, role=principal.role, token_id=principal.token_id)  # type: ignore[arg-type]


@router.post("/tokens", status_code=201, response_model=TokenCreated, summary="Create a token")
def post_token(body: TokenCreate, session: Session = Depends(get_session),
               principal: Principal = Depends(require_role("admin"))) -> TokenCreated:
    if body.user_id is not None and session.get(User, body.user_id) is None:
        raise BadInput(f"user {body.user_id} does not exist")
    expires = datetime.now(UTC) + timedelta(seconds=body.expires_in_s) if body.expires_in_s else None
    row, secret = create_token(session, body.name, body.role, expires_at=expires, user_id=body.user_id)
    audit.record(session, principal, "token.create", "token", row.id, {"name": row.name, "role": row.role})
    return TokenCreated(**_out(row).model_dump(), token=secret)


@router.get("/tokens", response_model=list[TokenOut], summary="List tokens (never their secrets)")
def list_tokens(session: Session = Depends(get_session),
                _: Principal = Depends(require_role("admin"))) -> list[TokenOut]:
    return [_out(t) for t in session.execute(select(Token).order_by(Token.created_at)).scalars()]


@router.delete("/tokens/{token_id}", status_code=204, summary="Revoke a token")
def revoke_token(token_id: Annotated[str, Path(max_length=32)], session: Session = Depends(get_session),
                 principal: Principal = Depends(require_role("admin"))) -> Response:
    row = session.get(Token, token_id)
    if row is None:
        raise NotFound(f"token {token_id} not found")
    if row.revoked_at is None:
        row.revoked_at = datetime.now(UTC)
        audit.record(session, principal, "token.revoke", "token", row.id)
    return Response(status_code=204)
