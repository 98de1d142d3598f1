"""`skypatrol plan ...` as a user runs it: files written, summaries, exit 2 with one line."""

from __future__ import annotations

import json
from pathlib import Path

import pytest
from missions_testkit import interop
from planning_kit import ll
from typer.testing import CliRunner

from missions.cli import app
from missions.formats.convert import read_mission
from missions.items import MavCmd

runner = CliRunner()


def _area(tmp_path: Path, size: float = 500) -> Path:
    ring = [ll(0, 0), ll(size, 0), ll(size, size), ll(0, size), ll(0, 0)]
    hole = [ll(100, 100), ll(200, 100), ll(200, 200), ll(100, 200), ll(100, 100)]
    f = tmp_path / "area.geojson"
    f.write_text(
        json.dumps(
            {
                "type": "FeatureCollection",
                "features": [
                    {
                        "type": "Feature",
                        "properties": {},
                        "geometry": {"type": "Polygon", "coordinates": [ring, hole]},
                    }
                ],
            }
        )
    )
    return f


def test_survey_writes_one_plan_per_sortie_and_prints_a_summary(tmp_path: Path) -> None:
    out = tmp_path / "out.plan"
    res = runner.invoke(
        app,
        [
            "survey",
            str(_area(tmp_path, 900)),
            "--gsd-cm",
            "2",
            "--camera",
            "dji-phantom4-rtk",
            "--front-overlap",
            "75",
            "--side-overlap",
            "65",
            "--drones",
            "2",
            "--endurance-min",
            "12",
            "-o",
            str(out),
        ],
    )
    assert res.exit_code == 0, res.output
    assert "coverage" in res.output and "sorties" in res.output and "GSD 2.00 cm/px" in res.output
    files = sorted(tmp_path.glob("out-*.plan"))
    assert len(files) >= 2 and not out.exists()
    for f in files:
        plan = read_mission(f)
        assert plan.items[0].command == MavCmd.NAV_TAKEOFF and plan.items[-1].command == MavCmd.NAV_RETURN_TO_LAUNCH


def test_survey_json_with_spacing_angle_and_zones(tmp_path: Path) -> None:
    zones = tmp_path / "zones.geojson"
    ring = [ll(300, 300), ll(400, 300), ll(400, 400), ll(300, 400), ll(300, 300)]
    zones.write_text(
        json.dumps(
            {
                "type": "FeatureCollection",
                "features": [
                    {
                        "type": "Feature",
                        "geometry": {"type": "Polygon", "coordinates": [ring]},
                        "properties": {"id": "nofly", "restriction": "PROHIBITED"},
                    }
                ],
            }
        )
    )
    out = tmp_path / "s.waypoints"
    res = runner.invoke(
        app,
        [
            "survey",
            str(_area(tmp_path)),
            "--alt-m",
            "60",
            "--spacing-m",
            "40",
            "--angle",
            "30",
            "--zones",
            str(zones),
            "--json",
            "-o",
            str(out),
        ],
    )
    assert res.exit_code == 0, res.output
    doc = json.loads(res.stdout)
    assert doc["spacing_m"] == 40 and doc["angle_deg"] == 30 and doc["not_covered_m2"] > 10000
    assert doc["notes"][0].startswith("not covered:")
    assert read_mission(out).items


def test_corridor_from_kml_and_points_from_geojson(tmp_path: Path) -> None:
    kml = tmp_path / "road.kml"
    coords = " ".join(f"{lon},{lat},0" for lon, lat in (ll(0, 0), ll(400, 0), ll(600, 200)))
    kml.write_text(
        f'<kml xmlns="http://www.opengis.net/kml/2.2"><Document><Placemark><name>road</name>'
        f"<LineString><coordinates>{coords}</coordinates></LineString></Placemark></Document></kml>"
    )
    res = runner.invoke(app, ["corridor", str(kml), "--width-m", "80", "--alt-m", "50", "-o", str(tmp_path / "c.plan")])
    assert res.exit_code == 0, res.output
    pts = tmp_path / "pts.geojson"
    feats = [
        {
            "type": "Feature",
            "geometry": {"type": "Point", "coordinates": list(ll(e, n))},
            "properties": {"action": a, "alt_m": 40},
        }
        for (e, n), a in [((100, 0), "hover"), ((0, 200), "orbit"), ((150, 150), "photo")]
    ]
    pts.write_text(json.dumps({"type": "FeatureCollection", "features": feats}))
    res = runner.invoke(
        app,
        [
            "points",
            str(pts),
            "--land-at",
            "pad:" + ",".join(map(str, ll(10, 10)[::-1])),
            "-o",
            str(tmp_path / "p.geojson"),
        ],
    )
    assert res.exit_code == 0, res.output
    plan = read_mission(tmp_path / "p.geojson")
    assert plan.items[-1].command == MavCmd.NAV_LAND
    assert any(it.command == MavCmd.NAV_LOITER_TURNS for it in plan.items)


def test_convert_real_file_and_refusal(tmp_path: Path) -> None:
    src = interop("mavsdk_qgroundcontrol_sample.plan")
    res = runner.invoke(app, ["convert", str(src), str(tmp_path / "a.waypoints")])
    assert res.exit_code == 0 and "6 items" in res.stdout
    res = runner.invoke(app, ["convert", str(src), str(tmp_path / "a.kml")])
    assert res.exit_code == 2 and "KML cannot carry" in res.stderr and not (tmp_path / "a.kml").exists()
    res = runner.invoke(app, ["convert", str(src), str(tmp_path / "a.kml"), "--lossy"])
    assert res.exit_code == 0


BROKEN = {
    "nogeom.kml": '<kml xmlns="http://www.opengis.net/kml/2.2"><Document><Placemark><name>x</name></Placemark>'
    "</Document></kml>",
    "trunc.plan": '{"fileType": "Plan", "mission": {"items": [',
    "short.waypoints": "QGC WPL 110\n0\t1\t0\t16\t0\t0\t0\t0\t1\t2\t3\t1\n1\t0\t3\t16\t0\t0\n",
}


@pytest.mark.parametrize(
    ("name", "cmd", "needle"),
    [
        ("nogeom.kml", "survey", "Placemark 1 'x' has no geometry"),
        ("nogeom.kml", "convert", "Placemark 1 'x' has no geometry"),
        ("trunc.plan", "convert", "looks truncated"),
        ("short.waypoints", "convert", "line 3: expected 12 fields, got 6"),
    ],
)
def test_broken_inputs_exit_2_with_one_line(tmp_path: Path, name: str, cmd: str, needle: str) -> None:
    f = tmp_path / name
    f.write_text(BROKEN[name])
    args = (
        ["survey", str(f), "--alt-m", "50", "-o", str(tmp_path / "o.plan")]
        if cmd == "survey"
        else ["convert", str(f), str(tmp_path / "o.geojson")]
    )
    res = runner.invoke(app, args)
    assert res.exit_code == 2
    lines = res.stderr.strip().splitlines()
    assert len(lines) == 1 and needle in lines[0] and str(f) in lines[0]
    assert "Traceback" not in res.output


@pytest.mark.parametrize(
    "args",
    [
        ["--camera", "nope"],
        ["--gsd-cm", "9"],
        ["--home", "abc"],
        ["--drones", "0"],
        ["--front-overlap", "120"],
    ],
)
def test_bad_options_exit_2(tmp_path: Path, args: list[str]) -> None:
    base = ["survey", str(_area(tmp_path)), "-o", str(tmp_path / "x.plan")]
    if "--gsd-cm" not in args:
        base += ["--alt-m", "50"]
    res = runner.invoke(app, base + args)
    assert res.exit_code == 2 and len(res.stderr.strip().splitlines()) == 1, res.output


def test_planning_to_kml_is_refused_unless_lossy(tmp_path: Path) -> None:
    args = ["survey", str(_area(tmp_path)), "--alt-m", "60", "-o", str(tmp_path / "s.kml")]
    res = runner.invoke(app, args)
    assert res.exit_code == 2 and "KML cannot carry" in res.stderr and not (tmp_path / "s.kml").exists()
    res = runner.invoke(app, [*args, "--lossy"])
    assert res.exit_code == 0 and (tmp_path / "s.kml").exists()
