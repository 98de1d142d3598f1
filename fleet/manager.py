"""The fleet manager: every drone in the database with a connection URL, connected and watched.

One `DroneLink` per drone (fleet/link.py) follows the vehicle's telemetry and drives its state
machine. The manager adds what spans the fleet: loading and syncing drones from the database, one
watchdog for links (lost after `link_lost_after_s` wall-clock seconds without telemetry), the
platform's failsafes (battery reserve to get home, zone breach predicted ahead), the commands
pilots and the dispatcher send, and the events all of this produces:

`skypatrol.drone.{connected,link_lost,link_restored,state_changed,failsafe}.v1`,
`skypatrol.drone.{fault,fault_cleared,warning}.v1` (a vehicle emergency, see fleet/link.py),
`skypatrol.telemetry.v1` (stored at `telemetry_store_hz`, every update live-only),
`skypatrol.mission.{progress,paused,resumed}.v1`.
"""

from __future__ import annotations

import asyncio
import contextlib
import logging
import time
from collections.abc import Callable
from datetime import UTC, datetime
from typing import Any

from sqlalchemy import select, update

from airspace.index import ZoneIndex
from core.db import Database
from core.errors import NotFound, Refused, Unavailable
from core.events import EventSink
from core.models import Drone
from core.settings import FleetSettings
from fleet import failsafes
from fleet.link import DroneLink, MissionTracking
from fleet.state import DroneState
from fleet.vehicle import Vehicle
from missions.items import MissionPlan

log = logging.getLogger(__name__)
S = DroneState
COMMANDS = ("rtl", "land", "pause", "resume", "hold", "kill")
ARMABLE_WAIT_S = 5.0  # wall seconds an arm request waits for the vehicle to report itself ready


class FleetManager:
    def __init__(self, db: Database, bus: EventSink, settings: FleetSettings | None = None,
                 zone_index: Callable[[], ZoneIndex | None] | None = None) -> None:
        self.db = db
        self.bus = bus
        self.settings = settings or FleetSettings()
        self.links: dict[str, DroneLink] = {}
        self._zone_index_fn = zone_index or self._database_zone_index
        self._zone_index: ZoneIndex | None = None
        self._zones_at = -1e9
        self._tasks: list[asyncio.Task[None]] = []
        self._dirty: dict[str, str] = {}
        self._dirty_event = asyncio.Event()
        self._running = False

    # -- lifecycle -----------------------------------------------------------------------------
    async def start(self) -> None:
        if self._running:
            return
        self._running = True
        await self.sync()
        self._tasks = [asyncio.create_task(self._watchdog(), name="fleet-watchdog"),
                       asyncio.create_task(self._persister(), name="fleet-persister"),
                       asyncio.create_task(self._syncer(), name="fleet-sync")]

    async def stop(self) -> None:
        if not self._running:
            return
        self._running = False
        for t in self._tasks:
            t.cancel()
        await asyncio.gather(*self._tasks, return_exceptions=True)
        await asyncio.gather(*(link.stop() for link in self.links.values()), return_exceptions=True)
        self.links.clear()
        with contextlib.suppress(Exception):
            await asyncio.to_thread(self._write_states, self._dirty)
        self._dirty = {}

    async def sync(self) -> None:
        """Drones added, changed or removed in the database since the last look."""
        wanted = await asyncio.to_thread(self._drones_with_urls)
        for drone_id in [d for d, link in self.links.items() if wanted.get(d) != link.url]:
            await self.links.pop(drone_id).stop()
        for drone_id, url in wanted.items():
            if drone_id not in self.links:
                link = DroneLink(self, drone_id, url)
                self.links[drone_id] = link
                self._dirty[drone_id] = S.OFFLINE.value
                self._dirty_event.set()
                link.start()

    def _drones_with_urls(self) -> dict[str, str]:
        with self.db.session() as s:
            rows = s.execute(select(Drone.id, Drone.connection_url).where(Drone.connection_url.is_not(None)))
            return {r.id: r.connection_url for r in rows}

    async def _syncer(self) -> None:
        while True:
            await asyncio.sleep(self.settings.sync_interval_s)
            try:
                await self.sync()
            except Exception:
                log.exception("fleet: syncing drones from the database")

    # -- queries -------------------------------------------------------------------------------
    def link(self, drone_id: str) -> DroneLink:
        link = self.links.get(drone_id)
        if link is None:
            raise Unavailable(f"drone {drone_id} is not managed (no connection URL?)")
        return link

    def vehicle(self, drone_id: str) -> Vehicle:
        """The drone's vehicle facades (for the dispatcher and tests); Unavailable when not connected."""
        return self.link(drone_id).require_vehicle()

    def state(self, drone_id: str) -> DroneState:
        return self.link(drone_id).sm.state

    def telemetry(self, drone_id: str) -> dict[str, Any]:
        link = self.links.get(drone_id)
        if link is None:
            raise NotFound(f"no telemetry for drone {drone_id}: it is not managed (no connection URL?)")
        return link.snapshot()

    # -- commands ------------------------------------------------------------------------------
    async def command(self, drone_id: str, name: str) -> dict[str, Any]:
        """rtl | land | pause | resume | hold | kill, checked against the state machine, then sent;
        `Refused` names the state or the vehicle's answer, `Unavailable` a missing link."""
        if name not in COMMANDS:
            raise Refused(f"unknown command {name!r}; one of {', '.join(COMMANDS)}")
        link = self.link(drone_id)
        async with link.command_lock:
            vehicle = link.require_vehicle()
            link.sm.check_command("pause" if name == "hold" else name, link.tel.fault)
            if name == "rtl":
                await vehicle.action.return_to_launch()
            elif name == "land":
                await vehicle.action.land()
            elif name == "pause":
                await vehicle.mission.pause()
            elif name == "resume":
                await vehicle.mission.resume()
            elif name == "hold":
                await vehicle.action.hold()
            else:
                await vehicle.action.kill()
        if name in ("pause", "resume"):
            await self.emit(f"skypatrol.mission.{name}d.v1",
                            {"drone_id": drone_id, "mission_id": link.mission.mission_id,
                             "current": link.mission.current, "total": link.mission.total},
                            link.mission.mission_id or drone_id)
        return {"drone_id": drone_id, "command": name, "state": link.sm.state.value}

    async def upload_mission(self, drone_id: str, plan: MissionPlan, mission_id: str | None = None) -> int:
        """Fence, rally points and items onto the vehicle; the drone becomes `preflight`."""
        link = self.link(drone_id)
        async with link.command_lock:
            vehicle = link.require_vehicle()
            link.sm.check_command("upload_mission", link.tel.fault)
            before = link.mission
            # Set before the upload: the vehicle reports the new mission while it is being written.
            link.mission = MissionTracking(mission_id, len(plan.items), 0, [])
            try:
                count = await vehicle.upload_plan(plan)
            except BaseException:
                link.mission = before
                raise
            await link.set_state(S.PREFLIGHT, "mission uploaded")
        return count

    async def arm_and_start(self, drone_id: str) -> None:
        """Arm and start the uploaded mission (PX4 takes off on its first item)."""
        link = self.link(drone_id)
        async with link.command_lock:
            vehicle = link.require_vehicle()
            link.sm.check_command("arm", link.tel.fault)
            await self._until_armable(link)
            await vehicle.action.arm()
            await vehicle.mission.start()

    @staticmethod
    async def _until_armable(link: DroneLink, timeout_s: float = ARMABLE_WAIT_S) -> None:
        """Give the vehicle a moment to pass its pre-arm checks (PX4 also wants a ground station
        heartbeat when NAV_DLL_ACT is set, and the first goes out about a second after connecting);
        past the wait the arm request goes anyway and a refusal names the vehicle's reason."""
        for _ in range(round(timeout_s / 0.1)):
            if link.tel.health is not None and link.tel.health.armable:
                return
            await asyncio.sleep(0.1)

    async def return_all(self) -> dict[str, str]:
        """Fleet-wide return home: every flying drone is sent RTL; returns drone -> result."""
        out: dict[str, str] = {}
        for drone_id, link in list(self.links.items()):
            if link.sm.state not in (S.AIRBORNE, S.FAULT):
                continue
            try:
                await self.command(drone_id, "rtl")
                out[drone_id] = "rtl"
            except (Refused, Unavailable) as exc:
                out[drone_id] = exc.message
        return out

    # -- events --------------------------------------------------------------------------------
    async def emit(self, type: str, data: dict[str, Any], subject: str, live_only: bool = False) -> None:
        try:
            await self.bus.publish(type, data, subject=subject, live_only=live_only)
        except Unavailable:
            if self._running:
                raise

    async def state_changed(self, link: DroneLink, old: DroneState, new: DroneState, reason: str) -> None:
        self._dirty[link.id] = new.value
        self._dirty_event.set()
        await self.emit("skypatrol.drone.state_changed.v1",
                        {"drone_id": link.id, "from": old.value, "to": new.value, "reason": reason}, link.id)

    async def on_position(self, link: DroneLink) -> None:
        s = self.settings
        now = time.monotonic()
        store = s.telemetry_store_hz > 0 and now - link.last_stored >= 1.0 / s.telemetry_store_hz
        if not store and not s.telemetry_live:
            return
        data = link.snapshot()
        if store:
            link.last_stored = now
            await self.emit("skypatrol.telemetry.v1", data, link.id)
        elif s.telemetry_live:
            await self.emit("skypatrol.telemetry.v1", data, link.id, live_only=True)

    async def mission_progress(self, link: DroneLink, reached: int | None) -> None:
        m = link.mission
        await self.emit("skypatrol.mission.progress.v1",
                        {"drone_id": link.id, "mission_id": m.mission_id, "current": m.current, "total": m.total,
                         "reached": reached}, m.mission_id or link.id)

    # -- watchdog: links, landed -> idle, failsafes ---------------------------------------------
    async def _watchdog(self) -> None:
        s = self.settings
        period = max(0.05, min(0.25, s.link_lost_after_s / 4, 1.0 / max(s.failsafe_check_hz, 0.1)))
        next_failsafe = 0.0
        while True:
            await asyncio.sleep(period)
            now = time.monotonic()
            for link in list(self.links.values()):
                try:
                    await self._check_link(link, now)
                except Exception:
                    log.exception("fleet: watching drone %s", link.id)
            if now >= next_failsafe:
                next_failsafe = now + 1.0 / max(s.failsafe_check_hz, 0.1)
                try:
                    await self._check_failsafes()
                except Exception:
                    log.exception("fleet: failsafe checks")

    async def _check_link(self, link: DroneLink, now: float) -> None:
        if link.last_seen is None:
            return
        silent = now - link.last_seen
        if link.link_up and silent > self.settings.link_lost_after_s:
            await link.on_link_lost(silent)
        elif (link.link_up and link.sm.state == S.LANDED and not link.tel.armed and link.landed_since is not None
              and now - link.landed_since >= self.settings.landed_idle_after_s):
            await link.set_state(S.IDLE, "landed and disarmed")

    async def _check_failsafes(self) -> None:
        s = self.settings
        flying = [link for link in self.links.values()
                  if link.link_up and link.sm.state == S.AIRBORNE and link.tel.position is not None]
        if not flying:
            return
        if s.battery_failsafe:
            for link in flying:
                await self._check_battery(link)
        if s.zone_failsafe:
            await self._check_zones([link for link in flying if link.sm.state == S.AIRBORNE])

    async def _check_battery(self, link: DroneLink) -> None:
        t, s = link.tel, self.settings
        if "battery_reserve" in link.latched or t.battery is None or t.home is None or t.position is None:
            return
        dist = failsafes.distance_home_m(t.position, t.home.lat_deg, t.home.lon_deg)
        reserve = failsafes.battery_reserve(dist, t.position.alt_rel_m, s)
        if t.battery.remaining >= reserve:
            return
        await self.failsafe_rtl(link, "battery_reserve", {
            "battery_remaining": round(t.battery.remaining, 4), "reserve": round(reserve, 4),
            "distance_home_m": round(dist, 1), "return_time_s": round(failsafes.return_time_s(
                dist, t.position.alt_rel_m, s), 1), "wind_m_s": s.wind_m_s, "margin": s.battery_margin})

    async def _check_zones(self, links: list[DroneLink]) -> None:
        index = await self._zones()
        if index is None:
            return
        s = self.settings
        at = datetime.now(UTC)
        for link in links:
            t = link.tel
            if "zone_breach_predicted" in link.latched or t.position is None or t.velocity is None:
                continue
            home_amsl = t.home.alt_amsl_m if t.home else t.position.alt_amsl_m - t.position.alt_rel_m
            breach = failsafes.predict_breach(t.position, t.velocity, home_amsl, index, at,
                                              s.breach_horizon_s, s.breach_step_s)
            if breach is not None:
                await self.failsafe_rtl(link, "zone_breach_predicted", breach.to_json())

    async def _zones(self) -> ZoneIndex | None:
        now = time.monotonic()
        if now - self._zones_at >= self.settings.zone_refresh_s:
            self._zones_at = now
            try:
                self._zone_index = await asyncio.to_thread(self._zone_index_fn)
            except Exception:
                log.exception("fleet: loading the zone index")
        return self._zone_index

    def _database_zone_index(self) -> ZoneIndex | None:
        from airspace.store import ZoneStore

        with self.db.session() as s:
            store = ZoneStore(s)
            return store.index() if store.list() else None

    async def failsafe_rtl(self, link: DroneLink, reason: str, details: dict[str, Any]) -> None:
        """Send the drone home for `reason` once per flight, and say so (with what the vehicle answered)."""
        link.latched.add(reason)
        data: dict[str, Any] = {"drone_id": link.id, "reason": reason, "action": "rtl", **details}
        try:
            await link.require_vehicle().action.return_to_launch()
        except (Refused, Unavailable) as exc:
            data["action_error"] = exc.message
        await self.emit("skypatrol.drone.failsafe.v1", data, link.id)

    # -- state persistence: one writer, latest state per drone ----------------------------------
    async def _persister(self) -> None:
        while True:
            await self._dirty_event.wait()
            self._dirty_event.clear()
            batch, self._dirty = self._dirty, {}
            if not batch:
                continue
            try:
                await asyncio.to_thread(self._write_states, batch)
            except Exception:
                log.exception("fleet: persisting drone states")

    def _write_states(self, states: dict[str, str]) -> None:
        if not states:
            return
        with self.db.session() as s:
            for drone_id, state in states.items():
                s.execute(update(Drone).where(Drone.id == drone_id).values(state=state))
