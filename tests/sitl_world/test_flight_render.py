"""`skypatrol sim render`: a recorded synthetic flight that `skypatrol infer` reads as it is."""

from __future__ import annotations

import json
import subprocess
import sys
from pathlib import Path

import numpy as np
import pytest
from typer.testing import CliRunner

from sitl.cli import app as sim_app
from sitl.world import default_world

ROOT = Path(__file__).resolve().parents[2]
WORLD = default_world()


def plan_file(tmp_path: Path) -> Path:
    """West along the east-west road at 60 m over site s1, behind a muck truck driving west."""
    lat, lon = WORLD.frame.en2geodetic(np.array([30.0, -70.0]), np.array([0.0, 0.0]))
    items = [{"type": "SimpleItem", "command": 22, "frame": 3, "params": [0, 0, 0, None, lat[0], lon[0], 60]},
             {"type": "SimpleItem", "command": 16, "frame": 3, "params": [0, 0, 0, None, lat[1], lon[1], 60]}]
    p = tmp_path / "flight.plan"
    p.write_text(json.dumps({"fileType": "Plan", "mission": {"items": [
        {**it, "params": [float(v) if v is not None else None for v in it["params"]]} for it in items]}}))
    return p


@pytest.fixture(scope="module")
def recorded(tmp_path_factory: pytest.TempPathFactory) -> dict:
    tmp = tmp_path_factory.mktemp("render")
    res = CliRunner().invoke(sim_app, ["render", "--plan", str(plan_file(tmp)), "-o", str(tmp / "f.avi"),
                                       "--telemetry", str(tmp / "f.csv"), "--start", "2025-03-03T02:00:26Z",
                                       "--fps", "5", "--duration", "10", "--json"])
    assert res.exit_code == 0, res.output
    return {"dir": tmp, "summary": json.loads(res.output.strip().splitlines()[-1])}


def test_render_writes_video_telemetry_camera_and_truth(recorded: dict) -> None:
    s, tmp = recorded["summary"], recorded["dir"]
    assert s["frames"] == 51 and s["width"] == 640 and s["height"] == 360
    assert s["objects_seen"]["muck_truck"] == 1 and s["objects_seen"]["traffic_cone"] == 14
    import cv2

    cap = cv2.VideoCapture(str(tmp / "f.avi"))
    assert int(cap.get(cv2.CAP_PROP_FRAME_COUNT)) == 51
    ok, image = cap.read()
    assert ok and image.shape == (360, 640, 3)
    rows = (tmp / "f.csv").read_text().splitlines()
    assert rows[0].startswith("time,lat,lon,alt_rel_m") and len(rows) == 52
    truth = [json.loads(line) for line in (tmp / "f.truth.jsonl").read_text().splitlines()]
    assert [t["frame"] for t in truth] == list(range(51))
    assert any(o["label"] == "muck_truck" for o in truth[0]["objects"])
    cam = json.loads((tmp / "f.camera.json").read_text())
    assert cam["width"] == 640 and cam["gimbal_pitch_deg"] == -90.0


def test_infer_reads_the_recorded_flight(recorded: dict) -> None:
    from inference.cli import app as infer_app

    tmp = recorded["dir"]
    out = tmp / "events.jsonl"
    res = CliRunner().invoke(infer_app, [str(tmp / "f.avi"), "--telemetry", str(tmp / "f.csv"), "--camera",
                                         str(tmp / "f.camera.json"), "-o", str(out), "--data-dir", str(tmp / "data"),
                                         "--json"])
    assert res.exit_code == 0, res.output
    summary = json.loads(res.output.strip().splitlines()[-1])
    assert summary["frames"] == 51 and summary["frames_without_pose"] == 0
    events = [json.loads(line) for line in out.read_text().splitlines()]
    trucks = [e for e in events if e["type"] == "skypatrol.detection.muck_truck.v1"]
    sites = [e for e in events if e["type"] == "skypatrol.detection.road_works.v1"]
    assert len(trucks) == 1 and len(sites) == 1
    # The truck's track lies in its lane (3.5 m south of the road's axis), heading west.
    coords = np.array(trucks[0]["data"]["geometry"]["coordinates"])
    _, n = WORLD.frame.geodetic2en(coords[:, 1], coords[:, 0])
    assert np.abs(n + 3.5).max() < 2.0 and abs(trucks[0]["data"]["heading_deg"] - 270) < 10


def test_render_tlog_and_bad_plan(tmp_path: Path) -> None:
    res = CliRunner().invoke(sim_app, ["render", "--plan", str(plan_file(tmp_path)), "-o", str(tmp_path / "f.avi"),
                                       "--telemetry", str(tmp_path / "f.tlog"), "--width", "160", "--height", "96",
                                       "--fps", "2", "--duration", "2"])
    assert res.exit_code == 0, res.output
    from inference.telemetry.tlog import read_tlog

    track = read_tlog(tmp_path / "f.tlog")
    assert track.home is not None and abs(track.home[2] - WORLD.alt0_amsl_m) < 0.01
    (tmp_path / "bad.plan").write_text("{\"mission\": {\"items\": []}}")
    r = subprocess.run([sys.executable, "-m", "sitl", "render", "--plan", str(tmp_path / "bad.plan"), "-o",
                        str(tmp_path / "g.avi"), "--telemetry", str(tmp_path / "g.csv")], capture_output=True,
                       text=True, cwd=ROOT, timeout=60)
    assert r.returncode == 2 and "Traceback" not in r.stderr and "positional items" in r.stderr, r.stderr
