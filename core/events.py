"""The ordered event stream: CloudEvents 1.0 envelope, the single writer, the in-process bus.

Every part publishes through an `EventSink`. `EventBus.publish` returns once the event is
committed, so an event whose publish call returned survives a crash. `seq` is one global, strictly
increasing integer assigned by the single writer at commit, with no gaps at write time; consumers
resume after the last `seq` they saw. Live-only events (high-rate telemetry) carry no `seq`: they
reach current subscribers and are neither stored nor replayed.
"""

from __future__ import annotations

import asyncio
import contextlib
import json
import logging
import re
import uuid
from collections import deque
from collections.abc import AsyncIterator, Iterable, Sequence
from dataclasses import dataclass, field
from datetime import UTC, datetime, timedelta
from typing import Any, Protocol, runtime_checkable

from sqlalchemy import delete, func, insert, select, text, tuple_
from sqlalchemy.exc import IntegrityError

from core.db import Database
from core.errors import BadInput, Unavailable
from core.models import Event as EventRow

log = logging.getLogger(__name__)

TYPE_RE = re.compile(r"^[a-z][a-z0-9_]*(\.[a-z][a-z0-9_]*)+\.v[0-9]+$")
# Advisory lock key that serialises writers across processes on PostgreSQL ("SKYPATRO" in hex).
_PG_WRITER_LOCK = 0x534B59504154524F


def utcnow() -> datetime:
    return datetime.now(UTC)


def format_time(t: datetime) -> str:
    """RFC 3339 in UTC with a Z, microseconds when there are any."""
    if t.tzinfo is None:
        t = t.replace(tzinfo=UTC)
    t = t.astimezone(UTC)
    return t.isoformat(timespec="microseconds" if t.microsecond else "seconds").replace("+00:00", "Z")


def validate_type(event_type: str) -> str:
    if not TYPE_RE.match(event_type):
        raise BadInput(
            f"event type {event_type!r} is not dotted and versioned (e.g. 'skypatrol.mission.started.v1')"
        )
    return event_type


@dataclass(slots=True)
class Event:
    """One event. `data_json` is the JSON text of `data`, serialised once."""

    type: str
    source: str
    id: str
    time: datetime
    subject: str | None = None
    data_json: str | None = None
    datacontenttype: str = "application/json"
    seq: int | None = None
    # True when the id was generated here (a fresh UUID): such an event cannot be a retry, so the
    # writer skips the duplicate lookup for it.
    fresh_id: bool = False
    _wire: str | None = field(default=None, repr=False)

    @property
    def data(self) -> Any:
        return None if self.data_json is None else json.loads(self.data_json)

    def to_json(self) -> str:
        """The structured-mode CloudEvent as JSON text (cached: fan-out serialises once)."""
        if self._wire is None:
            parts = [
                '{"specversion":"1.0","id":', json.dumps(self.id),
                ',"source":', json.dumps(self.source),
                ',"type":', json.dumps(self.type),
                ',"time":"', format_time(self.time), '"',
            ]
            if self.subject is not None:
                parts += [',"subject":', json.dumps(self.subject)]
            parts += [',"datacontenttype":', json.dumps(self.datacontenttype)]
            if self.data_json is not None:
                parts += [',"data":', self.data_json]
            if self.seq is not None:
                parts += [',"seq":', str(self.seq)]
            parts.append("}")
            self._wire = "".join(parts)
        return self._wire

    def to_dict(self) -> dict[str, Any]:
        return json.loads(self.to_json())

    @classmethod
    def from_row(cls, row: Any) -> Event:
        t = row.time if row.time.tzinfo else row.time.replace(tzinfo=UTC)
        return cls(type=row.type, source=row.source, id=row.id, time=t, subject=row.subject,
                   data_json=row.data, datacontenttype=row.datacontenttype, seq=row.seq)


def make_event(
    type: str,
    data: Any = None,
    *,
    subject: str | None = None,
    source: str,
    id: str | None = None,
    time: datetime | None = None,
    datacontenttype: str = "application/json",
) -> Event:
    validate_type(type)
    try:
        data_json = None if data is None else json.dumps(data, separators=(",", ":"), allow_nan=False)
    except (TypeError, ValueError) as exc:
        raise BadInput(f"event data for {type} is not JSON: {exc}") from None
    return Event(type=type, source=source, id=id or str(uuid.uuid4()), time=time or utcnow(),
                 subject=subject, data_json=data_json, datacontenttype=datacontenttype, fresh_id=id is None)


@runtime_checkable
class EventSink(Protocol):
    """What a part needs to publish: the bus implements it; tests may pass a recorder."""

    async def publish(self, type: str, data: Any = None, *, subject: str | None = None,
                      live_only: bool = False) -> Event: ...


class EventStore:
    """The append-only `events` table: batched writes with gapless `seq`, reads, retention."""

    def __init__(self, db: Database) -> None:
        self.db = db

    def max_seq(self) -> int:
        with self.db.engine.connect() as conn:
            return int(conn.execute(select(func.max(EventRow.seq))).scalar() or 0)

    def append(self, events: Sequence[Event]) -> list[Event]:
        """Commit `events` in one transaction and return them with `seq` set, in order.

        An event whose (source, id) is already stored is not written again: the stored one (with
        its original `seq`) is returned in its place, so a retried publish is idempotent.
        """
        for attempt in range(20):
            try:
                return self._append_once(events)
            except IntegrityError:
                # Another writer (another process) committed in between: read its max and retry.
                if attempt == 19:
                    raise
        raise AssertionError("unreachable")

    def _append_once(self, events: Sequence[Event]) -> list[Event]:
        is_pg = self.db.engine.dialect.name == "postgresql"
        with self.db.engine.begin() as conn:
            if is_pg:
                conn.execute(text("SELECT pg_advisory_xact_lock(:k)"), {"k": _PG_WRITER_LOCK})
            last = int(conn.execute(select(func.max(EventRow.seq))).scalar() or 0)
            keys = {(e.source, e.id) for e in events if not e.fresh_id}
            existing: dict[tuple[str, str], Event] = {}
            if keys:
                ids = list({k[1] for k in keys})
                for i in range(0, len(ids), 500):
                    rows = conn.execute(select(EventRow).where(EventRow.id.in_(ids[i:i + 500]))).all()
                    for r in rows:
                        if (r.source, r.id) in keys:
                            existing[(r.source, r.id)] = Event.from_row(r)
            out: list[Event] = []
            fresh: list[Event] = []
            seen: dict[tuple[str, str], Event] = {}
            for e in events:
                k = (e.source, e.id)
                if k in existing:
                    out.append(existing[k])
                    continue
                if k in seen:
                    out.append(seen[k])
                    continue
                last += 1
                stored = Event(type=e.type, source=e.source, id=e.id, time=e.time, subject=e.subject,
                               data_json=e.data_json, datacontenttype=e.datacontenttype, seq=last)
                seen[k] = stored
                fresh.append(stored)
                out.append(stored)
            if fresh:
                now = utcnow()
                conn.execute(
                    insert(EventRow),
                    [
                        {"seq": e.seq, "id": e.id, "source": e.source, "type": e.type,
                         "subject": e.subject, "time": e.time, "datacontenttype": e.datacontenttype,
                         "data": e.data_json, "recorded_at": now}
                        for e in fresh
                    ],
                )
        return out

    def read(
        self,
        after: int = 0,
        limit: int = 1000,
        types: Iterable[str] | None = None,
        subject: str | None = None,
        upto: int | None = None,
    ) -> list[Event]:
        q = select(EventRow).where(EventRow.seq > after)
        if upto is not None:
            q = q.where(EventRow.seq <= upto)
        types = list(types or [])
        if types:
            q = q.where(EventRow.type.in_(types))
        if subject is not None:
            q = q.where(EventRow.subject == subject)
        q = q.order_by(EventRow.seq).limit(limit)
        with self.db.engine.connect() as conn:
            return [Event.from_row(r) for r in conn.execute(q).all()]

    def get(self, source: str, id: str) -> Event | None:
        with self.db.engine.connect() as conn:
            r = conn.execute(
                select(EventRow).where(tuple_(EventRow.source, EventRow.id) == (source, id))
            ).first()
        return Event.from_row(r) if r else None

    def apply_retention(self, retention_days: dict[str, float], now: datetime | None = None) -> int:
        """Delete events of the listed types older than their retention; returns rows deleted."""
        now = now or utcnow()
        total = 0
        with self.db.engine.begin() as conn:
            for t, days in retention_days.items():
                cutoff = now - timedelta(days=days)
                res = conn.execute(delete(EventRow).where(EventRow.type == t, EventRow.time < cutoff))
                total += res.rowcount or 0
        return total


@dataclass(slots=True)
class _Pending:
    events: list[Event]
    future: asyncio.Future[list[Event]]


class Subscription:
    """An ordered feed of committed events after a cursor, plus live-only events as they come.

    Catch-up reads from the database, then follows the bus's in-memory tail; a subscriber that
    falls behind the tail reads from the database again, so a slow consumer never loses events.
    """

    def __init__(self, bus: EventBus, after: int, types: Iterable[str] | None, subject: str | None,
                 live: bool, page: int = 500) -> None:
        self.bus = bus
        self.last = after
        self.types = frozenset(types or ())
        self.subject = subject
        self.live = live
        self.page = page
        self.wake = asyncio.Event()
        self.live_queue: deque[Event] = deque(maxlen=1000)
        self.closed = False

    def _matches(self, e: Event) -> bool:
        return (not self.types or e.type in self.types) and (
            self.subject is None or e.subject == self.subject)

    async def next_batch(self, wait_s: float | None = None) -> list[Event]:
        """Events in order (stored ones with `seq`, live ones without); [] on timeout."""
        loop = asyncio.get_running_loop()
        deadline = None if wait_s is None else loop.time() + wait_s
        while not self.closed:
            out: list[Event] = []
            if self.live_queue:
                out.extend(self.live_queue)
                self.live_queue.clear()
            if self.last < self.bus.last_seq:
                stored, self.last = await self.bus._events_after(self.last, self.page, self.types,
                                                                 self.subject)
                out.extend(e for e in stored if self._matches(e))
            if out:
                return out
            if self.last < self.bus.last_seq:
                continue
            self.wake.clear()
            remaining = None if deadline is None else deadline - loop.time()
            if remaining is not None and remaining <= 0:
                return []
            try:
                await asyncio.wait_for(self.wake.wait(), remaining)
            except TimeoutError:
                return []
        return []

    async def __aiter__(self) -> AsyncIterator[Event]:
        while not self.closed:
            for e in await self.next_batch():
                yield e

    def close(self) -> None:
        self.closed = True
        self.wake.set()
        self.bus._subs.discard(self)


class EventBus:
    """The single writer and the in-process fan-out. Implements `EventSink`."""

    def __init__(self, db: Database, source: str = "urn:skypatrol:server", batch_max: int = 5000,
                 tail_size: int = 20000, poll_interval_s: float = 1.0,
                 retention_days: dict[str, float] | None = None,
                 retention_interval_s: float = 3600.0) -> None:
        self.db = db
        self.store = EventStore(db)
        self.source = source
        self.batch_max = batch_max
        self.tail_size = tail_size
        self.poll_interval_s = poll_interval_s
        self.retention_days = dict(retention_days or {})
        self.retention_interval_s = retention_interval_s
        self.last_seq = 0
        self._tail: list[Event] = []  # contiguous seqs: _tail[i].seq == _tail_first + i
        self._tail_first = 1
        self._queue: asyncio.Queue[_Pending] = asyncio.Queue()
        self._subs: set[Subscription] = set()
        self._lock = asyncio.Lock()
        self._tasks: list[asyncio.Task[Any]] = []
        self._running = False
        self.published_total = 0
        self.live_total = 0
        self.batches_total = 0

    # -- lifecycle -------------------------------------------------------------------------
    async def start(self) -> None:
        if self._running:
            return
        try:
            self.last_seq = await asyncio.to_thread(self.store.max_seq)
        except Exception as exc:
            raise Unavailable(f"event store unreachable: {exc}") from None
        self._tail_first = self.last_seq + 1
        self._running = True
        self._tasks = [asyncio.create_task(self._writer(), name="event-writer"),
                       asyncio.create_task(self._poller(), name="event-poller")]
        if self.retention_days:
            self._tasks.append(asyncio.create_task(self._retention(), name="event-retention"))

    async def stop(self) -> None:
        """Flush what is queued, then stop. Subscribers are closed."""
        if not self._running:
            return
        self._running = False
        await self._queue.join()
        for t in self._tasks:
            t.cancel()
        for t in self._tasks:
            with contextlib.suppress(asyncio.CancelledError, Exception):
                await t
        self._tasks = []
        for s in list(self._subs):
            s.close()

    # -- publishing ------------------------------------------------------------------------
    async def publish(self, type: str, data: Any = None, *, subject: str | None = None,
                      live_only: bool = False, id: str | None = None, source: str | None = None,
                      time: datetime | None = None) -> Event:
        e = make_event(type, data, subject=subject, source=source or self.source, id=id, time=time)
        if live_only:
            self.publish_live(e)
            return e
        return (await self.publish_events([e]))[0]

    async def publish_events(self, events: list[Event]) -> list[Event]:
        """Commit prepared events (one batch from the caller's view); returns them with `seq`."""
        if not events:
            return []
        if not self._running:
            raise Unavailable("event bus is not running")
        fut: asyncio.Future[list[Event]] = asyncio.get_running_loop().create_future()
        self._queue.put_nowait(_Pending(events, fut))
        return await fut

    def publish_live(self, e: Event) -> None:
        """Deliver to current subscribers only: no `seq`, not stored, not replayed."""
        self.live_total += 1
        for s in self._subs:
            if s.live and s._matches(e):
                s.live_queue.append(e)
                s.wake.set()

    # -- subscribing -----------------------------------------------------------------------
    def subscribe(self, after: int | None = None, types: Iterable[str] | None = None,
                  subject: str | None = None, live: bool = True) -> Subscription:
        """`after=None` means from now on; `after=N` replays everything after seq N first."""
        s = Subscription(self, self.last_seq if after is None else max(0, after), types, subject, live)
        self._subs.add(s)
        return s

    @property
    def subscriber_count(self) -> int:
        return len(self._subs)

    async def read(self, after: int = 0, limit: int = 100, types: Iterable[str] | None = None,
                   subject: str | None = None) -> list[Event]:
        return await asyncio.to_thread(self.store.read, after, limit, list(types or []), subject)

    # -- internals -------------------------------------------------------------------------
    async def _events_after(self, after: int, limit: int, types: frozenset[str],
                            subject: str | None) -> tuple[list[Event], int]:
        """Committed events with seq > after (at most `limit`) and the cursor they reach.

        From the in-memory tail when it still holds `after + 1`, else from the store (filtered
        there, so a rare type does not drag the whole history through memory).
        """
        if self._tail and after + 1 >= self._tail_first:
            i = after + 1 - self._tail_first
            chunk = self._tail[i:i + limit]
            return chunk, (chunk[-1].seq or after) if chunk else after
        upto = self.last_seq
        rows = await asyncio.to_thread(self.store.read, after, limit, list(types), subject, upto)
        if len(rows) < limit:
            return rows, upto
        return rows, rows[-1].seq or after

    def _append_tail(self, events: list[Event]) -> None:
        for e in events:
            assert e.seq is not None
            if e.seq <= self.last_seq:
                continue  # a deduplicated publish returns an event already delivered
            if not self._tail:
                self._tail_first = e.seq
            elif e.seq != self._tail_first + len(self._tail):
                # A gap means another process wrote in between: restart the tail here; subscribers
                # behind it read the missing range from the store.
                self._tail = []
                self._tail_first = e.seq
            self._tail.append(e)
            self.last_seq = e.seq
        if len(self._tail) > 2 * self.tail_size:
            drop = len(self._tail) - self.tail_size
            del self._tail[:drop]
            self._tail_first += drop
        for s in self._subs:
            s.wake.set()

    async def _writer(self) -> None:
        while True:
            first = await self._queue.get()
            batch = [first]
            n = len(first.events)
            while n < self.batch_max and not self._queue.empty():
                p = self._queue.get_nowait()
                batch.append(p)
                n += len(p.events)
            flat = [e for p in batch for e in p.events]
            try:
                async with self._lock:
                    stored = await asyncio.to_thread(self.store.append, flat)
                    await self._catch_up_gap(stored)
                    self._append_tail(stored)
                self.published_total += len(flat)
                self.batches_total += 1
                i = 0
                for p in batch:
                    k = len(p.events)
                    if not p.future.done():
                        p.future.set_result(stored[i:i + k])
                    i += k
            except Exception as exc:
                log.exception("event batch of %d failed", len(flat))
                err = Unavailable(f"event store write failed: {exc}")
                for p in batch:
                    if not p.future.done():
                        p.future.set_exception(err)
            finally:
                for _ in batch:
                    self._queue.task_done()

    async def _catch_up_gap(self, stored: list[Event]) -> None:
        """Bring in events other processes committed before ours, so the tail stays contiguous."""
        fresh = [e for e in stored if e.seq is not None and e.seq > self.last_seq]
        if fresh and fresh[0].seq is not None and fresh[0].seq > self.last_seq + 1:
            missing = await asyncio.to_thread(self.store.read, self.last_seq, 1_000_000, None, None,
                                              fresh[0].seq - 1)
            self._append_tail(missing)

    async def _poller(self) -> None:
        """Pick up events written by other processes (other servers, scripts)."""
        while True:
            await asyncio.sleep(self.poll_interval_s)
            try:
                async with self._lock:
                    db_max = await asyncio.to_thread(self.store.max_seq)
                    if db_max > self.last_seq:
                        rows = await asyncio.to_thread(self.store.read, self.last_seq, 10_000, None, None,
                                                       db_max)
                        self._append_tail(rows)
            except Exception:
                log.warning("event poll failed", exc_info=True)

    async def _retention(self) -> None:
        while True:
            try:
                n = await asyncio.to_thread(self.store.apply_retention, self.retention_days)
                if n:
                    log.info("retention removed %d events", n)
            except Exception:
                log.warning("retention pass failed", exc_info=True)
            await asyncio.sleep(self.retention_interval_s)
