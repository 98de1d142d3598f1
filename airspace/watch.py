"""Authority notifications and hub reachability as events on the stream.

`AuthorityWatcher` polls an `AirspaceAuthority` and publishes through the `EventSink` it is given:
- `skypatrol.airspace.{restriction_added,plan_revoked,nonconformance}.v1` for each notification,
  with an id derived from the authority's notification seq, so a restart never duplicates one;
- `skypatrol.airspace.hub_unreachable.v1` when dispatch readiness turns false (with the reason),
  and `skypatrol.airspace.hub_restored.v1` when it turns true again.
The dispatcher decides what to do about them (a later part); this only reports.
"""

from __future__ import annotations

import asyncio
import contextlib
import logging
from typing import Any

from airspace.authority import AirspaceAuthority, Notification
from core.events import EventSink

log = logging.getLogger(__name__)


def notification_event_type(n: Notification) -> str:
    return f"skypatrol.airspace.{n.kind.value}.v1"


class AuthorityWatcher:
    def __init__(self, authority: AirspaceAuthority, sink: EventSink, *, operator_id: str | None = None,
                 interval_s: float = 2.0, source: str = "urn:skypatrol:airspace") -> None:
        self.authority = authority
        self.sink = sink
        self.operator_id = operator_id
        self.interval_s = interval_s
        self.source = source
        self.after = 0
        self.ready: bool | None = None
        self.reason: str | None = None
        self._task: asyncio.Task[None] | None = None

    async def start(self) -> None:
        self._task = asyncio.create_task(self._run(), name="authority-watcher")

    async def stop(self) -> None:
        if self._task:
            self._task.cancel()
            with contextlib.suppress(asyncio.CancelledError):
                await self._task

    async def poll_once(self) -> None:
        readiness = await asyncio.to_thread(self.authority.dispatch_readiness)
        if readiness.ok != self.ready:
            if not readiness.ok:
                await self._publish("skypatrol.airspace.hub_unreachable.v1", {"reason": readiness.reason})
            elif self.ready is False:
                await self._publish("skypatrol.airspace.hub_restored.v1", {"reason": None})
            self.ready, self.reason = readiness.ok, readiness.reason
        if not readiness.ok:
            return
        notes = await asyncio.to_thread(self.authority.notifications, self.after, self.operator_id)
        for n in notes:
            await self._publish(
                notification_event_type(n),
                {"kind": n.kind.value, "detail": n.detail, "intent_id": n.intent_id, "operator_id": n.operator_id,
                 "authority_seq": n.seq, "authority_time": n.time.isoformat(), **n.data},
                subject=n.intent_id or n.data.get("zone_id"),
                event_id=f"authority-notification-{n.seq}",
            )
            self.after = max(self.after, n.seq)

    async def _publish(self, type_: str, data: dict[str, Any], subject: str | None = None,
                       event_id: str | None = None) -> None:
        publish = self.sink.publish
        kwargs: dict[str, Any] = {"subject": subject}
        if event_id is not None:
            kwargs.update(id=event_id, source=self.source)
        await publish(type_, data, **kwargs)

    async def _run(self) -> None:
        while True:
            try:
                await self.poll_once()
            except asyncio.CancelledError:
                raise
            except Exception:
                log.warning("authority poll failed", exc_info=True)
            await asyncio.sleep(self.interval_s)
