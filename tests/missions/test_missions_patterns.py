"""Survey, corridor and inspection patterns: coverage, holes, angles, items, fleet split."""

from __future__ import annotations

import itertools
import math

import numpy as np
import pytest
from planning_kit import drones, en, flown_lanes, heading_deg, ll, path_xy, polygon_ll
from shapely.geometry import LineString, Polygon
from shapely.ops import unary_union

from core.errors import BadInput
from missions.camera import CATALOGUE
from missions.corridor import pass_offsets_m, plan_corridor
from missions.inputs import InspectionPoint
from missions.inspection import plan_points
from missions.itemize import ItemOptions
from missions.items import MavCmd, MavFrame
from missions.survey import plan_survey
from missions.tour import distance_matrix, nearest_neighbour, solve_tour, tour_length

CAM = CATALOGUE["dji-phantom4-rtk"]
SHELL = [(0, 0), (600, 0), (600, 250), (300, 250), (300, 500), (0, 500)]  # an L: concave
HOLES = [[(80, 80), (180, 80), (180, 180), (80, 180)], [(420, 60), (520, 60), (470, 160)]]


def _coverage(result, alt: float, field: Polygon) -> float:  # type: ignore[no-untyped-def]
    half = CAM.footprint_m(alt)[0] / 2
    lanes = [ln for s in result.sorties for ln in flown_lanes(s.plan)]
    covered = unary_union([ln.buffer(half) for ln in lanes]).intersection(field)
    return covered.area / field.area


def _field_enu() -> Polygon:
    return Polygon(SHELL, HOLES)


@pytest.mark.parametrize("angle", [None, 0.0, 37.0])
def test_survey_covers_concave_field_with_holes_and_no_lane_in_a_hole(angle: float | None) -> None:
    area = polygon_ll(SHELL, HOLES)
    r = plan_survey(area, drones(), camera=CAM, alt_m=60, front_overlap=75, side_overlap=65, angle_deg=angle)
    field = Polygon(
        [en(lat, lon) for lon, lat in area.exterior.coords],
        [[en(lat, lon) for lon, lat in h.coords] for h in area.interiors],
    )
    assert _coverage(r, 60, field) >= 0.99
    holes = unary_union([Polygon(h).buffer(-0.05) for h in HOLES])
    for s in r.sorties:
        for lane in flown_lanes(s.plan):
            assert lane.intersection(holes).length < 1e-6
    spacing = CAM.lane_spacing_m(60, 65)
    assert r.stats.spacing_m == pytest.approx(spacing) and r.stats.gsd_cm == pytest.approx(CAM.gsd_cm(60))
    assert r.stats.covered_m2 >= 0.99 * r.stats.plannable_m2 and r.stats.photos > 0


def test_every_survey_mission_starts_with_takeoff_and_ends_with_rtl_with_explicit_frames() -> None:
    r = plan_survey(polygon_ll(SHELL), drones(), camera=CAM, alt_m=60, angle_deg=0)
    items = r.sorties[0].plan.items
    assert items[0].command == MavCmd.NAV_TAKEOFF and items[0].frame == MavFrame.GLOBAL_RELATIVE_ALT
    assert items[1].command == MavCmd.DO_CHANGE_SPEED and items[-1].command == MavCmd.NAV_RETURN_TO_LAUNCH
    assert any(it.command == MavCmd.DO_MOUNT_CONTROL and it.param1 == -90 for it in items)
    for it in items:
        if it.command == MavCmd.NAV_WAYPOINT:
            assert it.frame == MavFrame.GLOBAL_RELATIVE_ALT and it.param2 > 0 and it.alt == 60
        elif it.command in (
            MavCmd.DO_SET_CAM_TRIGG_DIST,
            MavCmd.DO_CHANGE_SPEED,
            MavCmd.NAV_RETURN_TO_LAUNCH,
        ):
            assert it.frame == MavFrame.MISSION
    trig = {it.param1 for it in items if it.command == MavCmd.DO_SET_CAM_TRIGG_DIST}
    assert sorted(trig) == [0.0, pytest.approx(CAM.trigger_distance_m(60, 75))]
    # Lanes run north-south at angle 0 and the waypoint yaw follows them.
    lanes = flown_lanes(r.sorties[0].plan)
    for ln in lanes:
        h = heading_deg(ln.coords[0], ln.coords[-1])
        assert min(abs(h - 0), abs(h - 180), abs(h - 360)) < 0.5


def test_land_at_a_named_point_instead_of_rtl() -> None:
    lon, lat = ll(700, 0)
    r = plan_survey(polygon_ll(SHELL), drones(), camera=CAM, alt_m=60, items=ItemOptions(land_at=("pad B", lat, lon)))
    last = r.sorties[-1].plan.items[-1]
    assert last.command == MavCmd.NAV_LAND and (last.lat, last.lon) == (lat, lon)


def test_sweep_angle_follows_the_long_side() -> None:
    # 1000 m east-west by 150 m: east-west lanes need 2-3 turns instead of ~30.
    r = plan_survey(polygon_ll([(0, 0), (1000, 0), (1000, 150), (0, 150)]), drones(), camera=CAM, alt_m=60)
    assert min(abs(r.stats.angle_deg - 90), abs(r.stats.angle_deg - 270)) < 1.0


@pytest.mark.parametrize(
    "shape",
    [
        [(0, 0), (800, 0), (800, 600), (0, 600)],
        [(0, 0), (900, 100), (700, 700), (100, 500)],
        [(0, 0), (500, 0), (250, 433)],
    ],
)
def test_flight_length_bound_on_convex_fields(shape: list[tuple[float, float]]) -> None:
    r = plan_survey(polygon_ll(shape), drones(1, 120), camera=CAM, alt_m=60, turnaround_m=0)
    field = Polygon(shape)
    nodes = [n for s in r.sorties for n in s.nodes]
    pattern = sum(math.dist(a.xy, b.xy) for a, b in itertools.pairwise(nodes))
    assert pattern <= 1.15 * (field.area / r.stats.spacing_m + field.length)


def test_gsd_gives_altitude_and_ceiling_is_enforced() -> None:
    r = plan_survey(polygon_ll(SHELL), drones(), camera=CAM, gsd_cm=2.0)
    assert r.stats.alt_m == pytest.approx(CAM.alt_for_gsd_m(2.0)) and r.stats.gsd_cm == pytest.approx(2.0)
    with pytest.raises(BadInput, match="above the drone's ceiling of 120 m"):
        plan_survey(polygon_ll(SHELL), drones(), camera=CAM, gsd_cm=5.0)
    with pytest.raises(BadInput, match="exactly one of"):
        plan_survey(polygon_ll(SHELL), drones(), camera=CAM)


def test_fleet_split_fits_batteries_and_shares_the_work() -> None:
    area = polygon_ll([(0, 0), (1200, 0), (1200, 900), (0, 900)])
    one = plan_survey(area, drones(1, 20), camera=CAM, alt_m=60)
    three = plan_survey(area, drones(3, 20), camera=CAM, alt_m=60)
    assert len(one.sorties) >= 2
    for r in (one, three):
        for s in r.sorties:
            assert s.stats.duration_s <= 20 * 60 * 0.8 + 1e-6
            assert s.plan.items[0].command == MavCmd.NAV_TAKEOFF
    assert {s.drone for s in three.sorties} == {0, 1, 2}
    assert three.stats.makespan_s < 0.5 * one.stats.makespan_s
    # The same lanes get flown, just shared out.
    total_one = sum(ln.length for s in one.sorties for ln in flown_lanes(s.plan))
    total_three = sum(ln.length for s in three.sorties for ln in flown_lanes(s.plan))
    assert total_three == pytest.approx(total_one, rel=0.02)


def test_corridor_passes_cover_the_width() -> None:
    road = LineString([ll(0, 0), ll(600, 0), ll(900, 300), ll(900, 800)])
    r = plan_corridor(road, drones(), width_m=120, camera=CAM, alt_m=50, side_overlap=60)
    fw = CAM.footprint_m(50)[0]
    assert len(pass_offsets_m(120, fw, CAM.lane_spacing_m(50, 60))) == 3
    centre = LineString([(0, 0), (600, 0), (900, 300), (900, 800)])
    corridor = centre.buffer(60, cap_style="flat")
    lanes = [ln for s in r.sorties for ln in flown_lanes(s.plan)]
    covered = unary_union([ln.buffer(fw / 2) for ln in lanes]).intersection(corridor)
    assert covered.area / corridor.area >= 0.99
    assert r.stats.covered_m2 >= 0.99 * r.stats.plannable_m2


def test_corridor_narrower_than_footprint_is_one_pass() -> None:
    assert pass_offsets_m(30, 75, 30) == [0.0]
    assert pass_offsets_m(200, 75, 30) == pytest.approx([-62.5, -37.5, -12.5, 12.5, 37.5, 62.5])


def test_inspection_points_items_for_hover_orbit_and_photo() -> None:
    pts = [
        InspectionPoint(
            lat=ll(100, 0)[1],
            lon=ll(100, 0)[0],
            alt_m=35,
            action="hover",
            hover_s=12,
            gimbal_pitch_deg=-30,
            yaw_deg=90,
        ),
        InspectionPoint(
            lat=ll(200, 100)[1],
            lon=ll(200, 100)[0],
            alt_m=45,
            action="orbit",
            radius_m=20,
            turns=2,
            clockwise=False,
        ),
        InspectionPoint(lat=ll(0, 150)[1], lon=ll(0, 150)[0], alt_m=30, action="photo", gimbal_pitch_deg=-60),
    ]
    r = plan_points(pts, drones(), items=ItemOptions(gimbal_command="manager"))
    items = r.sorties[0].plan.items
    cmds = [it.command for it in items]
    assert cmds[0] == MavCmd.NAV_TAKEOFF and cmds[-1] == MavCmd.NAV_RETURN_TO_LAUNCH
    loiter = next(it for it in items if it.command == MavCmd.NAV_LOITER_TURNS)
    assert (loiter.param1, loiter.param3, loiter.alt) == (2, -20, 45)
    hover = next(it for it in items if it.command == MavCmd.NAV_WAYPOINT and it.param1 == 12)
    assert hover.param4 == 90 and hover.alt == 35
    gimbals = [(it.param1, it.param2) for it in items if it.command == MavCmd.DO_GIMBAL_MANAGER_PITCHYAW]
    assert sorted(gimbals) == [(-60, 0), (-45, 0), (-30, 90)]
    k = cmds.index(MavCmd.IMAGE_START_CAPTURE)
    assert items[k].param3 == 1 and items[k - 2].command == MavCmd.NAV_WAYPOINT
    assert r.stats.photos == 1


def test_tour_solver_beats_nearest_neighbour_and_visits_all() -> None:
    rng = np.random.default_rng(7)
    xy = rng.uniform(0, 1000, (120, 2))
    d = distance_matrix(xy)
    nn = nearest_neighbour(d)
    best = solve_tour(d, 0, 0.5)
    assert sorted(best) == list(range(120)) and best[0] == 0
    assert tour_length(d, best) < 0.95 * tour_length(d, nn)


def test_many_points_over_many_drones_balance_the_makespan() -> None:
    rng = np.random.default_rng(11)
    pts = []
    for e, n in rng.uniform(-800, 800, (60, 2)):
        lon, lat = ll(float(e), float(n))
        pts.append(InspectionPoint(lat=lat, lon=lon, alt_m=40))
    one = plan_points(pts, drones(1, 60, at=(0, 0)), budget_s=0.3)
    three = plan_points(pts, drones(3, 60, at=(0, 0)), budget_s=0.3)
    visited = sorted(
        (round(it.lat, 9), round(it.lon, 9))
        for s in three.sorties
        for it in s.plan.items
        if it.command == MavCmd.NAV_WAYPOINT
    )
    assert visited == sorted((round(p.lat, 9), round(p.lon, 9)) for p in pts)
    assert three.stats.makespan_s < 0.5 * one.stats.makespan_s
    assert len(path_xy(three.sorties[0].plan)) > 2


def test_lanes_longer_than_a_battery_are_cut_between_sorties() -> None:
    # A 2 km strip, 6 min batteries (4.8 min usable, 2.9 km at 10 m/s): lanes must be cut.
    area = polygon_ll([(0, 0), (2000, 0), (2000, 120), (0, 120)])
    r = plan_survey(area, drones(2, 6, at=(1000, -20)), camera=CAM, alt_m=60)
    assert len(r.sorties) >= 4
    for s in r.sorties:
        assert s.stats.duration_s <= 6 * 60 * 0.8 + 1e-6
    lanes = [ln for s in r.sorties for ln in flown_lanes(s.plan)]
    field = Polygon([(0, 0), (2000, 0), (2000, 120), (0, 120)])
    covered = unary_union([ln.buffer(CAM.footprint_m(60)[0] / 2) for ln in lanes]).intersection(field)
    assert covered.area / field.area >= 0.99
