"""The motion cue: frames registered through the ground plane of their poses, what moved found, weak
vehicle boxes kept only where they move (synthetic scenes)."""

from __future__ import annotations

import dataclasses

import numpy as np
import pytest

from geo import LocalFrame
from inference.camera import camera_from_dict, camera_from_fov
from inference.evaluate import held_out_flights, pose_of
from inference.georef import Georeferencer
from inference.motion import MotionConfig, MotionCue
from inference.types import Detection, Pose
from sitl.world.scenes import SceneRenderer, random_look


@pytest.fixture(scope="module")
def flight_frames():  # type: ignore[no-untyped-def]
    """Frames 18-32 of a held-out flight (640x360): the drone flies along a road at 4 m/s while a muck
    truck and another truck drive past a road-works site."""
    flight = held_out_flights(1, frames=50, width=640, height=360)[0]
    renderer = SceneRenderer(flight.world, flight.camera, seed=flight.seed)
    look = random_look(np.random.default_rng(flight.look_seed))
    frames = [(renderer.render(p, t, look), t, p) for t, p in flight.frames[18:33]]
    georef = Georeferencer(camera_from_dict(flight.camera.to_camera_file()), flight.world.frame,
                           home_amsl_m=flight.world.alt0_amsl_m)
    return flight, frames, georef


def _run(flight, frames, georef, config: MotionConfig, *, pitch_error: float = 0.0):  # type: ignore[no-untyped-def]
    cue = MotionCue(config)
    out = []
    for k, (f, t, p) in enumerate(frames):
        pose = pose_of(flight.world, p, t)
        if k % 2:
            pose = dataclasses.replace(pose, gimbal_pitch_deg=pose.gimbal_pitch_deg + pitch_error)
        mask = cue.update(f.image, pose, georef)
        out.append((mask, [(o, cue.fraction(o.box)) for o in f.objects]))
    return out


def test_driving_trucks_move_and_the_ground_does_not(flight_frames) -> None:  # type: ignore[no-untyped-def]
    flight, frames, georef = flight_frames
    lag = MotionConfig().lag_frames
    results = _run(flight, frames, georef, MotionConfig())
    assert all(m is None for m, _ in results[:lag]) and all(m is not None for m, _ in results[lag:])
    trucks, still = [], []
    for mask, objs in results[lag:]:
        assert mask.mean() < 0.05  # roofs, roads, cones and shadows of still things cancel
        for o, frac in objs:
            if o.visible_fraction < 0.9:
                continue
            if o.label in ("muck_truck", "truck") and o.id.startswith("eval-"):
                trucks.append(frac)
            elif o.label in ("barrier", "excavator", "excavation"):  # (cones: a pixel or two at half size)
                still.append((o.label, o.id, round(frac, 2)))
    assert len(trucks) >= 10 and len(still) >= 10
    assert np.median(trucks) >= MotionConfig().moving_fraction, trucks
    assert np.mean([f >= MotionConfig().moving_fraction for *_, f in still]) <= 0.05, still


def test_a_small_pose_error_is_taken_out(flight_frames) -> None:  # type: ignore[no-untyped-def]
    """Every other frame's camera pitch off by 0.3 degrees (gimbal latency): the residual shift is corrected."""
    flight, frames, georef = flight_frames
    lag = MotionConfig().lag_frames
    corrected = _run(flight, frames, georef, MotionConfig(lag_frames=1), pitch_error=0.3)
    raw = _run(flight, frames, georef, MotionConfig(lag_frames=1, max_shift_px=0.0), pitch_error=0.3)
    share = [float(np.mean([m.mean() for m, _ in r[lag:]])) for r in (corrected, raw)]
    assert share[0] < 0.6 * share[1], share


def _hovering(width: int = 320, height: int = 240) -> tuple[Georeferencer, Pose]:
    cam = camera_from_fov("test", width, height, 60.0)
    frame = LocalFrame(31.2, 121.4)
    pose = Pose(t=0.0, lat_deg=31.2, lon_deg=121.4, alt_rel_m=60.0, alt_amsl_m=60.0, gimbal_pitch_deg=-90.0,
                gimbal_yaw_deg=0.0, gimbal_roll_deg=0.0)
    return Georeferencer(cam, frame), pose


def test_weak_boxes_are_kept_only_where_they_move_and_cover_no_kept_box() -> None:
    georef, pose = _hovering()
    rng = np.random.default_rng(3)
    ground = rng.integers(60, 200, size=(240, 320, 3), dtype=np.uint8)
    ground = np.repeat(np.repeat(ground[::4, ::4], 4, axis=0), 4, axis=1)  # a coarse texture
    cue = MotionCue(MotionConfig(lag_frames=1))
    for k in range(2):
        image = ground.copy()
        x = 100 + 12 * k  # a dark vehicle driving right
        image[100:130, x:x + 50] = 25
        cue.update(image, dataclasses.replace(pose, t=0.1 * k), georef)
    moving = Detection((100, 98, 164, 132), "truck", 0.3, candidate=True)
    parked = Detection((220, 150, 280, 190), "truck", 0.35, candidate=True)
    part = Detection((104, 100, 140, 130), "muck_truck", 0.28, candidate=True)  # inside `moving`
    cone = Detection((30, 30, 40, 40), "traffic_cone", 0.9)
    kept = cue.confirm([cone, parked, part, moving])
    assert cue.fraction(moving.box) > 0.3 and cue.fraction(parked.box) == 0.0
    assert [(d.label, d.score, d.candidate) for d in kept] == [("traffic_cone", 0.9, False), ("truck", 0.3, False)]


def test_without_a_frame_to_compare_weak_boxes_are_dropped() -> None:
    georef, pose = _hovering()
    cue = MotionCue()
    cue.update(np.zeros((240, 320, 3), np.uint8), pose, georef)
    strong = Detection((10, 10, 60, 40), "truck", 0.8)
    assert cue.confirm([strong, Detection((100, 10, 160, 40), "truck", 0.3, candidate=True)]) == [strong]
