"""A MAVLink UDP relay between one vehicle and its ground station that can cut the link and
keeps the vehicle's last reported state: fault injection and ground truth for autopilots that
have no control port of their own (PX4 SITL).

The vehicle sends to 127.0.0.1:`vehicle_port` (PX4 SITL instance i: 14540+i); the tap listens
there and forwards to the ground station on 127.0.0.1:`gcs_port` (MAVSDK `udpin://0.0.0.0:<gcs_port>`),
and the ground station's replies back to wherever the vehicle last sent from. While cut, nothing
passes either way, but the tap still reads what the vehicle sends, so its `state()` stays true.

    tap = MavlinkTap(vehicle_port=14540, gcs_port=free_udp_base(1)).start()
    tap.cut(wall_s=3.0); tap.state()["mode"]; tap.stop()
"""

from __future__ import annotations

import math
import selectors
import socket
import struct
import threading
import time
from dataclasses import dataclass, field
from typing import Any

from geo.enu import geodetic2enu
from sitl.px4_modes import AutoSubMode, MainMode, mode_name

MAV_TYPE_GCS = 6
MAV_MODE_FLAG_SAFETY_ARMED = 128
MAV_LANDED_STATE_ON_GROUND = 1

# Message id -> (struct format, full payload length); MAVLink 2 trims trailing zero bytes.
MAV_SYS_STATUS_PREARM_CHECK = 0x10000000
HEARTBEAT, SYS_STATUS, GLOBAL_POSITION_INT, MISSION_CURRENT, MISSION_ITEM_REACHED = 0, 1, 33, 42, 46
BATTERY_STATUS, HOME_POSITION, EXTENDED_SYS_STATE, MISSION_ACK = 147, 242, 245, 47
_LAYOUT = {
    HEARTBEAT: ("<IBBBBB", 9),
    SYS_STATUS: ("<III", 12),
    GLOBAL_POSITION_INT: ("<IiiiihhhH", 28),
    MISSION_CURRENT: ("<H", 2),
    MISSION_ITEM_REACHED: ("<H", 2),
    BATTERY_STATUS: ("<iih10HhBBBb", 36),
    HOME_POSITION: ("<iii", 12),
    EXTENDED_SYS_STATE: ("<BB", 2),
}
# The simulator's names for the modes both fly (sitl/px4_modes.FlightMode), so truth reads alike.
_SIM_MODE_NAMES = {
    (MainMode.AUTO, AutoSubMode.LOITER): "HOLD",
    (MainMode.AUTO, AutoSubMode.TAKEOFF): "TAKEOFF",
    (MainMode.AUTO, AutoSubMode.MISSION): "MISSION",
    (MainMode.AUTO, AutoSubMode.RTL): "RTL",
    (MainMode.AUTO, AutoSubMode.LAND): "LAND",
}


def px4_mode_name(custom_mode: int) -> str:
    main, sub = (custom_mode >> 16) & 0xFF, (custom_mode >> 24) & 0xFF
    return _SIM_MODE_NAMES.get((main, sub), mode_name(main, sub))  # type: ignore[call-overload]


def mavlink_frames(data: bytes) -> list[tuple[int, int, int, bytes]]:
    """(msgid, sysid, compid, payload) of each MAVLink 1 or 2 frame in a datagram (no CRC check:
    loopback UDP does not corrupt, and an unknown CRC extra would reject messages we don't read)."""
    out, i, n = [], 0, len(data)
    while i < n:
        magic = data[i]
        if magic == 0xFD and i + 10 <= n:
            length, incompat = data[i + 1], data[i + 2]
            sysid, compid = data[i + 5], data[i + 6]
            msgid = data[i + 7] | data[i + 8] << 8 | data[i + 9] << 16
            end = i + 10 + length + 2 + (13 if incompat & 1 else 0)
            out.append((msgid, sysid, compid, data[i + 10:i + 10 + length]))
            i = end
        elif magic == 0xFE and i + 6 <= n:
            length = data[i + 1]
            out.append((data[i + 5], data[i + 3], data[i + 4], data[i + 6:i + 6 + length]))
            i += 6 + length + 2
        else:
            i += 1
    return out


def unpack(msgid: int, payload: bytes) -> tuple[Any, ...] | None:
    layout = _LAYOUT.get(msgid)
    if layout is None:
        return None
    fmt, size = layout
    return struct.unpack(fmt, payload[:size].ljust(size, b"\0"))


@dataclass
class VehicleTruth:
    """What the vehicle last said about itself, in the simulator's `state()` vocabulary."""

    system_id: int | None = None
    custom_mode: int = 0
    armed: bool = False
    landed: bool = True
    lat: float | None = None
    lon: float | None = None
    alt_amsl_m: float | None = None
    alt_rel_m: float = 0.0
    home: tuple[float, float, float] | None = None
    mission_seq: int = 0
    mission_total: int | None = None
    battery_remaining: float | None = None
    prearm_ok: bool = False
    time_s: float = 0.0  # the vehicle's clock (time since boot), simulated time in SITL
    # Each MISSION_ITEM_REACHED the vehicle sent (PX4 repeats one several times: kept once) since
    # the mission was last replaced.
    reached: list[int] = field(default_factory=list)
    heard_at: float = 0.0
    counts: dict[int, int] = field(default_factory=dict)

    def update(self, msgid: int, sysid: int, compid: int, payload: bytes) -> None:
        if msgid == MISSION_ACK:
            ack = payload[:4].ljust(4, b"\0")  # target system, component, result, mission type
            if ack[2] == 0 and ack[3] == 0:
                self.reached = []  # the vehicle accepted a new mission (MAV_MISSION_ACCEPTED)
        fields = unpack(msgid, payload)
        if fields is None:
            return
        if msgid == HEARTBEAT:
            custom_mode, mav_type, _autopilot, base_mode, _status, _version = fields
            if mav_type == MAV_TYPE_GCS or compid != 1:
                return
            self.system_id = sysid
            self.custom_mode = custom_mode
            self.armed = bool(base_mode & MAV_MODE_FLAG_SAFETY_ARMED)
        elif msgid == SYS_STATUS:
            self.prearm_ok = bool(fields[2] & MAV_SYS_STATUS_PREARM_CHECK)
        elif msgid == GLOBAL_POSITION_INT:
            self.time_s = fields[0] / 1000.0
            self.lat, self.lon = fields[1] / 1e7, fields[2] / 1e7
            self.alt_amsl_m, self.alt_rel_m = fields[3] / 1000.0, fields[4] / 1000.0
        elif msgid == MISSION_CURRENT:
            self.mission_seq = fields[0]
            if len(payload) >= 4:
                self.mission_total = struct.unpack("<H", payload[2:4])[0]
        elif msgid == MISSION_ITEM_REACHED:
            if not self.reached or self.reached[-1] != fields[0]:
                self.reached.append(fields[0])
        elif msgid == HOME_POSITION:
            self.home = (fields[0] / 1e7, fields[1] / 1e7, fields[2] / 1000.0)
        elif msgid == EXTENDED_SYS_STATE:
            self.landed = fields[1] == MAV_LANDED_STATE_ON_GROUND
        elif msgid == BATTERY_STATUS:
            self.battery_remaining = None if fields[-1] < 0 else fields[-1] / 100.0
        self.counts[msgid] = self.counts.get(msgid, 0) + 1
        self.heard_at = time.monotonic()

    def snapshot(self) -> dict[str, Any]:
        east = north = distance = math.nan
        if self.home is not None and self.lat is not None and self.lon is not None:
            e, n, _u = geodetic2enu(self.lat, self.lon, 0.0, self.home[0], self.home[1], 0.0)
            east, north, distance = float(e), float(n), math.hypot(float(e), float(n))
        return {
            "system_id": self.system_id,
            "time_s": self.time_s,
            "mode": px4_mode_name(self.custom_mode),
            "armed": self.armed,
            "landed": self.landed,
            "lat": self.lat,
            "lon": self.lon,
            "alt_amsl_m": self.alt_amsl_m,
            "alt_rel_m": self.alt_rel_m,
            "home": self.home,
            "east_m": east,
            "north_m": north,
            "distance_home_m": distance,
            "mission_seq": self.mission_seq,
            "mission_count": self.mission_total,
            "mission_reached": list(self.reached),
            "battery_remaining": self.battery_remaining,
            "prearm_ok": self.prearm_ok,
        }


class MavlinkTap:
    def __init__(self, vehicle_port: int, gcs_port: int, host: str = "127.0.0.1") -> None:
        self.vehicle_port = vehicle_port
        self.gcs_port = gcs_port
        self.host = host
        self.truth = VehicleTruth()
        self._cut_until = 0.0
        self._lock = threading.Lock()
        self._stop = threading.Event()
        self._thread: threading.Thread | None = None
        self._vehicle_addr: tuple[str, int] | None = None
        self.gcs_heartbeats = 0  # ground station heartbeats passed on to the vehicle
        self._vehicle_side = socket.socket(socket.AF_INET, socket.SOCK_DGRAM)
        self._gcs_side = socket.socket(socket.AF_INET, socket.SOCK_DGRAM)

    @property
    def gcs_url(self) -> str:
        return f"udpin://0.0.0.0:{self.gcs_port}"

    def start(self) -> MavlinkTap:
        try:
            self._vehicle_side.bind((self.host, self.vehicle_port))
        except OSError as exc:
            self.close()
            raise OSError(f"UDP port {self.vehicle_port} is taken ({exc}); is another PX4 SITL ground "
                          "station or a simulator running?") from None
        self._gcs_side.bind((self.host, 0))
        self._thread = threading.Thread(target=self._run, name=f"mavlink-tap-{self.vehicle_port}", daemon=True)
        self._thread.start()
        return self

    def cut(self, wall_s: float | None = None) -> None:
        """Drop everything both ways for `wall_s` wall-clock seconds (None: until `restore`)."""
        with self._lock:
            self._cut_until = math.inf if wall_s is None else time.monotonic() + wall_s

    def restore(self) -> None:
        with self._lock:
            self._cut_until = 0.0

    @property
    def is_cut(self) -> bool:
        with self._lock:
            return time.monotonic() < self._cut_until

    def state(self) -> dict[str, Any]:
        with self._lock:
            return self.truth.snapshot() | {"link_cut": time.monotonic() < self._cut_until,
                                            "gcs_heartbeats": self.gcs_heartbeats}

    def send_to_vehicle(self, datagram: bytes) -> None:
        """Inject bytes towards the vehicle (e.g. a MAVLink message from a test's own system id)."""
        if self._vehicle_addr is not None:
            self._vehicle_side.sendto(datagram, self._vehicle_addr)

    def _run(self) -> None:
        sel = selectors.DefaultSelector()
        sel.register(self._vehicle_side, selectors.EVENT_READ, "vehicle")
        sel.register(self._gcs_side, selectors.EVENT_READ, "gcs")
        gcs_addr = (self.host, self.gcs_port)
        while not self._stop.is_set():
            for key, _ in sel.select(timeout=0.2):
                try:
                    data, addr = key.fileobj.recvfrom(65536)  # type: ignore[union-attr]
                except OSError:  # ICMP port unreachable from a peer not yet listening
                    continue
                cut = self.is_cut
                if key.data == "vehicle":
                    self._vehicle_addr = addr
                    with self._lock:
                        for frame in mavlink_frames(data):
                            self.truth.update(*frame)
                    if not cut:
                        self._send(self._gcs_side, data, gcs_addr)
                elif not cut and self._vehicle_addr is not None:
                    self.gcs_heartbeats += sum(1 for f in mavlink_frames(data) if f[0] == HEARTBEAT)
                    self._send(self._vehicle_side, data, self._vehicle_addr)
        sel.close()

    @staticmethod
    def _send(sock: socket.socket, data: bytes, addr: tuple[str, int]) -> None:
        try:
            sock.sendto(data, addr)
        except OSError:
            pass  # the peer is not listening (yet); UDP drops it as the wire would

    def stop(self) -> None:
        self._stop.set()
        if self._thread is not None:
            self._thread.join(2.0)
        self.close()

    def close(self) -> None:
        self._vehicle_side.close()
        self._gcs_side.close()
