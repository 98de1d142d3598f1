"""DJI `.SRT` subtitle telemetry: one subtitle block per frame (or per second on older models).

Layouts seen in DJI files (learned from public samples):
- bracketed, newer models (Mini, Air, Mavic 3, M30...): `[latitude: 30.74] [longitude: 121.34]`
  (`longtitude` on some firmware), `[rel_alt: 52.1 abs_alt: 56.0]` or `[altitude: 56.0]`, optional
  gimbal `[gb_yaw: .. gb_pitch: .. gb_roll: ..]`, a `[Drone: Yaw:.., Pitch:.., Roll:..]` block, and a
  local date-time line `2024-08-07 12:34:24.380` (or `...,774,808` with ms and us);
- older Phantom / Mavic Pro: `HOME(lon,lat) 2017.07.29 15:18:50`, `GPS(lon,lat,sats) BAROMETER:12.3`
  (BAROMETER is the height above take-off); the Matrice 200/300 style
  `GPS(lat,lon,0.0M) BAROMETER:80.1M` writes latitude first, marked by the `M` units.
A sample's video position is its subtitle start time; its absolute time is the date-time line in
the drone's local time zone (`timezone`), else `video_start + position`.
"""

from __future__ import annotations

import math
import re
from datetime import datetime
from pathlib import Path
from zoneinfo import ZoneInfo, ZoneInfoNotFoundError

import numpy as np

from core.errors import BadInput
from inference.telemetry import ATTITUDE_ANGLES, GIMBAL_ANGLES, PoseTrack, Series

_TIMECODE = re.compile(r"(\d+):(\d{2}):(\d{2})[,.](\d{1,3})\s*-->")
_DATETIME = re.compile(r"(\d{4})[-./](\d{2})[-./](\d{2})[ T]+(\d{1,2}):(\d{2}):(\d{2})"
                       r"(?:[.,](\d{1,3}))?(?:[.,](\d{1,3}))?")
_KV = re.compile(r"([A-Za-z_]+)\s*:\s*(-?\d+(?:\.\d+)?)")
_GPS = re.compile(r"GPS\s*\(\s*(-?[\d.]+)\s*,\s*(-?[\d.]+)\s*(?:,\s*(-?[\d.]+)\s*(M?))?\s*\)", re.IGNORECASE)
_HOME = re.compile(r"HOME\s*\(\s*(-?[\d.]+)\s*,\s*(-?[\d.]+)", re.IGNORECASE)
_BARO = re.compile(r"BAROMETER\s*:\s*(-?[\d.]+)", re.IGNORECASE)
_DRONE = re.compile(r"Drone\s*:\s*Yaw\s*:\s*(-?[\d.]+)\s*,\s*Pitch\s*:\s*(-?[\d.]+)\s*,\s*Roll\s*:\s*(-?[\d.]+)",
                    re.IGNORECASE)
_TAG = re.compile(r"<[^>]+>")


def _gps_lat_lon(a: float, b: float, has_home: bool, metres_marked: bool) -> tuple[float, float]:
    if has_home:
        return b, a  # HOME-style files write longitude first
    if metres_marked:
        return a, b  # Matrice style "GPS(lat,lon,0.0M)"
    if abs(a) > 90 >= abs(b):
        return b, a
    if abs(b) > 90 >= abs(a):
        return a, b
    return b, a  # the older consumer-drone default: longitude first


def read_srt(path: str | Path, *, timezone: str = "Asia/Shanghai", video_start: float | None = None) -> PoseTrack:
    p = Path(path)
    try:
        text = p.read_text(encoding="utf-8-sig", errors="replace")
    except OSError as exc:
        raise BadInput(f"{p}: cannot read ({exc})") from None
    try:
        tz = ZoneInfo(timezone)
    except (ZoneInfoNotFoundError, ValueError):
        raise BadInput(f"unknown time zone {timezone!r}") from None
    blocks = re.split(r"\r?\n\s*\r?\n", text.replace("\r\n", "\n"))
    pos_s: list[float] = []
    t: list[float] = []
    pos: dict[str, list[float]] = {"lat_deg": [], "lon_deg": [], "alt_rel_m": [], "alt_amsl_m": []}
    att: dict[str, list[float]] = {k: [] for k in ATTITUDE_ANGLES}
    gim: dict[str, list[float]] = {k: [] for k in GIMBAL_ANGLES}
    home: tuple[float, float, float] | None = None
    for block in blocks:
        tc = _TIMECODE.search(block)
        if not tc:
            continue
        h, m, s, ms = tc.groups()
        position = int(h) * 3600 + int(m) * 60 + int(s) + int(ms.ljust(3, "0")) / 1000.0
        body = _TAG.sub(" ", block[tc.end():])
        kv = {k.lower(): float(v) for k, v in _KV.findall(body)}
        lat = kv.get("latitude", math.nan)
        lon = kv.get("longitude", kv.get("longtitude", math.nan))
        rel = kv.get("rel_alt", math.nan)
        amsl = kv.get("abs_alt", kv.get("altitude", math.nan))
        gps = _GPS.search(body)
        home_m = _HOME.search(body)
        if gps:
            lat, lon = _gps_lat_lon(float(gps.group(1)), float(gps.group(2)), bool(home_m), bool(gps.group(4)))
            baro = _BARO.search(body)
            if baro:
                rel = float(baro.group(1))
        if home_m and home is None:
            home = (float(home_m.group(2)), float(home_m.group(1)), math.nan)
        if not (math.isfinite(lat) and math.isfinite(lon)) or (lat == 0.0 and lon == 0.0):
            continue
        if math.isnan(rel) and math.isnan(amsl):
            continue
        dt = _DATETIME.search(body)
        if dt:
            y, mo, d, hh, mi, ss, f1, f2 = dt.groups()
            micro = int((f1 or "0").ljust(3, "0")) * 1000 + (int(f2.ljust(3, "0")) if f2 else 0)
            when = datetime(int(y), int(mo), int(d), int(hh), int(mi), int(ss), micro, tzinfo=tz).timestamp()
        elif video_start is not None:
            when = video_start + position
        else:
            when = position  # relative only: the caller aligns it with --video-start
        drone = _DRONE.search(body)
        pos_s.append(position)
        t.append(when)
        pos["lat_deg"].append(lat)
        pos["lon_deg"].append(lon)
        pos["alt_rel_m"].append(rel)
        pos["alt_amsl_m"].append(amsl)
        att["yaw_deg"].append(float(drone.group(1)) if drone else math.nan)
        att["pitch_deg"].append(float(drone.group(2)) if drone else math.nan)
        att["roll_deg"].append(float(drone.group(3)) if drone else math.nan)
        gim["gimbal_yaw_deg"].append(kv.get("gb_yaw", math.nan))
        gim["gimbal_pitch_deg"].append(kv.get("gb_pitch", math.nan))
        gim["gimbal_roll_deg"].append(kv.get("gb_roll", math.nan))
    if not t:
        raise BadInput(f"{p}: no DJI telemetry (latitude/longitude or GPS(...)) in the subtitles")
    # Older models log once a second with whole-second clocks: spread repeated times by position.
    ta = np.asarray(t)
    pa = np.asarray(pos_s)
    if len(ta) > 1 and (np.diff(ta) <= 0).any():
        ta = ta[0] + (pa - pa[0])
    t = ta.tolist()
    gimbal = Series.build(t, gim, GIMBAL_ANGLES)
    position_series = Series.build(t, pos)
    return PoseTrack(
        position=position_series,
        attitude=Series.build(t, att, ATTITUDE_ANGLES),
        gimbal=gimbal,
        # DJI's gb_yaw is the gimbal's heading in the earth frame.
        gimbal_yaw_absolute=bool(np.isfinite(gimbal.values["gimbal_yaw_deg"]).any()),
        video_position_s=Series.build(t, {"v": pos_s}).values["v"],
        home=home,
        source=str(p),
    )
