"""The edge worker's delivery: events and the evidence they name, sent to a SkyPatrol server.

`OutboxSink` is an `EventSink` that first writes each event into a SQLite outbox next to the
camera, then delivers in the background: evidence images (`POST /api/v1/evidence`, content
addressed, so a repeat is harmless) before the events that name them (`POST /api/v1/events`,
idempotent by `(source, id)` on the server). An outage or a restart of the edge worker loses
nothing: what is in the outbox is sent when the server answers again.
"""

from __future__ import annotations

import asyncio
import json
import logging
import sqlite3
import threading
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import httpx

from core.errors import BadInput
from core.events import Event, make_event

log = logging.getLogger(__name__)


def evidence_names(data: Any) -> Iterator[str]:
    """Evidence file names an event's data refers to (`{"sha256": ..., "name": ...}` objects)."""
    if isinstance(data, dict):
        if isinstance(data.get("sha256"), str) and isinstance(data.get("name"), str):
            yield data["name"]
        for v in data.values():
            yield from evidence_names(v)
    elif isinstance(data, list):
        for v in data:
            yield from evidence_names(v)


class OutboxSink:
    def __init__(self, server: str, token: str, outbox_path: str | Path, evidence_dir: str | Path, *,
                 source: str = "urn:skypatrol:edge", batch: int = 200, timeout_s: float = 10.0) -> None:
        if not token:
            raise BadInput("the edge worker needs a token (pilot role): --token or SKYPATROL_TOKEN")
        self.server = server.rstrip("/")
        self.source = source
        self.batch = batch
        self.evidence_dir = Path(evidence_dir)
        self.http = httpx.AsyncClient(base_url=self.server, timeout=timeout_s,
                                      headers={"Authorization": f"Bearer {token}"})
        path = Path(outbox_path)
        path.parent.mkdir(parents=True, exist_ok=True)
        self._db = sqlite3.connect(path, check_same_thread=False, isolation_level=None)
        self._db.execute("PRAGMA journal_mode=WAL")
        self._db.execute("CREATE TABLE IF NOT EXISTS outbox (n INTEGER PRIMARY KEY AUTOINCREMENT, body TEXT NOT NULL)")
        self._db.execute("CREATE TABLE IF NOT EXISTS evidence (name TEXT PRIMARY KEY)")
        self._lock = threading.Lock()
        self.delivered = 0
        self.failures = 0
        self.last_error: str | None = None

    # -- EventSink ---------------------------------------------------------------------------
    async def publish(self, type: str, data: Any = None, *, subject: str | None = None,
                      live_only: bool = False) -> Event:
        e = make_event(type, data, subject=subject, source=self.source)
        names = list(dict.fromkeys(evidence_names(data)))
        with self._lock:
            self._db.execute("BEGIN")
            self._db.executemany("INSERT OR IGNORE INTO evidence (name) VALUES (?)", [(n,) for n in names])
            self._db.execute("INSERT INTO outbox (body) VALUES (?)", (e.to_json(),))
            self._db.execute("COMMIT")
        return e

    @property
    def pending(self) -> int:
        with self._lock:
            return int(self._db.execute("SELECT count(*) FROM outbox").fetchone()[0])

    # -- delivery ----------------------------------------------------------------------------
    async def deliver_once(self) -> int:
        """Send what is waiting; returns the number of events delivered. Raises on a failed send."""
        with self._lock:
            names = [r[0] for r in self._db.execute("SELECT name FROM evidence ORDER BY name")]
        for name in names:
            path = self.evidence_dir / name
            if path.is_file():
                media = "image/png" if name.endswith(".png") else "image/jpeg"
                r = await self.http.post("/api/v1/evidence", content=path.read_bytes(),
                                         headers={"Content-Type": media})
                if r.status_code >= 400:
                    raise RuntimeError(f"evidence {name}: {r.status_code} {r.text[:200]}")
            else:
                log.warning("evidence %s named by an event is missing on this device", name)
            with self._lock:
                self._db.execute("DELETE FROM evidence WHERE name = ?", (name,))
        sent = 0
        while True:
            with self._lock:
                rows = self._db.execute("SELECT n, body FROM outbox ORDER BY n LIMIT ?", (self.batch,)).fetchall()
            if not rows:
                return sent
            body = "[" + ",".join(_without_seq(b) for _, b in rows) + "]"
            r = await self.http.post("/api/v1/events", content=body, headers={"Content-Type": "application/json"})
            if r.status_code != 201:
                raise RuntimeError(f"events: {r.status_code} {r.text[:200]}")
            with self._lock:
                self._db.execute("DELETE FROM outbox WHERE n <= ?", (rows[-1][0],))
            sent += len(rows)
            self.delivered += len(rows)

    async def run(self, stop: asyncio.Event, interval_s: float = 1.0) -> None:
        """Deliver until `stop` is set, backing off while the server cannot be reached."""
        backoff = interval_s
        while not stop.is_set():
            try:
                await self.deliver_once()
                backoff = interval_s
                self.last_error = None
            except (httpx.HTTPError, RuntimeError) as exc:
                self.failures += 1
                self.last_error = str(exc)
                log.warning("edge delivery failed (will retry): %s", exc)
                backoff = min(backoff * 2, 30.0)
            try:
                await asyncio.wait_for(stop.wait(), backoff)
            except TimeoutError:
                pass

    async def drain(self, timeout_s: float) -> bool:
        """Try to empty the outbox within `timeout_s`; True when nothing is left."""
        loop = asyncio.get_running_loop()
        deadline = loop.time() + timeout_s
        while self.pending and loop.time() < deadline:
            try:
                await self.deliver_once()
            except (httpx.HTTPError, RuntimeError) as exc:
                self.last_error = str(exc)
                await asyncio.sleep(min(1.0, max(0.0, deadline - loop.time())))
        return self.pending == 0

    async def close(self) -> None:
        await self.http.aclose()
        with self._lock:
            self._db.close()


def _without_seq(body: str) -> str:
    # Events made here have no seq; kept as stored.
    doc = json.loads(body)
    doc.pop("seq", None)
    return json.dumps(doc, separators=(",", ":"))
