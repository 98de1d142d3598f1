"""Pose CSV: one row per sample, a header naming the columns (order free, extra columns ignored).

| column | unit | required |
|---|---|---|
| `time` | ISO 8601 with a zone (`2025-03-03T10:00:00.250Z`) or unix seconds | yes |
| `lat`, `lon` | WGS84 degrees | yes |
| `alt_rel_m` | metres above home / take-off | one of the two |
| `alt_amsl_m` | metres above mean sea level | one of the two |
| `yaw_deg`, `pitch_deg`, `roll_deg` | vehicle attitude: yaw clockwise from north, nose up, right wing down | no (0) |
| `gimbal_yaw_deg`, `gimbal_pitch_deg`, `gimbal_roll_deg` | yaw relative to the vehicle; pitch -90 = nadir | no |
| `video_s` | the video position of the sample (a frame's time then follows from its position) | no |

An empty cell means "not known at this sample".
"""

from __future__ import annotations

import csv
import math
from datetime import datetime
from pathlib import Path

import numpy as np

from core.errors import BadInput
from inference.telemetry import ATTITUDE_ANGLES, GIMBAL_ANGLES, PoseTrack, Series

ALIASES = {"latitude": "lat", "lat_deg": "lat", "longitude": "lon", "lon_deg": "lon", "timestamp": "time",
           "t": "time", "yaw": "yaw_deg", "pitch": "pitch_deg", "roll": "roll_deg"}


def parse_time(text: str) -> float:
    """Unix seconds from ISO 8601 (with a zone) or a number."""
    s = text.strip()
    try:
        return float(s)
    except ValueError:
        pass
    try:
        dt = datetime.fromisoformat(s.replace("Z", "+00:00"))
    except ValueError:
        raise ValueError(f"time {s!r} is neither ISO 8601 nor unix seconds") from None
    if dt.tzinfo is None:
        raise ValueError(f"time {s!r} has no timezone (add Z or +08:00)")
    return dt.timestamp()


def read_csv_log(path: str | Path) -> PoseTrack:
    p = Path(path)
    try:
        with p.open(newline="", encoding="utf-8-sig") as f:
            rows = list(csv.reader(f))
    except (OSError, UnicodeDecodeError, csv.Error) as exc:
        raise BadInput(f"{p}: not a CSV file ({exc})") from None
    if not rows:
        raise BadInput(f"{p}: empty CSV")
    header = [ALIASES.get(h.strip().lower(), h.strip().lower()) for h in rows[0]]
    col = {h: i for i, h in enumerate(header)}
    for need in ("time", "lat", "lon"):
        if need not in col:
            raise BadInput(f"{p}: CSV column {need!r} is missing (header: {', '.join(header)})")
    if "alt_rel_m" not in col and "alt_amsl_m" not in col:
        raise BadInput(f"{p}: CSV needs an alt_rel_m or alt_amsl_m column")

    def cell(row: list[str], name: str, line: int) -> float:
        i = col.get(name)
        if i is None or i >= len(row) or not row[i].strip():
            return math.nan
        try:
            v = float(row[i])
        except ValueError:
            raise BadInput(f"{p}:{line}: {name} {row[i]!r} is not a number") from None
        if not math.isfinite(v):
            raise BadInput(f"{p}:{line}: {name} is not finite")
        return v

    t: list[float] = []
    pos: dict[str, list[float]] = {"lat_deg": [], "lon_deg": [], "alt_rel_m": [], "alt_amsl_m": []}
    att: dict[str, list[float]] = {k: [] for k in ATTITUDE_ANGLES}
    gim: dict[str, list[float]] = {k: [] for k in GIMBAL_ANGLES}
    video: list[float] = []
    for line, row in enumerate(rows[1:], start=2):
        if not any(c.strip() for c in row):
            continue
        try:
            t.append(parse_time(row[col["time"]]))
        except (ValueError, IndexError) as exc:
            raise BadInput(f"{p}:{line}: {exc}") from None
        lat, lon = cell(row, "lat", line), cell(row, "lon", line)
        if not (-90 <= lat <= 90 and -180 <= lon <= 180):
            raise BadInput(f"{p}:{line}: lat/lon missing or out of range")
        pos["lat_deg"].append(lat)
        pos["lon_deg"].append(lon)
        pos["alt_rel_m"].append(cell(row, "alt_rel_m", line))
        pos["alt_amsl_m"].append(cell(row, "alt_amsl_m", line))
        for k in att:
            att[k].append(cell(row, k, line))
        for k in gim:
            gim[k].append(cell(row, k, line))
        video.append(cell(row, "video_s", line))
    if not t:
        raise BadInput(f"{p}: no samples")
    position = Series.build(t, pos)
    video_arr = Series.build(t, {"v": video}).values["v"]
    return PoseTrack(
        position=position,
        attitude=Series.build(t, att, ATTITUDE_ANGLES),
        gimbal=Series.build(t, gim, GIMBAL_ANGLES),
        video_position_s=video_arr if np.isfinite(video_arr).all() else None,
        source=str(p),
    )


def write_csv_log(path: str | Path, rows: list[dict[str, float]]) -> None:
    """Write samples (dicts keyed by the column names above) as a pose CSV."""
    cols = ["time", "lat", "lon", "alt_rel_m", "alt_amsl_m", "yaw_deg", "pitch_deg", "roll_deg",
            "gimbal_yaw_deg", "gimbal_pitch_deg", "gimbal_roll_deg", "video_s"]
    used = [c for c in cols if any(c in r for r in rows)]
    with Path(path).open("w", newline="", encoding="utf-8") as f:
        w = csv.writer(f)
        w.writerow(used)
        for r in rows:
            w.writerow(["" if r.get(c) is None else repr(float(r[c])) for c in used])
