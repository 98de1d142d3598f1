"""Publishes every stored event to MQTT, QoS 1, at `skypatrol/<type>/<subject>`.

The bridge keeps a durable cursor: the highest `seq` below which the broker has acknowledged
(PUBACK) every event. After any broker outage it reconnects with a fresh client and publishes
again from that cursor, so nothing is lost; a consumer may see an event twice (QoS 1) and
deduplicates by its `id`.
"""

from __future__ import annotations

import asyncio
import contextlib
import logging
import time
from collections import deque
from typing import Any

import paho.mqtt.client as mqtt

from core.cursors import load_cursor, save_cursor
from core.db import Database
from core.events import Event, EventBus
from core.settings import MqttSettings

log = logging.getLogger(__name__)


def topic_part(name: str) -> str:
    """MQTT topic level: `/`, `+` and `#` are not allowed inside one, so they become `_`."""
    return name.replace("/", "_").replace("+", "_").replace("#", "_") or "_"


def topic_for(prefix: str, e: Event) -> str:
    return f"{prefix}/{topic_part(e.type)}/{topic_part(e.subject or '_')}"


class MqttBridge:
    def __init__(self, bus: EventBus, db: Database, settings: MqttSettings, cursor_name: str = "mqtt") -> None:
        self.bus = bus
        self.db = db
        self.settings = settings
        self.cursor_name = cursor_name
        self.connected = False
        self.acked_seq = 0
        self.published_total = 0
        self.reconnects = 0
        self._task: asyncio.Task[None] | None = None
        self._running = False

    # -- cursor ----------------------------------------------------------------------------
    def _load_cursor(self) -> int:
        return load_cursor(self.db, self.cursor_name)

    def _save_cursor(self, seq: int) -> None:
        save_cursor(self.db, self.cursor_name, seq)

    # -- lifecycle -------------------------------------------------------------------------
    async def start(self) -> None:
        self.acked_seq = await asyncio.to_thread(self._load_cursor)
        self._running = True
        self._task = asyncio.create_task(self._run(), name="mqtt-bridge")

    async def stop(self) -> None:
        self._running = False
        if self._task:
            self._task.cancel()
            with contextlib.suppress(asyncio.CancelledError, Exception):
                await self._task
        await asyncio.to_thread(self._save_cursor, self.acked_seq)

    async def _run(self) -> None:
        backoff = 0.5
        while self._running:
            started = time.monotonic()
            try:
                await self._session()
            except asyncio.CancelledError:
                raise
            except Exception as exc:
                log.warning("MQTT bridge session ended: %s", exc)
            self.connected = False
            if not self._running:
                break
            self.reconnects += 1
            backoff = 0.5 if time.monotonic() - started > 10 else min(backoff * 2, 5.0)
            await asyncio.sleep(backoff)

    async def _session(self) -> None:
        loop = asyncio.get_running_loop()
        s = self.settings
        up = asyncio.Event()
        down = asyncio.Event()
        acked_now = asyncio.Event()
        outstanding: dict[int, int] = {}  # mid -> seq
        order: deque[int] = deque()  # published seqs, in order
        acked: set[int] = set()

        def on_connect(_c: Any, _u: Any, _f: Any, reason: Any, _p: Any = None) -> None:
            if not reason.is_failure:
                loop.call_soon_threadsafe(up.set)

        def on_disconnect(_c: Any, _u: Any, _f: Any = None, _r: Any = None, _p: Any = None) -> None:
            loop.call_soon_threadsafe(down.set)

        def on_publish(_c: Any, _u: Any, mid: int, _r: Any = None, _p: Any = None) -> None:
            loop.call_soon_threadsafe(ack, mid)

        def ack(mid: int) -> None:
            seq = outstanding.pop(mid, None)
            if seq is None:
                return
            acked.add(seq)
            while order and order[0] in acked:
                acked.discard(order[0])
                self.acked_seq = order.popleft()
            acked_now.set()

        client = mqtt.Client(mqtt.CallbackAPIVersion.VERSION2, client_id=s.client_id,
                             protocol=mqtt.MQTTv311, clean_session=True)
        if s.username:
            client.username_pw_set(s.username, s.password)
        client.max_inflight_messages_set(s.max_inflight)
        client.on_connect = on_connect
        client.on_disconnect = on_disconnect
        client.on_publish = on_publish
        sub = None
        try:
            client.connect_async(s.host, s.port, s.keepalive_s)
            client.loop_start()
            try:
                await asyncio.wait_for(up.wait(), 5.0)
            except TimeoutError:
                raise ConnectionError(f"broker {s.host}:{s.port} not reachable") from None
            self.connected = True
            log.info("MQTT bridge connected to %s:%d, resuming after seq %d", s.host, s.port, self.acked_seq)
            sub = self.bus.subscribe(after=self.acked_seq, live=False)
            last_saved = self.acked_seq
            last_save_t = time.monotonic()
            while self._running and not down.is_set():
                if len(outstanding) >= s.max_inflight:
                    acked_now.clear()
                    with contextlib.suppress(TimeoutError):
                        await asyncio.wait_for(acked_now.wait(), 1.0)
                    continue
                batch = await sub.next_batch(wait_s=0.5)
                for e in batch:
                    if e.seq is None:
                        continue
                    info = client.publish(topic_for(s.topic_prefix, e), e.to_json(), qos=1)
                    if info.rc != mqtt.MQTT_ERR_SUCCESS:
                        raise ConnectionError(f"publish failed: {mqtt.error_string(info.rc)}")
                    outstanding[info.mid] = e.seq
                    order.append(e.seq)
                    self.published_total += 1
                now = time.monotonic()
                if self.acked_seq != last_saved and now - last_save_t > 0.2:
                    await asyncio.to_thread(self._save_cursor, self.acked_seq)
                    last_saved, last_save_t = self.acked_seq, now
        finally:
            self.connected = False
            if sub is not None:
                sub.close()
            with contextlib.suppress(Exception):
                client.disconnect()
            await asyncio.to_thread(client.loop_stop)
            await asyncio.to_thread(self._save_cursor, self.acked_seq)
