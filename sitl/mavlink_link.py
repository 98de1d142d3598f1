"""One vehicle on the wire: MAVLink 2 over UDP to 127.0.0.1:P+i, as a PX4 SITL instance talks.

Streams telemetry at PX4-like default rates (per simulated second; SET_MESSAGE_INTERVAL changes
them), answers commands with COMMAND_ACK, serves the parameter and mission protocols, and tells
the autopilot when the ground station's heartbeats stop (datalink loss).
"""

from __future__ import annotations

import asyncio
import math
import time
from collections.abc import Callable
from dataclasses import dataclass, field
from typing import ClassVar

from pymavlink.dialects.v20 import common as mavlink

from sitl.autopilot import ACCEPTED, DENIED, UNSUPPORTED, Autopilot, CommandRequest, Event
from sitl.mission_store import FENCE, MISSION, RALLY, StoredItem, check_item
from sitl.px4_modes import FlightMode, custom_mode_of

AUTOPILOT_COMPONENT = mavlink.MAV_COMP_ID_AUTOPILOT1
# GCS heartbeats come once per wall second, whatever the speed factor: never declare the link
# lost before this much wall time without one, or a fast simulation would see false losses.
DATALINK_WALL_MIN_S = 2.5
UPLOAD_RETRY_WALL_S = 0.3
UPLOAD_MAX_RETRIES = 10
MAX_MISSION_ITEMS = 2000
PX4_VERSION = (1, 15, 0)

CAPABILITIES = (
    mavlink.MAV_PROTOCOL_CAPABILITY_MISSION_FLOAT
    | mavlink.MAV_PROTOCOL_CAPABILITY_PARAM_FLOAT
    | mavlink.MAV_PROTOCOL_CAPABILITY_MISSION_INT
    | mavlink.MAV_PROTOCOL_CAPABILITY_COMMAND_INT
    | mavlink.MAV_PROTOCOL_CAPABILITY_PARAM_ENCODE_BYTEWISE
    | mavlink.MAV_PROTOCOL_CAPABILITY_FLIGHT_TERMINATION
    | mavlink.MAV_PROTOCOL_CAPABILITY_MAVLINK2
    | mavlink.MAV_PROTOCOL_CAPABILITY_MISSION_FENCE
    | mavlink.MAV_PROTOCOL_CAPABILITY_MISSION_RALLY
)

SENSORS = (
    mavlink.MAV_SYS_STATUS_SENSOR_3D_GYRO
    | mavlink.MAV_SYS_STATUS_SENSOR_3D_ACCEL
    | mavlink.MAV_SYS_STATUS_SENSOR_3D_MAG
    | mavlink.MAV_SYS_STATUS_SENSOR_ABSOLUTE_PRESSURE
    | mavlink.MAV_SYS_STATUS_SENSOR_GPS
    | mavlink.MAV_SYS_STATUS_SENSOR_ANGULAR_RATE_CONTROL
    | mavlink.MAV_SYS_STATUS_SENSOR_ATTITUDE_STABILIZATION
    | mavlink.MAV_SYS_STATUS_SENSOR_YAW_POSITION
    | mavlink.MAV_SYS_STATUS_SENSOR_Z_ALTITUDE_CONTROL
    | mavlink.MAV_SYS_STATUS_SENSOR_XY_POSITION_CONTROL
    | mavlink.MAV_SYS_STATUS_SENSOR_MOTOR_OUTPUTS
    | mavlink.MAV_SYS_STATUS_AHRS
    | mavlink.MAV_SYS_STATUS_SENSOR_BATTERY
    | mavlink.MAV_SYS_STATUS_PREARM_CHECK
)

# Default stream intervals in simulated seconds (PX4's "normal" UDP profile, thinned).
DEFAULT_INTERVALS_S: dict[int, float] = {
    mavlink.MAVLINK_MSG_ID_SYS_STATUS: 1.0,
    mavlink.MAVLINK_MSG_ID_EXTENDED_SYS_STATE: 1.0,
    mavlink.MAVLINK_MSG_ID_GPS_RAW_INT: 0.5,
    mavlink.MAVLINK_MSG_ID_GLOBAL_POSITION_INT: 0.2,
    mavlink.MAVLINK_MSG_ID_LOCAL_POSITION_NED: 0.2,
    mavlink.MAVLINK_MSG_ID_ATTITUDE: 0.2,
    mavlink.MAVLINK_MSG_ID_ATTITUDE_QUATERNION: 0.2,
    mavlink.MAVLINK_MSG_ID_VFR_HUD: 0.25,
    mavlink.MAVLINK_MSG_ID_BATTERY_STATUS: 1.0,
    mavlink.MAVLINK_MSG_ID_HOME_POSITION: 2.0,
    mavlink.MAVLINK_MSG_ID_MISSION_CURRENT: 1.0,
}


class _Writer:
    """The file-like sink pymavlink writes packed messages into."""

    def __init__(self, link: VehicleLink) -> None:
        self._link = link

    def write(self, buf: bytes) -> None:
        self._link.transmit(buf)


@dataclass(slots=True)
class _Upload:
    mission_type: int
    count: int
    partner: tuple[int, int]
    items: list[StoredItem] = field(default_factory=list)
    last_wall: float = 0.0
    retries: int = 0


def _quaternion(roll: float, pitch: float, yaw: float) -> tuple[float, float, float, float]:
    cr, sr = math.cos(roll / 2), math.sin(roll / 2)
    cp, sp = math.cos(pitch / 2), math.sin(pitch / 2)
    cy, sy = math.cos(yaw / 2), math.sin(yaw / 2)
    return (
        cr * cp * cy + sr * sp * sy,
        sr * cp * cy - cr * sp * sy,
        cr * sp * cy + sr * cp * sy,
        cr * cp * sy - sr * sp * cy,
    )


def _text(value: object) -> str:
    if isinstance(value, bytes):
        return value.split(b"\0", 1)[0].decode("ascii", "replace")
    return str(value).split("\0", 1)[0]


class VehicleLink(asyncio.DatagramProtocol):
    def __init__(self, autopilot: Autopilot, remote: tuple[str, int], seed: int) -> None:
        self.ap = autopilot
        self.remote = remote
        self.mav = mavlink.MAVLink(_Writer(self), srcSystem=autopilot.system_id, srcComponent=AUTOPILOT_COMPONENT)
        self.mav.robust_parsing = True
        self.transport: asyncio.DatagramTransport | None = None
        self.uid = (seed & 0xFFFFFFFF) << 16 | autopilot.system_id
        # Link state (fault injection cuts both directions, like unplugging the radio)
        self.cut = False
        self.cut_until_s: float | None = None
        self.gcs_seen = False
        self.gcs_last_sim = 0.0
        self.gcs_last_wall = 0.0
        self.intervals = dict(DEFAULT_INTERVALS_S)
        self.next_due: dict[int, float] = dict.fromkeys(self.intervals, 0.0)
        self.last_heartbeat_sim = -1e9
        self.last_heartbeat_wall = -1e9
        self.uploads: dict[int, _Upload] = {}
        self.sent = 0
        self.received = 0
        self._builders: dict[int, Callable[[], mavlink.MAVLink_message]] = {
            mavlink.MAVLINK_MSG_ID_HEARTBEAT: self._heartbeat,
            mavlink.MAVLINK_MSG_ID_SYS_STATUS: self._sys_status,
            mavlink.MAVLINK_MSG_ID_EXTENDED_SYS_STATE: self._extended_sys_state,
            mavlink.MAVLINK_MSG_ID_GPS_RAW_INT: self._gps_raw_int,
            mavlink.MAVLINK_MSG_ID_GLOBAL_POSITION_INT: self._global_position_int,
            mavlink.MAVLINK_MSG_ID_LOCAL_POSITION_NED: self._local_position_ned,
            mavlink.MAVLINK_MSG_ID_ATTITUDE: self._attitude,
            mavlink.MAVLINK_MSG_ID_ATTITUDE_QUATERNION: self._attitude_quaternion,
            mavlink.MAVLINK_MSG_ID_VFR_HUD: self._vfr_hud,
            mavlink.MAVLINK_MSG_ID_BATTERY_STATUS: self._battery_status,
            mavlink.MAVLINK_MSG_ID_HOME_POSITION: self._home_position,
            mavlink.MAVLINK_MSG_ID_MISSION_CURRENT: self._mission_current,
            mavlink.MAVLINK_MSG_ID_AUTOPILOT_VERSION: self._autopilot_version,
        }

    # ------------------------------------------------------------------ transport
    def connection_made(self, transport: asyncio.BaseTransport) -> None:
        self.transport = transport  # type: ignore[assignment]

    def transmit(self, buf: bytes) -> None:
        if self.cut or self.transport is None:
            return
        self.transport.sendto(buf, self.remote)
        self.sent += 1

    def send(self, msg: mavlink.MAVLink_message) -> None:
        self.mav.send(msg)

    def datagram_received(self, data: bytes, addr: tuple[str, int]) -> None:
        if self.cut:
            return
        try:
            messages = self.mav.parse_buffer(data) or []
        except Exception:  # a corrupt datagram must not stop the vehicle
            return
        for msg in messages:
            self.received += 1
            try:
                self.handle(msg)
            except Exception as exc:  # keep flying; tell the operator
                self.statustext(mavlink.MAV_SEVERITY_ERROR, f"internal error on {msg.get_type()}: {exc}"[:50])

    def error_received(self, exc: Exception) -> None:  # e.g. ICMP port unreachable: nobody listens yet
        pass

    # ------------------------------------------------------------------ periodic work
    def set_cut(self, cut: bool, until_s: float | None = None) -> None:
        self.cut = cut
        self.cut_until_s = until_s if cut else None

    def tick(self, sim_now: float, wall_now: float) -> None:
        if self.cut and self.cut_until_s is not None and sim_now >= self.cut_until_s:
            self.set_cut(False)
        if self.gcs_seen and not self.ap.link_lost:
            dl_timeout = float(self.ap.params.get_int("COM_DL_LOSS_T"))
            if sim_now - self.gcs_last_sim > dl_timeout and wall_now - self.gcs_last_wall > DATALINK_WALL_MIN_S:
                self.ap.set_link_lost(True)
        if sim_now - self.last_heartbeat_sim >= 1.0 or wall_now - self.last_heartbeat_wall >= 1.0:
            self.last_heartbeat_sim, self.last_heartbeat_wall = sim_now, wall_now
            self.send(self._heartbeat())
        for msg_id, interval in self.intervals.items():
            if interval > 0 and sim_now + 1e-6 >= self.next_due[msg_id]:  # 1e-6: float drift of the step sum
                # Schedule from the due time (not from now) to keep the average rate exact.
                due = self.next_due[msg_id] + interval
                self.next_due[msg_id] = due if due > sim_now else sim_now + interval
                self.send(self._builders[msg_id]())
        self._drain_events()
        self._retry_uploads(wall_now)

    def _drain_events(self) -> None:
        events, self.ap.events = self.ap.events, []
        for ev in events:
            self._send_event(ev)

    def _send_event(self, ev: Event) -> None:
        if ev.kind == "statustext":
            self.statustext(ev.severity, ev.text)
        elif ev.kind == "reached":
            self.send(self.mav.mission_item_reached_encode(ev.seq))
        elif ev.kind == "camera_trigger":
            self.send(self.mav.camera_trigger_encode(int(self.ap.time_s * 1e6), ev.seq))
        elif ev.kind == "mission_current":
            self.send(self._mission_current())
        elif ev.kind == "home":
            self.send(self._home_position())

    def statustext(self, severity: int, text: str) -> None:
        self.send(self.mav.statustext_encode(severity, text[:50].encode("ascii", "replace")))

    # ------------------------------------------------------------------ telemetry builders
    def _time_boot_ms(self) -> int:
        return int(self.ap.time_s * 1000) & 0xFFFFFFFF

    def _heartbeat(self) -> mavlink.MAVLink_heartbeat_message:
        ap = self.ap
        base = mavlink.MAV_MODE_FLAG_CUSTOM_MODE_ENABLED | mavlink.MAV_MODE_FLAG_STABILIZE_ENABLED
        base |= mavlink.MAV_MODE_FLAG_AUTO_ENABLED | mavlink.MAV_MODE_FLAG_GUIDED_ENABLED
        if ap.armed:
            base |= mavlink.MAV_MODE_FLAG_SAFETY_ARMED
        if ap.terminated or ap.motor_failed:
            status = mavlink.MAV_STATE_EMERGENCY
        elif ap.armed and (ap.link_lost or ap.battery_level >= 2 or ap.fence_breached or not ap.gps_ok):
            status = mavlink.MAV_STATE_CRITICAL
        elif ap.armed:
            status = mavlink.MAV_STATE_ACTIVE
        else:
            status = mavlink.MAV_STATE_STANDBY
        return self.mav.heartbeat_encode(
            mavlink.MAV_TYPE_QUADROTOR, mavlink.MAV_AUTOPILOT_PX4, base, custom_mode_of(ap.mode), status, 3
        )

    def _sys_status(self) -> mavlink.MAVLink_sys_status_message:
        ap = self.ap
        health = SENSORS
        if not ap.gps_ok:
            health &= ~mavlink.MAV_SYS_STATUS_SENSOR_GPS
        if ap.motor_failed or ap.terminated:
            health &= ~mavlink.MAV_SYS_STATUS_SENSOR_MOTOR_OUTPUTS
        if ap.battery_level >= 1:
            health &= ~mavlink.MAV_SYS_STATUS_SENSOR_BATTERY
        if ap.armed or ap.arm_check() is not None:
            health &= ~mavlink.MAV_SYS_STATUS_PREARM_CHECK
        b = ap.battery
        return self.mav.sys_status_encode(
            SENSORS,
            SENSORS,
            health,
            150,
            int(b.voltage_v * 1000),
            int(b.current_a * 100),
            round(b.remaining * 100),
            0,
            0,
            0,
            0,
            0,
            0,
        )

    def _extended_sys_state(self) -> mavlink.MAVLink_extended_sys_state_message:
        ap = self.ap
        if ap.landed:
            state = mavlink.MAV_LANDED_STATE_ON_GROUND
        elif ap.mode == FlightMode.TAKEOFF or (ap.armed and ap.relative_alt_m < 1.0 and ap.model.vel_up_m_s > 0.2):
            state = mavlink.MAV_LANDED_STATE_TAKEOFF
        elif ap.mode == FlightMode.LAND or (ap.model.vel_up_m_s < -0.2 and ap.relative_alt_m < 2.0):
            state = mavlink.MAV_LANDED_STATE_LANDING
        else:
            state = mavlink.MAV_LANDED_STATE_IN_AIR
        return self.mav.extended_sys_state_encode(mavlink.MAV_VTOL_STATE_UNDEFINED, state)

    def _gps_raw_int(self) -> mavlink.MAVLink_gps_raw_int_message:
        ap = self.ap
        m = ap.model
        if not ap.gps_ok:
            return self.mav.gps_raw_int_encode(
                int(ap.time_s * 1e6), mavlink.GPS_FIX_TYPE_NO_FIX, 0, 0, 0, 9999, 9999, 0, 0, 0
            )
        g = ap.gps
        lat, lon, alt = ap.frame.enu2geodetic(
            m.east_m + g.drift_east_m + g.jitter_m(),
            m.north_m + g.drift_north_m + g.jitter_m(),
            m.up_m + g.drift_up_m + g.jitter_m(),
        )
        cog = math.degrees(math.atan2(m.vel_east_m_s, m.vel_north_m_s)) % 360.0
        return self.mav.gps_raw_int_encode(
            int(ap.time_s * 1e6),
            mavlink.GPS_FIX_TYPE_3D_FIX,
            int(lat * 1e7),
            int(lon * 1e7),
            int(alt * 1000),
            70,
            100,
            int(m.ground_speed_m_s * 100),
            int(cog * 100),
            12,
        )

    def _global_position_int(self) -> mavlink.MAVLink_global_position_int_message:
        ap = self.ap
        m = ap.model
        lat, lon, alt = ap.estimated_geodetic()
        return self.mav.global_position_int_encode(
            self._time_boot_ms(),
            round(lat * 1e7),
            round(lon * 1e7),
            int(alt * 1000),
            int(ap.relative_alt_m * 1000),
            int(m.vel_north_m_s * 100),
            int(m.vel_east_m_s * 100),
            int(-m.vel_up_m_s * 100),
            int(m.heading_deg * 100) % 36000,
        )

    def _local_position_ned(self) -> mavlink.MAVLink_local_position_ned_message:
        m = self.ap.model
        return self.mav.local_position_ned_encode(
            self._time_boot_ms(), m.north_m, m.east_m, -m.up_m, m.vel_north_m_s, m.vel_east_m_s, -m.vel_up_m_s
        )

    def _attitude(self) -> mavlink.MAVLink_attitude_message:
        m = self.ap.model
        return self.mav.attitude_encode(
            self._time_boot_ms(), m.roll_rad, m.pitch_rad, m.yaw_rad, 0.0, 0.0, m.yaw_rate_rad_s
        )

    def _attitude_quaternion(self) -> mavlink.MAVLink_attitude_quaternion_message:
        m = self.ap.model
        q = _quaternion(m.roll_rad, m.pitch_rad, m.yaw_rad)
        return self.mav.attitude_quaternion_encode(
            self._time_boot_ms(), q[0], q[1], q[2], q[3], 0.0, 0.0, m.yaw_rate_rad_s
        )

    def _vfr_hud(self) -> mavlink.MAVLink_vfr_hud_message:
        ap = self.ap
        m = ap.model
        throttle = 0 if not ap.armed else (20 if ap.landed else 50 + int(min(m.airspeed_m_s, 15) * 2))
        return self.mav.vfr_hud_encode(
            m.airspeed_m_s,
            m.ground_speed_m_s,
            int(m.heading_deg) % 360,
            throttle,
            ap.position_geodetic()[2],
            m.vel_up_m_s,
        )

    def _battery_status(self) -> mavlink.MAVLink_battery_status_message:
        ap = self.ap
        b = ap.battery
        voltages = [min(int(b.voltage_v * 1000), 65534)] + [65535] * 9
        charge_state = (
            mavlink.MAV_BATTERY_CHARGE_STATE_OK,
            mavlink.MAV_BATTERY_CHARGE_STATE_LOW,
            mavlink.MAV_BATTERY_CHARGE_STATE_CRITICAL,
            mavlink.MAV_BATTERY_CHARGE_STATE_EMERGENCY,
        )[int(ap.battery_level)]
        time_left = int(b.capacity_mah * b.remaining / 1000.0 / max(b.current_a, 0.1) * 3600.0)
        return self.mav.battery_status_encode(
            0,
            mavlink.MAV_BATTERY_FUNCTION_ALL,
            mavlink.MAV_BATTERY_TYPE_LIPO,
            32767,
            voltages,
            int(b.current_a * 100),
            int(b.consumed_mah),
            -1,
            round(b.remaining * 100),
            time_left,
            charge_state,
        )

    def _home_position(self) -> mavlink.MAVLink_home_position_message:
        ap = self.ap
        lat, lon, alt = ap.home_lat_lon_alt
        e, n, u = ap.home_enu
        return self.mav.home_position_encode(
            round(lat * 1e7),
            round(lon * 1e7),
            int(alt * 1000),
            n,
            e,
            -u,
            [1.0, 0.0, 0.0, 0.0],
            0.0,
            0.0,
            0.0,
            int(ap.time_s * 1e6),
        )

    def _mission_current(self) -> mavlink.MAVLink_mission_current_message:
        ap = self.ap
        total = len(ap.missions.get(MISSION))
        mode = 1 if ap.mode == FlightMode.MISSION else 2  # MISSION_CURRENT.mission_mode: in mission / suspended
        return self.mav.mission_current_encode(ap.mission_seq, total, int(ap.mission_state), mode)

    def _autopilot_version(self) -> mavlink.MAVLink_autopilot_version_message:
        major, minor, patch = PX4_VERSION
        sw = (major << 24) | (minor << 16) | (patch << 8) | 0xFF  # 0xFF: official release
        return self.mav.autopilot_version_encode(CAPABILITIES, sw, sw, 0, 0, [0] * 8, [0] * 8, [0] * 8, 0, 0, self.uid)

    # ------------------------------------------------------------------ incoming
    def _for_me(self, msg: mavlink.MAVLink_message, component: bool = True) -> bool:
        ts = getattr(msg, "target_system", 0)
        tc = getattr(msg, "target_component", 0)
        return ts in (0, self.ap.system_id) and (not component or tc in (0, AUTOPILOT_COMPONENT))

    def handle(self, msg: mavlink.MAVLink_message) -> None:
        mid = msg.get_msgId()
        if mid == mavlink.MAVLINK_MSG_ID_HEARTBEAT:
            if msg.type == mavlink.MAV_TYPE_GCS:
                self.gcs_seen = True
                self.gcs_last_sim = self.ap.time_s
                self.gcs_last_wall = time.monotonic()
                if self.ap.link_lost:
                    self.ap.set_link_lost(False)
            return
        handler = self._handlers.get(mid)
        if handler is not None and self._for_me(msg, component=mid != mavlink.MAVLINK_MSG_ID_TIMESYNC):
            handler(self, msg)

    # -- commands
    def _command_long(self, msg: mavlink.MAVLink_command_long_message) -> None:
        cmd = CommandRequest(
            msg.command, (msg.param1, msg.param2, msg.param3, msg.param4), msg.param5, msg.param6, msg.param7
        )
        self._command(cmd, msg)

    def _command_int(self, msg: mavlink.MAVLink_command_int_message) -> None:
        has_pos = not (msg.x == 0 and msg.y == 0) and msg.x != 0x7FFFFFFF
        cmd = CommandRequest(
            msg.command,
            (msg.param1, msg.param2, msg.param3, msg.param4),
            msg.x * 1e-7 if has_pos else None,
            msg.y * 1e-7 if has_pos else None,
            msg.z,
            msg.frame,
        )
        self._command(cmd, msg)

    def _command(self, cmd: CommandRequest, msg: mavlink.MAVLink_message) -> None:
        result, _why = self._link_command(cmd)
        if result is None:
            result, _why = self.ap.handle_command(cmd)
        self.send(self.mav.command_ack_encode(cmd.command, result, 0, 0, msg.get_srcSystem(), msg.get_srcComponent()))
        self._drain_events()
        if cmd.command in (mavlink.MAV_CMD_REQUEST_MESSAGE, mavlink.MAV_CMD_REQUEST_AUTOPILOT_CAPABILITIES) and (
            result == ACCEPTED
        ):
            msg_id = (
                int(cmd.params[0])
                if cmd.command == mavlink.MAV_CMD_REQUEST_MESSAGE
                else mavlink.MAVLINK_MSG_ID_AUTOPILOT_VERSION
            )
            self.send(self._builders[msg_id]())
        if cmd.command == mavlink.MAV_CMD_DO_SET_MODE and result == ACCEPTED:
            self.send(self._heartbeat())  # let the GCS see the new mode at once, as PX4 does

    def _link_command(self, cmd: CommandRequest) -> tuple[int | None, str | None]:
        """Commands the link layer answers itself; (None, None) passes to the autopilot."""
        c = cmd.command
        p1, p2 = cmd.params[0], cmd.params[1]
        if c == mavlink.MAV_CMD_SET_MESSAGE_INTERVAL:
            msg_id = int(p1) if not math.isnan(p1) else -1
            if msg_id not in self._builders or msg_id == mavlink.MAVLINK_MSG_ID_AUTOPILOT_VERSION:
                return DENIED, "message not streamable"
            if msg_id == mavlink.MAVLINK_MSG_ID_HEARTBEAT:
                return ACCEPTED, None  # heartbeats stay at 1 Hz wall time
            if math.isnan(p2) or p2 == 0:
                interval = DEFAULT_INTERVALS_S.get(msg_id, 0.0)
            elif p2 < 0:
                interval = 0.0
            else:
                interval = max(p2 * 1e-6, 0.02)
            self.intervals[msg_id] = interval
            self.next_due[msg_id] = self.ap.time_s
            return ACCEPTED, None
        if c == mavlink.MAV_CMD_GET_MESSAGE_INTERVAL:
            msg_id = int(p1) if not math.isnan(p1) else -1
            if msg_id not in self._builders:
                return DENIED, None
            interval = self.intervals.get(msg_id, 0.0)
            us = -1 if interval <= 0 else int(interval * 1e6)
            if msg_id == mavlink.MAVLINK_MSG_ID_HEARTBEAT:
                us = 1_000_000
            self.send(self.mav.message_interval_encode(msg_id, us))
            return ACCEPTED, None
        if c == mavlink.MAV_CMD_REQUEST_MESSAGE:
            msg_id = int(p1) if not math.isnan(p1) else -1
            return (ACCEPTED, None) if msg_id in self._builders else (DENIED, "message not supported")
        if c == mavlink.MAV_CMD_REQUEST_AUTOPILOT_CAPABILITIES:
            return ACCEPTED, None
        if c == mavlink.MAV_CMD_PREFLIGHT_REBOOT_SHUTDOWN:
            return UNSUPPORTED, None
        return None, None

    # -- parameters
    def _param_value(self, name: str) -> mavlink.MAVLink_param_value_message:
        params = self.ap.params
        return self.mav.param_value_encode(
            name.encode("ascii"), params.wire_value(name), params.type_of(name), len(params), params.index_of(name)
        )

    def _param_request_list(self, msg: mavlink.MAVLink_message) -> None:
        for name in self.ap.params.names():
            self.send(self._param_value(name))

    def _param_request_read(self, msg: mavlink.MAVLink_message) -> None:
        params = self.ap.params
        name = params.name_at(msg.param_index) if msg.param_index >= 0 else _text(msg.param_id)
        if name is not None and name in params:
            self.send(self._param_value(name))
        # Unknown names stay unanswered, as on PX4: the GCS times out.

    def _param_set(self, msg: mavlink.MAVLink_message) -> None:
        name = _text(msg.param_id)
        params = self.ap.params
        if name not in params:
            self.statustext(mavlink.MAV_SEVERITY_ERROR, f"[param] unknown parameter {name}")
            return
        if name != "MAV_SYS_ID":  # takes effect only after a reboot on PX4
            params.set_from_wire(name, msg.param_value)
            self.ap.on_param_changed(name)
        self.send(self._param_value(name))

    # -- mission protocol
    def _ack(self, partner: tuple[int, int], mission_type: int, result: int) -> None:
        self.send(self.mav.mission_ack_encode(partner[0], partner[1], result, mission_type))

    def _mission_count(self, msg: mavlink.MAVLink_message) -> None:
        partner = (msg.get_srcSystem(), msg.get_srcComponent())
        mtype = msg.mission_type
        if mtype not in (MISSION, FENCE, RALLY):
            self._ack(partner, mtype, mavlink.MAV_MISSION_UNSUPPORTED)
            return
        if msg.count > MAX_MISSION_ITEMS:
            self._ack(partner, mtype, mavlink.MAV_MISSION_NO_SPACE)
            return
        if msg.count == 0:
            self.uploads.pop(mtype, None)
            self.ap.missions.replace(mtype, [])
            self.ap.on_mission_replaced(mtype)
            self._ack(partner, mtype, mavlink.MAV_MISSION_ACCEPTED)
            return
        self.uploads[mtype] = _Upload(mtype, msg.count, partner, last_wall=time.monotonic())
        self._request_item(self.uploads[mtype])

    def _request_item(self, up: _Upload) -> None:
        seq = len(up.items)
        self.send(self.mav.mission_request_int_encode(up.partner[0], up.partner[1], seq, up.mission_type))

    def _retry_uploads(self, wall_now: float) -> None:
        for mtype, up in list(self.uploads.items()):
            if wall_now - up.last_wall > UPLOAD_RETRY_WALL_S:
                up.retries += 1
                up.last_wall = wall_now
                if up.retries > UPLOAD_MAX_RETRIES:
                    del self.uploads[mtype]
                    self._ack(up.partner, mtype, mavlink.MAV_MISSION_OPERATION_CANCELLED)
                else:
                    self._request_item(up)

    def _store_item(self, item: StoredItem) -> None:
        up = self.uploads.get(item.mission_type)
        if up is None:
            return
        up.last_wall = time.monotonic()
        up.retries = 0
        if item.seq != len(up.items):
            self._request_item(up)  # a duplicate or one out of order: ask again for the one we need
            return
        result = check_item(item)
        if result != mavlink.MAV_MISSION_ACCEPTED:
            del self.uploads[item.mission_type]
            self._ack(up.partner, item.mission_type, result)
            self.statustext(mavlink.MAV_SEVERITY_ERROR, f"Mission item {item.seq} rejected: command {item.command}")
            return
        up.items.append(item)
        if len(up.items) < up.count:
            self._request_item(up)
            return
        del self.uploads[item.mission_type]
        self.ap.missions.replace(item.mission_type, up.items)
        self.ap.on_mission_replaced(item.mission_type)
        self._ack(up.partner, item.mission_type, mavlink.MAV_MISSION_ACCEPTED)
        self._drain_events()

    def _mission_item_int(self, msg: mavlink.MAVLink_message) -> None:
        self._store_item(
            StoredItem(
                msg.seq,
                msg.frame,
                msg.command,
                msg.autocontinue,
                msg.param1,
                msg.param2,
                msg.param3,
                msg.param4,
                msg.x,
                msg.y,
                msg.z,
                msg.mission_type,
            )
        )

    def _mission_item(self, msg: mavlink.MAVLink_message) -> None:
        # Legacy float items: x/y are degrees.
        self._store_item(
            StoredItem(
                msg.seq,
                msg.frame,
                msg.command,
                msg.autocontinue,
                msg.param1,
                msg.param2,
                msg.param3,
                msg.param4,
                round(msg.x * 1e7),
                round(msg.y * 1e7),
                msg.z,
                msg.mission_type,
            )
        )

    def _mission_request_list(self, msg: mavlink.MAVLink_message) -> None:
        mtype = msg.mission_type
        partner = (msg.get_srcSystem(), msg.get_srcComponent())
        if mtype not in (MISSION, FENCE, RALLY):
            self._ack(partner, mtype, mavlink.MAV_MISSION_UNSUPPORTED)
            return
        self.send(self.mav.mission_count_encode(partner[0], partner[1], len(self.ap.missions.get(mtype)), mtype))

    def _send_item(self, msg: mavlink.MAVLink_message, as_int: bool) -> None:
        mtype = msg.mission_type
        partner = (msg.get_srcSystem(), msg.get_srcComponent())
        items = self.ap.missions.get(mtype) if mtype in (MISSION, FENCE, RALLY) else []
        if not 0 <= msg.seq < len(items):
            self._ack(partner, mtype, mavlink.MAV_MISSION_INVALID_SEQUENCE)
            return
        it = items[msg.seq]
        current = int(mtype == MISSION and it.seq == self.ap.mission_seq)
        if as_int:
            out = self.mav.mission_item_int_encode(
                partner[0],
                partner[1],
                it.seq,
                it.frame,
                it.command,
                current,
                it.autocontinue,
                it.param1,
                it.param2,
                it.param3,
                it.param4,
                it.x,
                it.y,
                it.z,
                mtype,
            )
        else:
            out = self.mav.mission_item_encode(
                partner[0],
                partner[1],
                it.seq,
                it.frame,
                it.command,
                current,
                it.autocontinue,
                it.param1,
                it.param2,
                it.param3,
                it.param4,
                it.x * 1e-7,
                it.y * 1e-7,
                it.z,
                mtype,
            )
        self.send(out)

    def _mission_request_int(self, msg: mavlink.MAVLink_message) -> None:
        self._send_item(msg, as_int=True)

    def _mission_request(self, msg: mavlink.MAVLink_message) -> None:
        self._send_item(msg, as_int=False)

    def _mission_clear_all(self, msg: mavlink.MAVLink_message) -> None:
        mtype = msg.mission_type
        partner = (msg.get_srcSystem(), msg.get_srcComponent())
        if mtype not in (MISSION, FENCE, RALLY, mavlink.MAV_MISSION_TYPE_ALL):
            self._ack(partner, mtype, mavlink.MAV_MISSION_UNSUPPORTED)
            return
        self.ap.missions.clear(mtype)
        self.ap.on_mission_replaced(mtype)
        self._ack(partner, mtype, mavlink.MAV_MISSION_ACCEPTED)
        self._drain_events()

    def _mission_set_current(self, msg: mavlink.MAVLink_message) -> None:
        if not self.ap.set_current_item(msg.seq):
            self.statustext(mavlink.MAV_SEVERITY_ERROR, f"Mission item {msg.seq} does not exist")
        self.send(self._mission_current())

    def _mission_ack(self, msg: mavlink.MAVLink_message) -> None:
        # A GCS ends our upload request loop early with an error ack (e.g. it cancelled).
        up = self.uploads.get(msg.mission_type)
        if up is not None and msg.type != mavlink.MAV_MISSION_ACCEPTED:
            del self.uploads[msg.mission_type]

    def _timesync(self, msg: mavlink.MAVLink_message) -> None:
        if msg.tc1 == 0:
            self.send(self.mav.timesync_encode(int(self.ap.time_s * 1e9), msg.ts1))

    _handlers: ClassVar[dict[int, Callable[[VehicleLink, mavlink.MAVLink_message], None]]] = {
        mavlink.MAVLINK_MSG_ID_COMMAND_LONG: _command_long,
        mavlink.MAVLINK_MSG_ID_COMMAND_INT: _command_int,
        mavlink.MAVLINK_MSG_ID_PARAM_REQUEST_LIST: _param_request_list,
        mavlink.MAVLINK_MSG_ID_PARAM_REQUEST_READ: _param_request_read,
        mavlink.MAVLINK_MSG_ID_PARAM_SET: _param_set,
        mavlink.MAVLINK_MSG_ID_MISSION_COUNT: _mission_count,
        mavlink.MAVLINK_MSG_ID_MISSION_ITEM_INT: _mission_item_int,
        mavlink.MAVLINK_MSG_ID_MISSION_ITEM: _mission_item,
        mavlink.MAVLINK_MSG_ID_MISSION_REQUEST_LIST: _mission_request_list,
        mavlink.MAVLINK_MSG_ID_MISSION_REQUEST_INT: _mission_request_int,
        mavlink.MAVLINK_MSG_ID_MISSION_REQUEST: _mission_request,
        mavlink.MAVLINK_MSG_ID_MISSION_CLEAR_ALL: _mission_clear_all,
        mavlink.MAVLINK_MSG_ID_MISSION_SET_CURRENT: _mission_set_current,
        mavlink.MAVLINK_MSG_ID_MISSION_ACK: _mission_ack,
        mavlink.MAVLINK_MSG_ID_TIMESYNC: _timesync,
    }
