"""Airspace-aware planning: no-fly cut-outs, detours around obstacles, the route check."""

from __future__ import annotations

from datetime import UTC, datetime

import pytest
from planning_kit import drones, en, flown_lanes, ll, polygon_ll
from shapely.geometry import LineString, Polygon
from shapely.ops import unary_union

from airspace import ZoneIndex, check_route, route_from_mission
from airspace.model import Zone
from core.errors import BadInput, Refused
from missions.airspace_aware import AirspaceContext
from missions.camera import CATALOGUE
from missions.corridor import plan_corridor
from missions.inputs import InspectionPoint
from missions.inspection import plan_points
from missions.survey import plan_survey

CAM = CATALOGUE["dji-phantom4-rtk"]
AT = datetime(2026, 6, 1, 3, 0, tzinfo=UTC)


def _zone(zid: str, restriction: str, ring_en: list[tuple[float, float]], **vol: object) -> Zone:
    ring = [ll(*p) for p in [*ring_en, ring_en[0]]]
    return Zone.model_validate(
        {
            "id": zid,
            "name": zid,
            "restriction": restriction,
            "volumes": [{"shape": {"type": "Polygon", "rings": [ring]}, **vol}],
        }
    )


NO_FLY = [(250, 150), (400, 150), (400, 300), (250, 300)]
OUTSIDE_NO_FLY = [(700, -100), (800, -100), (800, 900), (700, 900)]  # a wall between home and nothing


def _assert_clear(result, zones: list[Zone]) -> None:  # type: ignore[no-untyped-def]
    index = ZoneIndex(zones)
    for s in result.sorties:
        check = check_route(route_from_mission(s.plan, 4.0), AT, 4.0, index)
        assert check.clear, [v.to_json() for v in check.violations]


def test_survey_cuts_no_fly_out_reports_it_and_passes_the_check() -> None:
    zones = [_zone("hospital", "PROHIBITED", NO_FLY)]
    ctx = AirspaceContext(zones=zones, at=AT, margin_m=10, home_amsl_m=4.0)
    area = polygon_ll([(0, 0), (600, 0), (600, 500), (0, 500)])
    r = plan_survey(area, drones(), camera=CAM, alt_m=60, airspace=ctx)
    cut = Polygon(NO_FLY).buffer(10, quad_segs=4)
    assert r.stats.not_covered_m2 == pytest.approx(cut.area, rel=0.02)
    assert any(n.startswith("not covered:") for n in r.notes)
    for s in r.sorties:
        for lane in flown_lanes(s.plan):
            assert lane.intersection(Polygon(NO_FLY)).length == 0
    plannable = Polygon([(0, 0), (600, 0), (600, 500), (0, 500)]).difference(cut)
    lanes = [ln for s in r.sorties for ln in flown_lanes(s.plan)]
    covered = unary_union([ln.buffer(CAM.footprint_m(60)[0] / 2) for ln in lanes]).intersection(plannable)
    assert covered.area / plannable.area >= 0.99
    _assert_clear(r, zones)


def test_transit_goes_around_a_wall_of_no_fly() -> None:
    # Home west of a wall, the points east of it: the straight legs would cross the wall.
    wall = [(300, -400), (340, -400), (340, 400), (300, 400)]
    zones = [_zone("wall", "PROHIBITED", wall)]
    pts = [InspectionPoint(lat=ll(e, n)[1], lon=ll(e, n)[0], alt_m=40) for e, n in [(600, 0), (650, 100), (600, -150)]]
    r = plan_points(pts, drones(1, 40, at=(0, 0)), airspace=AirspaceContext(zones=zones, at=AT, margin_m=15))
    path = [en(it.lat, it.lon) for it in r.sorties[0].plan.items if it.is_positional]
    home = en(r.sorties[0].home.lat, r.sorties[0].home.lon)
    line = LineString([home, *path, home])
    assert line.intersection(Polygon(wall)).length == 0
    assert line.length < 2 * (600 + 2 * 420)  # around the end of the wall, not far away
    _assert_clear(r, zones)


def test_zones_above_the_flight_or_authorised_are_not_obstacles() -> None:
    high = _zone("high", "PROHIBITED", NO_FLY, lower=150, upper=300)
    auth = _zone("auth", "REQ_AUTHORISATION", OUTSIDE_NO_FLY)
    ctx = AirspaceContext(zones=[high, auth], at=AT, authorisations=frozenset({"auth"}))
    area = polygon_ll([(0, 0), (600, 0), (600, 500), (0, 500)])
    r = plan_survey(area, drones(), camera=CAM, alt_m=60, airspace=ctx)
    assert r.stats.not_covered_m2 == 0


def test_corridor_through_no_fly_is_cut_and_checked() -> None:
    zones = [_zone("school", "PROHIBITED", [(400, -200), (500, -200), (500, 200), (400, 200)])]
    road = LineString([ll(0, 0), ll(1000, 0)])
    r = plan_corridor(
        road,
        drones(1, 40, at=(0, -100)),
        width_m=60,
        camera=CAM,
        alt_m=50,
        airspace=AirspaceContext(zones=zones, at=AT, margin_m=10),
    )
    assert r.stats.not_covered_m2 == pytest.approx(120 * 60, rel=0.05)
    _assert_clear(r, zones)


def test_planning_fails_naming_the_violation_when_the_check_fails() -> None:
    # A drone allowed to 200 m, asked for 130 m: the CAAC 120 m true-height rule refuses it.
    fleet = drones(1, 40, at=(0, 0))
    fleet[0].model = fleet[0].model.model_copy(update={"max_alt_m": 200})
    area = polygon_ll([(200, 200), (500, 200), (500, 500), (200, 500)])
    ctx = AirspaceContext(zones=[_zone("far", "PROHIBITED", [(5000, 0), (5100, 0), (5100, 100)])], at=AT)
    with pytest.raises(Refused, match=r"sortie 1: item 0 violates: above the 120 m true-height limit"):
        plan_survey(area, fleet, camera=CAM, alt_m=130, airspace=ctx)


def test_home_inside_a_no_fly_zone_is_bad_input() -> None:
    zones = [_zone("base", "PROHIBITED", [(-100, -100), (100, -100), (100, 100), (-100, 100)], lower=80)]
    area = polygon_ll([(200, 200), (500, 200), (500, 500), (200, 500)])
    with pytest.raises(BadInput, match="home 'dock-1' lies inside a no-fly zone"):
        plan_survey(
            area,
            drones(1, 40, at=(0, 0)),
            camera=CAM,
            alt_m=100,
            airspace=AirspaceContext(zones=zones, at=AT),
        )
    # Below the zone's floor it is no obstacle.
    plan_survey(area, drones(1, 40, at=(0, 0)), camera=CAM, alt_m=50, airspace=AirspaceContext(zones=zones, at=AT))


def test_height_rule_is_checked_even_without_zones() -> None:
    fleet = drones(1, 40, at=(0, 0))
    fleet[0].model = fleet[0].model.model_copy(update={"max_alt_m": 200})
    area = polygon_ll([(200, 200), (500, 200), (500, 500), (200, 500)])
    with pytest.raises(Refused, match="true-height limit"):
        plan_survey(area, fleet, camera=CAM, alt_m=125)
    assert plan_survey(area, fleet, camera=CAM, alt_m=119).sorties
