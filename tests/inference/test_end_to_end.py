"""End to end on rendered flights with ground truth (synthetic; reported as such): the sitl world
renders a nadir pass and an oblique look over a road-works site while a muck truck drives by; the
pipeline with the colour and size rules georeferences the cones and tracks the truck. Then the
`infer` CLI on a rendered video with a .tlog."""

from __future__ import annotations

import json
import math
import os
import subprocess
import sys
from dataclasses import replace
from pathlib import Path

import cv2
import numpy as np
import pytest
from typer.testing import CliRunner

from core.errors import BadInput
from inference.aggregate.aggregator import Aggregator
from inference.camera import camera_from_dict
from inference.detectors.colour import ColourDetector
from inference.georef import PoseNoise
from inference.motion import MotionConfig
from inference.pipeline import Pipeline
from inference.telemetry.tlog import TlogWriter
from inference.types import VEHICLE_LABELS, Detection, Frame, Pose
from sitl.world import default_world
from sitl.world.camera import CameraPose, SimCamera
from sitl.world.default import DEFAULT_FIRST_DEPARTURE as T0
from sitl.world.render import Renderer

ROOT = Path(__file__).resolve().parents[2]
WORLD = default_world()
SIM = SimCamera.from_hfov(640, 360, 60.0)
ALT = 50.0


def flight() -> list[tuple[float, CameraPose]]:
    """A nadir pass east along the road (the truck drives west under it), then an oblique look."""
    out = []
    for i in range(150):
        t = T0 + 25 + 0.1 * i
        out.append((t, CameraPose(-80 + 5 * (t - T0 - 25), 0.0, ALT, 0.0, -90.0, 0.0)))
    for i in range(40):
        t = T0 + 40 + 0.1 * i
        out.append((t, CameraPose(-55 + 2 * (t - T0 - 40), -45.0, ALT, 0.0, -50.0, 0.0)))
    return out


@pytest.fixture(scope="module")
def rendered() -> list[tuple[np.ndarray, float, CameraPose, list]]:
    r = Renderer(WORLD, SIM, seed=1)
    return [(f.image, t, p, f.objects) for t, p in flight() for f in [r.render(p, t)]]


def to_pose(p: CameraPose, t: float) -> Pose:
    lat, lon = WORLD.frame.en2geodetic(np.array([p.east_m]), np.array([p.north_m]))
    return Pose(t=t, lat_deg=float(lat[0]), lon_deg=float(lon[0]), alt_rel_m=p.up_m,
                alt_amsl_m=p.up_m + WORLD.alt0_amsl_m, yaw_deg=p.yaw_deg, gimbal_yaw_deg=0.0,
                gimbal_pitch_deg=p.pitch_deg, gimbal_roll_deg=p.roll_deg)


def run(rendered: list, *, attitude_sigma_deg: float = 0.0, gnss_sigma_m: float = 0.0, seed: int = 0) -> Pipeline:
    rng = np.random.default_rng(seed)
    cam = camera_from_dict(SIM.to_camera_file())
    pipe = Pipeline(camera=cam, detector=ColourDetector(), aggregator_factory=lambda f: Aggregator(f, mission_id="m"),
                    frame=WORLD.frame, home_amsl_m=WORLD.alt0_amsl_m,
                    noise=PoseNoise(position_m=max(gnss_sigma_m, 0.1), attitude_deg=max(attitude_sigma_deg, 0.05)))
    for i, (image, t, p, _) in enumerate(rendered):
        pose = to_pose(p, t)
        if attitude_sigma_deg or gnss_sigma_m:
            de, dn = rng.normal(0, gnss_sigma_m, 2)
            lat, lon = WORLD.frame.en2geodetic(np.array([p.east_m + de]), np.array([p.north_m + dn]))
            pose = replace(pose, lat_deg=float(lat[0]), lon_deg=float(lon[0]),
                           gimbal_pitch_deg=pose.gimbal_pitch_deg + rng.normal(0, attitude_sigma_deg),
                           gimbal_roll_deg=rng.normal(0, attitude_sigma_deg),
                           yaw_deg=pose.yaw_deg + rng.normal(0, attitude_sigma_deg))
        pipe.process(Frame(image, t, i, pose=pose))
    return pipe


def cone_rmse(pipe: Pipeline) -> tuple[float, int]:
    assert pipe.aggregator is not None
    truth = np.array([[o.east_m, o.north_m] for o in WORLD.objects if o.kind == "traffic_cone"])
    found = [o for o in pipe.aggregator.static_positions() if o.label == "traffic_cone"]
    d = [float(np.min(np.hypot(truth[:, 0] - o.east_m, truth[:, 1] - o.north_m))) for o in found]
    return float(math.sqrt(np.mean(np.square(d)))), len(found)


def test_rendered_flight_cones_georeferenced_and_truck_tracked_with_one_id(rendered: list) -> None:
    pipe = run(rendered)
    pubs = pipe.finish()
    rmse, n = cone_rmse(pipe)
    cones_in_view = {o.id for *_, objs in rendered for o in objs if o.label == "traffic_cone"}
    assert n == len(cones_in_view) == 14
    assert rmse < 0.5, rmse  # exact pose, nadir and oblique at 50 m
    trucks = [p for p in pubs if p.type == "skypatrol.detection.muck_truck.v1"]
    # One vehicle track (the tracker also follows machinery and earth of a truck's size, which stand still).
    vehicle_tracks = [tr for tr in pipe.tracker.finished if tr.label in VEHICLE_LABELS]
    assert len(trucks) == 1 and len(vehicle_tracks) == 1, [(tr.label, len(tr.points)) for tr in pipe.tracker.finished]
    data = trucks[0].data
    assert data["speed_mps"] == pytest.approx(8.0, rel=0.15) and data["heading_deg"] == pytest.approx(270, abs=5)
    # The truck's track lies along its lane (3.5 m south of the road's axis).
    truck_truth_n = -3.5
    _, n_track = pipe.frame.geodetic2en(np.array(data["geometry"]["coordinates"])[:, 1],  # type: ignore[union-attr]
                                        np.array(data["geometry"]["coordinates"])[:, 0])
    assert np.abs(n_track - truck_truth_n).max() < 1.5
    sites = [p for p in pubs if p.type == "skypatrol.detection.road_works.v1"]
    assert len(sites) == 1 and sites[0].data["objects"]["traffic_cone"] == 14


def test_rendered_flight_with_pose_noise_stays_within_goal(rendered: list) -> None:
    pipe = run(rendered[:150], attitude_sigma_deg=1.0, gnss_sigma_m=2.0, seed=4)
    rmse, n = cone_rmse(pipe)
    assert n >= 10 and rmse <= 6.0, (rmse, n)


def write_video_and_tlog(tmp_path: Path, frames: list) -> tuple[Path, Path, Path]:
    video = tmp_path / "flight.avi"
    w = cv2.VideoWriter(str(video), cv2.VideoWriter_fourcc(*"MJPG"), 10.0, (SIM.width, SIM.height))
    for image, *_ in frames:
        w.write(image)
    w.release()
    log = tmp_path / "flight.tlog"
    with TlogWriter(log) as tl:
        tl.home_position(frames[0][1] - 1, WORLD.lat0_deg, WORLD.lon0_deg, WORLD.alt0_amsl_m)
        for _, t, p, _ in frames:
            pose = to_pose(p, t)
            tl.position(t, pose.lat_deg, pose.lon_deg, pose.alt_amsl_m, pose.alt_rel_m, p.yaw_deg)
            tl.attitude(t, p.yaw_deg, 0.0, 0.0)
            tl.mount_orientation(t, 0.0, p.pitch_deg, 0.0)
    cam = tmp_path / "camera.json"
    cam.write_text(json.dumps(SIM.to_camera_file()))
    return video, log, cam


def test_infer_cli_writes_cloudevents(tmp_path: Path, rendered: list) -> None:
    from inference.cli import app

    video, log, cam = write_video_and_tlog(tmp_path, rendered[70:140])
    out = tmp_path / "events.jsonl"
    res = CliRunner().invoke(app, [str(video), "--telemetry", str(log), "--camera", str(cam), "-o", str(out),
                                   "--data-dir", str(tmp_path / "data"), "--drone", "d7", "--json"])
    assert res.exit_code == 0, res.output
    summary = json.loads(res.output.strip().splitlines()[-1])
    assert summary["frames"] == 70 and summary["frames_without_pose"] == 0
    assert summary["detector"] == "own model + colour cues"  # the shipped model is the default
    events = [json.loads(line) for line in out.read_text().splitlines()]
    types = [e["type"] for e in events]
    assert "skypatrol.detection.muck_truck.v1" in types and "skypatrol.detection.road_works.v1" in types
    for e in events:
        assert e["specversion"] == "1.0" and e["subject"] == "d7" and e["source"] == "skypatrol/inference"
        assert e["data"]["drone_id"] == "d7" and e["data"]["evidence"]
        for ev in e["data"]["evidence"]:
            assert (tmp_path / "data" / "evidence" / ev["name"]).is_file()
    assert (tmp_path / "data" / "inference" / "sites.json").is_file()


def test_infer_cli_with_the_crop_classifier(tmp_path: Path, rendered: list) -> None:
    from inference.cli import app

    video, log, cam = write_video_and_tlog(tmp_path, rendered[90:120])
    out = tmp_path / "events.jsonl"
    args = [str(video), "--telemetry", str(log), "--camera", str(cam), "-o", str(out),
            "--data-dir", str(tmp_path / "data"), "--json"]
    res = CliRunner().invoke(app, [*args, "--verify"])
    assert res.exit_code == 0, res.output
    summary = json.loads(res.output.strip().splitlines()[-1])
    assert summary["frames"] == 30 and summary["detector"] == "own model + crop classifier + colour cues"
    assert summary["detections"] > 0
    res = CliRunner().invoke(app, [*args, "--verify", "--colour-only"])
    assert isinstance(res.exception, BadInput) and "--verify" in str(res.exception)  # the CLI: exit 2, one line


def test_infer_bad_input_exits_2_with_one_line(tmp_path: Path) -> None:
    (tmp_path / "camera.json").write_text("{\"width\": 10}")
    env = {k: v for k, v in os.environ.items() if not k.startswith("SKYPATROL_")}
    env["SKYPATROL_DATA_DIR"] = str(tmp_path)
    r = subprocess.run([sys.executable, "-m", "skypatrol", "infer", str(tmp_path / "v.mp4"), "--telemetry",
                        str(tmp_path / "x.csv"), "--camera", str(tmp_path / "camera.json"), "-o",
                        str(tmp_path / "o.jsonl")], capture_output=True, text=True, cwd=ROOT, env=env, timeout=60)
    assert r.returncode == 2, r.stderr
    lines = [line for line in r.stderr.splitlines() if line.strip()]
    assert len(lines) == 1 and "Traceback" not in r.stderr and "camera" in lines[0]


class WeakBoxes:
    """Colour cues plus weak vehicle boxes (candidates): one on each true vehicle the frame shows and
    one on a patch of still ground (set `truth` before each call)."""

    def __init__(self) -> None:
        self.colour = ColourDetector()
        self.truth: list = []

    def detect(self, image: np.ndarray) -> list[Detection]:
        weak = [Detection(tuple(float(v) for v in o.box), "truck", 0.3, candidate=True)  # type: ignore[arg-type]
                for o in self.truth if o.label in VEHICLE_LABELS and o.visible_fraction > 0.9]
        weak.append(Detection((20.0, 20.0, 80.0, 50.0), "truck", 0.3, candidate=True))
        return self.colour.detect(image) + weak


@pytest.mark.parametrize("motion", [True, False])
def test_weak_boxes_count_where_they_move(rendered: list, motion: bool) -> None:
    detector = WeakBoxes()
    placed: list[list] = []
    pipe = Pipeline(camera=camera_from_dict(SIM.to_camera_file()), detector=detector,
                    aggregator_factory=lambda f: Aggregator(f, mission_id="m"), frame=WORLD.frame,
                    home_amsl_m=WORLD.alt0_amsl_m, motion=MotionConfig() if motion else None,
                    on_frame=lambda frame, pose, got: placed.append(got))
    shown = 0
    for i, (image, t, p, objs) in enumerate(rendered[70:130]):
        detector.truth = objs
        shown += any(o.label in VEHICLE_LABELS and o.visible_fraction > 0.9 for o in objs)
        pipe.process(Frame(image, t, i, pose=to_pose(p, t)))
    weak = [g for got in placed for g in got if g.score == 0.3]
    assert all(g.detection.box != (20.0, 20.0, 80.0, 50.0) for g in weak)  # still ground: never kept
    if motion:  # the driving truck's weak boxes are kept, flagged no more
        assert shown >= 20 and len(weak) >= shown - 10 and not any(g.detection.candidate for g in weak)
    else:
        assert weak == []
