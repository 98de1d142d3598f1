"""MAVLink telemetry logs (.tlog: each message prefixed by its 64-bit big-endian unix time in us).

Read: GLOBAL_POSITION_INT (position, AMSL and relative altitude), ATTITUDE (vehicle yaw/pitch/
roll), and the gimbal from MOUNT_ORIENTATION (yaw relative to the vehicle) or
GIMBAL_DEVICE_ATTITUDE_STATUS (quaternion; yaw in the earth frame when the flags say so).
Sample times are the log's own receive stamps. `TlogWriter` writes such logs (tests, simulator).
"""

from __future__ import annotations

import math
import struct
from pathlib import Path
from types import TracebackType

from pymavlink import mavutil
from pymavlink.dialects.v20 import ardupilotmega as mavlink2

from core.errors import BadInput
from inference.telemetry import ATTITUDE_ANGLES, GIMBAL_ANGLES, PoseTrack, Series

_YAW_IN_VEHICLE_FRAME = 1024
_YAW_IN_EARTH_FRAME = 2048
_YAW_LOCK = 16


def quaternion_to_euler_deg(w: float, x: float, y: float, z: float) -> tuple[float, float, float]:
    """(yaw, pitch, roll) in degrees of a Hamilton quaternion rotating FRD into NED (ZYX)."""
    roll = math.atan2(2.0 * (w * x + y * z), 1.0 - 2.0 * (x * x + y * y))
    pitch = math.asin(max(-1.0, min(1.0, 2.0 * (w * y - z * x))))
    yaw = math.atan2(2.0 * (w * z + x * y), 1.0 - 2.0 * (y * y + z * z))
    return math.degrees(yaw), math.degrees(pitch), math.degrees(roll)


def euler_to_quaternion(yaw_deg: float, pitch_deg: float, roll_deg: float) -> tuple[float, float, float, float]:
    cy, sy = math.cos(math.radians(yaw_deg) / 2), math.sin(math.radians(yaw_deg) / 2)
    cp, sp = math.cos(math.radians(pitch_deg) / 2), math.sin(math.radians(pitch_deg) / 2)
    cr, sr = math.cos(math.radians(roll_deg) / 2), math.sin(math.radians(roll_deg) / 2)
    return (cr * cp * cy + sr * sp * sy, sr * cp * cy - cr * sp * sy,
            cr * sp * cy + sr * cp * sy, cr * cp * sy - sr * sp * cy)


def read_tlog(path: str | Path) -> PoseTrack:
    p = Path(path)
    try:
        conn = mavutil.mavlink_connection(str(p), dialect="ardupilotmega", robust_parsing=True)
    except Exception as exc:  # pymavlink raises bare exceptions on broken files
        raise BadInput(f"{p}: not a MAVLink .tlog ({exc})") from None
    pos_t: list[float] = []
    pos: dict[str, list[float]] = {"lat_deg": [], "lon_deg": [], "alt_amsl_m": [], "alt_rel_m": []}
    att_t: list[float] = []
    att: dict[str, list[float]] = {"yaw_deg": [], "pitch_deg": [], "roll_deg": []}
    gim_t: list[float] = []
    gim: dict[str, list[float]] = {"gimbal_yaw_deg": [], "gimbal_pitch_deg": [], "gimbal_roll_deg": []}
    absolute_votes = 0
    home: tuple[float, float, float] | None = None
    types = ["GLOBAL_POSITION_INT", "ATTITUDE", "MOUNT_ORIENTATION", "GIMBAL_DEVICE_ATTITUDE_STATUS", "HOME_POSITION"]
    try:
        while True:
            m = conn.recv_match(type=types, blocking=False)
            if m is None:
                break
            t = float(getattr(m, "_timestamp", 0.0))
            kind = m.get_type()
            if kind == "GLOBAL_POSITION_INT":
                if m.lat == 0 and m.lon == 0:
                    continue  # no fix yet
                pos_t.append(t)
                pos["lat_deg"].append(m.lat / 1e7)
                pos["lon_deg"].append(m.lon / 1e7)
                pos["alt_amsl_m"].append(m.alt / 1000.0)
                pos["alt_rel_m"].append(m.relative_alt / 1000.0)
            elif kind == "ATTITUDE":
                att_t.append(t)
                att["yaw_deg"].append(math.degrees(m.yaw))
                att["pitch_deg"].append(math.degrees(m.pitch))
                att["roll_deg"].append(math.degrees(m.roll))
            elif kind == "MOUNT_ORIENTATION":
                gim_t.append(t)
                gim["gimbal_yaw_deg"].append(m.yaw)
                gim["gimbal_pitch_deg"].append(m.pitch)
                gim["gimbal_roll_deg"].append(m.roll)
                absolute_votes -= 1
            elif kind == "GIMBAL_DEVICE_ATTITUDE_STATUS":
                q = [float(v) for v in m.q]
                if not all(math.isfinite(v) for v in q) or sum(v * v for v in q) < 0.5:
                    continue
                yaw, pitch, roll = quaternion_to_euler_deg(*q)
                gim_t.append(t)
                gim["gimbal_yaw_deg"].append(yaw)
                gim["gimbal_pitch_deg"].append(pitch)
                gim["gimbal_roll_deg"].append(roll)
                earth = bool(m.flags & _YAW_IN_EARTH_FRAME) or (
                    bool(m.flags & _YAW_LOCK) and not m.flags & _YAW_IN_VEHICLE_FRAME)
                absolute_votes += 1 if earth else -1
            elif kind == "HOME_POSITION":
                home = (m.latitude / 1e7, m.longitude / 1e7, m.altitude / 1000.0)
    except (struct.error, ValueError, TypeError) as exc:
        raise BadInput(f"{p}: broken MAVLink log ({exc})") from None
    finally:
        conn.close()
    if not pos_t:
        raise BadInput(f"{p}: no GLOBAL_POSITION_INT messages in the .tlog")
    return PoseTrack(
        position=Series.build(pos_t, pos),
        attitude=Series.build(att_t, att, ATTITUDE_ANGLES) if att_t else None,
        gimbal=Series.build(gim_t, gim, GIMBAL_ANGLES) if gim_t else None,
        gimbal_yaw_absolute=absolute_votes > 0,
        home=home,
        source=str(p),
    )


class TlogWriter:
    """Write a .tlog: `with TlogWriter(path) as w: w.position(t, ...)`. Times are unix seconds."""

    def __init__(self, path: str | Path, *, system_id: int = 1) -> None:
        self._f = open(path, "wb")
        self._mav = mavlink2.MAVLink(None, srcSystem=system_id, srcComponent=1)
        self._t0: float | None = None

    def _write(self, t: float, msg: mavlink2.MAVLink_message) -> None:
        self._f.write(struct.pack(">Q", round(t * 1e6)) + msg.pack(self._mav))

    def _boot_ms(self, t: float) -> int:
        if self._t0 is None:
            self._t0 = t
        return int((t - self._t0) * 1000) & 0xFFFFFFFF

    def position(self, t: float, lat_deg: float, lon_deg: float, alt_amsl_m: float, alt_rel_m: float,
                 heading_deg: float = 0.0) -> None:
        self._write(t, self._mav.global_position_int_encode(
            self._boot_ms(t), round(lat_deg * 1e7), round(lon_deg * 1e7), round(alt_amsl_m * 1000),
            round(alt_rel_m * 1000), 0, 0, 0, round((heading_deg % 360.0) * 100)))

    def attitude(self, t: float, yaw_deg: float, pitch_deg: float, roll_deg: float) -> None:
        self._write(t, self._mav.attitude_encode(self._boot_ms(t), math.radians(roll_deg), math.radians(pitch_deg),
                                                 math.radians(yaw_deg), 0.0, 0.0, 0.0))

    def mount_orientation(self, t: float, yaw_deg: float, pitch_deg: float, roll_deg: float = 0.0) -> None:
        self._write(t, self._mav.mount_orientation_encode(self._boot_ms(t), roll_deg, pitch_deg, yaw_deg, math.nan))

    def gimbal_status(self, t: float, yaw_deg: float, pitch_deg: float, roll_deg: float = 0.0, *,
                      yaw_in_earth_frame: bool = False) -> None:
        flags = _YAW_IN_EARTH_FRAME if yaw_in_earth_frame else _YAW_IN_VEHICLE_FRAME
        q = euler_to_quaternion(yaw_deg, pitch_deg, roll_deg)
        self._write(t, self._mav.gimbal_device_attitude_status_encode(
            0, 0, self._boot_ms(t), flags, q, math.nan, math.nan, math.nan, 0))

    def home_position(self, t: float, lat_deg: float, lon_deg: float, alt_amsl_m: float) -> None:
        self._write(t, self._mav.home_position_encode(round(lat_deg * 1e7), round(lon_deg * 1e7),
                                                      round(alt_amsl_m * 1000), 0.0, 0.0, 0.0,
                                                      [1.0, 0.0, 0.0, 0.0], 0.0, 0.0, 0.0))

    def close(self) -> None:
        self._f.close()

    def __enter__(self) -> TlogWriter:
        return self

    def __exit__(self, exc_type: type[BaseException] | None, exc: BaseException | None,
                 tb: TracebackType | None) -> None:
        self.close()
