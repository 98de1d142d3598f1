"""Schedules and runs over HTTP (read: viewer; change: pilot)."""

from __future__ import annotations

import asyncio
import secrets
from datetime import UTC, datetime
from typing import Annotated, Any

from fastapi import APIRouter, Depends, Path, Query, Request, Response
from fastapi.responses import FileResponse, HTMLResponse
from pydantic import BaseModel, ConfigDict, Field
from sqlalchemy import select
from sqlalchemy.orm import Session

from core import audit
from core.auth import Principal, require_role
from core.db import get_session
from core.errors import BadInput, NotFound, Unavailable
from core.models import Mission, Plan, Schedule
from fleet.schedules import ScheduleService, ScheduleSpec, check_pilot, next_runs

router = APIRouter(tags=["schedules"])
SchedId = Annotated[str, Path(max_length=64)]


class ScheduleOut(BaseModel):
    id: str
    name: str
    plan_id: str | None
    kind: str
    enabled: bool
    spec: dict[str, Any]
    next_runs: list[datetime]
    created_at: datetime
    created_by: str | None


class Preview(BaseModel):
    next_runs: list[datetime]


class RunOut(BaseModel):
    id: str
    plan_id: str | None
    drone_id: str | None
    schedule_id: str | None
    state: str
    reason: str | None
    planned_start: datetime | None
    started_at: datetime | None
    ended_at: datetime | None
    created_at: datetime


def service(request: Request) -> ScheduleService:
    svc = getattr(request.app.state, "schedules", None)
    if svc is None:
        raise Unavailable("the scheduler is not running")
    return svc


def _out(row: Schedule, runs: list[datetime]) -> ScheduleOut:
    return ScheduleOut(id=row.id, name=row.name, plan_id=row.plan_id, kind=row.kind, enabled=row.enabled,
                       spec=row.spec, next_runs=runs, created_at=row.created_at, created_by=row.created_by)


def _with_runs(row: Schedule, count: int = 3) -> ScheduleOut:
    runs = next_runs(ScheduleSpec.model_validate(row.spec), datetime.now(UTC), count) if row.enabled else []
    return _out(row, runs)


@router.get("/api/v1/schedules", response_model=list[ScheduleOut], summary="List schedules with their next runs")
async def list_schedules(svc: ScheduleService = Depends(service),
                         _: Principal = Depends(require_role("viewer"))) -> list[ScheduleOut]:
    rows = await asyncio.to_thread(svc.list)
    return [_with_runs(r) for r in rows]


@router.post("/api/v1/schedules/preview", response_model=Preview, summary="Next runs of a schedule, unsaved")
def preview_spec(spec: ScheduleSpec, count: Annotated[int, Query(ge=1, le=100)] = 5,
                 _: Principal = Depends(require_role("viewer"))) -> Preview:
    return Preview(next_runs=next_runs(spec, datetime.now(UTC), count))


@router.post("/api/v1/schedules", status_code=201, response_model=ScheduleOut, summary="Create a schedule")
async def create_schedule(request: Request, spec: ScheduleSpec, svc: ScheduleService = Depends(service),
                          principal: Principal = Depends(require_role("pilot"))) -> ScheduleOut:
    row = await asyncio.to_thread(svc.add, spec, principal.name)
    await asyncio.to_thread(_audit, request, principal, "schedule.create", row.id, spec.model_dump(mode="json"))
    return _with_runs(row)


@router.get("/api/v1/schedules/{schedule_id}", response_model=ScheduleOut, summary="One schedule")
async def get_schedule(schedule_id: SchedId, count: Annotated[int, Query(ge=1, le=100)] = 5,
                       svc: ScheduleService = Depends(service),
                       _: Principal = Depends(require_role("viewer"))) -> ScheduleOut:
    return _with_runs(await asyncio.to_thread(svc.get, schedule_id), count)


@router.post("/api/v1/schedules/{schedule_id}/pause", response_model=ScheduleOut, summary="Pause a schedule")
async def pause_schedule(request: Request, schedule_id: SchedId, svc: ScheduleService = Depends(service),
                         principal: Principal = Depends(require_role("pilot"))) -> ScheduleOut:
    row = await asyncio.to_thread(svc.set_enabled, schedule_id, False)
    await asyncio.to_thread(_audit, request, principal, "schedule.pause", schedule_id, None)
    return _with_runs(row)


@router.post("/api/v1/schedules/{schedule_id}/resume", response_model=ScheduleOut, summary="Resume a schedule")
async def resume_schedule(request: Request, schedule_id: SchedId, svc: ScheduleService = Depends(service),
                          principal: Principal = Depends(require_role("pilot"))) -> ScheduleOut:
    row = await asyncio.to_thread(svc.set_enabled, schedule_id, True)
    await asyncio.to_thread(_audit, request, principal, "schedule.resume", schedule_id, None)
    return _with_runs(row)


@router.delete("/api/v1/schedules/{schedule_id}", status_code=204, summary="Delete a schedule")
async def delete_schedule(request: Request, schedule_id: SchedId, svc: ScheduleService = Depends(service),
                          principal: Principal = Depends(require_role("pilot"))) -> Response:
    await asyncio.to_thread(svc.remove, schedule_id)
    await asyncio.to_thread(_audit, request, principal, "schedule.delete", schedule_id, None)
    return Response(status_code=204)


@router.get("/api/v1/missions", response_model=list[RunOut], summary="Runs, newest first")
def list_runs(state: Annotated[str | None, Query(max_length=32)] = None,
              schedule_id: Annotated[str | None, Query(max_length=64)] = None,
              limit: Annotated[int, Query(ge=1, le=1000)] = 100,
              session: Session = Depends(get_session),
              _: Principal = Depends(require_role("viewer"))) -> list[RunOut]:
    q = select(Mission)
    if state:
        q = q.where(Mission.state == state)
    if schedule_id:
        q = q.where(Mission.schedule_id == schedule_id)
    rows = session.execute(q.order_by(Mission.created_at.desc()).limit(limit)).scalars()
    return [_run(m) for m in rows]


@router.get("/api/v1/missions/{run_id}", response_model=RunOut, summary="One run")
def get_run(run_id: Annotated[str, Path(max_length=64)], session: Session = Depends(get_session),
            _: Principal = Depends(require_role("viewer"))) -> RunOut:
    m = session.get(Mission, run_id)
    if m is None:
        raise NotFound(f"run {run_id} not found")
    return _run(m)


class RunCreate(BaseModel):
    model_config = ConfigDict(extra="forbid")
    plan_id: str = Field(min_length=1, max_length=64)
    sortie: int = Field(default=1, ge=1, le=100)
    pilot: str | None = Field(default=None, min_length=1, max_length=128, description="remote pilot in command")


def dispatcher_of(request: Request):  # type: ignore[no-untyped-def]
    d = getattr(request.app.state, "dispatcher", None)
    if d is None:
        raise Unavailable("the dispatcher is not running (fleet disabled)")
    return d


@router.post("/api/v1/missions", status_code=201, response_model=RunOut, summary="Fly a stored plan now")
async def create_run(request: Request, body: RunCreate,
                     principal: Principal = Depends(require_role("pilot"))) -> RunOut:
    dispatcher = dispatcher_of(request)
    run_id = "run-" + secrets.token_hex(6)

    def create() -> Mission:
        with request.app.state.db.session() as s:
            if s.get(Plan, body.plan_id) is None:
                raise BadInput(f"plan {body.plan_id} does not exist")
            if body.pilot is not None:
                check_pilot(s, body.pilot)
            m = Mission(id=run_id, plan_id=body.plan_id, state="scheduled", planned_start=datetime.now(UTC),
                        doc={"sortie": body.sortie - 1, "pilot": body.pilot})
            s.add(m)
            audit.record(s, principal, "run.create", "mission", run_id, {"plan_id": body.plan_id})
            return m

    m = await asyncio.to_thread(create)
    await request.app.state.bus.publish("skypatrol.mission.scheduled.v1",
                                        {"run_id": run_id, "plan_id": body.plan_id, "by": principal.name},
                                        subject=run_id)
    dispatcher.submit(run_id)
    return _run(m)


@router.post("/api/v1/missions/{run_id}/{action}",
             summary="Abort (return home), pause, resume or approve a run; re-fly a failed one from its breakpoint")
async def control_run(request: Request, run_id: Annotated[str, Path(max_length=64)],
                      action: Annotated[str, Path(pattern="^(abort|pause|resume|approve|refly)$")],
                      principal: Principal = Depends(require_role("pilot"))) -> dict[str, Any]:
    dispatcher = dispatcher_of(request)
    if action == "approve":
        result = await dispatcher.approve(run_id, principal.name)
    elif action == "refly":
        result = {"run_id": await dispatcher.refly(run_id, principal.name), "refly_of": run_id}
    else:
        result = await getattr(dispatcher, action)(run_id)

    def record() -> None:
        with request.app.state.db.session() as s:
            audit.record(s, principal, f"run.{action}", "mission", run_id, None)

    await asyncio.to_thread(record)
    return result


@router.get("/api/v1/missions/{run_id}/report", summary="The run's report: track, distance, duration, events")
def run_report_json(run_id: Annotated[str, Path(max_length=64)], session: Session = Depends(get_session),
                    _: Principal = Depends(require_role("viewer"))) -> dict[str, Any]:
    from fleet.report import run_report

    m = session.get(Mission, run_id)
    if m is None:
        raise NotFound(f"run {run_id} not found")
    return run_report(session, m)


@router.get("/api/v1/missions/{run_id}/report.html", response_class=HTMLResponse,
            summary="The run's report as a printable page")
def run_report_page(run_id: Annotated[str, Path(max_length=64)], session: Session = Depends(get_session),
                    access_token: str | None = None,
                    _: Principal = Depends(require_role("viewer", allow_query_token=True))) -> HTMLResponse:
    from fleet.report import report_html, run_report

    m = session.get(Mission, run_id)
    if m is None:
        raise NotFound(f"run {run_id} not found")
    return HTMLResponse(report_html(run_report(session, m)))


@router.get("/api/v1/missions/{run_id}/flightlog.tlog", response_class=FileResponse,
            summary="The run's flight log: every MAVLink message the drone sent, as a .tlog",
            responses={200: {"content": {"application/octet-stream": {}}}, 404: {"description": "no flight log"}})
def run_flight_log(request: Request, run_id: Annotated[str, Path(max_length=64, pattern=r"^[A-Za-z0-9_.-]+$")],
                   session: Session = Depends(get_session), access_token: str | None = None,
                   _: Principal = Depends(require_role("viewer", allow_query_token=True))) -> FileResponse:
    if session.get(Mission, run_id) is None:
        raise NotFound(f"run {run_id} not found")
    path = request.app.state.settings.data_dir / "flightlogs" / f"{run_id}.tlog"
    if not path.is_file():
        raise NotFound(f"run {run_id} has no flight log (it never reached a connected drone)")
    return FileResponse(path, media_type="application/octet-stream", filename=f"{run_id}.tlog")


def _run(m: Mission) -> RunOut:
    return RunOut(id=m.id, plan_id=m.plan_id, drone_id=m.drone_id, schedule_id=m.schedule_id, state=m.state,
                  reason=m.reason, planned_start=m.planned_start, started_at=m.started_at, ended_at=m.ended_at,
                  created_at=m.created_at)


def _audit(request: Request, principal: Principal, action: str, target: str, details: dict | None) -> None:
    with request.app.state.db.session() as s:
        audit.record(s, principal, action, "schedule", target, details)
