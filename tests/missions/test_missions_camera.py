"""Footprint and GSD maths against worked examples."""

from __future__ import annotations

import json
from pathlib import Path

import pytest

from core.errors import BadInput
from missions.camera import CATALOGUE, load_camera


def test_phantom4_rtk_gsd_matches_dji_rule_of_thumb() -> None:
    cam = CATALOGUE["dji-phantom4-rtk"]
    # DJI: GSD (cm/px) = H (m) / 36.5 for the Phantom 4 RTK; 13.2 mm * 100 m / (8.8 mm * 5472 px).
    assert cam.gsd_cm(100) == pytest.approx(100 / 36.5, rel=2e-3)
    assert cam.gsd_cm(100) == pytest.approx(2.7412, abs=1e-4)
    assert cam.footprint_m(100) == pytest.approx((150.0, 100.0))
    assert cam.alt_for_gsd_m(2.7412) == pytest.approx(100.0, abs=0.01)


def test_spacing_and_trigger_from_overlaps() -> None:
    cam = CATALOGUE["dji-phantom4-rtk"]
    assert cam.lane_spacing_m(100, 70) == pytest.approx(45.0)  # 150 m * (1 - 0.70)
    assert cam.trigger_distance_m(100, 0.8) == pytest.approx(20.0)  # 100 m * (1 - 0.80), fraction form
    with pytest.raises(BadInput, match="side overlap"):
        cam.lane_spacing_m(100, 100)


def test_full_frame_gsd_and_intrinsics() -> None:
    cam = CATALOGUE["sony-rx1r-ii"]
    # 35.9 mm * 120 m / (35 mm * 7952 px) = 1.548 cm
    assert cam.gsd_cm(120) == pytest.approx(1.5478, abs=1e-4)
    assert cam.fx == pytest.approx(35 * 7952 / 35.9)
    assert (cam.cx, cam.cy, cam.gimbal_pitch_deg) == (3976, 2652, -90)


def test_custom_camera_file_and_errors(tmp_path: Path) -> None:
    f = tmp_path / "cam.json"
    f.write_text(
        json.dumps(
            {
                "name": "mine",
                "width": 4000,
                "height": 3000,
                "sensor_w_mm": 8.0,
                "sensor_h_mm": 6.0,
                "focal_mm": 4.0,
                "fx": 2100.0,
                "dist": [0.1, 0, 0, 0, 0],
            }
        )
    )
    cam = load_camera(str(f))
    assert cam.fx == 2100.0 and cam.fy == pytest.approx(2000.0) and cam.gsd_cm(50) == pytest.approx(2.5)
    f.write_text(json.dumps({"name": "bad", "width": 0}))
    with pytest.raises(BadInput, match="bad camera field width"):
        load_camera(str(f))
    with pytest.raises(BadInput, match="unknown camera 'nope'"):
        load_camera("nope")
