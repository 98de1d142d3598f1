"""The QGC .plan reader (missions/formats/qgc_plan.py) and the legs a plan gives the checks."""

from __future__ import annotations

import json
import math
from pathlib import Path

import pytest
from airspace_testkit import shared_file

from airspace.route import route_from_mission
from core.errors import BadInput
from missions.formats.qgc_plan import read_plan
from missions.items import MavCmd


def test_real_qgc_plan_with_null_params_and_rtl() -> None:
    plan = read_plan(shared_file("interop", "mavsdk_qgroundcontrol_sample.plan"))
    assert [it.command for it in plan.items] == [22, 16, 2000, 16, 16, 20]
    takeoff = plan.items[0]
    assert takeoff.param1 == 15 and math.isnan(takeoff.param4)  # null -> NaN
    assert (takeoff.lat, takeoff.lon, takeoff.alt) == (47.3977507, 8.5456075, 50)
    assert plan.items[2].command == MavCmd.IMAGE_START_CAPTURE and not plan.items[2].is_positional
    assert plan.home_alt_amsl_m == pytest.approx(488.931, abs=1e-3)
    assert (plan.cruise_speed_m_s, plan.hover_speed_m_s) == (15, 5)

    r = route_from_mission(plan, plan.home_alt_amsl_m)
    # home on the ground, take-off, 3 waypoints (the camera item has no position), RTL back home
    assert [p.item_index for p in r.points] == [None, 0, 1, 3, 4, 5]
    assert r.points[-1].lat == plan.home_lat and r.points[-1].alt_rel_m == 50
    assert not r.points[-1].is_item_position and r.points[0].alt_rel_m == 0


def test_old_coordinate_form_fence_rally_and_amsl_frames(tmp_path: Path) -> None:
    doc = {
        "fileType": "Plan",
        "version": 1,
        "mission": {
            "plannedHomePosition": [30.74, 121.34, 5.0],
            "items": [
                {
                    "type": "SimpleItem",
                    "command": 22,
                    "frame": 3,
                    "coordinate": [30.741, 121.341, 30],
                    "param1": 0,
                    "param2": 0,
                    "param3": 0,
                    "param4": None,
                    "autoContinue": True,
                },
                {
                    "type": "SimpleItem",
                    "command": 16,
                    "frame": 0,
                    "coordinate": [30.742, 121.342, 65],
                    "param1": 0,
                    "param2": 0,
                    "param3": 0,
                    "param4": 0,
                },
            ],
        },
        "geoFence": {
            "polygons": [{"inclusion": True, "polygon": [[30.7, 121.3], [30.8, 121.3], [30.8, 121.4]]}],
            "circles": [{"inclusion": False, "circle": {"center": [30.75, 121.35], "radius": 50}}],
        },
        "rallyPoints": {"points": [[30.74, 121.34, 40]]},
    }
    path = tmp_path / "old.plan"
    path.write_text(json.dumps(doc))
    plan = read_plan(path)
    assert math.isnan(plan.items[0].param4) and plan.items[1].alt == 65
    assert plan.fence_polygons[0].vertices[1] == (30.8, 121.3)
    assert plan.fence_circles[0].radius_m == 50 and not plan.fence_circles[0].inclusion
    assert plan.rally_points == [(30.74, 121.34, 40)]
    assert read_plan(json.dumps(doc)).items == plan.items  # from text too
    r = route_from_mission(plan, 5.0)
    assert [p.alt_rel_m for p in r.points] == [0.0, 30, 60.0]  # 65 m AMSL over a 5 m home


@pytest.mark.parametrize(
    "text",
    [
        "{oops",
        '{"fileType": "Something else"}',
        '{"fileType": "Plan", "mission": {"items": [{"type": "SimpleItem", "command": 16, "params": [0, 0]}]}}',
        '{"fileType": "Plan", "mission": {"items": [{"type": "SimpleItem", "command": "x", "params": []}]}}',
    ],
)
def test_bad_plans_are_bad_input(text: str) -> None:
    with pytest.raises(BadInput):
        read_plan(text)


def test_a_plan_without_positions_has_no_route() -> None:
    plan = read_plan('{"fileType": "Plan", "mission": {"items": []}}')
    with pytest.raises(BadInput, match="no positional mission items"):
        route_from_mission(plan, 0.0)
