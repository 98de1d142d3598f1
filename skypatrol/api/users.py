"""Users (admin): pilots and operators, with their CAAC licence numbers."""

from __future__ import annotations

from datetime import datetime
from typing import Annotated, Literal

from fastapi import APIRouter, Depends, Path, Response
from pydantic import BaseModel, ConfigDict, Field
from sqlalchemy import select
from sqlalchemy.orm import Session

from core import audit
from core.auth import Principal, require_role
from core.db import get_session
from core.errors import Conflict, NotFound
from core.models import User

router = APIRouter(prefix="/api/v1/users", tags=["users"])
Role = Literal["viewer", "pilot", "admin"]
UserId = Annotated[int, Path(ge=1, le=2**31 - 1)]


class UserCreate(BaseModel):
    model_config = ConfigDict(extra="forbid")
    name: str = Field(min_length=1, max_length=128)
    role: Role
    licence_no: str | None = Field(default=None, max_length=64)


class UserUpdate(BaseModel):
    model_config = ConfigDict(extra="forbid")
    role: Role | None = None
    licence_no: str | None = Field(default=None, max_length=64)
    disabled: bool | None = None


class UserOut(BaseModel):
    id: int
    name: str
    role: Role
    licence_no: str | None
    disabled: bool
    created_at: datetime


def _out(u: User) -> UserOut:
    return UserOut(id=u.id, name=u.name, role=u.role, licence_no=u.licence_no,  # type: ignore[arg-type]
                   disabled=u.disabled, created_at=u.created_at)


def _get(session: Session, user_id: int) -> User:
    u = session.get(User, user_id)
    if u is None:
        raise NotFound(f"user {user_id} not found")
    return u


@router.get("", response_model=list[UserOut], summary="List users")
def list_users(session: Session = Depends(get_session),
               _: Principal = Depends(require_role("admin"))) -> list[UserOut]:
    return [_out(u) for u in session.execute(select(User).order_by(User.id)).scalars()]


@router.post("", status_code=201, response_model=UserOut, summary="Create a user")
def create_user(body: UserCreate, session: Session = Depends(get_session),
                principal: Principal = Depends(require_role("admin"))) -> UserOut:
    if session.execute(select(User).where(User.name == body.name)).first():
        raise Conflict(f"a user named {body.name!r} exists already")
    u = User(name=body.name, role=body.role, licence_no=body.licence_no)
    session.add(u)
    session.flush()
    audit.record(session, principal, "user.create", "user", u.id, {"name": u.name, "role": u.role})
    return _out(u)


@router.get("/{user_id}", response_model=UserOut, summary="One user")
def get_user(user_id: UserId, session: Session = Depends(get_session),
             _: Principal = Depends(require_role("admin"))) -> UserOut:
    return _out(_get(session, user_id))


@router.patch("/{user_id}", response_model=UserOut, summary="Change a user's role, licence or status")
def update_user(user_id: UserId, body: UserUpdate, session: Session = Depends(get_session),
                principal: Principal = Depends(require_role("admin"))) -> UserOut:
    u = _get(session, user_id)
    changes = body.model_dump(exclude_unset=True)
    for k, v in changes.items():
        if k in ("role", "disabled") and v is None:
            continue
        setattr(u, k, v)
    audit.record(session, principal, "user.update", "user", u.id, changes)
    return _out(u)


@router.delete("/{user_id}", status_code=204, summary="Delete a user")
def delete_user(user_id: UserId, session: Session = Depends(get_session),
                principal: Principal = Depends(require_role("admin"))) -> Response:
    u = _get(session, user_id)
    session.delete(u)
    audit.record(session, principal, "user.delete", "user", user_id, {"name": u.name})
    return Response(status_code=204)
