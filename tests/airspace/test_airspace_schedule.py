"""When a zone is in force: weekdays, times of day, date-window edges, ANY, overnight periods."""

from __future__ import annotations

from datetime import UTC, datetime, time, timedelta, timezone

import pytest

from airspace.model import Applicability, DailyPeriod, Weekday

MON = datetime(2025, 3, 3, tzinfo=UTC)  # a Monday


def at(day_offset: int, hh: int, mm: int = 0) -> datetime:
    return MON + timedelta(days=day_offset, hours=hh, minutes=mm)


def test_weekday_and_time_of_day() -> None:
    p = DailyPeriod(days=[Weekday.MON, Weekday.WED], start_time=time(8), end_time=time(18))
    assert p.applies(at(0, 8))  # start inclusive
    assert p.applies(at(0, 17, 59))
    assert not p.applies(at(0, 18))  # end exclusive
    assert not p.applies(at(0, 7, 59))
    assert not p.applies(at(1, 12))  # Tuesday
    assert p.applies(at(2, 12))  # Wednesday


def test_any_and_no_days_mean_every_day() -> None:
    for p in (
        DailyPeriod(days=[Weekday.ANY], start_time=time(9), end_time=time(10)),
        DailyPeriod(start_time=time(9), end_time=time(10)),
    ):
        assert all(p.applies(at(d, 9, 30)) for d in range(7))
        assert not any(p.applies(at(d, 10, 30)) for d in range(7))


def test_overnight_period_belongs_to_its_start_day() -> None:
    p = DailyPeriod(days=[Weekday.FRI], start_time=time(22), end_time=time(2))
    assert p.applies(at(4, 23))  # Friday night
    assert p.applies(at(5, 1, 59))  # early Saturday: still Friday's period
    assert not p.applies(at(5, 2))
    assert not p.applies(at(5, 23))  # Saturday night is not scheduled
    assert not p.applies(at(4, 1))  # early Friday belongs to Thursday


def test_open_ended_times() -> None:
    assert DailyPeriod(days=[Weekday.MON], start_time=time(20)).applies(at(0, 23, 59))
    assert DailyPeriod(days=[Weekday.MON], end_time=time(6)).applies(at(0, 0))
    assert not DailyPeriod(days=[Weekday.MON], end_time=time(6)).applies(at(0, 6))


def test_date_window_edges_and_schedule_inside_it() -> None:
    a = Applicability(start=at(0, 0), end=at(7, 0), schedule=[DailyPeriod(days=[Weekday.SUN])])
    assert not a.applies(at(0, 12))  # Monday inside window, not scheduled
    assert a.applies(at(6, 23, 59))  # Sunday
    assert not a.applies(at(7, 0))  # end exclusive
    assert not a.applies(at(-1, 12))  # Sunday before the window
    w = Applicability(start=at(0, 0), end=at(1, 0))
    assert w.applies(at(0, 0)) and not w.applies(at(0, 0) - timedelta(microseconds=1))


def test_times_are_utc_whatever_zone_they_come_in() -> None:
    shanghai = timezone(timedelta(hours=8))
    a = Applicability(start=datetime(2025, 3, 3, 8, 0, tzinfo=shanghai))  # 00:00 UTC
    assert a.start == MON
    p = DailyPeriod(start_time=time(8), end_time=time(9))
    assert p.applies(datetime(2025, 3, 3, 16, 30, tzinfo=shanghai))  # 08:30 UTC
    with pytest.raises(ValueError, match="ends before it starts"):
        Applicability(start=at(1, 0), end=at(0, 0))
