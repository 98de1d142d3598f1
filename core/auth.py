"""Bearer tokens (stored as SHA-256), roles viewer < pilot < admin, and the FastAPI dependency."""

from __future__ import annotations

import hashlib
import secrets
from dataclasses import dataclass
from datetime import UTC, datetime
from typing import TYPE_CHECKING

from fastapi import HTTPException, Request
from sqlalchemy import select
from sqlalchemy.orm import Session

from core.errors import BadInput
from core.models import Token

if TYPE_CHECKING:
    from collections.abc import Callable

ROLES = ("viewer", "pilot", "admin")
ROLE_RANK = {r: i for i, r in enumerate(ROLES)}
TOKEN_PREFIX = "sp_"


@dataclass(frozen=True, slots=True)
class Principal:
    name: str
    role: str
    token_id: str | None = None

    def has(self, role: str) -> bool:
        return ROLE_RANK[self.role] >= ROLE_RANK[role]


def check_role(role: str) -> str:
    if role not in ROLE_RANK:
        raise BadInput(f"unknown role {role!r}: choose one of {', '.join(ROLES)}")
    return role


def hash_token(token: str) -> str:
    return hashlib.sha256(token.encode()).hexdigest()


def create_token(session: Session, name: str, role: str, *, expires_at: datetime | None = None,
                 user_id: int | None = None, value: str | None = None) -> tuple[Token, str]:
    """Store a new token and return (row, plaintext). The plaintext is never stored."""
    check_role(role)
    if not name.strip():
        raise BadInput("token name must not be empty")
    if expires_at is not None and expires_at.tzinfo is None:
        expires_at = expires_at.replace(tzinfo=UTC)
    plaintext = value or TOKEN_PREFIX + secrets.token_urlsafe(32)
    row = Token(id=secrets.token_hex(8), name=name, role=role, token_hash=hash_token(plaintext),
                expires_at=expires_at, user_id=user_id)
    session.add(row)
    session.flush()
    return row, plaintext


def ensure_token(session: Session, name: str, role: str, value: str) -> Token:
    """Make sure a token with exactly this value exists (the preset admin token)."""
    row = session.execute(select(Token).where(Token.token_hash == hash_token(value))).scalar_one_or_none()
    if row is None:
        row, _ = create_token(session, name, role, value=value)
    return row


def authenticate(session: Session, token: str) -> Principal | None:
    row = session.execute(select(Token).where(Token.token_hash == hash_token(token))).scalar_one_or_none()
    if row is None or row.revoked_at is not None:
        return None
    if row.expires_at is not None:
        exp = row.expires_at if row.expires_at.tzinfo else row.expires_at.replace(tzinfo=UTC)
        if exp <= datetime.now(UTC):
            return None
    return Principal(name=row.name, role=row.role, token_id=row.id)


def token_from_request(request: Request, allow_query: bool) -> str | None:
    header = request.headers.get("authorization", "")
    scheme, _, value = header.partition(" ")
    if scheme.lower() == "bearer" and value.strip():
        return value.strip()
    if allow_query:
        return request.query_params.get("access_token") or None
    return None


def principal_for(request: Request, role: str, allow_query: bool = False) -> Principal:
    """Authenticate the request and check its role; raises 401/403 as HTTPException."""
    token = token_from_request(request, allow_query)
    if not token:
        raise HTTPException(401, "missing bearer token", headers={"WWW-Authenticate": "Bearer"})
    db = request.app.state.db
    with db.session() as s:
        principal = authenticate(s, token)
    if principal is None:
        raise HTTPException(401, "invalid, expired or revoked token", headers={"WWW-Authenticate": "Bearer"})
    if not principal.has(role):
        raise HTTPException(403, f"this needs the {role} role; the token has {principal.role}")
    request.state.principal = principal
    return principal


def require_role(role: str, *, allow_query_token: bool = False) -> Callable[[Request], Principal]:
    """FastAPI dependency: `principal: Principal = Depends(require_role("pilot"))`.

    `allow_query_token` also accepts `?access_token=` for clients that cannot send headers
    (EventSource, `<img>`), and is used only on such routes.
    """
    check_role(role)

    def dependency(request: Request) -> Principal:
        return principal_for(request, role, allow_query_token)

    dependency.__name__ = f"require_{role}"
    return dependency
