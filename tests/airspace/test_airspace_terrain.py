"""GeoTIFF DEMs: georeferencing read from the GeoTIFF tags, bilinear heights cross-checked against
scipy, clear refusals (no georeferencing, projected, off the raster, no-data), and the height rule
following the ground in `skypatrol airspace check --dem`."""

from __future__ import annotations

import json
from pathlib import Path

import numpy as np
import pytest
import tifffile
from airspace_testkit import latlon
from scipy.interpolate import RegularGridInterpolator
from test_airspace_cli import AT, plan_file, runner, zones_file

from airspace.cli import app
from airspace.terrain import GeoTiffDem
from core.errors import BadInput

LAT_TOP, LON_LEFT, STEP = 30.76, 121.32, 1 / 3600  # 1 arc-second cells, like SRTM-1


def write_dem(path: Path, heights: np.ndarray, *, nodata: float | None = None, projected: bool = False,
              area: bool = True) -> Path:
    keys = [1, 1, 0, 3, 1024, 0, 1, 1 if projected else 2, 1025, 0, 1, 1 if area else 2,
            3072 if projected else 2048, 0, 1, 32651 if projected else 4326]
    extratags = [(33550, "d", 3, (STEP, STEP, 0.0), True), (33922, "d", 6, (0, 0, 0, LON_LEFT, LAT_TOP, 0), True),
                 (34735, "H", len(keys), keys, True)]
    if nodata is not None:
        extratags.append((42113, "s", 0, f"{nodata:g}", True))
    tifffile.imwrite(path, heights.astype(np.float32), extratags=extratags, compression="zlib")
    return path


def centres(rows: int, cols: int, area: bool = True) -> tuple[np.ndarray, np.ndarray]:
    half = 0.5 if area else 0.0
    return LAT_TOP - (np.arange(rows) + half) * STEP, LON_LEFT + (np.arange(cols) + half) * STEP


def test_heights_are_bilinear_between_sample_centres(tmp_path: Path) -> None:
    rng = np.random.default_rng(3)
    heights = rng.uniform(0, 80, size=(60, 90))
    dem = GeoTiffDem(write_dem(tmp_path / "dem.tif", heights))
    lat_c, lon_c = centres(60, 90)
    assert dem.ground_amsl_m(lat_c[7], lon_c[11]) == pytest.approx(heights[7, 11], abs=1e-4)
    ref = RegularGridInterpolator((lat_c[::-1], lon_c), heights[::-1].astype(np.float32), method="linear")
    lat = rng.uniform(lat_c[-1], lat_c[0], 500)
    lon = rng.uniform(lon_c[0], lon_c[-1], 500)
    np.testing.assert_allclose(dem.ground_amsl_m(lat, lon), ref(np.column_stack([lat, lon])), atol=1e-3)
    assert dem.resolution_m == pytest.approx(STEP * 111_320 * np.cos(np.radians(LAT_TOP - 0.5 * STEP)), rel=1e-3)
    # "pixel is point": the tie point is sample (0, 0)'s centre itself.
    point = GeoTiffDem(write_dem(tmp_path / "point.tif", heights, area=False))
    assert point.ground_amsl_m(LAT_TOP, LON_LEFT) == pytest.approx(heights[0, 0], abs=1e-4)


def test_refusals_name_the_problem(tmp_path: Path) -> None:
    flat = np.full((10, 10), 5.0)
    with pytest.raises(BadInput, match="only WGS 84"):
        GeoTiffDem(write_dem(tmp_path / "utm.tif", flat, projected=True))
    tifffile.imwrite(tmp_path / "plain.tif", flat.astype(np.float32))
    with pytest.raises(BadInput, match="no GeoTIFF georeferencing"):
        GeoTiffDem(tmp_path / "plain.tif")
    (tmp_path / "junk.tif").write_text("not a tiff")
    with pytest.raises(BadInput, match="not a readable TIFF"):
        GeoTiffDem(tmp_path / "junk.tif")
    with pytest.raises(BadInput, match="no such file"):
        GeoTiffDem(tmp_path / "missing.tif")
    holes = flat.copy()
    holes[4:6, 4:6] = -32768
    dem = GeoTiffDem(write_dem(tmp_path / "holes.tif", holes, nodata=-32768))
    lat_c, lon_c = centres(10, 10)
    assert dem.ground_amsl_m(lat_c[1], lon_c[1]) == pytest.approx(5.0)
    with pytest.raises(BadInput, match="has no height near"):
        dem.ground_amsl_m(lat_c[4], lon_c[5])
    with pytest.raises(BadInput, match="does not cover"):
        dem.ground_amsl_m(LAT_TOP + 0.01, LON_LEFT + 0.001)


def test_cli_height_rule_follows_the_ground_of_the_dem(tmp_path: Path) -> None:
    # The home (4 m AMSL) stands on a bank; 300 m east the ground falls 60 m into a quarry pit.
    # Flying 100 m above home is 100 m above flat ground, but 160 m above the pit's floor.
    lat_c, lon_c = centres(120, 120)
    pit_lat, pit_lon = latlon(300, 0)
    lat_g, lon_g = np.meshgrid(lat_c, lon_c, indexing="ij")
    in_pit = (np.abs(lat_g - pit_lat) < 0.0012) & (np.abs(lon_g - pit_lon) < 0.0012)
    dem_path = write_dem(tmp_path / "pit.tif", np.where(in_pit, -56.0, 4.0))
    plan = plan_file(tmp_path, (0, 0, 100), (300, 0, 100), (300, 100, 100))
    zones = zones_file(tmp_path)  # a no-fly zone 400 m east: beside the route, not on it
    base = ["check", str(plan), "--zones", str(zones), "--at", AT, "--json", "--height-limit", "light=120"]
    assert runner.invoke(app, base).exit_code == 0  # flat terrain: 100 m above the ground
    res = runner.invoke(app, [*base, "--dem", str(dem_path)])
    assert res.exit_code == 1, res.output
    kinds = {v["kind"] for v in json.loads(res.stdout)["violations"]}
    assert kinds == {"height_rule"}
    bad = runner.invoke(app, [*base, "--dem", str(tmp_path / "none.tif")])
    assert bad.exit_code == 2 and "no such file" in bad.output


def test_server_checks_use_the_configured_dem(tmp_path: Path) -> None:
    from fastapi.testclient import TestClient

    from core.settings import Settings
    from skypatrol.app import create_app

    dem_path = write_dem(tmp_path / "low.tif", np.full((120, 120), -60.0))  # everything 64 m below home
    plan = json.loads(plan_file(tmp_path, (0, 0, 100), (300, 0, 100)).read_text())
    token = "sp_admin_dem_test_token"
    for dem, expected in ((None, True), (dem_path, False)):
        settings = Settings(data_dir=tmp_path / str(expected), database_url=f"sqlite:///{tmp_path}/{expected}.db",
                            admin_token=token, dem_path=dem, fleet={"enabled": False})
        with TestClient(create_app(settings)) as c:
            zones = json.loads(zones_file(tmp_path).read_text())
            r = c.post("/api/v1/airspace/check", json={"plan": plan, "zones": zones},
                       headers={"Authorization": f"Bearer {token}"})
            assert r.status_code == 200, r.text
            assert r.json()["clear"] is expected
