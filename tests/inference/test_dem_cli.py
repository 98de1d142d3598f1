"""`--dem` on `skypatrol infer` and `skypatrol edge` (synthetic; reported as such): the sitl world is
rendered from a drone hovering 50 m above the ground and looking obliquely at the road-works site,
while its log says 70 m above home, because home (the take-off point) lies 20 m below the ground
under the site. A DEM holding that raised ground puts the site where it is; flat ground at home's
height puts every point 70/50 as far from the drone as it is. A DEM that is not a WGS 84 GeoTIFF,
or misses the flight, is a clear error; one that misses part of the view is reported per frame."""

from __future__ import annotations

import json
import os
import subprocess
import sys
from datetime import UTC, datetime
from pathlib import Path

import cv2
import numpy as np
import pytest
import shapely
import tifffile
from typer.testing import CliRunner

from core.errors import BadInput
from inference.telemetry.tlog import TlogWriter
from sitl.world import default_world
from sitl.world.camera import CameraPose, SimCamera
from sitl.world.default import DEFAULT_FIRST_DEPARTURE as T0
from sitl.world.render import Renderer

ROOT = Path(__file__).resolve().parents[2]
WORLD = default_world()
SIM = SimCamera.from_hfov(640, 360, 60.0)
HEIGHT_M = 50.0  # the camera above the ground it sees
RAISE_M = 20.0  # that ground above home
DRONE_EN = (-42.0, -40.0)  # hovering south of site s1, looking north
STEP = 1 / 3600  # 1 arc-second cells, like SRTM-1


def write_dem(path: Path, heights: np.ndarray, lat_top: float, lon_left: float, *, projected: bool = False) -> Path:
    """A single-band GeoTIFF, "pixel is area", in WGS 84 (or, to be refused, UTM 51N)."""
    keys = [1, 1, 0, 3, 1024, 0, 1, 1 if projected else 2, 1025, 0, 1, 1,
            3072 if projected else 2048, 0, 1, 32651 if projected else 4326]
    tifffile.imwrite(path, heights.astype(np.float32), extratags=[
        (33550, "d", 3, (STEP, STEP, 0.0), True), (33922, "d", 6, (0, 0, 0, lon_left, lat_top, 0), True),
        (34735, "H", len(keys), keys, True)])
    return path


def latlon(east_m: float, north_m: float) -> tuple[float, float]:
    lat, lon = WORLD.frame.en2geodetic(np.array([east_m]), np.array([north_m]))
    return float(lat[0]), float(lon[0])


@pytest.fixture(scope="module")
def flight(tmp_path_factory: pytest.TempPathFactory) -> dict[str, Path]:
    d = tmp_path_factory.mktemp("dem_flight")
    renderer = Renderer(WORLD, SIM, seed=1)
    pose = CameraPose(DRONE_EN[0], DRONE_EN[1], HEIGHT_M, 0.0, -50.0, 0.0)
    times = [T0 + 5 + 0.1 * i for i in range(10)]
    video = d / "flight.avi"
    w = cv2.VideoWriter(str(video), cv2.VideoWriter_fourcc(*"MJPG"), 10.0, (SIM.width, SIM.height))
    for t in times:
        w.write(renderer.render(pose, t).image)
    w.release()
    ground_amsl = WORLD.alt0_amsl_m  # the rendered ground
    lat, lon = latlon(*DRONE_EN)
    log = d / "flight.tlog"
    with TlogWriter(log) as tl:
        tl.home_position(times[0] - 1, WORLD.lat0_deg, WORLD.lon0_deg, ground_amsl - RAISE_M)
        for t in times:
            tl.position(t, lat, lon, ground_amsl + HEIGHT_M, HEIGHT_M + RAISE_M, 0.0)
            tl.attitude(t, 0.0, 0.0, 0.0)
            tl.mount_orientation(t, 0.0, -50.0, 0.0)
    cam = d / "camera.json"
    cam.write_text(json.dumps(SIM.to_camera_file()))
    # ~30 m cells from 200 m west/south of home to 150 m east, 250 m north: raised ground under the whole view.
    top, left = latlon(-200.0, 250.0)
    rows, cols = int(450 / 30.9) + 2, int(350 / 26.6) + 2
    dem = write_dem(d / "raised.tif", np.full((rows, cols), ground_amsl), top, left)
    # The same ground, but the raster ends ~5 m south of the road: the drone is on it, the site is not.
    top_part, _ = latlon(0.0, -5.0)
    partial = write_dem(d / "partial.tif", np.full((3, cols), ground_amsl), top_part + 0.5 * STEP, left)
    far = write_dem(d / "far.tif", np.full((rows, cols), ground_amsl), top + 0.05, left + 0.05)
    return {"video": video, "log": log, "cam": cam, "dem": dem, "partial": partial, "far": far, "dir": d}


def infer(flight: dict[str, Path], out_dir: Path, *extra: str):  # type: ignore[no-untyped-def]
    from inference.cli import app

    out_dir.mkdir()
    return CliRunner().invoke(app, [str(flight["video"]), "--telemetry", str(flight["log"]), "--camera",
                                    str(flight["cam"]), "-o", str(out_dir / "events.jsonl"), "--data-dir",
                                    str(out_dir / "data"), "--colour-only", "--json", *extra])


def site_polygon(out_dir: Path) -> shapely.Polygon:
    events = [json.loads(line) for line in (out_dir / "events.jsonl").read_text().splitlines()]
    sites = [e["data"] for e in events if e["type"] == "skypatrol.detection.road_works.v1"]
    assert len(sites) == 1, [e["type"] for e in events]
    ring = np.array(sites[0]["geometry"]["coordinates"][0])
    e, n = WORLD.frame.geodetic2en(ring[:, 1], ring[:, 0])
    return shapely.Polygon(np.column_stack([e, n]))


def truth_polygon(east_barrier: bool = True) -> shapely.Polygon:
    """Site s1 as the aggregator draws it from exact positions: the hull of the centres of the objects
    seen whole (its cones, the excavator, the excavation and, in the recorded flight, the east barrier;
    the two west barriers lie on the frame's edge), grown by the 3 m margin."""
    pts = [(o.east_m, o.north_m) for o in WORLD.objects
           if o.site_id == "s1" and (o.kind != "barrier" or (east_barrier and o.id == "s1-barrier-3"))]
    dig = next(a for a in WORLD.areas if a.kind == "excavation")
    pts.append(tuple(dig.polygon.mean(axis=0)))
    return shapely.MultiPoint(pts).convex_hull.buffer(3.0, quad_segs=4)


def test_dem_puts_the_site_on_raised_ground_and_flat_ground_is_off_by_the_height_ratio(
        flight: dict[str, Path], tmp_path: Path) -> None:
    with_dem = infer(flight, tmp_path / "dem", "--dem", str(flight["dem"]))
    assert with_dem.exit_code == 0, with_dem.output
    summary = json.loads(with_dem.stdout.strip().splitlines()[-1])
    assert summary["frames"] == 10 and summary["frames_off_dem"] == 0 and summary["dem"] == str(flight["dem"])
    flat = infer(flight, tmp_path / "flat")
    assert flat.exit_code == 0, flat.output
    assert "frames_off_dem" not in json.loads(flat.stdout.strip().splitlines()[-1])

    truth = truth_polygon()
    on_dem, on_flat = site_polygon(tmp_path / "dem"), site_polygon(tmp_path / "flat")
    # Seen 50 degrees down, the cones' footprints stretch along the sight by their height: sized with
    # that taken off they are the site's 14 cones, not barriers.
    events = [json.loads(line) for line in (tmp_path / "dem" / "events.jsonl").read_text().splitlines()]
    site = next(e["data"] for e in events if e["type"] == "skypatrol.detection.road_works.v1")
    assert site["objects"]["traffic_cone"] == 14 and site["objects"].get("barrier", 0) <= 1, site["objects"]
    # With the DEM: where the site is (centroid and outline within a couple of metres).
    assert on_dem.centroid.distance(truth.centroid) < 1.5, (on_dem.centroid, truth.centroid)
    assert on_dem.hausdorff_distance(truth) < 2.0, on_dem.hausdorff_distance(truth)
    # Flat ground at home's height: a ray meets it (50 + 20) / 50 as far from the drone, so the
    # site's centre moves away from the drone by that ratio, ~18 m here. (Sized on the wrong ground,
    # most cones fail the size rules there, so the flat site is drawn from fewer objects: the ratio
    # holds to a few per cent, the direction to a few degrees.)
    drone = np.array(DRONE_EN)
    c_dem = np.array(on_dem.centroid.coords[0]) - drone
    c_flat = np.array(on_flat.centroid.coords[0]) - drone
    ratio = float(np.hypot(*c_flat) / np.hypot(*c_dem))
    assert ratio == pytest.approx((HEIGHT_M + RAISE_M) / HEIGHT_M, abs=0.1), (c_flat, c_dem)
    bearing = np.degrees(np.arctan2(c_flat[0], c_flat[1]) - np.arctan2(c_dem[0], c_dem[1]))
    assert abs(bearing) < 3.0, bearing
    assert on_flat.centroid.distance(truth.centroid) > 15.0


def test_ground_off_the_dem_is_counted_and_said(flight: dict[str, Path], tmp_path: Path) -> None:
    res = infer(flight, tmp_path / "part", "--dem", str(flight["partial"]))
    assert res.exit_code == 0, res.output
    summary = json.loads(res.stdout.strip().splitlines()[-1])
    assert summary["frames_off_dem"] == summary["frames"] == 10
    assert "10 of 10 frames saw ground off the DEM partial.tif" in res.stderr and "not placed" in res.stderr
    # Nothing was put on flat ground instead: the site beyond the DEM's edge is not reported.
    events = [json.loads(line) for line in (tmp_path / "part" / "events.jsonl").read_text().splitlines()]
    assert not [e for e in events if e["type"] == "skypatrol.detection.road_works.v1"]


def test_a_dem_that_misses_the_flight_is_refused_with_its_bounds(flight: dict[str, Path], tmp_path: Path) -> None:
    res = infer(flight, tmp_path / "far", "--dem", str(flight["far"]))
    assert isinstance(res.exception, BadInput), res.output
    msg = res.exception.message
    assert "far.tif covers lat" in msg and "lies outside it" in msg and "the flight (lat 30.74" in msg


def test_a_log_with_heights_above_home_only_takes_home_height_from_the_dem(
        flight: dict[str, Path], tmp_path: Path) -> None:
    """A CSV log with `alt_rel_m` only: the camera's height above sea level (which the DEM's ground is
    compared with) follows from home's ground height in the DEM, home being where the log starts on
    the ground. Here home is level with the site: 50 m above home is 50 m above the site."""
    times = [T0 + 5 + 0.1 * i for i in range(10)]
    lat, lon = latlon(*DRONE_EN)
    rows = [f"{times[0] - 30},{WORLD.lat0_deg},{WORLD.lon0_deg},0.0,0.0,-50.0"]  # on the ground at home
    rows += [f"{t},{lat},{lon},{HEIGHT_M},0.0,-50.0" for t in times]
    on_ground = tmp_path / "from_home.csv"
    on_ground.write_text("time,lat,lon,alt_rel_m,yaw_deg,gimbal_pitch_deg\n" + "\n".join(rows) + "\n")
    res = infer({**flight, "log": on_ground}, tmp_path / "csv", "--dem", str(flight["dem"]),
                "--video-start", datetime.fromtimestamp(times[0], UTC).isoformat())
    assert res.exit_code == 0, res.output
    assert site_polygon(tmp_path / "csv").centroid.distance(truth_polygon().centroid) < 1.5
    # A log that starts in the air says nothing of home's height: asked for, not guessed.
    airborne = tmp_path / "airborne.csv"
    airborne.write_text("time,lat,lon,alt_rel_m,yaw_deg,gimbal_pitch_deg\n" + "\n".join(rows[1:]) + "\n")
    res = infer({**flight, "log": airborne}, tmp_path / "air", "--dem", str(flight["dem"]))
    assert isinstance(res.exception, BadInput) and "give --home-amsl" in res.exception.message
    res = infer({**flight, "log": airborne}, tmp_path / "air2", "--dem", str(flight["dem"]),
                "--home-amsl", str(WORLD.alt0_amsl_m))
    assert res.exit_code == 0, res.output
    assert site_polygon(tmp_path / "air2").centroid.distance(truth_polygon().centroid) < 1.5


def test_bad_dem_files_are_named_with_the_problem(flight: dict[str, Path], tmp_path: Path) -> None:
    (tmp_path / "junk.tif").write_text("not a tiff")
    tifffile.imwrite(tmp_path / "plain.tif", np.zeros((4, 4), np.float32))
    utm = write_dem(tmp_path / "utm.tif", np.zeros((4, 4)), 0.0, 0.0, projected=True)
    for path, problem in [(tmp_path / "junk.tif", "not a readable TIFF"),
                          (tmp_path / "plain.tif", "no GeoTIFF georeferencing"), (utm, "only WGS 84")]:
        res = infer(flight, tmp_path / path.stem, "--dem", str(path))
        assert isinstance(res.exception, BadInput), res.output
        assert str(path) in res.exception.message and problem in res.exception.message
    # From the command line: exit 2, one line on stderr naming the file, no traceback.
    env = {k: v for k, v in os.environ.items() if not k.startswith("SKYPATROL_")}
    env["SKYPATROL_DATA_DIR"] = str(tmp_path)
    r = subprocess.run([sys.executable, "-m", "skypatrol", "infer", str(flight["video"]), "--telemetry",
                        str(flight["log"]), "--camera", str(flight["cam"]), "-o", str(tmp_path / "o.jsonl"),
                        "--dem", str(tmp_path / "missing.tif")], capture_output=True, text=True, cwd=ROOT, env=env,
                       timeout=60)
    assert r.returncode == 2, r.stderr
    lines = [line for line in r.stderr.splitlines() if line.strip()]
    assert len(lines) == 1 and "Traceback" not in r.stderr
    assert "missing.tif" in lines[0] and "no such file" in lines[0]


def test_edge_takes_the_dem(flight: dict[str, Path], tmp_path: Path) -> None:
    """`skypatrol edge --dem`: a bad DEM is refused before anything starts; a good one places the site,
    whose event waits in the outbox (no server here)."""
    import sqlite3

    from inference.edge_cli import app

    def edge(*extra: str):  # type: ignore[no-untyped-def]
        return CliRunner().invoke(app, ["--source", str(flight["video"]), "--telemetry", str(flight["log"]),
                                        "--camera", str(flight["cam"]), "--drone", "d7", "--server",
                                        "http://127.0.0.1:9", "--token", "sp_unused", "--data-dir",
                                        str(tmp_path / "edge"), "--drain-s", "0", *extra])

    bad = edge("--dem", str(tmp_path / "missing.tif"))
    assert isinstance(bad.exception, BadInput) and "missing.tif: no such file" in bad.exception.message
    assert not (tmp_path / "edge").exists()
    res = edge("--dem", str(flight["dem"]))
    summary = json.loads(res.stdout.strip().splitlines()[-1])
    assert summary["frames"] == 10 and summary["frames_off_dem"] == 0 and summary["events"] >= 1
    with sqlite3.connect(tmp_path / "edge" / "outbox.sqlite") as db:
        bodies = [json.loads(b) for (b,) in db.execute("SELECT body FROM outbox")]
    sites = [e["data"] for e in bodies if e["type"] == "skypatrol.detection.road_works.v1"]
    assert len(sites) == 1
    ring = np.array(sites[0]["geometry"]["coordinates"][0])
    e, n = WORLD.frame.geodetic2en(ring[:, 1], ring[:, 0])
    # The edge worker's frames never show the east barrier whole.
    truth = truth_polygon(east_barrier=False)
    assert shapely.Polygon(np.column_stack([e, n])).centroid.distance(truth.centroid) < 2.0


async def test_live_flight_inspector_places_the_site_on_the_dem(flight: dict[str, Path]) -> None:
    """The main job's camera workers: a stream's frames (pose in each) through `FlightInspector` with
    the configured DEM as terrain, and without it."""
    from airspace.terrain import GeoTiffDem
    from inference.camera import camera_from_dict
    from inference.dem import DemGround
    from inference.detectors.colour import ColourDetector
    from inference.live_stream import FlightInspector, StreamPart
    from inference.types import Frame, Pose

    class ListSink:
        def __init__(self) -> None:
            self.events: list[tuple[str, dict]] = []

        async def publish(self, type: str, data: dict, *, subject: str | None = None, live_only: bool = False):  # type: ignore[no-untyped-def]
            self.events.append((type, data))

    cap = cv2.VideoCapture(str(flight["video"]))
    images = []
    while (ok := cap.read())[0]:
        images.append(ok[1])
    cap.release()
    lat, lon = latlon(*DRONE_EN)
    camera = camera_from_dict(SIM.to_camera_file())
    centres = {}
    for name, terrain in [("dem", DemGround(GeoTiffDem(flight["dem"]))), ("flat", None)]:
        sink = ListSink()
        inspector = FlightInspector("d7", camera, ColourDetector(), sink, frame=WORLD.frame, terrain=terrain)
        for i, image in enumerate(images):
            pose = Pose(t=T0 + 5 + 0.1 * i, lat_deg=lat, lon_deg=lon, alt_rel_m=HEIGHT_M + RAISE_M,
                        alt_amsl_m=WORLD.alt0_amsl_m + HEIGHT_M, gimbal_pitch_deg=-50.0, gimbal_yaw_deg=0.0,
                        gimbal_roll_deg=0.0)
            await inspector.feed(StreamPart(pose, True, Frame(image, pose.t, i, pose=pose)))
        await inspector.feed(StreamPart(pose, False, None))  # landed: the flight's sites
        sites = [d for t, d in sink.events if t == "skypatrol.detection.road_works.v1"]
        assert len(sites) == 1
        ring = np.array(sites[0]["geometry"]["coordinates"][0])
        e, n = WORLD.frame.geodetic2en(ring[:, 1], ring[:, 0])
        centres[name] = shapely.Polygon(np.column_stack([e, n])).centroid
    assert centres["dem"].distance(truth_polygon().centroid) < 1.5
    assert centres["flat"].distance(truth_polygon().centroid) > 15.0
