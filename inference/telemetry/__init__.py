"""Pose at frame time: telemetry logs read into a `PoseTrack`, interpolated to each frame.

Readers: MAVLink `.tlog` (`tlog`), a documented CSV (`csv_log`), DJI `.SRT` subtitles (`srt`).
Each channel group (position, vehicle attitude, gimbal) keeps its own sample times, because logs
sample them at different rates. Positions interpolate linearly, angles on the circle (unwrapped).
"""

from __future__ import annotations

import math
from dataclasses import dataclass, field
from pathlib import Path

import numpy as np
from numpy.typing import NDArray

from core.errors import BadInput
from inference.types import Pose

FloatArray = NDArray[np.float64]


@dataclass(slots=True)
class Series:
    """Samples of a few channels at shared times (sorted, unique). NaN = not known at that sample."""

    t: FloatArray
    values: dict[str, FloatArray]
    angles: frozenset[str] = frozenset()

    @classmethod
    def build(cls, t: list[float], values: dict[str, list[float]], angles: frozenset[str] = frozenset()) -> Series:
        ta = np.asarray(t, dtype=float)
        order = np.argsort(ta, kind="stable")
        ta = ta[order]
        keep = np.concatenate([[True], np.diff(ta) > 0]) if len(ta) else np.zeros(0, dtype=bool)
        vals = {k: np.asarray(v, dtype=float)[order][keep] for k, v in values.items()}
        return cls(ta[keep], vals, angles)

    def __len__(self) -> int:
        return len(self.t)

    def at(self, t: float | FloatArray) -> dict[str, FloatArray]:
        """Every channel at `t` (clamped to the ends), NaN for a channel never known."""
        tq = np.atleast_1d(np.asarray(t, dtype=float))
        out: dict[str, FloatArray] = {}
        for k, v in self.values.items():
            ok = np.isfinite(v)
            if not ok.any():
                out[k] = np.full(tq.shape, np.nan)
                continue
            tv, vv = self.t[ok], v[ok]
            if k in self.angles:
                # On the circle: unwrap so that 359 -> 1 passes through 0, not through 180.
                vv = np.degrees(np.unwrap(np.radians(vv)))
                r = np.interp(tq, tv, vv)
                out[k] = (r + 180.0) % 360.0 - 180.0
            else:
                out[k] = np.interp(tq, tv, vv)
        return out


@dataclass(slots=True)
class PoseTrack:
    """A flight's poses over time; `at(t)` interpolates. Times are unix seconds (UTC)."""

    position: Series  # lat_deg, lon_deg, alt_rel_m, alt_amsl_m
    attitude: Series | None = None  # yaw_deg, pitch_deg, roll_deg
    gimbal: Series | None = None  # gimbal_yaw_deg, gimbal_pitch_deg, gimbal_roll_deg
    gimbal_yaw_absolute: bool = False
    # DJI .SRT: the video position (s) of each position sample, so a frame's time follows from it.
    video_position_s: FloatArray | None = None
    home: tuple[float, float, float] | None = None  # lat, lon, alt_amsl where the log says
    tolerance_s: float = 2.0
    source: str = ""
    notes: list[str] = field(default_factory=list)

    @property
    def start(self) -> float:
        return float(self.position.t[0])

    @property
    def end(self) -> float:
        return float(self.position.t[-1])

    def time_at_position(self, position_s: float) -> float | None:
        """The absolute time of a video position, where the log is keyed by video time."""
        if self.video_position_s is None or len(self.video_position_s) == 0:
            return None
        return float(np.interp(position_s, self.video_position_s, self.position.t))

    def at(self, t: float) -> Pose | None:
        """The pose at `t`, or None when `t` lies outside the log (beyond `tolerance_s`)."""
        if not self.start - self.tolerance_s <= t <= self.end + self.tolerance_s:
            return None
        p = {k: float(v[0]) for k, v in self.position.at(t).items()}
        a = {k: float(v[0]) for k, v in self.attitude.at(t).items()} if self.attitude and len(self.attitude) else {}
        g = {k: float(v[0]) for k, v in self.gimbal.at(t).items()} if self.gimbal and len(self.gimbal) else {}
        nan = math.nan
        return Pose(
            t=t,
            lat_deg=p["lat_deg"],
            lon_deg=p["lon_deg"],
            alt_rel_m=p.get("alt_rel_m", nan),
            alt_amsl_m=p.get("alt_amsl_m", nan),
            yaw_deg=_or(a.get("yaw_deg"), 0.0),
            pitch_deg=_or(a.get("pitch_deg"), 0.0),
            roll_deg=_or(a.get("roll_deg"), 0.0),
            gimbal_yaw_deg=g.get("gimbal_yaw_deg", nan),
            gimbal_pitch_deg=g.get("gimbal_pitch_deg", nan),
            gimbal_roll_deg=g.get("gimbal_roll_deg", nan),
            gimbal_yaw_absolute=self.gimbal_yaw_absolute,
        )


def _or(v: float | None, default: float) -> float:
    return default if v is None or math.isnan(v) else v


POSITION_ANGLES: frozenset[str] = frozenset()
ATTITUDE_ANGLES = frozenset({"yaw_deg", "pitch_deg", "roll_deg"})
GIMBAL_ANGLES = frozenset({"gimbal_yaw_deg", "gimbal_pitch_deg", "gimbal_roll_deg"})


def load_telemetry(path: str | Path, *, srt_timezone: str = "Asia/Shanghai") -> PoseTrack:
    """Pick the reader from the suffix: .tlog, .csv, .srt (case-insensitive)."""
    p = Path(path)
    if not p.is_file():
        raise BadInput(f"{p}: telemetry file not found")
    suffix = p.suffix.lower()
    if suffix == ".tlog":
        from inference.telemetry.tlog import read_tlog

        track = read_tlog(p)
    elif suffix == ".csv":
        from inference.telemetry.csv_log import read_csv_log

        track = read_csv_log(p)
    elif suffix == ".srt":
        from inference.telemetry.srt import read_srt

        track = read_srt(p, timezone=srt_timezone)
    else:
        raise BadInput(f"{p}: unknown telemetry format (expected .tlog, .csv or .srt)")
    if len(track.position) == 0:
        raise BadInput(f"{p}: no position samples in the telemetry")
    return track
