"""Mission file formats: real files from other tools, round trips, refusals, broken inputs."""

from __future__ import annotations

import json
import math
from pathlib import Path

import pytest
from missions_testkit import assert_same_plan, interop

from core.errors import BadInput
from missions.formats.convert import convert, mission_text, read_mission, write_mission
from missions.formats.geojson import read_geojson
from missions.formats.kml import read_kml
from missions.formats.qgc_plan import plan_document, read_plan
from missions.formats.waypoints import read_waypoints
from missions.items import FenceCircle, FencePolygon, MavCmd, MissionItem, MissionPlan

QGC_SAMPLE = "mavsdk_qgroundcontrol_sample.plan"
ARDUPILOT = "ardupilot_copter_mission_CHIAI.waypoints"


def test_real_qgc_plan_reads_null_params_as_nan_and_keeps_home() -> None:
    plan = read_mission(interop(QGC_SAMPLE))
    assert [it.command for it in plan.items] == [22, 16, 2000, 16, 16, 20]
    assert math.isnan(plan.items[0].param4) and plan.items[0].param1 == 15
    assert plan.items[2].frame == 2 and plan.items[2].param3 == 1
    assert plan.home_alt_amsl_m == pytest.approx(488.93101752, abs=1e-6)
    assert plan.cruise_speed_m_s == 15 and plan.hover_speed_m_s == 5


def test_real_ardupilot_waypoints_home_line_and_condition_yaw() -> None:
    plan = read_mission(interop(ARDUPILOT))
    assert (plan.home_lat, plan.home_lon, plan.home_alt_amsl_m) == (23.457822, 120.276008, 19.5)
    assert [it.command for it in plan.items] == [22, 16, 115, 21]
    assert plan.items[2].frame == 0 and plan.items[2].param1 == 180


@pytest.mark.parametrize("name", [QGC_SAMPLE, ARDUPILOT])
@pytest.mark.parametrize("via", [".plan", ".waypoints", ".geojson"])
def test_real_files_round_trip_through_every_format_that_carries_them(tmp_path: Path, name: str, via: str) -> None:
    src = interop(name)
    original = read_mission(src)
    mid = tmp_path / f"mid{via}"
    convert(src, mid)
    back = tmp_path / f"back{src.suffix}"
    convert(mid, back)
    # .waypoints has no cruise/hover speed fields; everything flown is kept.
    assert_same_plan(original, read_mission(back), speeds=via != ".waypoints" and src.suffix != ".waypoints")
    assert_same_plan(original, read_mission(mid), speeds=False)


def test_real_plan_written_back_keeps_qgc_layout(tmp_path: Path) -> None:
    out = tmp_path / "out.plan"
    convert(interop(QGC_SAMPLE), out)
    doc = json.loads(out.read_text())
    assert doc["fileType"] == "Plan" and doc["mission"]["version"] == 2
    first = doc["mission"]["items"][0]
    assert first["type"] == "SimpleItem" and first["params"][3] is None and len(first["params"]) == 7
    assert doc["mission"]["plannedHomePosition"][2] == pytest.approx(488.93101752001763)


def test_kml_refuses_items_without_position_unless_lossy(tmp_path: Path) -> None:
    src = interop(QGC_SAMPLE)
    with pytest.raises(BadInput, match=r"KML cannot carry 2 item\(s\) without a position \(2:IMAGE_START_CAPTURE"):
        convert(src, tmp_path / "x.kml")
    assert not (tmp_path / "x.kml").exists()
    convert(src, tmp_path / "x.kml", lossy=True)
    kept = read_kml(tmp_path / "x.kml")
    positional = [it for it in read_mission(src).items if it.lat or it.lon]
    assert len(kept.items) == len(positional) == 4
    for a, b in zip(kept.items, positional, strict=True):
        assert (a.command, a.frame) == (b.command, b.frame)
        assert abs(a.lat - b.lat) < 1e-7 and abs(a.lon - b.lon) < 1e-7 and abs(a.alt - b.alt) < 0.01


def _rich_plan() -> MissionPlan:
    """Everything a plan can hold: DO_JUMP, triggers, gimbal, loiter, fence, rally, AMSL frame."""
    nan = math.nan
    items = [
        MissionItem(MavCmd.NAV_TAKEOFF, 3, 0, 0, 0, nan, 31.2301234, 121.4701234, 40.25),
        MissionItem(MavCmd.DO_CHANGE_SPEED, 2, 1, 8.5, -1, 0),
        MissionItem(MavCmd.DO_SET_CAM_TRIGG_DIST, 2, 12.3456789, 0, 1, 0),
        MissionItem(MavCmd.NAV_WAYPOINT, 3, 2, 1.5, 0, 93.25, 31.2312345678, 121.4712345678, 55.555),
        MissionItem(MavCmd.NAV_LOITER_TURNS, 0, 2, 0, -25, 0, 31.232, 121.472, 512.34),
        MissionItem(MavCmd.DO_MOUNT_CONTROL, 2, -45, 0, 30, 0, 0, 0, 2),
        MissionItem(MavCmd.DO_JUMP, 2, 4, 3, 0, 0),
        MissionItem(MavCmd.NAV_WAYPOINT, 3, 0, 0, 0, nan, -33.8688197, 151.2092955, 30, autocontinue=False),
        MissionItem(MavCmd.NAV_RETURN_TO_LAUNCH, 2),
    ]
    return MissionPlan(
        items=items,
        home_lat=31.23,
        home_lon=121.47,
        home_alt_amsl_m=4.56,
        cruise_speed_m_s=12,
        hover_speed_m_s=6,
        fence_polygons=[
            FencePolygon([(31.22, 121.46), (31.24, 121.46), (31.24, 121.48)], True),
            FencePolygon([(31.231, 121.471), (31.232, 121.471), (31.232, 121.472)], False),
        ],
        fence_circles=[FenceCircle(31.235, 121.475, 80.5, False)],
        rally_points=[(31.225, 121.465, 35.0)],
    )


@pytest.mark.parametrize("fmt", ["plan", "geojson"])
def test_rich_plan_round_trips_losslessly(fmt: str) -> None:
    plan = _rich_plan()
    reader = {"plan": read_plan, "geojson": read_geojson}[fmt]
    assert_same_plan(plan, reader(mission_text(plan, fmt)))


def test_waypoints_refuse_fence_and_rally_but_keep_items_when_lossy() -> None:
    plan = _rich_plan()
    with pytest.raises(BadInput, match=r"cannot carry 3 geofence shape\(s\); 1 rally point"):
        mission_text(plan, "waypoints")
    back = read_waypoints(mission_text(plan, "waypoints", lossy=True))
    assert_same_plan(plan, back, speeds=False, fence=False)
    jump = back.items[6]
    assert (jump.command, jump.param1, jump.param2) == (MavCmd.DO_JUMP, 4, 3)


def test_kml_carries_polygons_and_positions() -> None:
    plan = _rich_plan()
    plan.items = [it for it in plan.items if it.lat or it.lon]
    plan.fence_circles, plan.rally_points = [], []
    back = read_kml(mission_text(plan, "kml"))
    assert_same_plan(plan, back, speeds=False)


OLD_AND_COMPLEX = {
    "fileType": "Plan",
    "version": 1,
    "groundStation": "QGroundControl",
    "geoFence": {"polygon": [[47.1, 8.1], [47.2, 8.1], [47.2, 8.2]], "version": 1},
    "rallyPoints": {"points": [[47.15, 8.15, 20]], "version": 1},
    "mission": {
        "version": 2,
        "firmwareType": 3,
        "vehicleType": 2,
        "plannedHomePosition": [47.1, 8.1, 400],
        "items": [
            {
                "type": "SimpleItem",
                "command": 22,
                "frame": 3,
                "autoContinue": True,
                "doJumpId": 1,
                "coordinate": [47.10001, 8.10002, 30],
                "param1": 0,
                "param2": 0,
                "param3": 0,
                "param4": None,
            },
            {
                "type": "ComplexItem",
                "complexItemType": "survey",
                "version": 4,
                "polygon": [[47.1, 8.1], [47.101, 8.1], [47.101, 8.102], [47.1, 8.102]],
                "TransectStyleComplexItem": {
                    "CameraCalc": {
                        "DistanceToSurface": 50,
                        "AdjustedFootprintSide": 30,
                        "AdjustedFootprintFrontal": 20,
                    },
                    "TurnAroundDistance": 10,
                    "version": 1,
                    "Items": [
                        {
                            "type": "SimpleItem",
                            "command": 16,
                            "frame": 3,
                            "autoContinue": True,
                            "params": [0, 0, 0, None, 47.1001, 8.1001, 50],
                        },
                        {
                            "type": "SimpleItem",
                            "command": 206,
                            "frame": 2,
                            "autoContinue": True,
                            "params": [20, 0, 1, 0, 0, 0, 0],
                        },
                        {
                            "type": "SimpleItem",
                            "command": 16,
                            "frame": 3,
                            "autoContinue": True,
                            "params": [0, 0, 0, None, 47.1009, 8.1001, 50],
                        },
                    ],
                },
            },
            {
                "type": "ComplexItem",
                "complexItemType": "survey",
                "version": 3,
                "grid": {"altitude": 60, "angle": 0, "spacing": 25, "turnAroundDistance": 0},
                "polygon": [[47.1, 8.1], [47.101, 8.1], [47.101, 8.101]],
                "items": [
                    {
                        "type": "missionItem",
                        "command": 16,
                        "frame": 3,
                        "autoContinue": True,
                        "coordinate": [47.1005, 8.1005, 60],
                        "param1": 0,
                        "param2": 0,
                        "param3": 0,
                        "param4": 0,
                    }
                ],
            },
        ],
    },
}


def test_old_forms_and_complex_items_with_embedded_items() -> None:
    plan = read_plan(json.dumps(OLD_AND_COMPLEX))
    assert [it.command for it in plan.items] == [22, 16, 206, 16, 16]
    assert plan.items[0].lat == 47.10001 and math.isnan(plan.items[0].param4)
    assert plan.items[2].param1 == 20
    assert len(plan.fence_polygons) == 1 and plan.fence_polygons[0].inclusion
    assert plan.rally_points == [(47.15, 8.15, 20.0)]


def _complex(kind: str, **extra: object) -> str:
    doc = {
        "fileType": "Plan",
        "version": 1,
        "mission": {
            "version": 2,
            "plannedHomePosition": [47.1, 8.1, 400],
            "items": [{"type": "ComplexItem", "complexItemType": kind, **extra}],
        },
    }
    return json.dumps(doc)


CALC = {"DistanceToSurface": 40, "AdjustedFootprintSide": 20, "AdjustedFootprintFrontal": 15}


def test_survey_without_items_is_regenerated_over_the_polygon() -> None:
    poly = [[47.1, 8.1], [47.101, 8.1], [47.101, 8.1015], [47.1, 8.1015]]  # ~111 m x 113 m
    plan = read_plan(
        _complex(
            "survey",
            version=5,
            polygon=poly,
            angle=0,
            TransectStyleComplexItem={"CameraCalc": CALC, "TurnAroundDistance": 0},
        )
    )
    wps = [it for it in plan.items if it.command == MavCmd.NAV_WAYPOINT]
    trig = [it.param1 for it in plan.items if it.command == MavCmd.DO_SET_CAM_TRIGG_DIST]
    assert len(wps) == 2 * 6  # 113 m / 20 m -> 6 lanes of two ends
    assert set(trig) == {15.0, 0.0} and all(it.alt == 40 for it in wps)
    lons = sorted({round(it.lon, 6) for it in wps})
    assert lons[0] > 8.1 and lons[-1] < 8.1015  # lanes inside the polygon, north-south at angle 0


def test_corridor_and_structure_scans_are_regenerated() -> None:
    corridor = read_plan(
        _complex(
            "CorridorScan",
            version=3,
            polyline=[[47.1, 8.1], [47.102, 8.1]],
            CorridorWidth=50,
            TransectStyleComplexItem={"CameraCalc": CALC, "TurnAroundDistance": 5},
        )
    )
    wps = [it for it in corridor.items if it.command == MavCmd.NAV_WAYPOINT]
    assert len(wps) == 3 * 4  # ceil(50 / 20) = 3 passes, each turnaround + 2 ends + turnaround
    structure = read_plan(
        _complex(
            "StructureScan",
            version=3,
            polygon=[[47.1, 8.1], [47.1002, 8.1], [47.1002, 8.1003]],
            CameraCalc=CALC,
            StructureHeight=30,
            Layers=2,
            EntranceAltitude=60,
            GimbalPitch=0,
        )
    )
    alts = sorted({it.alt for it in structure.items if it.command == MavCmd.NAV_WAYPOINT})
    assert alts == [7.5, 22.5, 60.0]


@pytest.mark.parametrize(
    ("suffix", "text", "message"),
    [
        (
            ".plan",
            '{"fileType": "Plan", "mission": {"items": [{"type": "SimpleItem", "command": 16, "par',
            r"bad\.plan: not valid JSON at line 1 column \d+: .*truncated",
        ),
        (".plan", _complex("fwLandingPattern"), r"mission item 0 \(fwLandingPattern\): complex item type"),
        (
            ".waypoints",
            "QGC WPL 110\n0\t1\t0\t16\t0\t0\t0\t0\t1\t2\t3\t1\n1\t0\t3\t16\t0\t0\t0\n",
            r"bad\.waypoints: line 3: expected 12 fields, got 7",
        ),
        (".waypoints", "hello\n", r"bad\.waypoints: line 1: not a QGC WPL file"),
        (
            ".kml",
            '<kml xmlns="http://www.opengis.net/kml/2.2"><Document><Placemark><name>gate</name>'
            "</Placemark></Document></kml>",
            r"bad\.kml: Placemark 1 'gate' has no geometry",
        ),
        (
            ".geojson",
            '{"type": "FeatureCollection", "features": [{"type": "Feature", "geometry": null, '
            '"properties": {"role": "item"}}]}',
            r"feature 1: item without 'command'",
        ),
    ],
)
def test_broken_files_give_one_clear_bad_input(tmp_path: Path, suffix: str, text: str, message: str) -> None:
    path = tmp_path / f"bad{suffix}"
    path.write_text(text)
    with pytest.raises(BadInput, match=message) as exc:
        read_mission(path)
    assert "\n" not in str(exc.value)


def test_unknown_suffix_and_missing_file(tmp_path: Path) -> None:
    with pytest.raises(BadInput, match=r"unknown mission format '\.docx'"):
        read_mission(tmp_path / "a.docx")
    with pytest.raises(BadInput, match="no such file"):
        read_mission(tmp_path / "a.plan")


def test_written_plan_has_no_nan_tokens(tmp_path: Path) -> None:
    out = tmp_path / "x.plan"
    write_mission(_rich_plan(), out)
    assert "NaN" not in out.read_text()
    json.loads(out.read_text())
    assert plan_document(_rich_plan())["geoFence"]["circles"][0]["inclusion"] is False


def test_intermediate_qgc_form_coordinate_with_four_params() -> None:
    # QGC wrote this between the old and the current layouts: "coordinate" plus a 4-long "params".
    doc = {
        "fileType": "Plan",
        "geoFence": {"polygon": [], "version": 1},
        "rallyPoints": {"points": [], "version": 1},
        "mission": {
            "version": 2,
            "firmwareType": 12,
            "plannedHomePosition": [30.1, 120.1, 12],
            "items": [
                {
                    "type": "SimpleItem",
                    "command": 22,
                    "frame": 3,
                    "autoContinue": True,
                    "coordinate": [30.1001, 120.1002, 25],
                    "params": [0, 0, 0, None],
                },
                {
                    "type": "SimpleItem",
                    "command": 205,
                    "frame": 2,
                    "autoContinue": True,
                    "coordinate": [0, 0, 2],
                    "params": [-90, 0, 0, 0],
                },
            ],
        },
    }
    plan = read_plan(json.dumps(doc))
    assert (plan.items[0].lat, plan.items[0].alt) == (30.1001, 25) and math.isnan(plan.items[0].param4)
    assert plan.items[1].param1 == -90 and plan.items[1].alt == 2 and not plan.fence_polygons


def test_oldest_mission_file_without_file_type(tmp_path: Path) -> None:
    doc = {
        "firmwareType": 3,
        "groundStation": "QGroundControl",
        "version": 2,
        "plannedHomePosition": [30.2, 120.2, 0],
        "items": [
            {
                "type": "SimpleItem",
                "command": 18,
                "frame": 3,
                "autoContinue": True,
                "doJumpId": 1,
                "coordinate": [30.2003, 120.2004, 15],
                "params": [2, 0, 0, 0],
            }
        ],
    }
    f = tmp_path / "old.mission"
    f.write_text(json.dumps(doc))
    plan = read_mission(f)
    assert plan.items[0].command == MavCmd.NAV_LOITER_TURNS and plan.items[0].param1 == 2
    assert (plan.home_lat, plan.home_lon) == (30.2, 120.2)


def test_qgc_polygon_kml_as_survey_area(tmp_path: Path) -> None:
    from missions.inputs import read_area

    ring = "121.3400,30.7400,0 121.3450,30.7400,0 121.3450,30.7440,0 121.3400,30.7440,0 121.3400,30.7400,0 "
    f = tmp_path / "area.kml"
    f.write_text(
        '<?xml version="1.0" encoding="UTF-8"?>\n<kml xmlns="http://www.opengis.net/kml/2.2" '
        'xmlns:gx="http://www.google.com/kml/ext/2.2"><Document><name>a.kmz</name>'
        '<Style id="s"><IconStyle><scale>1.1</scale></IconStyle></Style><Placemark><name>Field</name>'
        "<styleUrl>#s</styleUrl><Polygon><tessellate>1</tessellate><outerBoundaryIs><LinearRing>"
        f"<coordinates>\n\t\t{ring}\n\t</coordinates></LinearRing></outerBoundaryIs></Polygon></Placemark>"
        "</Document></kml>\n"
    )
    area = read_area(f)
    assert area.bounds == pytest.approx((121.34, 30.74, 121.345, 30.744))
