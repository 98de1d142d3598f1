"""Route and position checks: geometry in 3D, time, rules, order."""

from __future__ import annotations

from datetime import UTC, datetime

import numpy as np
import pytest
from airspace_testkit import HOME_AMSL_M, circle, latlon, route, square, square_ring, volume, zone

from airspace.check import check_positions, check_route
from airspace.index import ZoneIndex
from airspace.model import Restriction
from airspace.route import Route, RoutePoint
from airspace.rules import CheckOptions, DroneClass

AT = datetime(2025, 3, 3, 10, 0, tzinfo=UTC)  # Monday 10:00 UTC


def run(zones, r, at=AT, options=None, home_amsl=HOME_AMSL_M):  # type: ignore[no-untyped-def]
    return check_route(r, at, home_amsl, ZoneIndex(zones), options)


def test_segment_crossing_between_outside_waypoints() -> None:
    z = zone("NFZ", "PROHIBITED", volume(square(400, -50, 500, 50)))
    result = run([z], route((0, 0, 50), (1000, 0, 50)))
    (v,) = result.violations
    assert (v.zone_id, v.restriction, v.kind) == ("NFZ", Restriction.PROHIBITED, "zone")
    assert v.waypoint_index is None and v.segment_index == 1  # the leg from item 0 to item 1
    lat, lon = latlon(400, 0)
    assert v.lat == pytest.approx(lat, abs=1e-7) and v.lon == pytest.approx(lon, abs=1e-7)
    assert v.alt_rel_m == pytest.approx(50) and v.alt_amsl_m == pytest.approx(54)
    assert "NFZ" in v.detail
    # The same leg passing beside the zone is clear.
    assert run([z], route((0, 0, 50), (1000, 200, 50))).clear


def test_waypoints_inside_are_one_violation_named_by_the_first_waypoint() -> None:
    z = zone("A", "PROHIBITED", volume(square(-100, 900, 100, 1100)))
    result = run([z], route((0, 0, 50), (0, 1000, 50), (50, 1000, 50), (0, 2000, 50), (0, 1000, 50)))
    # Two stretches inside: items 1-2 (entered on the leg to item 1), and item 4 again.
    assert [(v.waypoint_index, v.segment_index) for v in result.violations] == [(1, None), (4, None)]
    assert result.violations[0].lat == pytest.approx(latlon(0, 900)[0], abs=1e-7)  # the first point inside
    assert result.violations[1].lat == pytest.approx(latlon(0, 1100)[0], abs=1e-7)


def test_home_inside_zone_is_reported_on_the_climb() -> None:
    z = zone("H", "PROHIBITED", volume(circle(0, 0, 30)))
    (v,) = run([z], route((0, 0, 40), (500, 0, 40))).violations
    assert v.waypoint_index == 0 and v.segment_index is None  # the take-off point is inside
    assert v.alt_rel_m == pytest.approx(0.0)  # first inside: home, on the ground
    (v,) = run([z], route((100, 0, 40), (500, 0, 40))).violations
    assert v.segment_index == 0 and v.waypoint_index is None


def test_circles() -> None:
    z = zone("C", "PROHIBITED", volume(circle(500, 0, 100)))
    (v,) = run([z], route((0, 0, 30), (1000, 0, 30))).violations
    assert v.lat == pytest.approx(latlon(400, 0)[0], abs=2e-7)
    assert run([z], route((0, 105, 30), (1000, 105, 30))).clear  # passes 5 m outside the circle
    assert not run([z], route((0, 99, 30), (1000, 99, 30))).clear


def test_overflying_a_zone_whose_ceiling_is_below_is_clear() -> None:
    z = zone("LOW", "PROHIBITED", volume(square(400, -50, 500, 50), lower=0, upper=40))
    assert run([z], route((0, 0, 60), (1000, 0, 60))).clear
    assert not run([z], route((0, 0, 40), (1000, 0, 40))).clear  # at the ceiling counts as inside


def test_altitude_interpolated_along_the_leg() -> None:
    # Climbing from 0 to 100 m over 1000 m: at east 400..500 the drone is at 40..50 m.
    z = zone("BAND", "PROHIBITED", volume(square(400, -50, 500, 50), lower=45, upper=60))
    (v,) = run([z], route((0, 0, 0), (1000, 0, 100))).violations
    assert v.alt_rel_m == pytest.approx(45.0)
    assert v.lat == pytest.approx(latlon(450, 0)[0], abs=1e-7) and v.lon == pytest.approx(latlon(450, 0)[1], abs=1e-7)
    below = zone("HIGH", "PROHIBITED", volume(square(400, -50, 500, 50), lower=55, upper=300))
    assert run([below], route((0, 0, 0), (1000, 0, 100))).clear  # below its floor while over it


def test_wedding_cake() -> None:
    cake = zone(
        "CAKE",
        "PROHIBITED",
        volume(square(-100, 900, 100, 1100), lower=0, upper=200),  # inner: ground to 200 m
        volume(square(-500, 500, 500, 1500), lower=60, upper=200),  # outer: 60 m and up
    )
    assert run([cake], route((-1000, 1000, 50), (-150, 1000, 50), (-150, 2000, 50))).clear  # under the brim
    (v,) = run([cake], route((-1000, 1000, 50), (0, 1000, 50))).violations
    assert v.lat == pytest.approx(latlon(-100, 1000)[0], abs=1e-7)
    assert v.lon == pytest.approx(latlon(-100, 1000)[1], abs=1e-7)
    (v,) = run([cake], route((-1000, 1000, 80), (0, 1000, 80))).violations
    assert v.lon == pytest.approx(latlon(-500, 1000)[1], abs=1e-7)


def test_feet_and_amsl_limits() -> None:
    # 200 ft AMSL = 60.96 m AMSL = 56.96 m above a home at 4 m AMSL.
    z = zone(
        "FT",
        "PROHIBITED",
        volume(
            square(400, -50, 500, 50),
            lower=200,
            upper=1000,
            lower_reference="AMSL",
            upper_reference="AMSL",
            unit="FT",
        ),
    )
    assert run([z], route((0, 0, 56.5), (1000, 0, 56.5))).clear
    (v,) = run([z], route((0, 0, 57.5), (1000, 0, 57.5))).violations
    assert v.alt_amsl_m == pytest.approx(61.5)
    # The same route from a home 10 m higher is inside.
    assert not run([z], route((0, 0, 56.5), (1000, 0, 56.5)), home_amsl=14.0).clear


def test_polygon_with_hole() -> None:
    hole = square_ring(-100, 900, 100, 1100)
    z = zone("RING", "PROHIBITED", volume(square(-500, 500, 500, 1500, holes=[hole[::-1]])))
    # Taking off and landing in the hole but crossing the ring on the way is a violation.
    assert not run([z], route((0, 0, 30), (0, 1000, 30))).clear
    r = Route((RoutePoint(*latlon(0, 1000), 0.0, None, False), RoutePoint(*latlon(0, 1050), 30, 0)))
    assert run([z], r).clear


def test_only_zones_in_force_at_the_time() -> None:
    window = {"start": "2025-03-03T09:00:00Z", "end": "2025-03-03T11:00:00Z"}
    z = zone("TEMP", "PROHIBITED", volume(square(400, -50, 500, 50)), applicability=[window])
    r = route((0, 0, 30), (1000, 0, 30))
    assert not run([z], r, at=AT).clear
    assert run([z], r, at=datetime(2025, 3, 3, 11, 0, tzinfo=UTC)).clear
    weekly = zone(
        "WEEK",
        "PROHIBITED",
        volume(square(400, -50, 500, 50)),
        applicability=[{"schedule": [{"days": ["SAT", "SUN"]}]}],
    )
    assert run([weekly], r, at=AT).clear
    assert not run([weekly], r, at=datetime(2025, 3, 8, 10, tzinfo=UTC)).clear


def test_authorisations_and_information_zones() -> None:
    zones = [
        zone("AUTH", "REQ_AUTHORISATION", volume(square(100, -50, 200, 50))),
        zone("COND", "CONDITIONAL", volume(square(300, -50, 400, 50))),
        zone("INFO", "NO_RESTRICTION", volume(square(500, -50, 600, 50))),
        zone("NFZ", "PROHIBITED", volume(square(700, -50, 800, 50))),
    ]
    r = route((0, 0, 30), (1000, 0, 30))
    assert [v.zone_id for v in run(zones, r).violations] == ["AUTH", "COND", "NFZ"]
    authorised = run(zones, r, options=CheckOptions(authorisations=frozenset({"AUTH", "COND", "NFZ"})))
    assert [v.zone_id for v in authorised.violations] == ["NFZ"]  # nothing authorises a prohibited zone
    assert [v.zone_id for v in authorised.notices] == ["AUTH", "COND", "INFO"]


def test_height_rule_per_drone_class() -> None:
    r = route((0, 0, 100), (1000, 0, 130), (2000, 0, 100))
    (v,) = run([], r).violations
    assert (v.kind, v.zone_id, v.restriction, v.waypoint_index, v.segment_index) == (
        "height_rule",
        None,
        None,
        1,
        None,
    )
    assert v.alt_rel_m == pytest.approx(120.0) and v.lat == pytest.approx(latlon(666.667, 0)[0], abs=1e-7)
    assert run([], route((0, 0, 120), (1000, 0, 120))).clear  # at the limit is allowed
    micro = run([], route((0, 0, 60), (500, 0, 60)), options=CheckOptions(drone_class=DroneClass.MICRO)).violations
    assert [(v.kind, v.waypoint_index, v.alt_rel_m) for v in micro] == [("height_rule", 0, pytest.approx(50.0))]
    custom = CheckOptions(height_limits_m={DroneClass.LIGHT: 150.0})
    assert run([], r, options=custom).clear
    assert run([], r, options=CheckOptions(drone_class=DroneClass.MEDIUM)).clear


def test_site_rules() -> None:
    z = zone("NFZ", "PROHIBITED", volume(square(400, 100, 500, 200)))
    r = route((0, 0, 30), (1000, 0, 30), (1000, 600, 30))
    assert run([z], r).clear
    near = run([z], r, options=CheckOptions(min_distance_from_zones_m=150)).violations
    assert [(v.kind, v.zone_id, v.segment_index) for v in near] == [("site_rule", None, 1)]
    assert "'NFZ'" in near[0].detail
    far = run([z], r, options=CheckOptions(max_distance_from_home_m=1100)).violations
    (v,) = far
    assert v.kind == "site_rule" and v.waypoint_index == 2
    assert v.lat == pytest.approx(latlon(1000, 458.26)[0], abs=1e-6)


def test_violations_sorted_deterministically() -> None:
    zones = [zone(zid, "PROHIBITED", volume(square(400, -50, 500, 50))) for zid in ("b", "a", "c")]
    zones.append(zone("early", "PROHIBITED", volume(square(100, -50, 200, 50))))
    r = route((0, 0, 150), (1000, 0, 150))
    keys = [(v.index, v.zone_id, v.kind) for v in run(zones, r).violations]
    assert keys == [
        (0, None, "height_rule"),
        (1, "a", "zone"),
        (1, "b", "zone"),
        (1, "c", "zone"),
        (1, "early", "zone"),
    ]
    assert run(list(reversed(zones)), r).violations == run(zones, r).violations


def test_dem_provider_changes_agl_limits() -> None:
    class Hill:
        resolution_m = 10.0

        def ground_amsl_m(self, lat, lon):  # type: ignore[no-untyped-def]
            return np.full(np.shape(lat), 54.0)  # 50 m above the home's ground

    z = zone("AGL", "PROHIBITED", volume(square(400, -50, 500, 50), lower=0, upper=30))
    r = route((0, 0, 70), (1000, 0, 70))
    assert run([z], r).clear  # flat: 70 m over a zone up to 30 m
    (v,) = run([z], r, options=CheckOptions(dem=Hill(), height_limits_m={})).violations  # 20 m above the hill
    assert v.zone_id == "AGL" and v.lat == pytest.approx(latlon(400, 0)[0], abs=1e-6)


def test_check_positions_matches_route_semantics() -> None:
    zones = [
        zone("NFZ", "PROHIBITED", volume(square(400, -50, 500, 50), upper=60)),
        zone("AUTH", "REQ_AUTHORISATION", volume(circle(0, 500, 80))),
        zone("INFO", "NO_RESTRICTION", volume(circle(0, -500, 80))),
    ]
    index = ZoneIndex(zones)
    pts = [(450, 0, 50), (450, 0, 70), (0, 500, 30), (0, -500, 30), (2000, 0, 30), (2000, 0, 130)]
    lat, lon = np.array([latlon(e, n) for e, n, _ in pts]).T
    alt = np.array([a for *_, a in pts]) + HOME_AMSL_M
    res = check_positions(lat, lon, alt, AT, HOME_AMSL_M, index)
    assert res.violating.tolist() == [True, False, True, False, False, True]
    assert res.above_height_limit.tolist() == [False] * 5 + [True]
    assert sorted(zip(res.zone_position.tolist(), [index.zones[i].id for i in res.zone_index], strict=True)) == [
        (0, "NFZ"),
        (2, "AUTH"),
    ]
    authorised = check_positions(
        lat, lon, alt, AT, HOME_AMSL_M, index, CheckOptions(authorisations=frozenset({"AUTH"}))
    )
    assert authorised.violating.tolist() == [True, False, False, False, False, True]


def test_check_positions_vectorised_agrees_with_one_by_one() -> None:
    rng = np.random.default_rng(7)
    zones = [
        zone(
            f"Z{i}",
            "PROHIBITED",
            volume(circle(*rng.uniform(-2000, 2000, 2), rng.uniform(20, 200)), upper=float(rng.uniform(30, 150))),
        )
        for i in range(200)
    ]
    index = ZoneIndex(zones)
    e, n = rng.uniform(-2200, 2200, (2, 500))
    lat, lon = np.array([latlon(a, b) for a, b in zip(e, n, strict=True)]).T
    alt = rng.uniform(0, 200, 500) + HOME_AMSL_M
    options = CheckOptions(height_limits_m={})
    batch = check_positions(lat, lon, alt, AT, HOME_AMSL_M, index, options).violating
    single = [
        bool(
            check_positions(lat[i : i + 1], lon[i : i + 1], alt[i : i + 1], AT, HOME_AMSL_M, index, options).violating[
                0
            ]
        )
        for i in range(500)
    ]
    assert batch.tolist() == single
    assert 0 < batch.sum() < 500
