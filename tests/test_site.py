"""The default site bundle: it loads, and its default patrols plan and pass the airspace check."""

from __future__ import annotations

import json
from pathlib import Path

import pytest

from airspace.formats import read_zone_file
from tests.conftest import ROOT
from tests.test_cli import sp

SITE = ROOT / "sites" / "jinshan"


def test_site_files_load() -> None:
    site = json.loads((SITE / "site.json").read_text())
    zones = read_zone_file(SITE / site["zones"])
    assert {z.restriction.value for z in zones} == {"PROHIBITED", "REQ_AUTHORISATION", "CONDITIONAL",
                                                    "NO_RESTRICTION"}
    roads = json.loads((SITE / site["roads"]).read_text())
    road_ids = {f["properties"]["id"] for f in roads["features"]}
    assert {p["road"] for p in site["patrols"]} <= road_ids
    assert len(site["drones"]) == 3 and {d["dock"] for d in site["drones"]} == {d["id"] for d in site["docks"]}


@pytest.mark.parametrize("patrol_index", [0, 1])
def test_default_patrols_are_flyable_and_clear(tmp_path: Path, patrol_index: int) -> None:
    site = json.loads((SITE / "site.json").read_text())
    patrol = site["patrols"][patrol_index]
    roads = json.loads((SITE / site["roads"]).read_text())
    road = next(f for f in roads["features"] if f["properties"]["id"] == patrol["road"])
    line = tmp_path / "road.geojson"
    line.write_text(json.dumps({"type": "FeatureCollection", "features": [road]}))
    dock = site["docks"][0]
    out = tmp_path / "patrol.plan"
    zones = str(SITE / site["zones"])
    r = sp("plan", "corridor", str(line), "--width-m", str(patrol["width_m"]), "--alt-m", str(patrol["alt_m"]),
           "--zones", zones, "--home", f"{dock['lat']},{dock['lon']},{dock['alt_amsl_m']}",
           "--at", "2026-11-25T10:00:00+08:00", "-o", str(out), tmp=tmp_path)
    assert r.returncode == 0, r.stderr
    assert "not covered: 0 m²" in r.stdout
    # Checked at a school-day morning, when the conditional school zone is in force.
    check = sp("airspace", "check", str(out), "--zones", zones, "--at", "2026-11-25T10:00:00+08:00", "--json",
               tmp=tmp_path)
    assert check.returncode == 0, check.stdout + check.stderr
    assert json.loads(check.stdout) == {"clear": True, "violations": []}
