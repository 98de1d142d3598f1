"""Schedules: specs, previews in the site's time zone, real firing, restarts, missed runs."""

from __future__ import annotations

import asyncio
from datetime import UTC, date, datetime, timedelta
from pathlib import Path

import pytest
from pydantic import ValidationError
from sqlalchemy import select

from core.db import Database
from core.events import EventBus
from core.models import Mission
from fleet.schedules import ScheduleService, ScheduleSpec, next_runs, run_id_for
from tests.conftest import auth

SHANGHAI = "Asia/Shanghai"


def test_daily_preview_in_site_time_with_blackout_and_end_date() -> None:
    spec = ScheduleSpec(name="daily", kind="daily", time_of_day="09:30", end_date=date(2026, 12, 4),
                        blackouts=[{"start": "2026-12-02T00:00:00", "end": "2026-12-03T00:00:00"}])
    runs = next_runs(spec, datetime(2026, 11, 30, 3, 0, tzinfo=UTC), 10)  # 11:00 in Shanghai
    assert [r.isoformat() for r in runs] == ["2026-12-01T09:30:00+08:00", "2026-12-03T09:30:00+08:00",
                                             "2026-12-04T09:30:00+08:00"]


def test_crontab_weekdays_mean_what_cron_means() -> None:
    spec = ScheduleSpec(name="weekdays", kind="cron", cron="0 8 * * 1-5")  # Monday to Friday
    runs = next_runs(spec, datetime(2026, 11, 27, 12, 0, tzinfo=UTC), 3)  # Friday 20:00 in Shanghai
    assert [r.strftime("%a %H:%M") for r in runs] == ["Mon 08:00", "Tue 08:00", "Wed 08:00"]
    sundays = next_runs(ScheduleSpec(name="s", kind="cron", cron="0 7 * * 0"), datetime(2026, 11, 27, tzinfo=UTC), 2)
    assert [r.strftime("%a") for r in sundays] == ["Sun", "Sun"]


@pytest.mark.parametrize(("body", "needle"), [
    ({"name": "x", "kind": "daily"}, "needs time_of_day"),
    ({"name": "x", "kind": "daily", "time_of_day": "25:00"}, "time_of_day"),
    ({"name": "x", "kind": "cron", "cron": "every day"}, "cron"),
    ({"name": "x", "kind": "once", "at": "2030-01-01T00:00:00", "timezone": "Mars/Olympus"}, "time zone"),
    ({"name": "x", "kind": "daily", "time_of_day": "08:00", "start_date": "2030-01-02", "end_date": "2030-01-01"},
     "end_date"),
])
def test_bad_specs_name_the_problem(body: dict, needle: str) -> None:
    with pytest.raises(ValidationError, match=needle):
        ScheduleSpec.model_validate(body)


@pytest.fixture
async def env(tmp_path: Path):
    db = Database(f"sqlite:///{tmp_path / 'sched.db'}")
    db.upgrade()
    bus = EventBus(db)
    await bus.start()
    yield db, bus
    await bus.stop()
    db.dispose()


def _once(seconds: float, grace_s: int = 60) -> ScheduleSpec:
    at = datetime.now(UTC) + timedelta(seconds=seconds)
    return ScheduleSpec(name="patrol", kind="once", at=at, timezone="UTC", misfire_grace_s=grace_s)


def _runs(db: Database) -> list[Mission]:
    with db.session() as s:
        return list(s.execute(select(Mission)).scalars())


async def _types(bus: EventBus) -> list[str]:
    return [e.type for e in await bus.read(0, 100)]


async def test_a_one_off_fires_once_and_a_restart_does_not_fire_it_again(env) -> None:  # type: ignore[no-untyped-def]
    db, bus = env
    svc = ScheduleService(db, bus)
    await svc.start()
    sched = svc.add(_once(1.0))
    for _ in range(60):
        if _runs(db):
            break
        await asyncio.sleep(0.1)
    await svc.stop()
    runs = _runs(db)
    assert len(runs) == 1 and runs[0].schedule_id == sched.id and runs[0].state == "scheduled"
    svc2 = ScheduleService(db, bus)
    await svc2.start()
    await asyncio.sleep(1.5)
    # Even told to fire the same occurrence again, the database refuses a second run.
    assert await svc2.fire(sched.id, now=runs[0].planned_start.replace(tzinfo=UTC)) is None
    await svc2.stop()
    assert len(_runs(db)) == 1
    assert (await _types(bus)).count("skypatrol.mission.scheduled.v1") == 1


async def test_downtime_past_the_grace_period_is_a_missed_event(env) -> None:  # type: ignore[no-untyped-def]
    db, bus = env
    svc = ScheduleService(db, bus)
    await svc.start()
    late = svc.add(_once(1.0, grace_s=1))
    tolerant = svc.add(_once(1.0, grace_s=120))
    await svc.stop()  # the server is down while both are due
    await asyncio.sleep(3.0)
    svc = ScheduleService(db, bus)
    await svc.start()
    for _ in range(50):
        types = await _types(bus)
        if "skypatrol.mission.missed.v1" in types and "skypatrol.mission.scheduled.v1" in types:
            break
        await asyncio.sleep(0.1)
    await svc.stop()
    events = await bus.read(0, 100)
    missed = [e for e in events if e.type == "skypatrol.mission.missed.v1"]
    assert [e.subject for e in missed] == [late.id] and "grace" in missed[0].data["reason"]
    fired = [e for e in events if e.type == "skypatrol.mission.scheduled.v1"]
    assert [e.data["schedule_id"] for e in fired] == [tolerant.id] and fired[0].data["late_s"] >= 2
    assert [r.schedule_id for r in _runs(db)] == [tolerant.id]


async def test_two_schedules_due_together_make_two_runs(env) -> None:  # type: ignore[no-untyped-def]
    db, bus = env
    svc = ScheduleService(db, bus)
    await svc.start()
    a, b = svc.add(_once(1.0)), svc.add(_once(1.2))
    for _ in range(60):
        if len(_runs(db)) == 2:
            break
        await asyncio.sleep(0.1)
    await svc.stop()
    assert sorted(r.schedule_id for r in _runs(db)) == sorted([a.id, b.id])


async def test_blackout_occurrence_is_recorded_as_missed(env) -> None:  # type: ignore[no-untyped-def]
    db, bus = env
    svc = ScheduleService(db, bus)
    await svc.start()
    now = datetime.now(UTC)
    spec = ScheduleSpec(name="d", kind="daily", time_of_day="08:00", timezone="UTC",
                        blackouts=[{"start": now - timedelta(days=400), "end": now + timedelta(days=1)}])
    sched = svc.add(spec)
    at = now.replace(hour=8, minute=0, second=0, microsecond=0)
    assert await svc.fire(sched.id, now=at + timedelta(seconds=5)) is None
    await svc.stop()
    missed = [e for e in await bus.read(0, 10) if e.type == "skypatrol.mission.missed.v1"]
    assert missed and missed[0].data["reason"] == "blackout window"
    assert run_id_for(sched.id, at).startswith(f"run-{sched.id}-")


def test_schedules_api_create_pause_resume_delete(client, tokens) -> None:  # type: ignore[no-untyped-def]
    h = auth(tokens["pilot"])
    r = client.post("/api/v1/schedules", headers=h,
                    json={"name": "Daily road inspection", "kind": "daily", "time_of_day": "07:30"})
    assert r.status_code == 201, r.text
    sid = r.json()["id"]
    assert len(r.json()["next_runs"]) == 3 and r.json()["next_runs"][0].endswith("+08:00")
    assert client.post(f"/api/v1/schedules/{sid}/pause", headers=h).json()["next_runs"] == []
    assert client.post(f"/api/v1/schedules/{sid}/resume", headers=h).json()["enabled"] is True
    listed = client.get("/api/v1/schedules", headers=auth(tokens["viewer"])).json()
    assert [s["id"] for s in listed] == [sid]
    assert client.delete(f"/api/v1/schedules/{sid}", headers=h).status_code == 204
    assert client.get(f"/api/v1/schedules/{sid}", headers=h).status_code == 404
    past = client.post("/api/v1/schedules", headers=h, json={"name": "p", "kind": "once", "at": "2020-01-01T00:00:00"})
    assert past.status_code == 422 and "never fire" in past.json()["error"]["message"]
    nope = client.post("/api/v1/schedules", headers=h, json={"name": "p", "kind": "daily", "time_of_day": "07:00",
                                                             "plan_id": "no-such-plan"})
    assert nope.status_code == 422 and "no-such-plan" in nope.json()["error"]["message"]
    prev = client.post("/api/v1/schedules/preview?count=2", headers=auth(tokens["viewer"]),
                       json={"name": "p", "kind": "cron", "cron": "0 6 * * 6"})
    assert len(prev.json()["next_runs"]) == 2
    actions = [a["action"] for a in client.get("/api/v1/audit", headers=auth(tokens["admin"])).json()]
    assert actions == ["schedule.create", "schedule.pause", "schedule.resume", "schedule.delete"]


def test_schedule_cli_against_a_server(server_factory, tmp_path) -> None:  # type: ignore[no-untyped-def]
    import json

    from tests.test_cli import sp

    srv = server_factory(f"sqlite:///{tmp_path / 'cli.db'}", "sp_sched_admin").start()
    env = {"SKYPATROL_SERVER": srv.url, "SKYPATROL_TOKEN": "sp_sched_admin"}
    r = sp("schedule", "add", "--name", "Daily inspection", "--daily", "07:00", env=env)
    assert r.returncode == 0, r.stderr
    sid = json.loads(r.stdout)["id"]
    assert sp("schedule", "pause", sid, env=env).returncode == 0
    assert f"{sid}\tpaused\tdaily" in sp("schedule", "list", env=env).stdout
    both = sp("schedule", "add", "--name", "x", "--daily", "07:00", "--cron", "0 7 * * *", env=env)
    assert both.returncode == 2 and "exactly one" in both.stderr
    bad = sp("schedule", "add", "--name", "x", "--cron", "sometimes", env=env)
    assert bad.returncode == 2 and "cron" in bad.stderr and "Traceback" not in bad.stderr
    assert sp("schedule", "rm", sid, env=env).returncode == 0
    assert sp("schedule", "rm", sid, env=env).returncode == 2
