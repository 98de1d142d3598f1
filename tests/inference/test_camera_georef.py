"""Camera file reading and the projection maths against analytic cases, plus a cross-check with
the simulator's independent camera (sitl.world.camera, written separately)."""

from __future__ import annotations

import json
import math
from pathlib import Path

import cv2
import numpy as np
import pytest

from core.errors import BadInput
from geo import LocalFrame, distance_m
from inference.camera import camera_from_dict, camera_from_fov, load_camera_file
from inference.georef import Georeferencer, PoseNoise
from inference.types import Pose

ORIGIN = LocalFrame(30.7416, 121.3415)
CAM = camera_from_fov("test", 1280, 720, 70.0)


def pose(**kw: float) -> Pose:
    base = {"t": 0.0, "lat_deg": ORIGIN.lat0_deg, "lon_deg": ORIGIN.lon0_deg, "alt_rel_m": 100.0}
    base.update(kw)
    return Pose(**base)  # type: ignore[arg-type]


def locate_en(g: Georeferencer, p: Pose, u: float, v: float) -> tuple[float, float]:
    r = g.locate(p, [[u, v]])
    return float(r.east_m[0]), float(r.north_m[0])


def test_camera_file_intrinsics_from_sensor_and_errors(tmp_path: Path) -> None:
    c = camera_from_dict({"name": "m3e", "width": 5280, "height": 3956, "sensor_w_mm": 17.3, "sensor_h_mm": 13.0,
                          "focal_mm": 12.29})
    assert c.fx == pytest.approx(12.29 * 5280 / 17.3)
    assert c.fy == pytest.approx(12.29 * 3956 / 13.0)
    assert (c.cx, c.cy) == (2640.0, 1978.0) and c.gimbal_pitch_deg == -90.0
    full = {"name": "x", "width": 640, "height": 360, "fx": 500, "fy": 500, "cx": 320, "cy": 180,
            "dist": [0.1, -0.05, 0.001, 0.0, 0.01], "gimbal_pitch_deg": -60}
    p = tmp_path / "cam.json"
    p.write_text(json.dumps(full))
    c2 = load_camera_file(p)
    assert c2.dist == (0.1, -0.05, 0.001, 0.0, 0.01) and c2.gimbal_pitch_deg == -60
    for bad, needle in ((dict(full, width=-1), "width"), (dict(full, dist=[1, 2]), "dist"),
                        ({"width": 10, "height": 10}, "fx"), (dict(full, fx="a"), "fx"), ([1], "one JSON object")):
        with pytest.raises(BadInput, match=needle):
            camera_from_dict(bad)
    (tmp_path / "broken.json").write_text("{")
    with pytest.raises(BadInput, match="not a camera JSON"):
        load_camera_file(tmp_path / "broken.json")
    with pytest.raises(BadInput, match="not found"):
        load_camera_file(tmp_path / "missing.json")


def test_nadir_centre_pixel_lands_under_the_camera() -> None:
    g = Georeferencer(CAM, ORIGIN)
    for yaw in (0.0, 37.0, 200.0):
        r = g.locate(pose(yaw_deg=yaw, lat_deg=30.75, lon_deg=121.35), [[CAM.cx, CAM.cy]])
        assert float(distance_m(r.lat_deg[0], r.lon_deg[0], 30.75, 121.35)) < 1e-3
        assert r.range_m[0] == pytest.approx(100.0)


def test_nadir_image_axes_follow_heading() -> None:
    g = Georeferencer(CAM, ORIGIN)
    f = CAM.fx
    # Heading north: image right is east, image up is north; 100 m * (dx / f) on the ground.
    e, n = locate_en(g, pose(), CAM.cx + 200, CAM.cy)
    assert (e, n) == pytest.approx((100 * 200 / f, 0.0), abs=1e-3)
    e, n = locate_en(g, pose(), CAM.cx, CAM.cy - 100)
    assert (e, n) == pytest.approx((0.0, 100 * 100 / f), abs=1e-3)
    # Heading east: image up points east.
    e, n = locate_en(g, pose(yaw_deg=90.0), CAM.cx, CAM.cy - 100)
    assert (e, n) == pytest.approx((100 * 100 / f, 0.0), abs=1e-3)


@pytest.mark.parametrize("delta", [0.5, 1.0, 5.0])
def test_known_offsets_for_attitude_errors(delta: float) -> None:
    """A fixed (non-stabilised) nadir camera: an attitude error moves the centre ray by h * tan."""
    g = Georeferencer(CAM, ORIGIN, stabilised=False)
    off = 100.0 * math.tan(math.radians(delta))
    # Nose up: the belly (and the camera) turns forward, i.e. north when heading north.
    assert locate_en(g, pose(pitch_deg=delta), CAM.cx, CAM.cy) == pytest.approx((0.0, off), abs=1e-3)
    # Right wing down: the belly turns left, i.e. west when heading north.
    assert locate_en(g, pose(roll_deg=delta), CAM.cx, CAM.cy) == pytest.approx((-off, 0.0), abs=1e-3)
    # A yaw error rotates an off-centre point about the nadir point.
    e0, n0 = locate_en(g, pose(), CAM.cx + 300, CAM.cy)
    e1, n1 = locate_en(g, pose(yaw_deg=delta), CAM.cx + 300, CAM.cy)
    assert math.degrees(math.atan2(-n1, e1)) == pytest.approx(delta, abs=1e-6)
    assert math.hypot(e1, n1) == pytest.approx(math.hypot(e0, n0), rel=1e-9)
    # A stabilised gimbal cancels vehicle pitch and roll.
    gs = Georeferencer(CAM, ORIGIN, stabilised=True)
    assert locate_en(gs, pose(pitch_deg=delta, roll_deg=delta), CAM.cx, CAM.cy) == pytest.approx((0, 0), abs=1e-6)


@pytest.mark.parametrize(("gimbal_pitch", "yaw"), [(-60.0, 0.0), (-45.0, 90.0), (-30.0, 225.0)])
def test_off_nadir_at_100_m(gimbal_pitch: float, yaw: float) -> None:
    g = Georeferencer(CAM, ORIGIN)
    p = pose(yaw_deg=yaw, gimbal_pitch_deg=gimbal_pitch, gimbal_yaw_deg=0.0)
    e, n = locate_en(g, p, CAM.cx, CAM.cy)
    ground = 100.0 / math.tan(math.radians(-gimbal_pitch))
    assert math.hypot(e, n) == pytest.approx(ground, rel=1e-6)
    assert (math.degrees(math.atan2(e, n)) - yaw + 180) % 360 - 180 == pytest.approx(0.0, abs=1e-6)
    r = g.locate(p, [[CAM.cx, CAM.cy]])
    assert r.range_m[0] == pytest.approx(100.0 / math.sin(math.radians(-gimbal_pitch)))
    # Pixels above the horizon never reach the ground.
    sky = g.locate(pose(gimbal_pitch_deg=-5.0), [[CAM.cx, 0.0]])
    assert math.isnan(sky.lat_deg[0])


def test_uncertainty_grows_with_off_nadir_angle_and_noise() -> None:
    g = Georeferencer(CAM, ORIGIN, noise=PoseNoise(position_m=2.0, attitude_deg=1.0))
    s_nadir = g.locate(pose(), [[CAM.cx, CAM.cy]]).sigma_m[0]
    s_oblique = g.locate(pose(gimbal_pitch_deg=-30.0), [[CAM.cx, CAM.cy]]).sigma_m[0]
    assert s_nadir == pytest.approx(math.hypot(2.0, math.radians(1.0) * 100.0), rel=0.05)
    assert s_oblique > 2 * s_nadir
    exact = Georeferencer(CAM, ORIGIN, noise=PoseNoise(0.0, 0.0, 0.0, 0.0)).locate(pose(), [[CAM.cx, CAM.cy]])
    assert exact.sigma_m[0] == pytest.approx(0.0, abs=1e-9)


def test_distortion_removed_before_the_ray() -> None:
    dist = (-0.12, 0.05, 0.001, -0.0005, 0.0)
    cam = camera_from_dict({"width": 1280, "height": 720, "fx": 900, "fy": 900, "cx": 641, "cy": 359,
                            "dist": list(dist)})
    g = Georeferencer(cam, ORIGIN)
    # Ground points 100 m below a nadir camera heading north, projected with OpenCV's own model.
    en = np.array([[20.0, 10.0], [-40.0, 25.0], [30.0, -30.0]])
    obj = np.column_stack([en[:, 0], -en[:, 1], np.full(3, 100.0)])  # camera frame: x east, y south, z down
    px, _ = cv2.projectPoints(obj, np.zeros(3), np.zeros(3), cam.K, np.array(dist))
    r = g.locate(pose(), px.reshape(-1, 2))
    assert np.column_stack([r.east_m, r.north_m]) == pytest.approx(en, abs=1e-3)


def test_terrain_provider_changes_the_ground_height() -> None:
    flat = Georeferencer(CAM, ORIGIN, home_amsl_m=4.0)
    hill = Georeferencer(CAM, ORIGIN, home_amsl_m=4.0, terrain=lambda lat, lon: np.full(np.shape(lat), 24.0))
    p = pose(alt_rel_m=100.0, gimbal_pitch_deg=-45.0, gimbal_yaw_deg=0.0)
    assert locate_en(flat, p, CAM.cx, CAM.cy)[1] == pytest.approx(100.0, rel=1e-6)
    assert locate_en(hill, p, CAM.cx, CAM.cy)[1] == pytest.approx(80.0, rel=1e-6)  # 20 m higher ground

    def slope(lat: np.ndarray, lon: np.ndarray) -> np.ndarray:  # rises 0.1 m per m northwards
        _, n = ORIGIN.geodetic2en(lat, lon)
        return 4.0 + 0.1 * n

    sloped = Georeferencer(CAM, ORIGIN, home_amsl_m=4.0, terrain=slope)
    # Ray at 45 deg down: n = 100 - 0.1 n  ->  n = 100 / 1.1.
    assert locate_en(sloped, p, CAM.cx, CAM.cy)[1] == pytest.approx(100 / 1.1, rel=1e-4)


def test_cross_check_with_the_simulator_camera() -> None:
    from sitl.world.camera import CameraPose, SimCamera, project_points

    dist = (-0.08, 0.02, 0.0005, 0.0003, 0.0)
    sim = SimCamera.from_hfov(1280, 720, 75.0, dist)
    cam = camera_from_dict(sim.to_camera_file())
    g = Georeferencer(cam, ORIGIN)
    rng = np.random.default_rng(3)
    for _ in range(5):
        yaw, pitch, roll = rng.uniform(0, 360), rng.uniform(-90, -35), rng.uniform(-5, 5)
        cp = CameraPose(0.0, 0.0, 100.0, yaw, pitch, roll)
        pts = np.column_stack([rng.uniform(-30, 30, 20), rng.uniform(-30, 30, 20), np.zeros(20)])
        # Points in front of the camera along its heading.
        fwd = 100.0 / math.tan(math.radians(-pitch)) if pitch > -89 else 0.0
        pts[:, 0] += fwd * math.sin(math.radians(yaw))
        pts[:, 1] += fwd * math.cos(math.radians(yaw))
        px, depth = project_points(sim, cp, pts)
        inside = (depth > 0) & (px[:, 0] > 0) & (px[:, 0] < 1280) & (px[:, 1] > 0) & (px[:, 1] < 720)
        p = pose(yaw_deg=yaw, gimbal_pitch_deg=pitch, gimbal_roll_deg=roll, gimbal_yaw_deg=0.0)
        r = g.locate(p, px[inside])
        err = np.hypot(r.east_m - pts[inside, 0], r.north_m - pts[inside, 1])
        assert inside.sum() > 3 and err.max() < 0.02
