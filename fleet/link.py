"""One drone's link as the fleet manager keeps it: the vehicle, the latest telemetry, the state.

The state follows what the vehicle reports (armed, in air, flight mode, health) through the
`DroneStateMachine`; the platform's own view of the link (silent longer than a wall-clock timeout:
lost) comes from how fresh the telemetry is, not from MAVSDK's heartbeat timeout.

A vehicle emergency puts the drone in `fault`, as a ground station would see it: HEARTBEAT
system_status EMERGENCY or FLIGHT_TERMINATION, motor outputs present and enabled but unhealthy in
SYS_STATUS (both for as long as the vehicle says so). CRITICAL is only a warning: PX4 reports it
during any failsafe; so is a status text of EMERGENCY severity: PX4 says "Low battery level" that
way, which the platform's own battery reserve answers.
"""

from __future__ import annotations

import asyncio
import contextlib
import logging
import math
import time
from collections import deque
from collections.abc import AsyncIterator, Callable
from dataclasses import dataclass, field
from datetime import UTC, datetime
from typing import TYPE_CHECKING, Any

from core.errors import Refused, Unavailable
from fleet.state import TRANSITIONS, DroneState, DroneStateMachine
from fleet.vehicle import (
    Attitude,
    Battery,
    FlightMode,
    Health,
    Home,
    LandedState,
    MissionProgress,
    Position,
    StatusText,
    SystemStatus,
    Vehicle,
    VehicleConnection,
    VelocityNed,
)

if TYPE_CHECKING:
    from fleet.manager import FleetManager

log = logging.getLogger(__name__)
S = DroneState
FLYING = frozenset({S.AIRBORNE, S.RETURNING})
RETURN_MODES = frozenset({FlightMode.RETURN_TO_LAUNCH, FlightMode.LAND})
RESTORE_HEARTBEAT_WAIT_TICKS = 30  # of 0.1 s: how long a restored link waits for a heartbeat
EMERGENCY_STATUS = frozenset({SystemStatus.EMERGENCY, SystemStatus.FLIGHT_TERMINATION})


def _r(v: float | None, nd: int) -> float | None:
    return None if v is None or not math.isfinite(v) else round(v, nd)


@dataclass
class TelemetrySnapshot:
    position: Position | None = None
    velocity: VelocityNed | None = None
    attitude: Attitude | None = None
    battery: Battery | None = None
    flight_mode: FlightMode = FlightMode.UNKNOWN
    armed: bool = False
    in_air: bool = False
    landed_state: LandedState = LandedState.UNKNOWN
    health: Health | None = None
    home: Home | None = None
    progress: MissionProgress | None = None
    updated_at: datetime | None = None
    system_status: SystemStatus = SystemStatus.UNINIT
    motor_outputs_ok: bool = True
    emergency_text: str | None = None  # the last EMERGENCY status text (warned once), until disarmed on the ground

    @property
    def fault(self) -> str | None:
        """Why the vehicle is in an emergency (None: it is not)."""
        why = []
        if self.system_status in EMERGENCY_STATUS:
            why.append(f"vehicle status {self.system_status.value}")
        if not self.motor_outputs_ok:
            why.append("motor outputs unhealthy")
        return "; ".join(why) or None

    def to_json(self) -> dict[str, Any]:
        p, v, a, b, h = self.position, self.velocity, self.attitude, self.battery, self.home
        return {
            "lat": _r(p.lat_deg, 8) if p else None,
            "lon": _r(p.lon_deg, 8) if p else None,
            "alt_amsl_m": _r(p.alt_amsl_m, 2) if p else None,
            "alt_rel_m": _r(p.alt_rel_m, 2) if p else None,
            "north_m_s": _r(v.north_m_s, 2) if v else None,
            "east_m_s": _r(v.east_m_s, 2) if v else None,
            "down_m_s": _r(v.down_m_s, 2) if v else None,
            "ground_speed_m_s": _r(v.ground_speed_m_s, 2) if v else None,
            "heading_deg": _r(a.heading_deg, 1) if a else None,
            "roll_deg": _r(a.roll_deg, 1) if a else None,
            "pitch_deg": _r(a.pitch_deg, 1) if a else None,
            "battery_remaining": _r(b.remaining, 4) if b else None,
            "battery_voltage_v": _r(b.voltage_v, 2) if b else None,
            "flight_mode": self.flight_mode.value,
            "armed": self.armed,
            "in_air": self.in_air,
            "landed_state": self.landed_state.value,
            "health_ok": self.health.all_ok if self.health else None,
            "home": None if h is None else {"lat": _r(h.lat_deg, 8), "lon": _r(h.lon_deg, 8),
                                            "alt_amsl_m": _r(h.alt_amsl_m, 2)},
            "mission_current": self.progress.current if self.progress else None,
            "mission_total": self.progress.total if self.progress else None,
            "system_status": self.system_status.value,
            "fault": self.fault,
        }


def derive_state(prev: DroneState, before_loss: DroneState, t: TelemetrySnapshot) -> DroneState:
    """The state the vehicle's report implies, given the state the platform held before."""
    if t.fault is not None:
        return S.FAULT
    if t.in_air:
        if t.health is not None and not t.health.global_position_ok:
            return S.FAULT
        return S.RETURNING if t.flight_mode in RETURN_MODES else S.AIRBORNE
    if prev == S.OFFLINE:  # reconciling after a link loss (or at first contact)
        if before_loss in FLYING or before_loss == S.LANDED:
            return S.LANDED
        return S.PREFLIGHT if (t.armed or before_loss == S.PREFLIGHT) else S.IDLE
    if prev in FLYING:
        return S.LANDED
    if prev == S.IDLE and t.armed:
        return S.PREFLIGHT
    if prev == S.FAULT:
        return S.LANDED
    return prev  # idle, preflight (a mission loaded) and landed hold on the ground


def path_to(current: DroneState, target: DroneState) -> list[DroneState]:
    """The shortest chain of allowed transitions (a takeoff straight into RTL passes airborne)."""
    if current == target:
        return []
    seen, queue = {current}, deque([(current, [])])
    while queue:
        s, path = queue.popleft()
        for nxt in sorted(TRANSITIONS[s]):
            if nxt in seen:
                continue
            if nxt == target:
                return [*path, nxt]
            seen.add(nxt)
            queue.append((nxt, [*path, nxt]))
    return [target]


@dataclass
class MissionTracking:
    mission_id: str | None = None
    total: int = 0
    current: int | None = None
    reached: list[int] = field(default_factory=list)


class DroneLink:
    def __init__(self, manager: FleetManager, drone_id: str, url: str) -> None:
        self.manager = manager
        self.id = drone_id
        self.url = url
        self.connection = VehicleConnection(url)
        self.vehicle: Vehicle | None = None
        self.sm = DroneStateMachine(drone_id)
        self.tel = TelemetrySnapshot()
        self.mission = MissionTracking()
        self.last_seen: float | None = None  # monotonic
        self.link_up = False
        self.lost_at: float | None = None
        self.before_loss = S.OFFLINE
        self.landed_since: float | None = None
        self.latched: set[str] = set()  # platform failsafes already acted on in this flight
        self.last_stored = 0.0
        self.messages = 0
        self.connected_once = False
        self._restoring = False
        self._restore_task: asyncio.Task[None] | None = None
        self._task: asyncio.Task[None] | None = None
        self._streams: list[asyncio.Task[None]] = []
        self.command_lock = asyncio.Lock()

    # -- lifecycle -----------------------------------------------------------------------------
    def start(self) -> None:
        self._task = asyncio.create_task(self._run(), name=f"fleet-link-{self.id}")

    async def stop(self) -> None:
        tasks = [t for t in (self._task, self._restore_task, *self._streams) if t is not None]
        for t in tasks:
            t.cancel()
        await asyncio.gather(*tasks, return_exceptions=True)
        self._streams = []
        vehicle, self.vehicle = self.vehicle, None
        if vehicle is not None:
            vehicle.release()  # plugins before the MAVSDK instance they came from
        with contextlib.suppress(Exception):
            await asyncio.wait_for(self.connection.close(), 10)

    async def _run(self) -> None:
        s = self.manager.settings
        while self.vehicle is None:
            try:
                await self.connection.open(s.connect_timeout_s)
                self.vehicle = Vehicle(self.connection)
            except Unavailable as exc:
                log.info("drone %s: %s; retrying in %g s", self.id, exc.message, s.reconnect_interval_s)
                await asyncio.sleep(s.reconnect_interval_s)
        await self._on_connected()

    async def _on_connected(self) -> None:
        assert self.vehicle is not None
        v = self.vehicle
        self.last_seen = time.monotonic()
        self.link_up = True
        self.connected_once = True
        tel, mission = v.telemetry, v.mission
        follow = [
            ("position", tel.subscribe_position(), self._on_position),
            ("velocity", tel.subscribe_velocity(), self._on_velocity),
            ("attitude", tel.subscribe_attitude(), self._on_attitude),
            ("battery", tel.subscribe_battery(), self._on_battery),
            ("flight_mode", tel.subscribe_flight_mode(), self._on_flight_mode),
            ("armed", tel.subscribe_armed(), self._on_armed),
            ("in_air", tel.subscribe_in_air(), self._on_in_air),
            ("landed_state", tel.subscribe_landed_state(), self._on_landed_state),
            ("health", tel.subscribe_health(), self._on_health),
            ("home", tel.subscribe_home(), self._on_home),
            ("progress", mission.subscribe_progress(), self._on_progress),
            ("reached", mission.subscribe_reached(), self._on_reached),
            ("system_status", v.status.subscribe_system_status(), self._on_system_status),
            ("motor_outputs", v.status.subscribe_motor_outputs_ok(), self._on_motor_outputs),
            ("status_text", v.status.subscribe_status_text(), self._on_status_text),
        ]
        self._streams = [asyncio.create_task(self._follow(n, it, fn), name=f"fleet-{self.id}-{n}")
                         for n, it, fn in follow]
        params_error = None
        try:
            await v.params.apply(self.manager.settings.failsafe_params)
        except (Refused, Unavailable) as exc:
            params_error = exc.message
            log.warning("drone %s: failsafe parameters not set: %s", self.id, exc.message)
        if self.manager.settings.telemetry_rate_hz > 0:
            try:
                await v.telemetry.set_stream_rates(self.manager.settings.telemetry_rate_hz)
            except (Refused, Unavailable) as exc:
                log.warning("drone %s: telemetry rates not set: %s", self.id, exc.message)
        info: dict[str, Any] = {"drone_id": self.id, "url": self.url,
                                "failsafe_params": dict(self.manager.settings.failsafe_params),
                                "failsafe_params_error": params_error}
        with contextlib.suppress(Exception):
            info["system_id"] = await v.connection.system_id()
            info["autopilot"] = await v.connection.autopilot_name()
        await self.manager.emit("skypatrol.drone.connected.v1", info, self.id)
        await asyncio.sleep(0.3)  # let the first reports in before deciding the state
        await self.update_state("connected")

    async def _follow(self, name: str, stream: AsyncIterator[Any], apply: Callable[[Any], Any]) -> None:
        try:
            async for value in stream:
                self.messages += 1
                self.last_seen = time.monotonic()
                if not self.link_up and not self._restoring:
                    self._restoring = True
                    self._restore_task = asyncio.create_task(self._restore(), name=f"fleet-restore-{self.id}")
                try:
                    r = apply(value)
                    if asyncio.iscoroutine(r):
                        await r
                except Unavailable:  # the bus is stopping
                    return
                except Exception:
                    log.exception("drone %s: handling %s", self.id, name)
        except asyncio.CancelledError:
            raise
        except Exception:
            log.exception("drone %s: %s stream ended", self.id, name)

    # -- telemetry handlers --------------------------------------------------------------------
    async def _on_position(self, p: Position) -> None:
        self.tel.position = p
        self.tel.updated_at = datetime.now(UTC)
        await self.manager.on_position(self)

    def _on_velocity(self, v: VelocityNed) -> None:
        self.tel.velocity = v

    def _on_attitude(self, a: Attitude) -> None:
        self.tel.attitude = a

    def _on_battery(self, b: Battery) -> None:
        self.tel.battery = b

    def _on_home(self, h: Home) -> None:
        self.tel.home = h

    async def _on_flight_mode(self, m: FlightMode) -> None:
        if m != self.tel.flight_mode:
            self.tel.flight_mode = m
            await self.update_state("flight mode " + m.value)

    async def _on_armed(self, armed: bool) -> None:
        if armed != self.tel.armed:
            self.tel.armed = armed
            await self.update_state("armed" if armed else "disarmed")
            await self._clear_emergency_text_on_ground()

    async def _on_in_air(self, in_air: bool) -> None:
        if in_air != self.tel.in_air:
            self.tel.in_air = in_air
            await self.update_state("took off" if in_air else "touched down")
            await self._clear_emergency_text_on_ground()

    async def _clear_emergency_text_on_ground(self) -> None:
        """The last EMERGENCY status text is remembered (one warning per text) until the vehicle is
        disarmed on the ground."""
        if self.tel.emergency_text and not self.tel.armed and not self.tel.in_air:
            self.tel.emergency_text = None

    async def _on_system_status(self, status: SystemStatus) -> None:
        old = self.tel.system_status
        if status == SystemStatus.CRITICAL and old != SystemStatus.CRITICAL:
            await self.manager.emit("skypatrol.drone.warning.v1",
                                    {"drone_id": self.id, "reason": "vehicle_critical",
                                     "detail": "the vehicle reports its status CRITICAL (a failsafe is active)",
                                     **self._situation()}, self.id)
        await self._set_fault_source(lambda t: setattr(t, "system_status", status), f"vehicle status {status.value}")

    async def _on_motor_outputs(self, ok: bool) -> None:
        await self._set_fault_source(lambda t: setattr(t, "motor_outputs_ok", ok),
                                     "motor outputs " + ("healthy" if ok else "unhealthy"))

    async def _on_status_text(self, t: StatusText) -> None:
        if t.severity == "emergency" and t.text != self.tel.emergency_text:
            self.tel.emergency_text = t.text
            await self.manager.emit("skypatrol.drone.warning.v1",
                                    {"drone_id": self.id, "reason": "vehicle_emergency_text", "detail": t.text,
                                     **self._situation()}, self.id)

    async def _set_fault_source(self, change: Callable[[TelemetrySnapshot], None], reason: str) -> None:
        """Apply one change to what the vehicle reports about an emergency; a fault that begins is
        published as `skypatrol.drone.fault.v1`, one that ends as `skypatrol.drone.fault_cleared.v1`."""
        before = self.tel.fault
        change(self.tel)
        after = self.tel.fault
        if after == before:
            return
        if after is not None and before is None:
            await self.manager.emit("skypatrol.drone.fault.v1",
                                    {"drone_id": self.id, "reason": after, "from_state": self.sm.state.value,
                                     **self._situation()}, self.id)
        elif after is None:
            await self.manager.emit("skypatrol.drone.fault_cleared.v1",
                                    {"drone_id": self.id, "reason": reason, **self._situation()}, self.id)
        await self.update_state(after or reason)

    def _situation(self) -> dict[str, Any]:
        p = self.tel.position
        return {"flight_mode": self.tel.flight_mode.value, "armed": self.tel.armed, "in_air": self.tel.in_air,
                "system_status": self.tel.system_status.value, "mission_id": self.mission.mission_id,
                "mission_current": self.mission.current, "mission_total": self.mission.total,
                "lat": _r(p.lat_deg, 8) if p else None, "lon": _r(p.lon_deg, 8) if p else None,
                "alt_rel_m": _r(p.alt_rel_m, 2) if p else None}

    def _on_landed_state(self, s: LandedState) -> None:
        self.tel.landed_state = s

    async def _on_health(self, h: Health) -> None:
        changed = self.tel.health is None or h.global_position_ok != self.tel.health.global_position_ok
        self.tel.health = h
        if changed and self.tel.in_air:
            await self.update_state("global position " + ("ok" if h.global_position_ok else "lost"))

    async def _on_progress(self, p: MissionProgress) -> None:
        old = self.tel.progress
        self.tel.progress = p
        if old == p:
            return
        self.mission.current, self.mission.total = p.current, p.total
        if p.total > 0:  # no mission on the vehicle: nothing to report
            await self.manager.mission_progress(self, reached=None)

    async def _on_reached(self, seq: int) -> None:
        if self.mission.reached and self.mission.reached[-1] == seq:
            return  # PX4 sends each MISSION_ITEM_REACHED more than once; one report is the event
        self.mission.reached.append(seq)
        await self.manager.mission_progress(self, reached=seq)

    # -- state ---------------------------------------------------------------------------------
    async def update_state(self, reason: str) -> None:
        if not self.link_up:
            return
        target = derive_state(self.sm.state, self.before_loss, self.tel)
        await self.set_state(target, reason)

    async def set_state(self, target: DroneState, reason: str) -> None:
        for step in path_to(self.sm.state, target):
            old = self.sm.state
            try:
                self.sm.transition(step)
            except Refused:
                log.warning("drone %s: no transition %s -> %s", self.id, old, step)
                return
            if step == S.LANDED:
                self.landed_since = time.monotonic()
            if step in (S.IDLE, S.PREFLIGHT, S.LANDED):
                self.latched.clear()
            await self.manager.state_changed(self, old, step, reason)

    # -- link loss and return ------------------------------------------------------------------
    async def on_link_lost(self, silent_s: float) -> None:
        self.link_up = False
        self.lost_at = time.monotonic() - silent_s
        self.before_loss = self.sm.state
        await self.manager.emit("skypatrol.drone.link_lost.v1",
                                {"drone_id": self.id, "silent_s": round(silent_s, 2), "state": self.sm.state.value,
                                 "flight_mode": self.tel.flight_mode.value, "in_air": self.tel.in_air,
                                 "mission_current": self.mission.current, "mission_total": self.mission.total},
                                self.id)
        dll = self.manager.settings.failsafe_params.get("NAV_DLL_ACT", "unset")
        await self.manager.emit("skypatrol.drone.failsafe.v1",
                                {"drone_id": self.id, "reason": "link_lost", "action": "vehicle",
                                 "detail": f"no telemetry for {silent_s:.1f} s; the vehicle acts on its own data "
                                           f"link loss failsafe (NAV_DLL_ACT={dll})",
                                 "state": self.sm.state.value}, self.id)
        await self.set_state(S.OFFLINE, "link lost")

    async def _restore(self) -> None:
        """The link is back: read what the vehicle is doing (mode, in air, current item) and take
        the state from it; the mission goes on where the vehicle is, nothing is restarted."""
        try:
            await asyncio.sleep(0.3)  # the first heartbeats and reports after the gap
            v = self.vehicle
            if v is None:
                return
            # The flight mode comes with the vehicle's HEARTBEAT (PX4: once a second), which may
            # trail its telemetry after a long gap; MAVSDK calls the vehicle connected on the first.
            for _ in range(RESTORE_HEARTBEAT_WAIT_TICKS):
                if await v.connection.is_connected():
                    break
                await asyncio.sleep(0.1)
            with contextlib.suppress(Refused, Unavailable):
                self.tel.flight_mode = await v.telemetry.flight_mode()
                self.tel.armed = await v.telemetry.armed()
                self.tel.in_air = await v.telemetry.in_air()
                p = await v.mission.progress()
                self.tel.progress = p
                self.mission.current, self.mission.total = p.current, p.total
            offline_s = time.monotonic() - (self.lost_at or time.monotonic())
            self.link_up = True
            await self.update_state("link restored")
            await self.manager.emit("skypatrol.drone.link_restored.v1",
                                    {"drone_id": self.id, "offline_s": round(offline_s, 2),
                                     "state": self.sm.state.value, "flight_mode": self.tel.flight_mode.value,
                                     "armed": self.tel.armed, "in_air": self.tel.in_air,
                                     "mission_current": self.mission.current, "mission_total": self.mission.total},
                                    self.id)
        finally:
            self._restoring = False

    def require_vehicle(self) -> Vehicle:
        if self.vehicle is None or not self.link_up:
            raise Unavailable(f"drone {self.id} is not connected")
        return self.vehicle

    def snapshot(self) -> dict[str, Any]:
        seen = None if self.last_seen is None else round(time.monotonic() - self.last_seen, 2)
        return {"drone_id": self.id, "state": self.sm.state.value, "connected": self.link_up,
                "last_seen_s": seen,
                "updated_at": self.tel.updated_at.isoformat().replace("+00:00", "Z") if self.tel.updated_at else None,
                "mission_id": self.mission.mission_id, **self.tel.to_json()}
