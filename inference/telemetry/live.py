"""Live pose from the autopilot's MAVLink stream (the edge worker sits next to the camera).

A thread reads GLOBAL_POSITION_INT, ATTITUDE, HOME_POSITION and the gimbal's attitude
(MOUNT_ORIENTATION / GIMBAL_DEVICE_ATTITUDE_STATUS) and keeps a rolling window of samples,
stamped with the wall clock on arrival; `at(t)` interpolates like a recorded `PoseTrack`.
"""

from __future__ import annotations

import math
import threading
import time
from collections import deque

from inference.telemetry import ATTITUDE_ANGLES, GIMBAL_ANGLES, PoseTrack, Series
from inference.types import Pose


class LivePoseFeed:
    def __init__(self, window_s: float = 120.0, tolerance_s: float = 1.0) -> None:
        self.window_s = window_s
        self.tolerance_s = tolerance_s
        self.home: tuple[float, float, float] | None = None
        self.video_position_s = None
        self._pos: deque[tuple[float, float, float, float, float]] = deque()
        self._att: deque[tuple[float, float, float, float]] = deque()
        self._gim: deque[tuple[float, float, float, float]] = deque()
        self._lock = threading.Lock()
        self._track: PoseTrack | None = None
        self._dirty = True
        self._stop = threading.Event()
        self._thread: threading.Thread | None = None

    # -- samples (from the reader thread, or fed directly) ----------------------------------------
    def add_position(self, t: float, lat: float, lon: float, alt_rel_m: float, alt_amsl_m: float) -> None:
        self._add(self._pos, (t, lat, lon, alt_rel_m, alt_amsl_m))

    def add_attitude(self, t: float, yaw_deg: float, pitch_deg: float, roll_deg: float) -> None:
        self._add(self._att, (t, yaw_deg, pitch_deg, roll_deg))

    def add_gimbal(self, t: float, yaw_deg: float, pitch_deg: float, roll_deg: float) -> None:
        self._add(self._gim, (t, yaw_deg, pitch_deg, roll_deg))

    def _add(self, q: deque, sample: tuple) -> None:  # type: ignore[type-arg]
        with self._lock:
            q.append(sample)
            while q and q[-1][0] - q[0][0] > self.window_s:
                q.popleft()
            self._dirty = True

    def time_at_position(self, position_s: float) -> float | None:
        return None

    def at(self, t: float) -> Pose | None:
        track = self._snapshot()
        return track.at(t) if track is not None else None

    def _snapshot(self) -> PoseTrack | None:
        with self._lock:
            if not self._dirty:
                return self._track
            if not self._pos:
                return None
            pos = list(self._pos)
            att, gim = list(self._att), list(self._gim)
            self._dirty = False
        position = Series.build([p[0] for p in pos], {"lat_deg": [p[1] for p in pos], "lon_deg": [p[2] for p in pos],
                                                      "alt_rel_m": [p[3] for p in pos],
                                                      "alt_amsl_m": [p[4] for p in pos]})
        attitude = gimbal = None
        if att:
            attitude = Series.build([a[0] for a in att], {"yaw_deg": [a[1] for a in att],
                                                          "pitch_deg": [a[2] for a in att],
                                                          "roll_deg": [a[3] for a in att]}, ATTITUDE_ANGLES)
        if gim:
            gimbal = Series.build([g[0] for g in gim], {"gimbal_yaw_deg": [g[1] for g in gim],
                                                        "gimbal_pitch_deg": [g[2] for g in gim],
                                                        "gimbal_roll_deg": [g[3] for g in gim]}, GIMBAL_ANGLES)
        self._track = PoseTrack(position, attitude, gimbal, home=self.home, tolerance_s=self.tolerance_s,
                                source="mavlink-live")
        return self._track

    # -- MAVLink reader ------------------------------------------------------------------------
    def start_mavlink(self, url: str) -> None:
        """Read from a MAVLink endpoint (pymavlink URL, e.g. `udpin:0.0.0.0:14550`) in a thread."""
        from pymavlink import mavutil

        conn = mavutil.mavlink_connection(url, source_system=250, source_component=191)

        def read() -> None:
            while not self._stop.is_set():
                msg = conn.recv_match(blocking=True, timeout=0.5)
                if msg is None:
                    continue
                self.handle(msg, time.time())
            conn.close()

        self._thread = threading.Thread(target=read, name="mavlink-pose", daemon=True)
        self._thread.start()

    def handle(self, msg: object, now: float) -> None:
        kind = msg.get_type()  # type: ignore[attr-defined]
        m = msg
        if kind == "GLOBAL_POSITION_INT":
            self.add_position(now, m.lat / 1e7, m.lon / 1e7, m.relative_alt / 1000.0, m.alt / 1000.0)  # type: ignore[attr-defined]
        elif kind == "ATTITUDE":
            self.add_attitude(now, math.degrees(m.yaw), math.degrees(m.pitch), math.degrees(m.roll))  # type: ignore[attr-defined]
        elif kind == "MOUNT_ORIENTATION":
            self.add_gimbal(now, m.yaw, m.pitch, m.roll)  # type: ignore[attr-defined]
        elif kind == "GIMBAL_DEVICE_ATTITUDE_STATUS":
            w, x, y, z = m.q  # type: ignore[attr-defined]
            roll = math.degrees(math.atan2(2 * (w * x + y * z), 1 - 2 * (x * x + y * y)))
            pitch = math.degrees(math.asin(max(-1.0, min(1.0, 2 * (w * y - z * x)))))
            yaw = math.degrees(math.atan2(2 * (w * z + x * y), 1 - 2 * (y * y + z * z)))
            self.add_gimbal(now, yaw, pitch, roll)
        elif kind == "HOME_POSITION":
            self.home = (m.latitude / 1e7, m.longitude / 1e7, m.altitude / 1000.0)  # type: ignore[attr-defined]

    def stop(self) -> None:
        self._stop.set()
        if self._thread is not None:
            self._thread.join(2)
