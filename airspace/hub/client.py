"""`HubClient`: SkyPatrol's side of the hub protocol over HTTP.

Timeouts on every call; retries with exponential backoff on transport errors, 429 and 5xx;
an idempotency key per filing, reused across its retries; position reports that cannot be
delivered are kept in an offline buffer (in order) and flushed when the hub answers again. The
buffer is in memory, or, given `buffer_path`, in a SQLite file (e.g. in the data directory) so the
reports survive a restart.
"""

from __future__ import annotations

import json
import sqlite3
import threading
import time
import uuid
from collections import deque
from collections.abc import Callable, Sequence
from datetime import datetime
from pathlib import Path
from typing import Any, Protocol

import httpx

from airspace.authority import (
    DispatchReadiness,
    IntentRequest,
    Notification,
    OperationalIntent,
    PositionReport,
)
from airspace.model import Zone
from core.errors import BadInput, Conflict, NotFound, Refused, SkyPatrolError, Unavailable

API = "/v1"
RETRY_STATUSES = frozenset({429, 500, 502, 503, 504})


class HubClient:
    def __init__(
        self,
        base_url: str,
        *,
        timeout_s: float = 5.0,
        connect_timeout_s: float = 2.0,
        retries: int = 3,
        backoff_s: float = 0.2,
        buffer_max: int = 100_000,
        batch_max: int = 1000,
        transport: httpx.BaseTransport | None = None,
        sleep: Callable[[float], None] = time.sleep,
        buffer_path: str | Path | None = None,
    ) -> None:
        self.base_url = base_url.rstrip("/")
        self._buffer: ReportBuffer = (
            MemoryBuffer(buffer_max) if buffer_path is None else SqliteBuffer(Path(buffer_path), buffer_max)
        )
        self._http = httpx.Client(
            base_url=self.base_url,
            timeout=httpx.Timeout(timeout_s, connect=connect_timeout_s),
            transport=transport,
        )
        self.retries = retries
        self.backoff_s = backoff_s
        self.batch_max = batch_max
        self._sleep = sleep
        self._buffer_lock = threading.Lock()
        self.last_error: str | None = None

    def close(self) -> None:
        self._http.close()
        self._buffer.close()

    def __enter__(self) -> HubClient:
        return self

    def __exit__(self, *exc: object) -> None:
        self.close()

    # -- transport ----------------------------------------------------------------------------

    def _call(self, method: str, path: str, *, retries: int | None = None, **kw: Any) -> Any:
        attempts = (self.retries if retries is None else retries) + 1
        for attempt in range(attempts):
            try:
                response = self._http.request(method, API + path, **kw)
            except httpx.TransportError as exc:
                self.last_error = f"hub unreachable at {self.base_url}: {exc.__class__.__name__}"
            else:
                if response.status_code not in RETRY_STATUSES:
                    self.last_error = None
                    return _result(response)
                self.last_error = f"hub at {self.base_url} answered {response.status_code}"
            if attempt + 1 < attempts:
                self._sleep(self.backoff_s * 2**attempt)
        raise Unavailable(self.last_error or f"hub at {self.base_url} unavailable")

    # -- the protocol -------------------------------------------------------------------------

    def zones(
        self,
        bbox: tuple[float, float, float, float] | None = None,
        start: datetime | None = None,
        end: datetime | None = None,
    ) -> list[Zone]:
        params: dict[str, str] = {}
        if bbox is not None:
            params["bbox"] = ",".join(str(v) for v in bbox)
        if start is not None:
            params["start"] = start.isoformat()
        if end is not None:
            params["end"] = end.isoformat()
        return [Zone.model_validate(z) for z in self._call("GET", "/zones", params=params)["zones"]]

    def file_intent(self, request: IntentRequest, idempotency_key: str | None = None) -> OperationalIntent:
        key = idempotency_key or uuid.uuid4().hex  # the same key on every retry: filed at most once
        body = request.model_dump(mode="json")
        return OperationalIntent.model_validate(
            self._call("POST", "/intents", json=body, headers={"Idempotency-Key": key})
        )

    def get_intent(self, intent_id: str) -> OperationalIntent:
        return OperationalIntent.model_validate(self._call("GET", f"/intents/{intent_id}"))

    def activate(self, intent_id: str) -> OperationalIntent:
        return OperationalIntent.model_validate(self._call("POST", f"/intents/{intent_id}/activate"))

    def end(self, intent_id: str) -> OperationalIntent:
        return OperationalIntent.model_validate(self._call("POST", f"/intents/{intent_id}/end"))

    def cancel(self, intent_id: str) -> OperationalIntent:
        return OperationalIntent.model_validate(self._call("POST", f"/intents/{intent_id}/cancel"))

    def notifications(self, after: int = 0, operator_id: str | None = None) -> list[Notification]:
        params: dict[str, Any] = {"after": after}
        if operator_id is not None:
            params["operator_id"] = operator_id
        data = self._call("GET", "/notifications", params=params)
        return [Notification.model_validate(n) for n in data["notifications"]]

    def dispatch_readiness(self) -> DispatchReadiness:
        """New flights may be dispatched only while the hub answers."""
        try:
            self._call("GET", "/health", retries=0)
        except Unavailable as exc:
            return DispatchReadiness(ok=False, reason=f"no new dispatch: {exc.message}")
        self.flush()
        return DispatchReadiness(ok=True)

    # -- positions and the offline buffer ------------------------------------------------------

    @property
    def buffered(self) -> int:
        return len(self._buffer)

    def report_positions(self, reports: list[PositionReport]) -> int:
        """Queue the reports behind any buffered ones and deliver what the hub takes now;
        returns how many were delivered (the rest stay buffered, in order)."""
        with self._buffer_lock:
            self._buffer.extend(reports)
        return self.flush()

    def flush(self) -> int:
        delivered = 0
        with self._buffer_lock:
            while True:
                batch = self._buffer.oldest(self.batch_max)
                if not batch:
                    break
                try:
                    self._call(
                        "POST",
                        "/positions",
                        retries=0,
                        json={"reports": [r.model_dump(mode="json") for r in batch]},
                    )
                except Unavailable:
                    break
                self._buffer.drop(len(batch))
                delivered += len(batch)
        return delivered


class ReportBuffer(Protocol):
    """Position reports waiting for the hub, oldest first; at most `max` (the oldest go first)."""

    def __len__(self) -> int: ...

    def extend(self, reports: Sequence[PositionReport]) -> None: ...

    def oldest(self, n: int) -> list[PositionReport]: ...

    def drop(self, n: int) -> None:
        """Remove the `n` oldest (delivered) reports."""

    def close(self) -> None: ...


class MemoryBuffer:
    def __init__(self, max_reports: int) -> None:
        self._q: deque[PositionReport] = deque(maxlen=max_reports)

    def __len__(self) -> int:
        return len(self._q)

    def extend(self, reports: Sequence[PositionReport]) -> None:
        self._q.extend(reports)

    def oldest(self, n: int) -> list[PositionReport]:
        return [self._q[i] for i in range(min(n, len(self._q)))]

    def drop(self, n: int) -> None:
        for _ in range(min(n, len(self._q))):
            self._q.popleft()

    def close(self) -> None:
        pass


class SqliteBuffer:
    """The buffer in a SQLite file: each report a row, committed before `extend` returns, so what
    was buffered is still there after a crash or restart (and is delivered by the next flush)."""

    def __init__(self, path: Path, max_reports: int) -> None:
        self.max_reports = max_reports
        try:
            path.parent.mkdir(parents=True, exist_ok=True)
            self._db = sqlite3.connect(path, check_same_thread=False, isolation_level=None)
            self._db.execute("PRAGMA journal_mode=WAL")
            self._db.execute("PRAGMA synchronous=NORMAL")
            self._db.execute(
                "CREATE TABLE IF NOT EXISTS reports (id INTEGER PRIMARY KEY AUTOINCREMENT, doc TEXT NOT NULL)"
            )
        except (OSError, sqlite3.Error) as exc:
            raise BadInput(f"position buffer {path}: cannot be opened ({exc})") from None
        self._lock = threading.Lock()

    def __len__(self) -> int:
        with self._lock:
            return int(self._db.execute("SELECT COUNT(*) FROM reports").fetchone()[0])

    def extend(self, reports: Sequence[PositionReport]) -> None:
        if not reports:
            return
        rows = [(json.dumps(r.model_dump(mode="json")),) for r in reports]
        with self._lock:
            self._db.execute("BEGIN IMMEDIATE")
            try:
                self._db.executemany("INSERT INTO reports (doc) VALUES (?)", rows)
                # Full: the oldest reports give way, as the in-memory buffer's do.
                self._db.execute(
                    "DELETE FROM reports WHERE id <= (SELECT MAX(id) FROM reports) - ?", (self.max_reports,)
                )
                self._db.execute("COMMIT")
            except BaseException:
                self._db.execute("ROLLBACK")
                raise

    def oldest(self, n: int) -> list[PositionReport]:
        with self._lock:
            rows = self._db.execute("SELECT doc FROM reports ORDER BY id LIMIT ?", (n,)).fetchall()
        return [PositionReport.model_validate_json(doc) for (doc,) in rows]

    def drop(self, n: int) -> None:
        with self._lock:
            self._db.execute(
                "DELETE FROM reports WHERE id IN (SELECT id FROM reports ORDER BY id LIMIT ?)", (n,)
            )

    def close(self) -> None:
        with self._lock:
            self._db.close()


def _result(response: httpx.Response) -> Any:
    if response.is_success:
        return response.json()
    try:
        message = response.json()["error"]["message"]
    except (ValueError, KeyError, TypeError):
        message = response.text[:200] or response.reason_phrase
    error: type[SkyPatrolError] = {404: NotFound, 409: Conflict, 422: BadInput}.get(response.status_code, Refused)
    if response.status_code == 409 and "idempotency" not in message:
        error = Refused
    raise error(f"hub: {message}")
