"""DO_JUMP: the leg from the last position before the jump back to its target is flown, and checked."""

from __future__ import annotations

import json
from datetime import UTC, datetime
from pathlib import Path

import pytest
from airspace_testkit import HOME_AMSL_M, latlon, square, volume, zone
from test_airspace_cli import AT, plan_file, runner, zones_file

from airspace.check import check_route
from airspace.cli import app
from airspace.index import ZoneIndex
from airspace.intent import intent_volumes
from airspace.route import route_from_mission
from core.errors import BadInput
from missions.items import MavCmd, MissionItem, MissionPlan

WHEN = datetime(2025, 3, 3, 10, 0, tzinfo=UTC)
# A zone between the first and the last waypoint of a U: the U's own legs pass beside it, only the
# jump from the last waypoint back to the first crosses it.
BETWEEN = zone("NFZ-J", "PROHIBITED", volume(square(-50, 400, 50, 500)))


def wp(e: float, n: float, alt: float = 40.0) -> MissionItem:
    lat, lon = latlon(e, n)
    return MissionItem(MavCmd.NAV_WAYPOINT, 3, lat=lat, lon=lon, alt=alt)


def jump(seq: int, repeat: int) -> MissionItem:
    return MissionItem(MavCmd.DO_JUMP, 2, float(seq), float(repeat))


def plan(*items: MissionItem) -> MissionPlan:
    home = latlon(-300, 0)
    return MissionPlan(items=list(items), home_lat=home[0], home_lon=home[1], home_alt_amsl_m=HOME_AMSL_M)


def check(p: MissionPlan):  # type: ignore[no-untyped-def]
    return check_route(route_from_mission(p, HOME_AMSL_M), WHEN, HOME_AMSL_M, ZoneIndex([BETWEEN]))


# The U: item 0 at (0, 0), item 1 far east, item 2 back at (0, 900); the jump targets item 0 (seq 1).
U = (wp(0, 0), wp(600, 0), wp(600, 900), wp(0, 900))


def test_the_jump_back_is_a_leg_and_is_checked() -> None:
    assert check(plan(*U)).clear  # without the jump, the U stays clear of the zone
    r = route_from_mission(plan(*U, jump(1, 2)), HOME_AMSL_M)
    # home, the four waypoints, then (after an unflown gap) the jump leg from item 3 to item 0
    assert [p.item_index for p in r.points] == [None, 0, 1, 2, 3, 3, 4]
    assert r.unflown_legs == (4,)
    assert (r.points[-1].lat, r.points[-1].lon) == pytest.approx(latlon(0, 0))
    (v,) = check(plan(*U, jump(1, 2))).violations
    # Named by the DO_JUMP item (4): the leg it makes the vehicle fly, entering the zone at north 500.
    assert (v.zone_id, v.waypoint_index, v.segment_index) == ("NFZ-J", None, 4)
    assert v.lat == pytest.approx(latlon(0, 500)[0], abs=1e-7) and v.alt_rel_m == pytest.approx(40.0)


def test_jump_with_more_items_after_it_and_a_non_positional_target() -> None:
    speed = MissionItem(MavCmd.DO_CHANGE_SPEED, 2, 1, 8.0)
    # item 0 changes speed (seq 1); the jump to seq 1 lands on the first position after it (item 1).
    p = plan(speed, *U, jump(1, 1), wp(-600, 900))
    r = route_from_mission(p, HOME_AMSL_M)
    assert [p.item_index for p in r.points] == [None, 1, 2, 3, 4, 6, 4, 5]
    (v,) = check(p).violations
    assert v.segment_index == 5
    # The leg after the jump (item 4 to item 6) is flown once, as before; the gap is not a leg.
    assert check(plan(speed, *U, jump(1, 0), wp(-600, 900))).clear  # repeat 0: never jumps


def test_the_unflown_gap_is_not_checked_and_gets_no_intent_volume() -> None:
    # The gap from the route's end (0, 900) back to the jump's start (0, 300) would cross the zone;
    # it is not flown. The jump leg itself, (0, 300) back to (0, 0), stays south of the zone.
    p = plan(wp(0, 0), wp(0, 300), jump(1, 1), wp(300, 300), wp(300, 900), wp(0, 900))
    r = route_from_mission(p, HOME_AMSL_M)
    assert [p.item_index for p in r.points] == [None, 0, 1, 3, 4, 5, 1, 2]
    assert r.unflown_legs == (5,) and check(p).clear
    # Intent volumes follow the flight: home, 0, 1, back to 0, 1 again, then 3, 4, 5 (7 legs);
    # the unflown gap gets none.
    assert r.flown_legs() == [(0, 1), (1, 2), (2, 1), (1, 2), (2, 3), (3, 4), (4, 5)]
    assert len(intent_volumes(r, HOME_AMSL_M, WHEN)) == 7


def test_intent_volumes_are_timed_in_flight_order_with_repeats() -> None:
    # Out 300 m and back three times over (the jump taken twice), then on east: the eastern leg is
    # flown last, after all the laps, and every lap has its own time window.
    p = plan(wp(0, 0), wp(0, 300), jump(1, 2), wp(300, 300))
    r = route_from_mission(p, HOME_AMSL_M)
    assert r.flown_legs() == [(0, 1), (1, 2), (2, 1), (1, 2), (2, 1), (1, 2), (2, 3)]
    vols = intent_volumes(r, HOME_AMSL_M, WHEN, speed_m_s=10.0, time_buffer_s=0.0)
    starts = [v.time_start for v in vols]
    assert starts == sorted(starts) and len(set(starts)) == len(starts)
    # home to (0, 0) is 300 m: 30 s; then six 300 m legs of 30 s each before the eastern leg.
    assert (vols[-1].time_start - WHEN).total_seconds() == pytest.approx(30 + 5 * 30, abs=1.0)
    assert (vols[-1].time_end - WHEN).total_seconds() == pytest.approx(30 + 6 * 30, abs=1.0)


def test_a_jump_repeated_for_ever_is_unrolled_once_and_huge_repeats_are_refused() -> None:
    r = route_from_mission(plan(wp(0, 0), wp(0, 300), jump(1, -1)), HOME_AMSL_M)
    assert r.flown_legs() == [(0, 1), (1, 2), (2, 1), (1, 2)]
    with pytest.raises(BadInput, match="more than 100000 legs"):
        route_from_mission(plan(wp(0, 0), wp(0, 300), jump(1, 1e6)), HOME_AMSL_M)


def test_a_jump_to_no_item_is_bad_input() -> None:
    with pytest.raises(BadInput, match="item 2: DO_JUMP to sequence number 9"):
        route_from_mission(plan(wp(0, 0), wp(0, 300), jump(9, 1)), HOME_AMSL_M)


def test_cli_checks_the_jump_leg_of_a_plan_file(tmp_path: Path) -> None:
    # South of NFZ-1 (east 400..500, north -50..50), then north-east of it.
    path = plan_file(tmp_path, (0, -200, 30), (1000, -200, 30), (1000, 200, 30), rtl=False)
    base = ["check", str(path), "--zones", str(zones_file(tmp_path)), "--at", AT, "--json"]
    assert runner.invoke(app, base).exit_code == 0
    doc = json.loads(path.read_text())
    # Jump back to seq 1 (item 0) once: the diagonal from (1000, 200) to (0, -200) crosses NFZ-1.
    doc["mission"]["items"].append({"type": "SimpleItem", "command": 177, "frame": 2, "params": [1, 1, 0, 0, 0, 0, 0]})
    path.write_text(json.dumps(doc))
    res = runner.invoke(app, base)
    assert res.exit_code == 1, res.output
    (v,) = json.loads(res.stdout)["violations"]
    assert (v["zone_id"], v["waypoint_index"], v["segment_index"]) == ("NFZ-1", None, 3)
    assert (v["lat"], v["lon"]) == pytest.approx(latlon(500, 0), abs=1e-7)
