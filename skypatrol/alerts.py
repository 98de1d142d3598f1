"""Alerts duty officers work: raised from alert-worthy events, then acknowledged, assigned, closed.

The raising events stay in the stream as they are. `AlertService` follows the stream from a durable
cursor and opens one case per alert-worthy event, in the same transaction that moves the cursor,
so a restart neither loses nor doubles a case. Every change of a case is audited and published as
`skypatrol.alert.status_changed.v1`, which the MQTT bridge and the webhooks carry to the city
platform like any other event.
"""

from __future__ import annotations

import asyncio
import logging
from datetime import UTC, datetime
from typing import Any

from sqlalchemy import select
from sqlalchemy.orm import Session

from core import audit
from core.auth import Principal
from core.cursors import advance_cursor, cancel_task, load_cursor
from core.db import Database
from core.errors import BadInput, NotFound, Refused
from core.events import Event, EventBus
from core.models import Alert
from core.settings import AlertSettings

log = logging.getLogger(__name__)

STATUS_CHANGED = "skypatrol.alert.status_changed.v1"
STATUSES = ("open", "acknowledged", "assigned", "closed")
# action -> the statuses it may start from, and the status it leads to
TRANSITIONS: dict[str, tuple[frozenset[str], str]] = {
    "acknowledge": (frozenset({"open"}), "acknowledged"),
    "assign": (frozenset({"open", "acknowledged", "assigned"}), "assigned"),
    "close": (frozenset({"open", "acknowledged", "assigned"}), "closed"),
    "reopen": (frozenset({"closed"}), "open"),
}


def raises_alert(event_type: str, settings: AlertSettings) -> bool:
    return event_type != STATUS_CHANGED and event_type.startswith(tuple(settings.types))


def alert_from_event(e: Event) -> Alert:
    assert e.seq is not None
    return Alert(id=e.id, seq=e.seq, type=e.type, subject=e.subject, raised_at=e.time, data=e.data,
                 status="open", updated_at=datetime.now(UTC))


def change_status(session: Session, principal: Principal, alert_id: str, action: str,
                  assignee: str | None = None, note: str | None = None) -> Alert:
    """Apply one action to a case (audited in the same transaction). Refused when the case's
    status does not allow it; `assign` needs an assignee."""
    if action not in TRANSITIONS:
        raise BadInput(f"unknown alert action {action!r}; one of {', '.join(TRANSITIONS)}")
    alert = session.get(Alert, alert_id, with_for_update=True)
    if alert is None:
        raise NotFound(f"alert {alert_id} does not exist")
    allowed, to = TRANSITIONS[action]
    if alert.status not in allowed:
        raise Refused(f"cannot {action} alert {alert_id}: it is {alert.status}")
    if action == "assign":
        if not assignee or not assignee.strip():
            raise BadInput("assign needs an assignee")
        alert.assignee = assignee.strip()
    elif action == "reopen":
        alert.assignee = None
    alert.status = to
    if note is not None:
        alert.note = note
    alert.updated_at = datetime.now(UTC)
    alert.updated_by = principal.name
    audit.record(session, principal, f"alert.{action}", "alert", alert_id,
                 {"status": to, "assignee": alert.assignee, "note": note})
    return alert


def status_event_data(alert: Any) -> dict[str, Any]:
    return {"alert_id": alert.id, "alert_type": alert.type, "status": alert.status, "assignee": alert.assignee,
            "note": alert.note, "by": alert.updated_by}


class AlertService:
    """Opens a case for every alert-worthy event, from a durable cursor."""

    def __init__(self, db: Database, bus: EventBus, settings: AlertSettings, cursor_name: str = "alerts") -> None:
        self.db = db
        self.bus = bus
        self.settings = settings
        self.cursor_name = cursor_name
        self.cursor = 0
        self.opened_total = 0
        self._task: asyncio.Task[None] | None = None

    async def start(self) -> None:
        self.cursor = await asyncio.to_thread(load_cursor, self.db, self.cursor_name)
        self._task = asyncio.create_task(self._run(), name="alerts")

    async def stop(self) -> None:
        await cancel_task(self._task)
        self._task = None

    async def _run(self) -> None:
        while True:
            sub = self.bus.subscribe(after=self.cursor, live=False)
            try:
                while True:
                    batch = await sub.next_batch(wait_s=5.0)
                    stored = [e for e in batch if e.seq is not None]
                    if stored:
                        await asyncio.to_thread(self._open_cases, stored)
            except asyncio.CancelledError:
                raise
            except Exception:
                log.warning("alert intake failed; retrying from seq %d", self.cursor, exc_info=True)
                await asyncio.sleep(1.0)
            finally:
                sub.close()

    def _open_cases(self, events: list[Event]) -> None:
        last = max(e.seq for e in events if e.seq is not None)
        with self.db.session() as s:
            wanted = [e for e in events if raises_alert(e.type, self.settings)]
            known = set(s.execute(select(Alert.id).where(Alert.id.in_([e.id for e in wanted]))).scalars()) \
                if wanted else set()
            for e in wanted:
                if e.id not in known:
                    s.add(alert_from_event(e))
                    self.opened_total += 1
            advance_cursor(s, self.cursor_name, last)
        self.cursor = max(self.cursor, last)
