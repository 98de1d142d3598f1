"""The dispatcher: a run goes from scheduled to completed, or stops with a reason.

`scheduled -> planning -> filing -> approved -> assigned -> uploading -> flying -> returning ->
completed`, or `rejected | aborted | failed` with the reason. Every transition is stored on the
run (the `missions` row) and published as `skypatrol.mission.<state>.v1`. Filing goes through the
airspace authority (its deadline rules apply; the idempotency key is the run id, so a restart
never files twice). Assignment picks a drone that is idle, connected, healthy, has battery for the
sortie with reserve and is nearest to the start; the database refuses a second active run for a
drone (a partial unique index), so no drone is ever double-booked, whatever the process does.
After a restart, runs in the air are re-attached to their drones; runs not yet flying go on.
"""

from __future__ import annotations

import asyncio
import contextlib
import itertools
import json
import logging
import secrets
from collections.abc import AsyncIterator
from dataclasses import dataclass, replace
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

from sqlalchemy import select
from sqlalchemy.exc import IntegrityError

from airspace.authority import AirspaceAuthority, IntentRequest, IntentState, PositionReport
from airspace.intent import intent_volumes
from airspace.route import route_from_mission
from core.db import Database
from core.errors import BadInput, NotFound, Refused, SkyPatrolError, Unavailable
from core.events import EventSink
from core.models import Drone, Mission, Plan, User
from fleet.flightlog import FlightLogRecorder
from fleet.manager import FleetManager
from fleet.state import DroneState
from fleet.weather import ConfiguredWeather, WeatherProvider, WeatherSettings, gate, limits_for
from geo import distance_m
from missions.formats.qgc_plan import parse_plan_document
from missions.items import MavCmd, MissionPlan

log = logging.getLogger(__name__)
S = DroneState
ACTIVE = ("assigned", "uploading", "flying", "returning")
TERMINAL = ("completed", "rejected", "aborted", "failed", "missed")


@dataclass
class DispatchSettings:
    operator_id: str = "skypatrol"
    cruise_m_s: float = 8.0
    battery_reserve: float = 0.25  # fraction kept at landing
    battery_per_minute: float = 0.035  # fraction used per minute of flight (from the drone model)
    approval_timeout_s: float = 600.0
    flight_timeout_s: float = 3600.0  # wall clock
    report_interval_s: float = 1.0
    assign_wait_s: float = 30.0  # drones still connecting (no telemetry yet): wait this long for one
    fault_timeout_s: float = 20.0  # a fault that lasts longer ends the run (its own failsafes act meanwhile)
    flightlog_dir: Path | None = None  # where each run's MAVLink is recorded as <run id>.tlog (None: not)
    duty_pilot: str | None = None  # pilot in command (a user name) of runs that name none
    service_interval_h: float = 0.0  # drones this many flight hours past their service are not sent (0: no limit)


def plan_of_run(doc: dict[str, Any], sortie: int = 0) -> MissionPlan:
    """The MissionPlan a run flies, from a stored plan document (`{"sorties": [{"plan": ...}]}`)."""
    sorties = doc.get("sorties") or []
    if not 0 <= sortie < len(sorties):
        raise BadInput(f"the plan has no sortie {sortie + 1}")
    return parse_plan_document(sorties[sortie]["plan"], f"sortie {sortie + 1}")


# Commands that set up state later items rely on: re-flown from a breakpoint, the latest of each is kept.
_SETUP_COMMANDS = (MavCmd.DO_CHANGE_SPEED, MavCmd.DO_SET_CAM_TRIGG_DIST, MavCmd.DO_MOUNT_CONTROL,
                   MavCmd.DO_GIMBAL_MANAGER_PITCHYAW)


def resume_plan(plan: MissionPlan, from_index: int) -> MissionPlan:
    """The plan re-flown from item `from_index` (a mission breakpoint): take-off, the latest setup
    command of each kind before the breakpoint, then the items from the breakpoint on."""
    if not 0 <= from_index < len(plan.items):
        raise BadInput(f"breakpoint {from_index} is outside the plan's {len(plan.items)} items")
    head = [i for i in plan.items[:from_index] if i.command == MavCmd.NAV_TAKEOFF][:1]
    latest: dict[int, Any] = {}
    for item in plan.items[:from_index]:
        if item.command in _SETUP_COMMANDS:
            latest[item.command] = item
    items = [*head, *latest.values(), *plan.items[from_index:]]
    return replace(plan, items=[replace(i) for i in items])


def route_length_m(plan: MissionPlan) -> float:
    pts = [(i.lat, i.lon) for i in plan.items if i.is_positional]
    return sum(distance_m(a[0], a[1], b[0], b[1]) for a, b in itertools.pairwise(pts))


class Dispatcher:
    def __init__(self, db: Database, bus: EventSink, fleet: FleetManager, authority: AirspaceAuthority,
                 settings: DispatchSettings | None = None, weather: WeatherProvider | None = None,
                 weather_settings: WeatherSettings | None = None) -> None:
        self.weather_settings = weather_settings or WeatherSettings()
        self.weather = weather or ConfiguredWeather(self.weather_settings)
        self._approved: dict[str, asyncio.Event] = {}
        self._claimed: set[str] = set()  # drones a run in this process is filing for right now
        self._service_due: dict[str, float] = {}  # drone id -> flight hours since its service, when due
        self.db = db
        self.bus = bus
        self.fleet = fleet
        self.authority = authority
        self.settings = settings or DispatchSettings()
        self._tasks: dict[str, asyncio.Task[None]] = {}
        self._abort: dict[str, str] = {}

    # -- lifecycle -------------------------------------------------------------------------
    async def start(self) -> None:
        """Take up every run that is neither finished nor waiting for its time."""
        for run_id in await asyncio.to_thread(self._open_runs):
            self.submit(run_id)

    async def stop(self) -> None:
        for t in self._tasks.values():
            t.cancel()
        await asyncio.gather(*self._tasks.values(), return_exceptions=True)
        self._tasks.clear()

    def _open_runs(self) -> list[str]:
        """Runs under way, and scheduled runs already due (created just before a restart)."""
        now = datetime.now(UTC)
        with self.db.session() as s:
            rows = s.execute(select(Mission).where(Mission.state.not_in(TERMINAL))).scalars()
            return [m.id for m in rows if m.state != "scheduled"
                    or (m.planned_start is not None and m.planned_start.replace(tzinfo=UTC) <= now)]

    def submit(self, run_id: str) -> None:
        if run_id not in self._tasks or self._tasks[run_id].done():
            self._tasks[run_id] = asyncio.create_task(self._drive(run_id), name=f"run-{run_id}")

    async def on_run(self, run_id: str) -> None:
        """The scheduler's hook: a run was created for an occurrence that is due."""
        self.submit(run_id)

    async def wait(self, run_id: str) -> None:
        task = self._tasks.get(run_id)
        if task is not None:
            await asyncio.shield(task)

    # -- pilot control -----------------------------------------------------------------------
    async def abort(self, run_id: str, reason: str = "aborted by a pilot") -> dict[str, Any]:
        run = await asyncio.to_thread(self._get, run_id)
        if run.state in TERMINAL:
            raise Refused(f"run {run_id} is {run.state} already")
        self._abort[run_id] = reason
        if run.drone_id and run.state in ("flying", "returning"):
            with contextlib.suppress(Refused):
                await self.fleet.command(run.drone_id, "rtl")
        elif run_id not in self._tasks or self._tasks[run_id].done():
            await self._set(run_id, "aborted", reason)
        return {"run_id": run_id, "state": run.state, "aborting": True}

    async def refly(self, run_id: str, by: str) -> str:
        """A new run of the same plan from the last waypoint the ended run reached."""
        run = await asyncio.to_thread(self._get, run_id)
        if run.state not in ("failed", "aborted"):
            raise Refused(f"run {run_id} is {run.state}: only a failed or aborted run is re-flown")
        reached = await asyncio.to_thread(self._last_reached, run_id)
        new_id = f"{run_id}-r{secrets.token_hex(2)}"

        def create() -> None:
            with self.db.session() as s:
                s.add(Mission(id=new_id, plan_id=run.plan_id, state="scheduled", planned_start=datetime.now(UTC),
                              doc={"sortie": (run.doc or {}).get("sortie", 0), "resume_from": reached or 0,
                                   "refly_of": run_id, "by": by}))

        await asyncio.to_thread(create)
        await self.bus.publish("skypatrol.mission.scheduled.v1", {"run_id": new_id, "plan_id": run.plan_id,
                                                                  "refly_of": run_id, "resume_from": reached},
                               subject=new_id)
        self.submit(new_id)
        return new_id

    def _last_reached(self, run_id: str) -> int | None:
        from core.models import Event as EventRow

        with self.db.session() as s:
            rows = s.execute(select(EventRow).where(EventRow.subject == run_id,
                                                    EventRow.type == "skypatrol.mission.progress.v1")).scalars()
            reached = [json.loads(r.data).get("reached") for r in rows if r.data]
        reached = [r for r in reached if r is not None]
        return max(reached) if reached else None

    async def pause(self, run_id: str) -> dict[str, Any]:
        run = await asyncio.to_thread(self._get, run_id)
        if run.state != "flying" or not run.drone_id:
            raise Refused(f"run {run_id} is {run.state}: only a flying run can be paused")
        return await self.fleet.command(run.drone_id, "pause")

    async def resume(self, run_id: str) -> dict[str, Any]:
        run = await asyncio.to_thread(self._get, run_id)
        if run.state != "flying" or not run.drone_id:
            raise Refused(f"run {run_id} is {run.state}: only a flying run can be resumed")
        return await self.fleet.command(run.drone_id, "resume")

    # -- the run -----------------------------------------------------------------------------
    async def _drive(self, run_id: str) -> None:
        try:
            run = await asyncio.to_thread(self._get, run_id)
            if run.state in ("flying", "returning") and run.drone_id:
                # Re-attached after a restart: the vehicle flies on; the plan says how long the mission is.
                intent_id = (run.doc or {}).get("intent_id")
                total = None
                with contextlib.suppress(SkyPatrolError):
                    doc = await asyncio.to_thread(self._plan_doc, run.plan_id) if run.plan_id else None
                    total = len(plan_of_run(doc, int((run.doc or {}).get("sortie", 0))).items) if doc else None
                async with self._flight_log(run_id, run.drone_id):
                    await self._fly(run_id, run.drone_id, intent_id, reattached=True, planned_items=total)
                return
            if run.state == "assigned" or run.state == "uploading":
                await self._release(run_id)
            if (run.doc or {}).get("requires_approval") and not (run.doc or {}).get("approved_by"):
                await self._await_approval(run_id)
            plan = await self._planning(run_id, run)
            await self._weather_gate(run_id, run, plan)
            booked = await self._file_and_assign(run_id, run, plan)
            if booked is None:
                return
            drone_id, intent_id = booked
            await self._set(run_id, "uploading", None, drone_id=drone_id)
            async with self._flight_log(run_id, drone_id):
                await self.fleet.upload_mission(drone_id, plan, mission_id=run_id)
                await asyncio.to_thread(self.authority.activate, intent_id)
                self._check_abort(run_id)
                await self.fleet.arm_and_start(drone_id)
                await self._set(run_id, "flying", None, started_at=datetime.now(UTC), event="started")
                await self._fly(run_id, drone_id, intent_id)
        except asyncio.CancelledError:
            raise
        except _Stop as stop:
            await self._set(run_id, stop.state, stop.reason)
        except SkyPatrolError as exc:
            await self._set(run_id, "failed", exc.message)
        except Exception as exc:
            log.exception("run %s", run_id)
            await self._set(run_id, "failed", f"internal error: {type(exc).__name__}: {exc}")

    async def _planning(self, run_id: str, run: Mission) -> MissionPlan:
        await self._set(run_id, "planning", None)
        if run.plan_id is None:
            raise _Stop("failed", "the run has no plan")
        doc = await asyncio.to_thread(self._plan_doc, run.plan_id)
        plan = plan_of_run(doc, int((run.doc or {}).get("sortie", 0)))
        resume_from = (run.doc or {}).get("resume_from")
        return resume_plan(plan, int(resume_from)) if resume_from else plan

    async def _await_approval(self, run_id: str) -> None:
        """A schedule that asks for it: the run waits for a pilot's approval (or is aborted)."""
        event = self._approved.setdefault(run_id, asyncio.Event())
        await self._set(run_id, "scheduled", "awaiting a pilot's approval", event="awaiting_approval")
        try:
            await asyncio.wait_for(event.wait(), self.settings.approval_timeout_s)
        except TimeoutError:
            raise _Stop("aborted", "not approved in time") from None
        finally:
            self._approved.pop(run_id, None)
        self._check_abort(run_id)

    async def approve(self, run_id: str, by: str) -> dict[str, Any]:
        run = await asyncio.to_thread(self._get, run_id)
        if run.state in TERMINAL:
            raise Refused(f"run {run_id} is {run.state} already")

        def record() -> None:
            with self.db.session() as s:
                m = s.get(Mission, run_id)
                if m is not None:
                    m.doc = {**(m.doc or {}), "approved_by": by}

        await asyncio.to_thread(record)
        await self.bus.publish("skypatrol.mission.approved_by_pilot.v1", {"run_id": run_id, "by": by}, subject=run_id)
        event = self._approved.get(run_id)
        if event is not None:
            event.set()
        else:
            self.submit(run_id)
        return {"run_id": run_id, "approved_by": by}

    async def _weather_gate(self, run_id: str, run: Mission, plan: MissionPlan) -> None:
        """Fly, wait (postpone policy) or stop (abort policy) on the weather at the start point."""
        policy = (run.doc or {}).get("weather_policy", "abort")
        ws = self.weather_settings
        loop = asyncio.get_running_loop()
        give_up = loop.time() + ws.postpone_max_s
        start = next((i for i in plan.items if i.is_positional), None)
        lat, lon = (start.lat, start.lon) if start else (plan.home_lat or 0.0, plan.home_lon or 0.0)
        while True:
            w = await asyncio.to_thread(self.weather.conditions, lat, lon, datetime.now(UTC))
            reasons = gate(w, limits_for(ws, None))
            if not reasons:
                return
            why = "weather: " + "; ".join(reasons)
            if policy != "postpone" or loop.time() >= give_up:
                raise _Stop("aborted", why)
            await self._set(run_id, "planning", why, event="postponed",
                            event_data={"retry_in_s": ws.postpone_retry_s})
            await asyncio.sleep(ws.postpone_retry_s)
            self._check_abort(run_id)

    async def _file_and_assign(self, run_id: str, run: Mission, plan: MissionPlan) -> tuple[str, str] | None:
        """File for the best drone (the filing names it), then book it; if another run took the drone
        meanwhile, the intent is cancelled and the next drone is tried."""
        self._check_abort(run_id)
        readiness = await asyncio.to_thread(self.authority.dispatch_readiness)
        if not readiness.ok:
            raise _Stop("failed", f"not dispatched: {readiness.reason}")
        tried: set[str] = set()
        while True:
            # A drone another run is filing for is skipped, so runs dispatched together spread over
            # the fleet instead of all filing for the nearest drone (the database still has the last word).
            candidates = await self._wait_for_candidates(plan, tried)
            if not candidates:
                raise _Stop("failed", "no drone available: " + (self._why_none(plan) or "none connected"))
            drone_id = candidates[0]
            tried.add(drone_id)
            self._claimed.add(drone_id)
            try:
                intent_id = await self._filing(run_id, run, plan, drone_id)
                if intent_id is None:
                    return None
                if await asyncio.to_thread(self._book, run_id, drone_id):
                    await self._set(run_id, "assigned", None, drone_id=drone_id, event_data={"drone_id": drone_id})
                    return drone_id, intent_id
            finally:
                self._claimed.discard(drone_id)
            with contextlib.suppress(Exception):
                await asyncio.to_thread(self.authority.cancel, intent_id)

    async def _filing(self, run_id: str, run: Mission, plan: MissionPlan, drone_id: str) -> str | None:
        home_amsl = plan.home_alt_amsl_m or 0.0
        route = route_from_mission(plan, home_amsl)
        now = datetime.now(UTC)
        start = max(now, run.planned_start.replace(tzinfo=UTC)) if run.planned_start else now
        registration = await asyncio.to_thread(self._registration, drone_id)
        pilot = (run.doc or {}).get("pilot") or self.settings.duty_pilot
        licence = await asyncio.to_thread(self._licence, pilot) if pilot else None
        await self._set(run_id, "filing", None, event_data={"drone_id": drone_id, "registration": registration,
                                                            "pilot": pilot, "pilot_licence": licence})
        request = IntentRequest(operator_id=self.settings.operator_id, drone_id=drone_id, registration=registration,
                                pilot_licence=licence, mission_id=run_id, home_amsl_m=home_amsl,
                                volumes=intent_volumes(route, home_amsl, start, speed_m_s=self.settings.cruise_m_s))
        intent = await asyncio.to_thread(self.authority.file_intent, request, f"{run_id}:{drone_id}")
        deadline = asyncio.get_running_loop().time() + self.settings.approval_timeout_s
        while intent.state is IntentState.PENDING and asyncio.get_running_loop().time() < deadline:
            await asyncio.sleep(1.0)
            self._check_abort(run_id)
            intent = await asyncio.to_thread(self.authority.get_intent, intent.id)
        if intent.state is not IntentState.ACCEPTED:
            reasons = "; ".join(r.message for r in intent.reasons) or intent.state.value
            await self._set(run_id, "rejected", reasons, doc={"intent_id": intent.id})
            return None
        await self._set(run_id, "approved", None, doc={"intent_id": intent.id})
        return intent.id

    async def _wait_for_candidates(self, plan: MissionPlan, tried: set[str]) -> list[str]:
        """Drones free for this run; while some are still connecting (no state or battery yet) or
        settling (idle, health checks not yet passing: GPS fix, position estimate, home), wait up
        to `assign_wait_s` for one rather than failing a run that is due now."""
        loop = asyncio.get_running_loop()
        deadline = loop.time() + self.settings.assign_wait_s
        while True:
            self._service_due = await asyncio.to_thread(self._drones_due_for_service)
            candidates = [d for d in self._candidates(plan) if d not in tried and d not in self._claimed]
            if candidates or loop.time() >= deadline or not any(
                    self._not_ready_yet(link) for d, link in self.fleet.links.items() if d not in tried):
                return candidates
            await asyncio.sleep(0.5)

    @staticmethod
    def _not_ready_yet(link: Any) -> bool:
        snap = link.snapshot()
        return (not snap["connected"] or link.sm.state is S.OFFLINE or snap["battery_remaining"] is None
                or (link.sm.state is S.IDLE and snap["health_ok"] is not True))

    def _battery_needed(self, plan: MissionPlan) -> float:
        minutes = (route_length_m(plan) / self.settings.cruise_m_s) / 60.0 + 2.0
        return self.settings.battery_reserve + minutes * self.settings.battery_per_minute

    def _candidates(self, plan: MissionPlan) -> list[str]:
        """Drones able to fly the sortie now, nearest to its start first."""
        positional = [i for i in plan.items if i.is_positional]
        if not positional:
            raise _Stop("failed", "the plan has no positions to fly")
        start = positional[0]
        need = self._battery_needed(plan)
        out = []
        for drone_id, link in self.fleet.links.items():
            if drone_id in self._service_due:
                continue
            snap = link.snapshot()
            battery = snap["battery_remaining"]
            if (link.sm.state is S.IDLE and snap["connected"] and snap["health_ok"] is not False
                    and battery is not None and battery >= need and snap["lat"] is not None):
                out.append((float(distance_m(snap["lat"], snap["lon"], start.lat, start.lon)), drone_id))
        return [d for _, d in sorted(out)]

    def _why_none(self, plan: MissionPlan) -> str:
        need = self._battery_needed(plan)
        why = []
        for drone_id, link in self.fleet.links.items():
            snap = link.snapshot()
            if drone_id in self._service_due:
                why.append(f"{drone_id}: service due ({self._service_due[drone_id]:.1f} h flown since the last, "
                           f"service every {self.settings.service_interval_h:g} h)")
            elif link.sm.state is not S.IDLE or not snap["connected"]:
                why.append(f"{drone_id}: {link.sm.state.value}")
            elif snap["health_ok"] is False:
                why.append(f"{drone_id}: health checks failing")
            elif (snap["battery_remaining"] or 0.0) < need:
                why.append(f"{drone_id}: battery {snap['battery_remaining']} < {need:.2f} needed")
        return "; ".join(why)

    def _drones_due_for_service(self) -> dict[str, float]:
        """Drone id -> hours flown since its last service, for those at or past the interval."""
        limit = self.settings.service_interval_h
        if limit <= 0:
            return {}
        with self.db.session() as s:
            rows = s.execute(select(Drone.id, Drone.flight_s_since_service)
                             .where(Drone.flight_s_since_service >= limit * 3600.0)).all()
        return {d: secs / 3600.0 for d, secs in rows}

    def _account_flight(self, drone_id: str, flight_s: float, battery_used: float | None) -> None:
        """Add one flight to the drone's wear counters."""
        with self.db.session() as s:
            d = s.get(Drone, drone_id, with_for_update=True)
            if d is None:
                return
            d.flights_total = (d.flights_total or 0) + 1
            d.flight_s_total = (d.flight_s_total or 0.0) + flight_s
            d.flight_s_since_service = (d.flight_s_since_service or 0.0) + flight_s
            if battery_used is not None and battery_used > 0:
                d.battery_cycles = (d.battery_cycles or 0.0) + battery_used

    @contextlib.asynccontextmanager
    async def _flight_log(self, run_id: str, drone_id: str) -> AsyncIterator[None]:
        """Record the drone's MAVLink into the run's .tlog while the body runs (appended to on
        re-attachment); a drone not connected yet just goes unrecorded."""
        recorder = None
        if self.settings.flightlog_dir is not None:
            try:
                system = self.fleet.vehicle(drone_id).connection.system
                recorder = FlightLogRecorder(system, self.settings.flightlog_dir / f"{run_id}.tlog")
                recorder.start()
            except Unavailable:
                recorder = None
        try:
            yield
        finally:
            if recorder is not None:
                await recorder.stop()

    async def _fly(self, run_id: str, drone_id: str, intent_id: str | None, reattached: bool = False,
                   planned_items: int | None = None) -> None:
        loop = asyncio.get_running_loop()
        deadline = loop.time() + self.settings.flight_timeout_s
        was_airborne = reattached
        returning = False
        last_report = 0.0
        fault_since: float | None = None
        fault: str | None = None  # the latest vehicle fault seen in this flight
        in_fault = False
        took_off = datetime.now(UTC)
        battery_start: float | None = None
        if reattached:
            run = await asyncio.to_thread(self._get, run_id)
            if run.started_at is not None:
                took_off = run.started_at if run.started_at.tzinfo else run.started_at.replace(tzinfo=UTC)
        else:
            with contextlib.suppress(Unavailable):
                battery_start = self.fleet.link(drone_id).snapshot()["battery_remaining"]
        while loop.time() < deadline:
            await asyncio.sleep(0.25)
            try:
                link = self.fleet.link(drone_id)
            except Unavailable:
                continue
            state = link.sm.state
            snap = link.snapshot()
            if state in (S.AIRBORNE, S.RETURNING):
                was_airborne = True
                if intent_id and loop.time() - last_report >= self.settings.report_interval_s and snap["lat"]:
                    last_report = loop.time()
                    report = PositionReport(intent_id=intent_id, drone_id=drone_id, time=datetime.now(UTC),
                                            lat=snap["lat"], lon=snap["lon"], alt_amsl_m=snap["alt_amsl_m"] or 0.0)
                    with contextlib.suppress(Exception):
                        await asyncio.to_thread(self.authority.report_positions, [report])
            if state is S.RETURNING and not returning:
                returning = True
                await self._set(run_id, "returning", None)
            if state is S.FAULT and not in_fault:  # a fault begins: recorded once, however its causes grow
                in_fault = True
                fault = link.tel.fault or "no global position in the air"
                await self._record_fault(run_id, drone_id, fault, snap)
            elif state is not S.FAULT:
                in_fault = False
            if was_airborne and (state in (S.LANDED, S.IDLE) or (state is S.FAULT and not link.tel.in_air)):
                break
            if state is S.FAULT:
                fault_since = fault_since or loop.time()
                if loop.time() - fault_since > self.settings.fault_timeout_s:
                    raise _Stop("failed", f"the drone stayed in fault for {self.settings.fault_timeout_s:.0f} s")
            else:
                fault_since = None
        else:
            raise _Stop("failed", "the flight did not end within the time allowed")
        battery_end = self.fleet.link(drone_id).snapshot()["battery_remaining"]
        used = battery_start - battery_end if battery_start is not None and battery_end is not None else None
        await asyncio.to_thread(self._account_flight, drone_id, (datetime.now(UTC) - took_off).total_seconds(), used)
        if intent_id:
            with contextlib.suppress(Exception):
                await asyncio.to_thread(self.authority.end, intent_id)
        link = self.fleet.link(drone_id)
        m = link.mission
        total = m.total or planned_items or 0
        last = total - 1
        complete = total > 0 and ((m.current is not None and m.current >= last) or len(m.reached) >= last)
        if run_id in self._abort:
            await self._set(run_id, "aborted", self._abort.pop(run_id), ended_at=datetime.now(UTC))
        elif complete:
            await self._set(run_id, "completed", None, ended_at=datetime.now(UTC),
                            event_data={"reached": len(m.reached), "total": m.total})
        elif fault is not None:
            await self._set(run_id, "failed", f"vehicle fault ({fault}); down after item {m.current} of {total}",
                            ended_at=datetime.now(UTC), event_data={"fault": fault})
        else:
            await self._set(run_id, "failed", f"landed after item {m.current} of {total} (failsafe or pilot)",
                            ended_at=datetime.now(UTC))

    async def _record_fault(self, run_id: str, drone_id: str, reason: str, snap: dict[str, Any]) -> None:
        """A vehicle fault in flight: kept on the run (`doc.faults`) and published as
        `skypatrol.mission.fault.v1`; the run's state is left to how the flight ends."""
        fault = {"at": datetime.now(UTC).isoformat().replace("+00:00", "Z"), "drone_id": drone_id, "reason": reason,
                 "in_air": snap["in_air"], "lat": snap["lat"], "lon": snap["lon"], "alt_rel_m": snap["alt_rel_m"],
                 "mission_current": snap["mission_current"], "mission_total": snap["mission_total"]}

        def write() -> Mission:
            with self.db.session() as s:
                run = s.get(Mission, run_id)
                if run is None:
                    raise NotFound(f"run {run_id} not found")
                doc = dict(run.doc or {})
                doc["faults"] = [*doc.get("faults", []), fault]
                run.doc = doc
                return run

        run = await asyncio.to_thread(write)
        log.warning("run %s: drone %s fault: %s", run_id, drone_id, reason)
        await self.bus.publish("skypatrol.mission.fault.v1",
                               {"run_id": run_id, "state": run.state, "plan_id": run.plan_id,
                                "schedule_id": run.schedule_id, **fault}, subject=run_id)

    # -- storage -----------------------------------------------------------------------------
    def _check_abort(self, run_id: str) -> None:
        if run_id in self._abort:
            raise _Stop("aborted", self._abort.pop(run_id))

    def _get(self, run_id: str) -> Mission:
        with self.db.session() as s:
            run = s.get(Mission, run_id)
            if run is None:
                raise NotFound(f"run {run_id} not found")
            return run

    def _registration(self, drone_id: str) -> str | None:
        with self.db.session() as s:
            d = s.get(Drone, drone_id)
            return d.registration_no if d is not None else None

    def _licence(self, pilot: str) -> str | None:
        with self.db.session() as s:
            user = s.execute(select(User).where(User.name == pilot)).scalar_one_or_none()
            return user.licence_no if user is not None and not user.disabled else None

    def _plan_doc(self, plan_id: str) -> dict[str, Any]:
        with self.db.session() as s:
            plan = s.get(Plan, plan_id)
            if plan is None:
                raise _Stop("failed", f"plan {plan_id} no longer exists")
            return dict(plan.doc)

    def _book(self, run_id: str, drone_id: str) -> bool:
        """Assign the drone to the run; the database refuses if the drone has an active run."""
        try:
            with self.db.session() as s:
                run = s.get(Mission, run_id)
                assert run is not None
                run.drone_id, run.state = drone_id, "assigned"
            return True
        except IntegrityError:
            return False

    async def _release(self, run_id: str) -> None:
        """A run interrupted between assignment and take-off starts its assignment again."""
        def release() -> None:
            with self.db.session() as s:
                run = s.get(Mission, run_id)
                if run is not None:
                    run.drone_id, run.state = None, "approved"
        await asyncio.to_thread(release)

    async def _set(self, run_id: str, state: str, reason: str | None, *, drone_id: str | None = None,
                   started_at: datetime | None = None, ended_at: datetime | None = None,
                   doc: dict[str, Any] | None = None, event: str | None = None,
                   event_data: dict[str, Any] | None = None) -> None:
        def write() -> Mission:
            with self.db.session() as s:
                run = s.get(Mission, run_id)
                if run is None:
                    raise NotFound(f"run {run_id} not found")
                run.state, run.reason = state, reason
                if drone_id is not None:
                    run.drone_id = drone_id
                if started_at is not None:
                    run.started_at = started_at
                if ended_at is not None:
                    run.ended_at = ended_at
                if doc:
                    run.doc = {**(run.doc or {}), **doc}
                return run

        run = await asyncio.to_thread(write)
        data = {"run_id": run_id, "state": state, "reason": reason, "drone_id": run.drone_id,
                "plan_id": run.plan_id, "schedule_id": run.schedule_id, **(event_data or {})}
        await self.bus.publish(f"skypatrol.mission.{event or state}.v1", data, subject=run_id)


class _Stop(Exception):
    def __init__(self, state: str, reason: str) -> None:
        super().__init__(reason)
        self.state, self.reason = state, reason

