"""Durable stream cursors: how far a consumer (the MQTT bridge, a webhook, the alert intake) has
taken the event stream, kept in `stream_cursors` so a restart resumes where it stopped."""

from __future__ import annotations

import asyncio
import contextlib
from typing import Any

from sqlalchemy.orm import Session

from core.db import Database
from core.models import StreamCursor


def load_cursor(db: Database, name: str) -> int:
    with db.session() as s:
        row = s.get(StreamCursor, name)
        return int(row.seq) if row else 0


def advance_cursor(session: Session, name: str, seq: int) -> None:
    """Move the cursor forward to `seq` in the caller's transaction (never backwards)."""
    row = session.get(StreamCursor, name)
    if row is None:
        session.add(StreamCursor(name=name, seq=seq))
    elif seq > row.seq:
        row.seq = seq


def save_cursor(db: Database, name: str, seq: int) -> None:
    with db.session() as s:
        advance_cursor(s, name, seq)


async def cancel_task(task: asyncio.Task[Any] | None) -> None:
    """Cancel a background task and wait for it to end, whatever it ends with."""
    if task is None:
        return
    task.cancel()
    with contextlib.suppress(asyncio.CancelledError, Exception):
        await task
