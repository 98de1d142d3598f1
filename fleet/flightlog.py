"""Per-run flight logs: every MAVLink message the vehicle sends during a run, as a `.tlog`.

A `.tlog` is what QGroundControl and MAVProxy write: each record is the receive time (8 bytes,
big-endian microseconds since the Unix epoch) followed by the raw MAVLink packet. MAVSDK's
`mavlink_direct` plugin hands the messages over decoded (name + fields); they are packed again
as MAVLink 2 with the vehicle's own system and component ids, so pymavlink, QGroundControl,
flight-review tools and `skypatrol infer --telemetry` read the file as they read any other.
"""

from __future__ import annotations

import asyncio
import contextlib
import json
import logging
import struct
import time
from pathlib import Path
from typing import Any

from mavsdk.asyncio.plugins.mavlink_direct import MavlinkDirectAsync
from pymavlink.dialects.v20 import common as mavlink2

from core.cursors import cancel_task

log = logging.getLogger(__name__)


class TlogWriter:
    """Packs decoded MAVLink messages and appends them to a `.tlog` file."""

    def __init__(self, path: Path) -> None:
        self.path = path
        path.parent.mkdir(parents=True, exist_ok=True)
        self._file = path.open("ab")
        self._encoders: dict[tuple[int, int], Any] = {}
        self.written = 0
        self.skipped = 0

    def write(self, name: str, system_id: int, component_id: int, fields: dict[str, Any],
              t_us: int | None = None) -> bool:
        cls = getattr(mavlink2, f"MAVLink_{name.lower()}_message", None)
        if cls is None:
            self.skipped += 1
            return False
        try:
            args = []
            for fname, ftype, length in zip(cls.fieldnames, cls.fieldtypes, cls.array_lengths, strict=True):
                value = fields.get(fname)
                if ftype == "char":
                    value = (value or "").encode() if isinstance(value, str | None) else value
                elif value is None:
                    value = [0] * length if length else 0
                args.append(value)
            key = (system_id, component_id)
            mav = self._encoders.get(key)
            if mav is None:
                mav = self._encoders[key] = mavlink2.MAVLink(None, srcSystem=system_id, srcComponent=component_id)
            packet = cls(*args).pack(mav)
        except Exception as exc:  # a message this dialect packs differently: keep the rest of the log
            self.skipped += 1
            log.debug("flight log: cannot pack %s: %s", name, exc)
            return False
        stamp = int(time.time() * 1e6) if t_us is None else t_us
        self._file.write(struct.pack(">Q", stamp) + packet)
        self.written += 1
        return True

    def close(self) -> None:
        self._file.close()


class FlightLogRecorder:
    """Records one vehicle's MAVLink stream into a `.tlog` until stopped."""

    def __init__(self, system: Any, path: Path) -> None:
        self.system = system
        self.path = path
        self.writer: TlogWriter | None = None
        self._task: asyncio.Task[None] | None = None
        self._plugin: MavlinkDirectAsync | None = None

    def start(self) -> None:
        self.writer = TlogWriter(self.path)
        self._plugin = MavlinkDirectAsync(self.system)
        self._task = asyncio.create_task(self._run(), name=f"flight log {self.path.name}")

    async def _run(self) -> None:
        assert self._plugin is not None and self.writer is not None
        flush_at = time.monotonic() + 1.0
        async for m in self._plugin.subscribe_message(""):
            try:
                fields = json.loads(m.fields_json)
            except ValueError:
                continue
            self.writer.write(m.message_name, m.system_id, m.component_id, fields)
            if time.monotonic() >= flush_at:
                self.writer._file.flush()
                flush_at = time.monotonic() + 1.0

    async def stop(self) -> None:
        await cancel_task(self._task)
        self._task = None
        if self._plugin is not None:
            with contextlib.suppress(Exception):
                self._plugin.destroy()
            self._plugin = None
        if self.writer is not None:
            self.writer.close()
            log.info("flight log %s: %d messages", self.path, self.writer.written)
