"""The sitl world: file format round trip, vehicles on their timetable, the renderer's ground truth."""

from __future__ import annotations

import json
import math
from pathlib import Path

import cv2
import numpy as np
import pytest

from sitl.world import default_world, load_world, world_from_geojson, world_to_geojson
from sitl.world.camera import CameraPose, SimCamera, project_points
from sitl.world.default import DEFAULT_FIRST_DEPARTURE as T0
from sitl.world.model import WorldError
from sitl.world.render import Look, Renderer
from sitl.world.traffic import vehicles_at


def test_world_file_round_trip(tmp_path: Path) -> None:
    w = default_world(count=3)
    p = tmp_path / "world.geojson"
    p.write_text(json.dumps(world_to_geojson(w)))
    back = load_world(p)
    assert (back.lat0_deg, back.lon0_deg) == (30.7416, 121.3415)
    assert [o.id for o in back.objects] == [o.id for o in w.objects]
    for a, b in zip(w.objects, back.objects, strict=True):
        assert math.hypot(a.east_m - b.east_m, a.north_m - b.north_m) < 0.01 and a.kind == b.kind
    assert back.routes[0].departures == pytest.approx(w.routes[0].departures)
    assert [a.permitted for a in back.areas if a.kind == "road_works"] == [False, True]
    with pytest.raises(WorldError, match="origin"):
        world_from_geojson({"type": "FeatureCollection", "features": []})
    bad = world_to_geojson(w)
    bad["features"][0]["properties"]["kind"] = "volcano"
    with pytest.raises(WorldError, match="unknown kind"):
        world_from_geojson(bad)


def test_trucks_follow_their_timetable() -> None:
    w = default_world(count=2, every_s=60.0)
    assert vehicles_at(w, T0 - 1) == []
    v = vehicles_at(w, T0 + 10)
    assert len(v) == 1 and v[0].id == "m1#0" and v[0].kind == "muck_truck"
    assert (v[0].east_m, v[0].north_m, v[0].heading_deg) == pytest.approx((170.0, -3.5, 270.0))
    assert {x.id for x in vehicles_at(w, T0 + 61)} == {"m1#0", "m1#1"}
    assert vehicles_at(w, T0 + 500 / 8 + 61) == []  # both reached the end of the 500 m route


@pytest.mark.parametrize("pitch", [-90.0, -45.0])
def test_render_ground_truth_matches_the_image(pitch: float) -> None:
    w = default_world()
    cam = SimCamera.from_hfov(640, 360, 60.0)
    r = Renderer(w, cam, seed=2)
    pose = CameraPose(-40.0, 0.0 if pitch == -90 else -40.0, 50.0, 0.0, pitch, 0.0)
    f = r.render(pose, T0 + 36.0, Look(noise_sigma=0.0))
    assert f.image.shape == (360, 640, 3) and f.image.dtype == np.uint8
    labels = {o.label for o in f.objects}
    assert {"traffic_cone", "barrier", "excavation", "excavator", "muck_truck"} <= labels
    hsv = cv2.cvtColor(f.image, cv2.COLOR_BGR2HSV)
    for o in f.objects:
        if o.label != "traffic_cone" or o.visible_fraction < 1:
            continue
        x1, y1, x2, y2 = (round(v) for v in o.box)
        patch = hsv[y1:y2 + 1, x1:x2 + 1]
        orange = (patch[..., 0] < 25) & (patch[..., 1] > 150)
        assert orange.mean() > 0.2, o
        # The ground point projects inside its box.
        px, depth = project_points(cam, pose, [[o.east_m, o.north_m, 0.0]])
        assert depth[0] > 0 and x1 - 2 <= px[0, 0] <= x2 + 2 and y1 - 2 <= px[0, 1] <= y2 + 2
    truck = next(o for o in f.objects if o.label == "muck_truck")
    assert truck.id == "m1#0" and truck.north_m == pytest.approx(-3.5)


def test_render_looking_at_the_horizon_has_sky() -> None:
    r = Renderer(default_world(), SimCamera.from_hfov(320, 180, 70.0))
    f = r.render(CameraPose(0.0, -100.0, 30.0, 0.0, -5.0, 0.0), T0)
    top, bottom = f.image[:10].astype(float).mean(axis=(0, 1)), f.image[-10:].astype(float).mean(axis=(0, 1))
    assert top[0] > top[1] > top[2] and np.abs(top - bottom).sum() > 60  # blue sky above, ground below
