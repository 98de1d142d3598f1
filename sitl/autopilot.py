"""One simulated vehicle's autopilot, behaving as PX4 does: commander (arming, modes, failsafes)
and navigator (takeoff, hold, mission, return, land) over the kinematic flight model.

Everything here runs in simulated time; the link layer (sitl/mavlink_link.py) turns MAVLink into
calls on this class and streams its state. Outgoing one-off notifications (status texts, items
reached, camera triggers) are queued in `events` for the link to send.
"""

from __future__ import annotations

import math
import random
from dataclasses import dataclass
from enum import Enum

from pymavlink.dialects.v20 import common as mavlink

from sitl.flight_model import Battery, GpsNoise, MulticopterModel, Setpoint
from sitl.local_frame import LocalFrame
from sitl.mission_store import FENCE, MISSION, RALLY, Geofence, MissionStore, StoredItem
from sitl.params import ParamStore
from sitl.px4_modes import FlightMode

ACCEPTED = mavlink.MAV_RESULT_ACCEPTED
DENIED = mavlink.MAV_RESULT_DENIED
REJECTED = mavlink.MAV_RESULT_TEMPORARILY_REJECTED
UNSUPPORTED = mavlink.MAV_RESULT_UNSUPPORTED
FAILED = mavlink.MAV_RESULT_FAILED

FORCE_MAGIC = 21196.0  # PX4's "force" value in ARM_DISARM param2

SEV_EMERGENCY = mavlink.MAV_SEVERITY_EMERGENCY
SEV_CRITICAL = mavlink.MAV_SEVERITY_CRITICAL
SEV_WARNING = mavlink.MAV_SEVERITY_WARNING
SEV_NOTICE = mavlink.MAV_SEVERITY_NOTICE
SEV_INFO = mavlink.MAV_SEVERITY_INFO


class BatteryLevel(int, Enum):
    OK = 0
    LOW = 1
    CRITICAL = 2
    EMERGENCY = 3


@dataclass(slots=True)
class Event:
    kind: str  # "statustext" | "reached" | "camera_trigger" | "mission_current" | "home"
    severity: int = SEV_INFO
    text: str = ""
    seq: int = 0


@dataclass(slots=True)
class CommandRequest:
    """COMMAND_LONG or COMMAND_INT, normalised: NaN means "not set"; lat/lon in degrees."""

    command: int
    params: tuple[float, float, float, float]
    lat_deg: float | None
    lon_deg: float | None
    alt_m: float | None
    frame: int = mavlink.MAV_FRAME_GLOBAL


def _isset(v: float | None) -> bool:
    return v is not None and not math.isnan(v)


class Autopilot:
    def __init__(
        self,
        system_id: int,
        home_lat_deg: float,
        home_lon_deg: float,
        home_alt_amsl_m: float,
        seed: int,
    ) -> None:
        self.system_id = system_id
        self.rng = random.Random(seed * 7919 + system_id)
        self.params = ParamStore({"MAV_SYS_ID": system_id})
        self.frame = LocalFrame(home_lat_deg, home_lon_deg, home_alt_amsl_m)
        self.model = MulticopterModel(self.rng)
        self.battery = Battery()
        self.gps = GpsNoise(self.rng)
        self.missions = MissionStore()
        self.geofence = Geofence()
        self.events: list[Event] = []
        self.reached_log: list[int] = []  # every MISSION_ITEM_REACHED sent for the current mission
        self.time_s = 0.0

        self.armed = False
        self.landed = True
        self.mode = FlightMode.HOLD
        self.home_enu = (0.0, 0.0, 0.0)
        self.home_lat_lon_alt = (home_lat_deg, home_lon_deg, home_alt_amsl_m)

        # Faults (fault injection) and failsafe state
        self.gps_ok = True
        self.motor_failed = False
        self.terminated = False
        self.link_lost = False
        self.battery_level = BatteryLevel.OK
        self.fence_breached = False
        self._gps_failsafe_done = False

        # Navigator state
        self._hold_point = (0.0, 0.0, 0.0)
        self._takeoff_target = (0.0, 0.0, 0.0)
        self._land_point = (0.0, 0.0)
        self._rtl_phase = "climb"
        self._rtl_dest = (0.0, 0.0)
        self._rtl_alt = 0.0
        self._rtl_wait_until = 0.0
        self.mission_seq = 0
        self.mission_state = mavlink.MISSION_STATE_NO_MISSION
        self._item_started = False
        self._item_phase = "travel"
        self._item_target = (0.0, 0.0, 0.0)
        self._item_wait_until = 0.0
        self._orbit_angle = 0.0
        self._orbit_left = 0.0
        self._jumps_left: dict[int, int] = {}
        self.cruise_override_m_s: float | None = None
        self.trigger_dist_m = 0.0
        self._trigger_travel_m = 0.0
        self.camera_seq = 0
        self._landed_since = 0.0
        self._armed_on_ground_since = 0.0
        self._mission_was_active = False
        self._landed_after_flight = False
        self._climb_alt = 0.0
        self._orbit_radius = 1.0
        self._apply_params()

    # ------------------------------------------------------------------ helpers
    def _say(self, text: str, severity: int = SEV_INFO) -> None:
        self.events.append(Event("statustext", severity=severity, text=text))

    def p(self, name: str) -> float:
        return self.params.get(name)

    def _apply_params(self) -> None:
        """Push parameters the model uses into it (called after every PARAM_SET)."""
        lim = self.model.limits
        lim.acc_hor_m_s2 = max(self.p("MPC_ACC_HOR"), 0.5)
        lim.acc_up_m_s2 = max(self.p("MPC_ACC_UP_MAX"), 0.5)
        lim.acc_down_m_s2 = max(self.p("MPC_ACC_DOWN_MAX"), 0.5)
        lim.yaw_rate_rad_s = math.radians(max(self.p("MPC_YAWRAUTO_MAX"), 5.0))
        b = self.battery
        b.cells = max(self.params.get_int("BAT1_N_CELLS"), 1)
        b.v_charged = self.p("BAT1_V_CHARGED")
        b.v_empty = self.p("BAT1_V_EMPTY")
        b.r_internal = self.p("BAT1_R_INTERNAL")
        b.hover_current_a = self.p("SIH_HOVER_I")
        if self.p("BAT1_CAPACITY") > 0 and abs(self.p("BAT1_CAPACITY") - b.capacity_mah) > 1e-6:
            remaining = b.remaining
            b.capacity_mah = self.p("BAT1_CAPACITY")
            b.set_remaining(remaining)
        w = self.model.wind
        w.mean_east_m_s = self.p("SIH_WIND_E")
        w.mean_north_m_s = self.p("SIH_WIND_N")
        w.gust_m_s = max(self.p("SIH_WIND_GUST"), 0.0)

    def on_param_changed(self, name: str) -> None:
        self._apply_params()

    @property
    def cruise_m_s(self) -> float:
        speed = self.cruise_override_m_s if self.cruise_override_m_s is not None else self.p("MPC_XY_CRUISE")
        return max(0.5, min(speed, self.p("MPC_XY_VEL_MAX")))

    def position_enu(self) -> tuple[float, float, float]:
        m = self.model
        return (m.east_m, m.north_m, m.up_m)

    def position_geodetic(self) -> tuple[float, float, float]:
        """True position: lat, lon (deg), altitude AMSL (m)."""
        return self.frame.enu2geodetic(self.model.east_m, self.model.north_m, self.model.up_m)

    def estimated_geodetic(self) -> tuple[float, float, float]:
        """What the estimator reports: the truth plus GPS drift (dead reckoning drifts more)."""
        g = self.gps
        return self.frame.enu2geodetic(
            self.model.east_m + g.drift_east_m,
            self.model.north_m + g.drift_north_m,
            self.model.up_m + 0.3 * g.drift_up_m,
        )

    @property
    def relative_alt_m(self) -> float:
        return self.model.up_m - self.home_enu[2]

    @property
    def in_air(self) -> bool:
        return not self.landed

    # ------------------------------------------------------------------ item geometry
    def item_target_enu(self, item: StoredItem) -> tuple[float, float, float]:
        """The ENU point a positional item names (lat/lon 0,0 means "here")."""
        east, north, up = self.position_enu()
        if not (item.x == 0 and item.y == 0):
            east, north, _ = self.frame.geodetic2enu(item.lat_deg, item.lon_deg, 0.0)
        f = item.frame
        if f in (mavlink.MAV_FRAME_GLOBAL, mavlink.MAV_FRAME_GLOBAL_INT):
            up = item.z - self.frame.alt0_m
        elif f in (mavlink.MAV_FRAME_GLOBAL_RELATIVE_ALT, mavlink.MAV_FRAME_GLOBAL_RELATIVE_ALT_INT):
            up = item.z + self.home_enu[2]
        elif f in (mavlink.MAV_FRAME_GLOBAL_TERRAIN_ALT, mavlink.MAV_FRAME_GLOBAL_TERRAIN_ALT_INT):
            up = item.z  # flat terrain at the boot altitude
        return (east, north, up)

    # ------------------------------------------------------------------ mission store hooks
    def on_mission_replaced(self, mission_type: int) -> None:
        if mission_type in (FENCE, mavlink.MAV_MISSION_TYPE_ALL):
            self.geofence = Geofence.from_items(self.missions.get(FENCE), self.frame)
            self.fence_breached = False
        if mission_type in (MISSION, mavlink.MAV_MISSION_TYPE_ALL):
            items = self.missions.get(MISSION)
            self.mission_seq = 0
            self.reached_log = []
            self._item_started = False
            self._jumps_left = {}
            self.mission_state = mavlink.MISSION_STATE_NOT_STARTED if items else mavlink.MISSION_STATE_NO_MISSION
            if not items and self.mode == FlightMode.MISSION:
                self._enter_hold()
            elif self.mode == FlightMode.MISSION:
                self.mission_state = mavlink.MISSION_STATE_ACTIVE
            self.events.append(Event("mission_current"))

    def mission_valid(self) -> tuple[bool, str]:
        items = self.missions.get(MISSION)
        if not items:
            return False, "no mission uploaded"
        limit = self.p("MIS_DIST_1WP")
        if limit > 0:
            for item in items:
                if item.command in (mavlink.MAV_CMD_NAV_WAYPOINT, mavlink.MAV_CMD_NAV_TAKEOFF) and (item.x or item.y):
                    e, n, _ = self.item_target_enu(item)
                    d = math.hypot(e - self.model.east_m, n - self.model.north_m)
                    if item.command == mavlink.MAV_CMD_NAV_WAYPOINT and d > limit and self.landed:
                        return False, f"first waypoint too far away: {d:.0f} m > MIS_DIST_1WP {limit:.0f} m"
                    break
        return True, ""

    def set_current_item(self, seq: int) -> bool:
        items = self.missions.get(MISSION)
        if not 0 <= seq < len(items):
            return False
        self.mission_seq = seq
        self._item_started = False
        if self.mission_state == mavlink.MISSION_STATE_COMPLETE:
            self.mission_state = (
                mavlink.MISSION_STATE_ACTIVE if self.mode == FlightMode.MISSION else mavlink.MISSION_STATE_PAUSED
            )
        self.events.append(Event("mission_current"))
        return True

    # ------------------------------------------------------------------ arming
    def arm_check(self) -> str | None:
        """Why arming is refused now, or None (PX4's preflight/prearm checks, simplified)."""
        if self.motor_failed or self.terminated:
            return "motor failure"
        if not self.gps_ok and self.params.get_int("COM_ARM_WO_GPS") != 1:
            return "no GPS fix"
        if self.battery_level >= BatteryLevel.LOW:
            return "low battery"
        if self.mode in (FlightMode.RTL, FlightMode.LAND):
            return "not possible in this flight mode"
        if self.mode == FlightMode.MISSION:
            ok, why = self.mission_valid()
            if not ok:
                return why
        if not self._fence_ok(*self.position_enu()) and self.params.get_int("GF_ACTION") != 0:
            return "vehicle outside geofence"
        return None

    def arm(self, force: bool = False) -> tuple[int, str | None]:
        if self.armed:
            return ACCEPTED, None
        if not force:
            why = self.arm_check()
            if why:
                self._say(f"Arming denied: {why}", SEV_CRITICAL)
                return REJECTED, why
        self.armed = True
        self._armed_on_ground_since = self.time_s
        self._landed_after_flight = False
        if self.landed:
            self._set_home_here()
        if self.mode == FlightMode.HOLD:
            self._hold_point = self.position_enu()
        self._say("Armed by external command")
        return ACCEPTED, None

    def disarm(self, force: bool = False, reason: str = "external command") -> tuple[int, str | None]:
        if not self.armed:
            return ACCEPTED, None
        if self.in_air and not force:
            self._say("Disarming denied: not landed", SEV_CRITICAL)
            return REJECTED, "not landed"
        self.armed = False
        if self.in_air:
            self.terminated = True  # motors off in the air: it falls
        self._say(f"Disarmed by {reason}")
        if self.mode in (FlightMode.LAND, FlightMode.RTL, FlightMode.TAKEOFF):
            self.mode = FlightMode.HOLD  # PX4 leaves modes that forbid arming once on the ground
            self._hold_point = self.position_enu()
        return ACCEPTED, None

    def _set_home_here(self) -> None:
        self.home_enu = self.position_enu()
        self.home_lat_lon_alt = self.position_geodetic()
        self.events.append(Event("home"))

    def set_home(self, lat_deg: float, lon_deg: float, alt_amsl_m: float) -> None:
        self.home_enu = self.frame.geodetic2enu(lat_deg, lon_deg, alt_amsl_m)
        self.home_lat_lon_alt = (lat_deg, lon_deg, alt_amsl_m)
        self.events.append(Event("home"))

    # ------------------------------------------------------------------ modes
    def set_mode(self, mode: FlightMode, *, reason: str | None = None) -> tuple[int, str | None]:
        if mode == FlightMode.MISSION:
            ok, why = self.mission_valid()
            if not ok:
                self._say(f"Switching to Mission is currently not possible: {why}", SEV_CRITICAL)
                return REJECTED, why
        if self.motor_failed or self.terminated:
            return REJECTED, "flight termination active"
        previous = self.mode
        if mode == previous and mode != FlightMode.RTL:
            return ACCEPTED, None
        if previous == FlightMode.MISSION and mode != FlightMode.MISSION:
            if self.mission_state == mavlink.MISSION_STATE_ACTIVE:
                self.mission_state = mavlink.MISSION_STATE_PAUSED
                self.events.append(Event("mission_current"))
        self.mode = mode
        if mode == FlightMode.HOLD:
            self._enter_hold()
        elif mode == FlightMode.TAKEOFF:
            self._enter_takeoff(None)
        elif mode == FlightMode.LAND:
            self._land_point = (self.model.east_m, self.model.north_m)
        elif mode == FlightMode.RTL:
            self._enter_rtl()
        elif mode == FlightMode.MISSION:
            self._enter_mission()
        if reason:
            self._say(reason, SEV_WARNING)
        return ACCEPTED, None

    def _enter_hold(self) -> None:
        self.mode = FlightMode.HOLD
        self._hold_point = self.position_enu() if self.in_air else (self.model.east_m, self.model.north_m, 0.0)

    def _enter_takeoff(self, alt_amsl_m: float | None) -> None:
        alt_up = (
            alt_amsl_m - self.frame.alt0_m if alt_amsl_m is not None else self.home_enu[2] + self.p("MIS_TAKEOFF_ALT")
        )
        self._takeoff_target = (self.model.east_m, self.model.north_m, max(alt_up, self.model.up_m))
        self.mode = FlightMode.TAKEOFF

    def _rtl_destination(self) -> tuple[float, float, float]:
        """Home or the closest rally point (RTL_TYPE 0)."""
        best = self.home_enu
        best_d = math.hypot(best[0] - self.model.east_m, best[1] - self.model.north_m)
        for item in self.missions.get(RALLY):
            e, n, _u = self.item_target_enu(item)
            d = math.hypot(e - self.model.east_m, n - self.model.north_m)
            if d < best_d:
                best, best_d = (e, n, self.home_enu[2]), d
        return best

    def _enter_rtl(self) -> None:
        self.mode = FlightMode.RTL
        dest = self._rtl_destination()
        self._rtl_dest = (dest[0], dest[1])
        dist = math.hypot(dest[0] - self.model.east_m, dest[1] - self.model.north_m)
        ret_alt = self.home_enu[2] + self.p("RTL_RETURN_ALT")
        if dist < self.p("RTL_MIN_DIST"):
            ret_alt = self.model.up_m
        self._rtl_alt = max(ret_alt, self.model.up_m)
        self._rtl_phase = "climb" if self.in_air else "land"

    def _enter_mission(self) -> None:
        if self.mission_state == mavlink.MISSION_STATE_COMPLETE:
            self.mission_seq = 0  # a finished mission restarts from the top
            self._jumps_left = {}
        self._item_started = False  # resume: fly to the current item again
        self.mission_state = mavlink.MISSION_STATE_ACTIVE
        self._mission_was_active = True
        self.events.append(Event("mission_current"))

    # ------------------------------------------------------------------ commands
    def handle_command(self, cmd: CommandRequest) -> tuple[int, str | None]:
        c = cmd.command
        p1, p2, p3, _p4 = cmd.params
        if c == mavlink.MAV_CMD_COMPONENT_ARM_DISARM:
            force = _isset(p2) and abs(p2 - FORCE_MAGIC) < 0.5
            return self.arm(force) if (_isset(p1) and p1 > 0.5) else self.disarm(force)
        if c == mavlink.MAV_CMD_NAV_TAKEOFF:
            if not self.armed:
                self._say("Takeoff denied: vehicle is disarmed", SEV_CRITICAL)
                return REJECTED, "disarmed"
            if self.motor_failed or self.terminated:
                return REJECTED, "flight termination active"
            self._enter_takeoff(cmd.alt_m if _isset(cmd.alt_m) else None)
            return ACCEPTED, None
        if c == mavlink.MAV_CMD_NAV_LAND:
            return self.set_mode(FlightMode.LAND)
        if c == mavlink.MAV_CMD_NAV_RETURN_TO_LAUNCH:
            return self.set_mode(FlightMode.RTL)
        if c == mavlink.MAV_CMD_DO_SET_MODE:
            return self._do_set_mode(p1, p2, p3)
        if c == mavlink.MAV_CMD_MISSION_START:
            items = self.missions.get(MISSION)
            if _isset(p1) and 0 < int(p1) < len(items):
                self.set_current_item(int(p1))
            return self.set_mode(FlightMode.MISSION)
        if c == mavlink.MAV_CMD_DO_SET_MISSION_CURRENT:
            return (ACCEPTED, None) if self.set_current_item(int(p1) if _isset(p1) else 0) else (DENIED, "bad index")
        if c == mavlink.MAV_CMD_DO_REPOSITION:
            return self._do_reposition(cmd)
        if c == mavlink.MAV_CMD_DO_PAUSE_CONTINUE:
            if _isset(p1) and p1 < 0.5:
                if not self.in_air:
                    return REJECTED, "not flying"
                return self.set_mode(FlightMode.HOLD)
            if self._mission_was_active and self.mission_state == mavlink.MISSION_STATE_PAUSED:
                return self.set_mode(FlightMode.MISSION)
            return ACCEPTED, None
        if c == mavlink.MAV_CMD_DO_CHANGE_SPEED:
            return self._change_speed(p2)
        if c == mavlink.MAV_CMD_DO_SET_CAM_TRIGG_DIST:
            self._set_trigger(p1, p3)
            return ACCEPTED, None
        if c == mavlink.MAV_CMD_DO_SET_HOME:
            if _isset(p1) and p1 > 0.5:
                self._set_home_here()
            elif _isset(cmd.lat_deg) and _isset(cmd.lon_deg):
                self.set_home(cmd.lat_deg, cmd.lon_deg, cmd.alt_m if _isset(cmd.alt_m) else self.frame.alt0_m)  # type: ignore[arg-type]
            else:
                return DENIED, "no position"
            return ACCEPTED, None
        if c == mavlink.MAV_CMD_DO_FLIGHTTERMINATION:
            if _isset(p1) and p1 > 0.5:
                self.terminated = True
                self.armed = False
                self._say("Flight termination active", SEV_EMERGENCY)
            return ACCEPTED, None
        if c == mavlink.MAV_CMD_DO_FENCE_ENABLE:
            return ACCEPTED, None
        return UNSUPPORTED, None

    def _do_set_mode(self, base: float, main: float, sub: float) -> tuple[int, str | None]:
        from sitl.px4_modes import MainMode, flight_mode_from, mode_name

        base_i = int(base) if _isset(base) else 0
        if not base_i & mavlink.MAV_MODE_FLAG_CUSTOM_MODE_ENABLED:
            if base_i & mavlink.MAV_MODE_FLAG_AUTO_ENABLED:
                return self.set_mode(FlightMode.MISSION)
            if base_i & mavlink.MAV_MODE_FLAG_GUIDED_ENABLED:
                return self.set_mode(FlightMode.HOLD)
            return DENIED, "base mode without custom mode"
        main_i = int(main) if _isset(main) else 0
        sub_i = int(sub) if _isset(sub) else 0
        mode = flight_mode_from(main_i, sub_i)
        if mode is None:
            if main_i in (MainMode.MANUAL, MainMode.ALTCTL, MainMode.POSCTL, MainMode.STABILIZED, MainMode.ACRO):
                self._say(
                    f"Switching to {mode_name(main_i, sub_i)} is currently not possible: no manual control input",
                    SEV_CRITICAL,
                )
                return REJECTED, "no manual control input"
            if main_i == MainMode.OFFBOARD:
                self._say("Switching to Offboard is currently not possible: no offboard setpoints", SEV_CRITICAL)
                return REJECTED, "no offboard setpoints"
            return DENIED, f"unknown mode {main_i}/{sub_i}"
        return self.set_mode(mode)

    def _do_reposition(self, cmd: CommandRequest) -> tuple[int, str | None]:
        if not self.armed or not self.in_air:
            return REJECTED, "not flying"
        p1, _p2, _, _p4 = cmd.params
        east, north, up = self.position_enu()
        if _isset(cmd.lat_deg) and _isset(cmd.lon_deg):
            east, north, _ = self.frame.geodetic2enu(cmd.lat_deg, cmd.lon_deg, 0.0)  # type: ignore[arg-type]
        if _isset(cmd.alt_m):
            up = cmd.alt_m - self.frame.alt0_m  # type: ignore[operator]
            if cmd.frame in (mavlink.MAV_FRAME_GLOBAL_RELATIVE_ALT, mavlink.MAV_FRAME_GLOBAL_RELATIVE_ALT_INT):
                up = cmd.alt_m + self.home_enu[2]  # type: ignore[operator]
        if _isset(p1) and p1 > 0:
            self.cruise_override_m_s = p1
        self.mode = FlightMode.HOLD
        if self.mission_state == mavlink.MISSION_STATE_ACTIVE:
            self.mission_state = mavlink.MISSION_STATE_PAUSED
        self._hold_point = (east, north, up)
        return ACCEPTED, None

    def _change_speed(self, speed: float) -> tuple[int, str | None]:
        if not _isset(speed):
            return DENIED, "no speed"
        if speed == -1.0 or speed == -2.0:
            self.cruise_override_m_s = None
        elif speed > 0:
            self.cruise_override_m_s = speed
        return ACCEPTED, None

    def _set_trigger(self, dist: float, trigger_now: float) -> None:
        self.trigger_dist_m = dist if _isset(dist) and dist > 0 else 0.0
        self._trigger_travel_m = 0.0
        if _isset(trigger_now) and trigger_now > 0.5:
            self._trigger_camera()

    def _trigger_camera(self) -> None:
        self.camera_seq += 1
        self.events.append(Event("camera_trigger", seq=self.camera_seq))

    # ------------------------------------------------------------------ failsafes
    def _fence_ok(self, east: float, north: float, up: float) -> bool:
        if not self.geofence.empty and not self.geofence.inside(east, north):
            return False
        max_h = self.p("GF_MAX_HOR_DIST")
        if max_h > 0 and math.hypot(east - self.home_enu[0], north - self.home_enu[1]) > max_h:
            return False
        max_v = self.p("GF_MAX_VER_DIST")
        return not (max_v > 0 and up - self.home_enu[2] > max_v)

    def _failsafe_action(self, action: str, why: str) -> None:
        """action: hold | rtl | land | terminate | disarm | warn."""
        if action == "warn":
            self._say(why, SEV_WARNING)
        elif action == "hold":
            self.set_mode(FlightMode.HOLD, reason=f"{why}: Hold mode activated")
        elif action == "rtl":
            if self.mode != FlightMode.RTL:
                self.set_mode(FlightMode.RTL, reason=f"{why}: Return mode activated")
        elif action == "land":
            if self.mode != FlightMode.LAND:
                self.set_mode(FlightMode.LAND, reason=f"{why}: Land mode activated")
        elif action in ("terminate", "disarm"):
            self._say(f"{why}: flight termination", SEV_EMERGENCY)
            self.terminated = True
            self.armed = False

    def set_link_lost(self, lost: bool) -> None:
        if lost == self.link_lost:
            return
        self.link_lost = lost
        if not lost:
            self._say("Data link regained", SEV_INFO)
            return
        if not (self.armed and self.in_air):
            return
        action = {1: "hold", 2: "rtl", 3: "land", 5: "terminate", 6: "disarm"}.get(self.params.get_int("NAV_DLL_ACT"))
        exceptions = self.params.get_int("COM_DLL_EXCEPT")
        if self.mode == FlightMode.MISSION and exceptions & 1:
            action = None
        if self.mode == FlightMode.HOLD and exceptions & 2:
            action = None
        if action:
            self._failsafe_action(action, "Connection to ground station lost")
        else:
            self._say("Connection to ground station lost", SEV_WARNING)

    def _check_battery(self) -> None:
        remaining = self.battery.remaining
        if remaining < self.p("BAT_EMERGEN_THR"):
            level = BatteryLevel.EMERGENCY
        elif remaining < self.p("BAT_CRIT_THR"):
            level = BatteryLevel.CRITICAL
        elif remaining < self.p("BAT_LOW_THR"):
            level = BatteryLevel.LOW
        else:
            level = BatteryLevel.OK
        if level < self.battery_level:
            if remaining > self.p("BAT_LOW_THR") + 0.05:
                self.battery_level = level  # battery replaced or recharged
            return
        if level == self.battery_level:
            return
        self.battery_level = level
        act = self.params.get_int("COM_LOW_BAT_ACT")
        flying = self.armed and self.in_air
        if level == BatteryLevel.LOW:
            self._say("Low battery level, return advised", SEV_WARNING)
        elif level == BatteryLevel.CRITICAL:
            if flying and act in (1, 3):
                self._failsafe_action("rtl", "Critical battery level")
            elif flying and act == 2:
                self._failsafe_action("land", "Critical battery level")
            else:
                self._say("Critical battery level, land now", SEV_CRITICAL)
        elif level == BatteryLevel.EMERGENCY:
            if flying and act in (2, 3):
                self._failsafe_action("land", "Emergency battery level")
            elif flying and act == 1:
                self._failsafe_action("rtl", "Emergency battery level")
            else:
                self._say("Emergency battery level, land immediately", SEV_EMERGENCY)

    def _check_fence(self) -> None:
        if not (self.armed and self.in_air):
            self.fence_breached = False
            return
        east, north, up = self.position_enu()
        if self.params.get_int("GF_PREDICT") == 1:
            east += self.model.vel_east_m_s * 2.0
            north += self.model.vel_north_m_s * 2.0
        inside = self._fence_ok(east, north, up)
        if inside:
            self.fence_breached = False
            return
        if self.fence_breached:
            return
        self.fence_breached = True
        action = {1: "warn", 2: "hold", 3: "rtl", 4: "terminate", 5: "land"}.get(self.params.get_int("GF_ACTION"))
        if action:
            self._failsafe_action(action, "Geofence violation")

    def _check_gps(self) -> None:
        if self.gps_ok:
            self._gps_failsafe_done = False
            return
        if self._gps_failsafe_done or not (self.armed and self.in_air):
            return
        self._gps_failsafe_done = True
        self._failsafe_action("land", "No global position")

    # ------------------------------------------------------------------ navigator
    def _sp(self, target: tuple[float, float, float], speed: float | None = None, stop: bool = True) -> Setpoint:
        return Setpoint(
            target[0],
            target[1],
            target[2],
            max_speed_m_s=self.cruise_m_s if speed is None else speed,
            max_up_m_s=self.p("MPC_Z_VEL_MAX_UP"),
            max_down_m_s=self.p("MPC_Z_VEL_MAX_DN"),
            stop_at_target=stop,
        )

    def _land_setpoint(self, east: float, north: float) -> Setpoint:
        h = self.model.up_m - self.home_enu[2]
        alt1, alt2 = self.p("MPC_LAND_ALT1"), self.p("MPC_LAND_ALT2")
        fast, slow = self.p("MPC_Z_VEL_MAX_DN"), self.p("MPC_LAND_SPEED")
        if h > alt1:
            rate = fast
        elif h > alt2 and alt1 > alt2:
            rate = slow + (fast - slow) * (h - alt2) / (alt1 - alt2)
        else:
            rate = slow
        sp = self._sp((east, north, -5.0))
        sp.max_down_m_s = rate
        return sp

    def _reached(self, target: tuple[float, float, float], radius: float) -> bool:
        m = self.model
        return math.hypot(target[0] - m.east_m, target[1] - m.north_m) <= radius and abs(target[2] - m.up_m) <= self.p(
            "NAV_MC_ALT_RAD"
        )

    def _navigate(self, dt: float) -> Setpoint | None:
        mode = self.mode
        if mode == FlightMode.HOLD:
            if self.landed and self._hold_point[2] <= self.model.up_m + 0.05:
                return None
            return self._sp(self._hold_point)
        if mode == FlightMode.TAKEOFF:
            tgt = self._takeoff_target
            if abs(self.model.up_m - tgt[2]) < 0.3:
                self._enter_hold()
                self._hold_point = tgt
                return self._sp(tgt)
            sp = self._sp(tgt)
            sp.max_up_m_s = self.p("MPC_TKO_SPEED")
            return sp
        if mode == FlightMode.LAND:
            if self.landed:
                return None
            return self._land_setpoint(*self._land_point)
        if mode == FlightMode.RTL:
            return self._navigate_rtl()
        if mode == FlightMode.MISSION:
            return self._navigate_mission(dt)
        return None

    def _navigate_rtl(self) -> Setpoint | None:
        m = self.model
        dest_e, dest_n = self._rtl_dest
        if self._rtl_phase == "climb":
            if m.up_m >= self._rtl_alt - 0.5:
                self._rtl_phase = "return"
            else:
                return self._sp((m.east_m, m.north_m, self._rtl_alt))
        if self._rtl_phase == "return":
            if math.hypot(dest_e - m.east_m, dest_n - m.north_m) < 1.0:
                self._rtl_phase = "descend"
            else:
                return self._sp((dest_e, dest_n, self._rtl_alt))
        if self._rtl_phase == "descend":
            descend_alt = min(self.home_enu[2] + self.p("RTL_DESCEND_ALT"), self._rtl_alt)
            if m.up_m <= descend_alt + 0.5:
                delay = self.p("RTL_LAND_DELAY")
                self._rtl_phase = "loiter"
                self._rtl_wait_until = math.inf if delay < 0 else self.time_s + delay
            else:
                return self._sp((dest_e, dest_n, descend_alt))
        if self._rtl_phase == "loiter":
            if self.time_s < self._rtl_wait_until:
                return self._sp((dest_e, dest_n, m.up_m))
            self._rtl_phase = "land"
        if self.landed:
            return None
        return self._land_setpoint(dest_e, dest_n)

    def _item_reached(self, seq: int) -> None:
        self.reached_log.append(seq)
        self.events.append(Event("reached", seq=seq))

    def _advance(self) -> None:
        self.mission_seq += 1
        self._item_started = False
        items = self.missions.get(MISSION)
        if self.mission_seq >= len(items):
            self.mission_seq = max(len(items) - 1, 0)
            self.mission_state = mavlink.MISSION_STATE_COMPLETE
            self._say("Mission finished, loitering" if self.in_air else "Mission finished, landed")
            self._enter_hold()
        self.events.append(Event("mission_current"))

    def _navigate_mission(self, dt: float) -> Setpoint | None:
        items = self.missions.get(MISSION)
        for _ in range(64):  # DO items execute in the same step; DO_JUMP loops are bounded
            if self.mode != FlightMode.MISSION or not items:
                return self._navigate(dt) if self.mode != FlightMode.MISSION else None
            item = items[self.mission_seq]
            cmd = item.command
            if cmd == mavlink.MAV_CMD_DO_JUMP:
                target = int(item.param1)
                repeats = int(item.param2)
                left = self._jumps_left.setdefault(self.mission_seq, repeats)
                self._item_reached(self.mission_seq)
                if (left > 0 or repeats < 0) and 0 <= target < len(items):
                    if repeats >= 0:
                        self._jumps_left[self.mission_seq] = left - 1
                    self.mission_seq = target
                    self._item_started = False
                    self.events.append(Event("mission_current"))
                else:
                    self._advance()
                continue
            if cmd not in (
                mavlink.MAV_CMD_NAV_WAYPOINT,
                mavlink.MAV_CMD_NAV_LOITER_UNLIM,
                mavlink.MAV_CMD_NAV_LOITER_TURNS,
                mavlink.MAV_CMD_NAV_LOITER_TIME,
                mavlink.MAV_CMD_NAV_LAND,
                mavlink.MAV_CMD_NAV_TAKEOFF,
                mavlink.MAV_CMD_NAV_LOITER_TO_ALT,
                mavlink.MAV_CMD_NAV_RETURN_TO_LAUNCH,
                mavlink.MAV_CMD_NAV_DELAY,
            ):
                self._do_item(item)
                self._item_reached(self.mission_seq)
                self._advance()
                continue
            return self._nav_item(item, dt)
        return self._sp(self.position_enu())

    def _do_item(self, item: StoredItem) -> None:
        if item.command == mavlink.MAV_CMD_DO_CHANGE_SPEED:
            self._change_speed(item.param2)
        elif item.command == mavlink.MAV_CMD_DO_SET_CAM_TRIGG_DIST:
            self._set_trigger(item.param1, item.param3)
        elif item.command == mavlink.MAV_CMD_IMAGE_START_CAPTURE:
            self._trigger_camera()
        elif item.command == mavlink.MAV_CMD_DO_SET_HOME:
            if item.param1 > 0.5:
                self._set_home_here()
            else:
                self.set_home(item.lat_deg, item.lon_deg, item.z)

    def _nav_item(self, item: StoredItem, dt: float) -> Setpoint | None:
        m = self.model
        cmd = item.command
        seq = self.mission_seq
        if cmd == mavlink.MAV_CMD_NAV_RETURN_TO_LAUNCH:
            self._item_reached(seq)
            self.mission_state = mavlink.MISSION_STATE_COMPLETE
            self.events.append(Event("mission_current"))
            self.set_mode(FlightMode.RTL)
            return self._navigate_rtl()
        if not self._item_started:
            self._item_started = True
            self._item_phase = "travel"
            self._item_target = self.item_target_enu(item)
            if cmd == mavlink.MAV_CMD_NAV_TAKEOFF:
                self._item_target = (m.east_m, m.north_m, max(self._item_target[2], self.home_enu[2] + 1.0))
            if cmd == mavlink.MAV_CMD_NAV_LAND:
                self._item_target = (self._item_target[0], self._item_target[1], max(m.up_m, self.home_enu[2] + 2.0))
            if cmd == mavlink.MAV_CMD_NAV_DELAY:
                self._item_target = self.position_enu()
                self._item_phase = "wait"
                self._item_wait_until = self.time_s + max(item.param1, 0.0)
        tgt = self._item_target
        # On the ground PX4 takes off first: straight up to max(item altitude, MIS_TAKEOFF_ALT).
        if self._item_phase == "travel" and self.landed and cmd != mavlink.MAV_CMD_NAV_TAKEOFF:
            self._item_phase = "climb"
            self._climb_alt = max(tgt[2], self.home_enu[2] + self.p("MIS_TAKEOFF_ALT"))
        if self._item_phase == "climb":
            if m.up_m >= self._climb_alt - self.p("NAV_MC_ALT_RAD"):
                self._item_phase = "travel"
            else:
                sp = self._sp((m.east_m, m.north_m, self._climb_alt))
                sp.max_up_m_s = self.p("MPC_TKO_SPEED")
                return sp
        if self._item_phase == "travel":
            if cmd == mavlink.MAV_CMD_NAV_TAKEOFF:
                if abs(m.up_m - tgt[2]) <= self.p("NAV_MC_ALT_RAD"):
                    self._complete_item()
                    return self._sp(self.position_enu())
                sp = self._sp(tgt)
                sp.max_up_m_s = self.p("MPC_TKO_SPEED")
                return sp
            radius = item.param2 if cmd == mavlink.MAV_CMD_NAV_WAYPOINT and item.param2 > 0 else self.p("NAV_ACC_RAD")
            if cmd in (
                mavlink.MAV_CMD_NAV_LAND,
                mavlink.MAV_CMD_NAV_LOITER_TURNS,
                mavlink.MAV_CMD_NAV_LOITER_TIME,
                mavlink.MAV_CMD_NAV_LOITER_UNLIM,
            ):
                radius = min(radius, 1.0)  # these stop on the spot
            next_is_nav = self._next_nav_item(seq) is not None
            stop = cmd != mavlink.MAV_CMD_NAV_WAYPOINT or item.param1 > 0 or not next_is_nav
            if self._reached(tgt, radius):
                self._start_item_action(item)
            else:
                return self._sp(tgt, stop=stop)
        if self._item_phase == "wait":
            if self.time_s >= self._item_wait_until:
                self._complete_item()
                return (
                    self._sp(self.position_enu(), stop=True) if self.mode == FlightMode.MISSION else self._navigate(dt)
                )
            return self._sp(tgt)
        if self._item_phase == "orbit":
            radius = self._orbit_radius
            speed = min(self.cruise_m_s, 5.0)
            step = speed / radius * dt
            self._orbit_angle += step
            self._orbit_left -= step
            if self._orbit_left <= 0:
                self._complete_item()
                return self._sp(self.position_enu())
            ce, cn, cu = tgt
            point = (ce + radius * math.sin(self._orbit_angle), cn + radius * math.cos(self._orbit_angle), cu)
            return self._sp(point, speed=speed * 1.5, stop=False)
        if self._item_phase == "land":
            if self.landed:
                self._item_phase = "done"
                self._item_reached(seq)
                self.mission_state = mavlink.MISSION_STATE_COMPLETE
                self._say("Mission finished, landed")
                self.events.append(Event("mission_current"))
                return None
            return self._land_setpoint(tgt[0], tgt[1])
        if self._item_phase == "done":
            return None
        if self._item_phase == "forever":
            return self._sp(tgt)
        return self._sp(tgt)

    def _next_nav_item(self, seq: int) -> StoredItem | None:
        for item in self.missions.get(MISSION)[seq + 1 :]:
            if item.command in (
                mavlink.MAV_CMD_NAV_WAYPOINT,
                mavlink.MAV_CMD_NAV_LOITER_TIME,
                mavlink.MAV_CMD_NAV_LOITER_TURNS,
                mavlink.MAV_CMD_NAV_LAND,
                mavlink.MAV_CMD_NAV_LOITER_UNLIM,
                mavlink.MAV_CMD_NAV_LOITER_TO_ALT,
            ):
                return item
        return None

    def _start_item_action(self, item: StoredItem) -> None:
        cmd = item.command
        if cmd == mavlink.MAV_CMD_NAV_WAYPOINT and item.param1 > 0:
            self._item_phase = "wait"
            self._item_wait_until = self.time_s + item.param1
        elif cmd == mavlink.MAV_CMD_NAV_LOITER_TIME:
            self._item_phase = "wait"
            self._item_wait_until = self.time_s + max(item.param1, 0.0)
        elif cmd == mavlink.MAV_CMD_NAV_LOITER_TURNS:
            radius = abs(item.param3)
            if radius < 1.0:
                self._item_phase = "wait"
                self._item_wait_until = self.time_s + 2.0 * max(item.param1, 0.0)
            else:
                self._item_phase = "orbit"
                self._orbit_radius = radius
                self._orbit_angle = 0.0
                self._orbit_left = 2.0 * math.pi * max(item.param1, 0.0)
        elif cmd == mavlink.MAV_CMD_NAV_LOITER_UNLIM:
            self._item_phase = "forever"
        elif cmd == mavlink.MAV_CMD_NAV_LAND:
            self._item_phase = "land"
        else:
            self._complete_item()

    def _complete_item(self) -> None:
        self._item_reached(self.mission_seq)
        self._advance()

    # ------------------------------------------------------------------ the step
    def step(self, dt: float) -> None:
        self.time_s += dt
        m = self.model
        self.gps.step(dt)
        if self.armed:
            self._check_battery()
            self._check_fence()
            self._check_gps()
        else:
            self._check_battery_quiet()
        thrust = self.armed and not self.motor_failed and not self.terminated
        setpoint = self._navigate(dt) if thrust else None
        prev_e, prev_n = m.east_m, m.north_m
        m.step(dt, setpoint, thrust=thrust)
        self._update_landed(setpoint)
        self.battery.step(
            dt, flying=self.in_air and thrust, armed=self.armed, airspeed_m_s=m.airspeed_m_s, climb_m_s=m.vel_up_m_s
        )
        if self.trigger_dist_m > 0 and self.in_air:
            self._trigger_travel_m += math.hypot(m.east_m - prev_e, m.north_m - prev_n)
            while self._trigger_travel_m >= self.trigger_dist_m:
                self._trigger_travel_m -= self.trigger_dist_m
                self._trigger_camera()

    def _check_battery_quiet(self) -> None:
        remaining = self.battery.remaining
        self.battery_level = (
            BatteryLevel.EMERGENCY
            if remaining < self.p("BAT_EMERGEN_THR")
            else BatteryLevel.CRITICAL
            if remaining < self.p("BAT_CRIT_THR")
            else BatteryLevel.LOW
            if remaining < self.p("BAT_LOW_THR")
            else BatteryLevel.OK
        )

    def _update_landed(self, setpoint: Setpoint | None) -> None:
        m = self.model
        if self.landed:
            if m.up_m > 0.3 and self.armed:
                self.landed = False
                self._say("Takeoff detected")
            elif (
                self.armed
                and not self._landed_after_flight
                and self.time_s - self._armed_on_ground_since > self.p("COM_DISARM_PRFLT") > 0
            ):
                self.disarm(reason="auto preflight disarming")
            return
        if m.on_ground:
            self.landed = True
            self._landed_since = self.time_s
            if self.terminated or self.motor_failed:
                self._say("Vehicle hit the ground", SEV_CRITICAL)
                self.armed = False
            else:
                self._say("Landing detected")
                self._landed_after_flight = True
            return

    def post_step(self) -> None:
        """Auto-disarm after landing (COM_DISARM_LAND)."""
        if self.armed and self.landed and self._landed_after_flight:
            delay = self.p("COM_DISARM_LAND")
            if delay > 0 and self.time_s - self._landed_since >= delay:
                self.disarm(reason="landing")

    # ------------------------------------------------------------------ fault injection
    def inject(self, fault: str, **kw: float | bool | None) -> dict:
        if fault == "battery":
            if kw.get("remaining") is not None:
                self.battery.set_remaining(float(kw["remaining"]))  # type: ignore[arg-type]
            if kw.get("drain_factor") is not None:
                self.battery.drain_factor = float(kw["drain_factor"])  # type: ignore[arg-type]
            if not self.armed:
                self._check_battery_quiet()  # arming checks see the new charge at once
        elif fault == "gps":
            self.gps_ok = bool(kw.get("ok", False))
        elif fault == "motor":
            self.motor_failed = bool(kw.get("failed", True))
            if self.motor_failed:
                self._say("Motor failure detected", SEV_EMERGENCY)
        elif fault == "wind":
            for key, name in (("east_m_s", "SIH_WIND_E"), ("north_m_s", "SIH_WIND_N"), ("gust_m_s", "SIH_WIND_GUST")):
                if kw.get(key) is not None:
                    self.params.set(name, float(kw[key]))  # type: ignore[arg-type]
            self._apply_params()
        else:
            raise ValueError(f"unknown fault {fault!r}")
        return self.snapshot()

    def snapshot(self) -> dict:
        lat, lon, alt = self.position_geodetic()
        return {
            "system_id": self.system_id,
            "time_s": round(self.time_s, 3),
            "armed": self.armed,
            "landed": self.landed,
            "mode": self.mode.name,
            "lat": lat,
            "lon": lon,
            "alt_amsl_m": alt,
            "alt_rel_m": self.relative_alt_m,
            "east_m": self.model.east_m,
            "north_m": self.model.north_m,
            "distance_home_m": math.hypot(self.model.east_m - self.home_enu[0], self.model.north_m - self.home_enu[1]),
            "ground_speed_m_s": self.model.ground_speed_m_s,
            "battery_remaining": self.battery.remaining,
            "mission_seq": self.mission_seq,
            "mission_count": len(self.missions.get(MISSION)),
            "mission_reached": list(self.reached_log),
            "mission_state": int(self.mission_state),
            "link_lost": self.link_lost,
            "gps_ok": self.gps_ok,
            "motor_failed": self.motor_failed,
            "fence_breached": self.fence_breached,
            "camera_triggers": self.camera_seq,
        }
