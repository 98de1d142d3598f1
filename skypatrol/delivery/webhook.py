"""Pushes events to the city platform's HTTP endpoints (webhooks), at least once, in order.

Each webhook has a durable cursor in `stream_cursors` (`webhook:<name>`): the seq up to which
every matching event has been accepted (2xx). Events go one at a time, in `seq` order, as
structured CloudEvents (`application/cloudevents+json`); a consumer deduplicates by `id`. With a
secret, `X-SkyPatrol-Signature: sha256=<hex HMAC of the body>` lets the receiver check the sender.
An unreachable endpoint or a 5xx, 408 or 429 is retried with backoff, for as long as it takes; any
other 4xx means the endpoint will never take that event: it is logged, counted and skipped, so
one event cannot stop the stream.
"""

from __future__ import annotations

import asyncio
import hashlib
import hmac
import logging

import httpx

from core.cursors import cancel_task, load_cursor, save_cursor
from core.db import Database
from core.events import Event, EventBus
from core.settings import WebhookSettings

log = logging.getLogger(__name__)
RETRY_STATUSES = frozenset({408, 429})


def signature(secret: str, body: bytes) -> str:
    return "sha256=" + hmac.new(secret.encode(), body, hashlib.sha256).hexdigest()


class WebhookForwarder:
    def __init__(self, bus: EventBus, db: Database, hook: WebhookSettings, max_backoff_s: float = 30.0) -> None:
        self.bus = bus
        self.db = db
        self.hook = hook
        self.cursor_name = f"webhook:{hook.name or hook.url}"[:128]
        self.max_backoff_s = max_backoff_s
        self.cursor = 0
        self.delivered_total = 0
        self.rejected_total = 0
        self.failures_total = 0
        self.last_error: str | None = None
        self._task: asyncio.Task[None] | None = None
        self._prefixes = tuple(hook.types)

    def _save_cursor(self, seq: int) -> None:
        save_cursor(self.db, self.cursor_name, seq)

    async def start(self) -> None:
        self.cursor = await asyncio.to_thread(load_cursor, self.db, self.cursor_name)
        self._task = asyncio.create_task(self._run(), name=f"webhook {self.hook.url}")

    async def stop(self) -> None:
        await cancel_task(self._task)
        self._task = None

    def wants(self, e: Event) -> bool:
        return e.seq is not None and e.type.startswith(self._prefixes)

    async def _run(self) -> None:
        async with httpx.AsyncClient(timeout=self.hook.timeout_s) as client:
            sub = self.bus.subscribe(after=self.cursor, live=False)
            try:
                while True:
                    batch = await sub.next_batch(wait_s=5.0)
                    last = None
                    for e in batch:
                        if e.seq is None:
                            continue
                        if self.wants(e):
                            await self._deliver(client, e)
                            await asyncio.to_thread(self._save_cursor, e.seq)
                        last = e.seq
                    if last is not None and last > self.cursor:
                        self.cursor = last
                        await asyncio.to_thread(self._save_cursor, last)
            finally:
                sub.close()

    async def _deliver(self, client: httpx.AsyncClient, e: Event) -> None:
        body = e.to_json().encode()
        headers = {"Content-Type": "application/cloudevents+json", **self.hook.headers}
        if self.hook.secret:
            headers["X-SkyPatrol-Signature"] = signature(self.hook.secret, body)
        backoff = 0.5
        while True:
            try:
                r = await client.post(self.hook.url, content=body, headers=headers)
                if r.is_success:
                    self.delivered_total += 1
                    return
                if 400 <= r.status_code < 500 and r.status_code not in RETRY_STATUSES:
                    self.rejected_total += 1
                    log.warning("webhook %s refused event %s (seq %s): HTTP %d; skipped",
                                self.hook.url, e.id, e.seq, r.status_code)
                    return
                self.last_error = f"HTTP {r.status_code}"
            except httpx.HTTPError as exc:
                self.last_error = f"{type(exc).__name__}: {exc}"
            self.failures_total += 1
            log.info("webhook %s: %s; retrying in %.1f s", self.hook.url, self.last_error, backoff)
            await asyncio.sleep(backoff)
            backoff = min(backoff * 2, self.max_backoff_s)
