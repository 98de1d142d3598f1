"""Pilots' one-off patrols and recurring inspections, persisted so a restart loses nothing.

APScheduler 3 keeps the jobs in SkyPatrol's own database (`apscheduler_jobs`); the `schedules`
table keeps what the pilot asked for. Times are in the site's time zone (Asia/Shanghai by
default). When a schedule fires, a run (a `missions` row) is created with an id derived from the
schedule and the scheduled time, so the database refuses a second run for the same occurrence
even if the process died between firing and recording it. A run that could not fire in time
(the server was down longer than the grace period, or a blackout window) is recorded as a
`skypatrol.mission.missed.v1` event with the reason.
"""

from __future__ import annotations

import asyncio
import logging
import re
import secrets
from collections.abc import Awaitable, Callable
from datetime import UTC, date, datetime, time, timedelta
from typing import Any, Literal
from zoneinfo import ZoneInfo, ZoneInfoNotFoundError

from apscheduler.events import EVENT_JOB_MISSED, JobExecutionEvent
from apscheduler.jobstores.base import JobLookupError
from apscheduler.jobstores.sqlalchemy import SQLAlchemyJobStore
from apscheduler.schedulers.asyncio import AsyncIOScheduler
from apscheduler.triggers.base import BaseTrigger
from apscheduler.triggers.cron import CronTrigger
from apscheduler.triggers.date import DateTrigger
from pydantic import BaseModel, ConfigDict, Field, field_validator, model_validator
from sqlalchemy import select
from sqlalchemy.exc import IntegrityError
from sqlalchemy.orm import Session

from core.db import Database
from core.errors import BadInput, NotFound
from core.events import EventSink
from core.models import Mission, Plan, Schedule, User

log = logging.getLogger(__name__)
SCHEDULER_SOURCE = "urn:skypatrol:scheduler"


class Blackout(BaseModel):
    model_config = ConfigDict(extra="forbid")
    start: datetime
    end: datetime

    @model_validator(mode="after")
    def _ordered(self) -> Blackout:
        if self.end <= self.start:
            raise ValueError("blackout end must be after its start")
        return self


def check_pilot(session: Session, name: str) -> User:
    """The user who is to be pilot in command: they must exist, be enabled and hold a licence."""
    user = session.execute(select(User).where(User.name == name)).scalar_one_or_none()
    if user is None or user.disabled:
        raise BadInput(f"pilot {name!r} is not an enabled user")
    if not user.licence_no:
        raise BadInput(f"pilot {name!r} has no CAAC remote-pilot licence number on record")
    return user


class ScheduleSpec(BaseModel):
    """What a pilot asks for. Naive date-times are in `timezone`."""

    model_config = ConfigDict(extra="forbid")
    name: str = Field(min_length=1, max_length=255)
    plan_id: str | None = Field(default=None, max_length=64)
    kind: Literal["once", "daily", "cron"]
    at: datetime | None = Field(default=None, description="once: when")
    time_of_day: str | None = Field(default=None, pattern=r"^([01]\d|2[0-3]):[0-5]\d$", description="daily: HH:MM")
    cron: str | None = Field(default=None, max_length=120, description="cron: 'm h dom mon dow'")
    timezone: str = "Asia/Shanghai"
    start_date: date | None = None
    end_date: date | None = None
    blackouts: list[Blackout] = Field(default_factory=list, max_length=100)
    misfire_grace_s: int = Field(default=600, ge=1, le=86_400)
    requires_approval: bool = False
    weather_policy: Literal["postpone", "abort"] = "abort"
    # The remote pilot in command (a user name): the filing carries their CAAC licence number.
    pilot: str | None = Field(default=None, min_length=1, max_length=128)

    @field_validator("timezone")
    @classmethod
    def _tz(cls, v: str) -> str:
        try:
            ZoneInfo(v)
        except (ZoneInfoNotFoundError, ValueError):
            raise ValueError(f"unknown time zone {v!r}") from None
        return v

    @model_validator(mode="after")
    def _complete(self) -> ScheduleSpec:
        need = {"once": "at", "daily": "time_of_day", "cron": "cron"}[self.kind]
        if getattr(self, need) is None:
            raise ValueError(f"a {self.kind} schedule needs {need}")
        if self.kind == "cron":
            try:
                CronTrigger(**cron_fields(self.cron or ""), timezone=ZoneInfo(self.timezone))
            except ValueError as exc:
                raise ValueError(f"invalid cron expression {self.cron!r}: {exc}") from None
        if self.start_date and self.end_date and self.end_date < self.start_date:
            raise ValueError("end_date is before start_date")
        return self

    @property
    def tz(self) -> ZoneInfo:
        return ZoneInfo(self.timezone)

    def local(self, t: datetime) -> datetime:
        return t.replace(tzinfo=self.tz) if t.tzinfo is None else t.astimezone(self.tz)

    def in_blackout(self, t: datetime) -> bool:
        return any(self.local(b.start) <= t < self.local(b.end) for b in self.blackouts)


def build_trigger(spec: ScheduleSpec) -> BaseTrigger:
    tz = spec.tz
    start = datetime.combine(spec.start_date, time(0), tz) if spec.start_date else None
    end = datetime.combine(spec.end_date, time(23, 59, 59), tz) if spec.end_date else None
    if spec.kind == "once":
        assert spec.at is not None
        return DateTrigger(run_date=spec.local(spec.at), timezone=tz)
    if spec.kind == "daily":
        assert spec.time_of_day is not None
        hh, mm = spec.time_of_day.split(":")
        return CronTrigger(hour=int(hh), minute=int(mm), timezone=tz, start_date=start, end_date=end)
    return CronTrigger(**cron_fields(spec.cron or ""), timezone=tz, start_date=start, end_date=end)


_DOW = ("sun", "mon", "tue", "wed", "thu", "fri", "sat")


def cron_fields(expr: str) -> dict[str, str]:
    """Standard crontab fields for APScheduler 3, whose numeric weekdays start at Monday:
    crontab's 0 and 7 (Sunday) .. 6 (Saturday) become names, so `1-5` means Monday to Friday."""
    values = expr.split()
    if len(values) != 5:
        raise ValueError(f"expected 5 fields (minute hour day month weekday), got {len(values)}")
    minute, hour, day, month, dow = values
    dow = re.sub(r"(?<![/\d])(\d+)", lambda m: _DOW[int(m.group(1)) % 7] if int(m.group(1)) <= 7 else m.group(1), dow)
    return {"minute": minute, "hour": hour, "day": day, "month": month, "day_of_week": dow}


def next_runs(spec: ScheduleSpec, after: datetime, count: int = 5) -> list[datetime]:
    """The next `count` occurrences after `after` that will fly (blackouts skipped)."""
    trigger = build_trigger(spec)
    out: list[datetime] = []
    prev: datetime | None = None
    now = after.astimezone(spec.tz)
    for _ in range(count * 50 + 50):
        t = trigger.get_next_fire_time(prev, now)
        if t is None:
            break
        prev = t
        now = t + timedelta(seconds=1)
        if t <= after:
            continue  # a one-off date in the past
        if not spec.in_blackout(t):
            out.append(t)
            if len(out) >= count:
                break
    return out


def occurrence_at_or_before(spec: ScheduleSpec, now: datetime) -> datetime:
    """The scheduled time of the occurrence firing now (the latest one not after `now`)."""
    trigger = build_trigger(spec)
    t = trigger.get_next_fire_time(None, now - timedelta(seconds=spec.misfire_grace_s + 1))
    best = t
    while t is not None and t <= now:
        best = t
        t = trigger.get_next_fire_time(t, t + timedelta(seconds=1))
    return (best or now).astimezone(UTC)


def run_id_for(schedule_id: str, at: datetime) -> str:
    return f"run-{schedule_id}-{at.astimezone(UTC):%Y%m%dT%H%M%SZ}"


# The running service, for APScheduler's job function (jobs are stored as importable references).
_ACTIVE: dict[str, ScheduleService] = {}


async def fire_schedule(schedule_id: str) -> None:
    service = _ACTIVE.get("service")
    if service is not None:
        await service.fire(schedule_id)


class ScheduleService:
    def __init__(self, db: Database, sink: EventSink,
                 on_run: Callable[[str], Awaitable[None]] | None = None) -> None:
        self.db = db
        self.sink = sink
        self.on_run = on_run
        self.scheduler: AsyncIOScheduler | None = None
        self._pending: set[asyncio.Task[Any]] = set()

    # -- lifecycle -------------------------------------------------------------------------
    async def start(self) -> None:
        self.scheduler = AsyncIOScheduler(
            jobstores={"default": SQLAlchemyJobStore(engine=self.db.engine)},
            job_defaults={"coalesce": True, "max_instances": 1},
            timezone=UTC,
        )
        self.scheduler.add_listener(self._on_missed, EVENT_JOB_MISSED)
        _ACTIVE["service"] = self
        self.scheduler.start()
        await asyncio.to_thread(self._reconcile)

    async def stop(self) -> None:
        if self.scheduler is not None:
            self.scheduler.shutdown(wait=False)
            self.scheduler = None
        if _ACTIVE.get("service") is self:
            del _ACTIVE["service"]
        for t in list(self._pending):
            await asyncio.gather(t, return_exceptions=True)

    def _reconcile(self) -> None:
        """Every enabled schedule has its job; no job outlives its schedule."""
        assert self.scheduler is not None
        with self.db.session() as s:
            rows = {r.id: r for r in s.execute(select(Schedule)).scalars()}
        jobs = {j.id for j in self.scheduler.get_jobs()}
        for job_id in jobs - set(rows):
            self.scheduler.remove_job(job_id)
        for sid, row in rows.items():
            if sid not in jobs and row.enabled:
                spec = ScheduleSpec.model_validate(row.spec)
                if next_runs(spec, datetime.now(UTC), 1):
                    self._add_job(sid, spec)

    def _add_job(self, schedule_id: str, spec: ScheduleSpec) -> None:
        assert self.scheduler is not None
        self.scheduler.add_job(fire_schedule, trigger=build_trigger(spec), args=[schedule_id], id=schedule_id,
                               name=spec.name, misfire_grace_time=spec.misfire_grace_s, replace_existing=True)

    # -- management ------------------------------------------------------------------------
    def add(self, spec: ScheduleSpec, created_by: str | None = None) -> Schedule:
        with self.db.session() as s:
            if spec.plan_id is not None and s.get(Plan, spec.plan_id) is None:
                raise BadInput(f"plan {spec.plan_id} does not exist")
            if spec.pilot is not None:
                check_pilot(s, spec.pilot)
            if not next_runs(spec, datetime.now(UTC), 1):
                raise BadInput("this schedule would never fire: every occurrence is past, blacked out "
                               "or after end_date")
            row = Schedule(id="sch-" + secrets.token_hex(5), name=spec.name, plan_id=spec.plan_id, kind=spec.kind,
                           spec=spec.model_dump(mode="json"), enabled=True, created_by=created_by)
            s.add(row)
        self._add_job(row.id, spec)
        return row

    def get(self, schedule_id: str) -> Schedule:
        with self.db.session() as s:
            row = s.get(Schedule, schedule_id)
            if row is None:
                raise NotFound(f"schedule {schedule_id} not found")
            return row

    def list(self) -> list[Schedule]:
        with self.db.session() as s:
            return list(s.execute(select(Schedule).order_by(Schedule.created_at)).scalars())

    def set_enabled(self, schedule_id: str, enabled: bool) -> Schedule:
        assert self.scheduler is not None
        with self.db.session() as s:
            row = s.get(Schedule, schedule_id)
            if row is None:
                raise NotFound(f"schedule {schedule_id} not found")
            row.enabled = enabled
        try:
            if enabled:
                self.scheduler.resume_job(schedule_id)
            else:
                self.scheduler.pause_job(schedule_id)
        except JobLookupError:
            if enabled:
                self._add_job(schedule_id, ScheduleSpec.model_validate(row.spec))
        return row

    def remove(self, schedule_id: str) -> None:
        assert self.scheduler is not None
        with self.db.session() as s:
            row = s.get(Schedule, schedule_id)
            if row is None:
                raise NotFound(f"schedule {schedule_id} not found")
            s.delete(row)
        try:
            self.scheduler.remove_job(schedule_id)
        except JobLookupError:
            pass

    def preview(self, schedule_id: str, count: int = 5) -> list[datetime]:
        row = self.get(schedule_id)
        if not row.enabled:
            return []
        return next_runs(ScheduleSpec.model_validate(row.spec), datetime.now(UTC), count)

    # -- firing ----------------------------------------------------------------------------
    async def fire(self, schedule_id: str, now: datetime | None = None) -> str | None:
        """Record the run for the occurrence due now; returns its id, or None if none was made."""
        now = now or datetime.now(UTC)
        row = await asyncio.to_thread(self.get, schedule_id)
        spec = ScheduleSpec.model_validate(row.spec)
        at = occurrence_at_or_before(spec, now)
        if spec.in_blackout(at.astimezone(spec.tz)):
            await self._missed(schedule_id, at, "blackout window")
            return None
        run_id = run_id_for(schedule_id, at)
        created = await asyncio.to_thread(self._create_run, run_id, row, spec, at)
        if not created:
            return None  # this occurrence fired before (a restart): never twice
        await self.sink.publish("skypatrol.mission.scheduled.v1",
                                {"run_id": run_id, "schedule_id": schedule_id, "plan_id": row.plan_id,
                                 "scheduled_for": at.isoformat(), "late_s": round((now - at).total_seconds(), 3),
                                 "requires_approval": spec.requires_approval},
                                subject=run_id)
        if self.on_run is not None:
            await self.on_run(run_id)
        return run_id

    def _create_run(self, run_id: str, row: Schedule, spec: ScheduleSpec, at: datetime) -> bool:
        try:
            with self.db.session() as s:
                s.add(Mission(id=run_id, plan_id=row.plan_id, schedule_id=row.id, state="scheduled",
                              planned_start=at, doc={"requires_approval": spec.requires_approval,
                                                     "weather_policy": spec.weather_policy, "pilot": spec.pilot}))
            return True
        except IntegrityError:
            return False

    async def _missed(self, schedule_id: str, at: datetime, reason: str) -> None:
        at_utc = at.astimezone(UTC)
        await self.sink.publish("skypatrol.mission.missed.v1",
                                {"schedule_id": schedule_id, "scheduled_for": at_utc.isoformat(), "reason": reason},
                                subject=schedule_id, id=f"missed-{run_id_for(schedule_id, at_utc)}",
                                source=SCHEDULER_SOURCE)

    def _on_missed(self, event: JobExecutionEvent) -> None:
        task = asyncio.get_running_loop().create_task(
            self._missed(event.job_id, event.scheduled_run_time,
                         "not started within the misfire grace period (server down or busy)"))
        self._pending.add(task)
        task.add_done_callback(self._pending.discard)
