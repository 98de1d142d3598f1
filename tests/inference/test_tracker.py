"""The ground-plane tracker on synthetic trajectories, scored with motmetrics (CLEAR MOT, IDF1)."""

from __future__ import annotations

import math

import numpy as np
import pytest

from inference.tracker import GroundTracker, TrackerConfig, summarise
from inference.types import Detection, GeoDetection

mm = pytest.importorskip("motmetrics")

DT = 0.1


def det(e: float, n: float, t: float, score: float = 0.9, sigma: float = 1.0) -> GeoDetection:
    return GeoDetection(Detection((0, 0, 1, 1), "muck_truck", score), "muck_truck", score, t, round(t / DT),
                        30.0, 121.0, e, n, sigma)


def scenario(seed: int) -> tuple[list[float], list[dict[int, tuple[float, float]]], list[list[GeoDetection]]]:
    """Eight vehicles (two crossing paths), noise, misses, an occlusion, a pass outside the view."""
    rng = np.random.default_rng(seed)
    steps = 200
    starts = [(-100, -3.5, 8, 0), (100, 3.5, -8, 0), (-20, -100, 0, 7), (20, 100, 0, -7),
              (-100, -60, 6, 6), (-100, 60, 6, -6), (-60, -10, 10, 0), (50, -50, 0, 5)]
    times, truth, dets = [], [], []
    for k in range(steps):
        t = k * DT
        gt: dict[int, tuple[float, float]] = {}
        frame: list[GeoDetection] = []
        for i, (e0, n0, ve, vn) in enumerate(starts):
            e, n = e0 + ve * t, n0 + vn * t
            in_view = abs(e) < 90 and abs(n) < 90
            if i == 6 and 60 <= k < 75:  # occluded for 1.5 s (under a bridge)
                in_view = False
            if i == 7 and 80 <= k < 110:  # drives out of the camera's view for 3 s and back
                in_view = False
            if not in_view:
                continue
            gt[i] = (e, n)
            if rng.random() < 0.05:
                continue  # missed detection
            score = 0.9 if rng.random() > 0.15 else 0.3  # sometimes only a weak detection
            frame.append(det(e + rng.normal(0, 0.7), n + rng.normal(0, 0.7), t, score))
        for _ in range(rng.poisson(1.0)):  # clutter, mostly weak
            frame.append(det(rng.uniform(-90, 90), rng.uniform(-90, 90), t, 0.3 if rng.random() < 0.8 else 0.6))
        times.append(t)
        truth.append(gt)
        dets.append(frame)
    return times, truth, dets


@pytest.mark.parametrize("seed", [1, 2])
def test_tracker_mot_metrics_on_synthetic_trajectories(seed: int) -> None:
    times, truth, dets = scenario(seed)
    tracker = GroundTracker(TrackerConfig())
    acc = mm.MOTAccumulator(auto_id=True)
    for t, gt, frame in zip(times, truth, dets, strict=True):
        tracker.update(t, frame)
        hyp = {tr.id: tr.x[:2].copy() for tr in tracker.tracks if tr.confirmed and tr.seen_last_update}
        gt_ids = list(gt)
        gt_pos = np.array([gt[i] for i in gt_ids]).reshape(-1, 2)
        hyp_ids = list(hyp)
        hyp_pos = np.array([hyp[i] for i in hyp_ids]).reshape(-1, 2)
        acc.update(gt_ids, hyp_ids, mm.distances.norm2squared_matrix(gt_pos, hyp_pos, max_d2=3.0**2))
    summary = mm.metrics.create().compute(acc, metrics=["idf1", "mota", "num_switches"], name="s")
    idf1, mota, switches = (float(summary[k].iloc[0]) for k in ("idf1", "mota", "num_switches"))
    assert idf1 >= 0.9, summary
    assert mota >= 0.85, summary
    assert switches <= 2, summary


def test_occluded_and_out_of_view_vehicle_keeps_its_id() -> None:
    tracker = GroundTracker()
    ids = set()
    for k in range(120):
        t = k * DT
        visible = not (40 <= k < 80)  # 4 s unseen: under a bridge or outside the frame
        frame = [det(-50 + 8 * t, 0.0, t)] if visible else []
        tracker.update(t, frame)
        ids |= {tr.id for tr in tracker.tracks if tr.confirmed and tr.seen_last_update}
    assert len(ids) == 1
    ended = tracker.flush()
    s = summarise(ended[0])
    assert s.speed_mps == pytest.approx(8.0, rel=0.05)
    assert s.heading_deg == pytest.approx(90.0, abs=2.0)
    assert len(s.times) == len(s.lats) == 80


def test_tracks_end_after_max_lost_and_clutter_makes_none() -> None:
    tracker = GroundTracker(TrackerConfig(max_lost_s=2.0))
    ended_at = None
    for k in range(60):
        t = k * DT
        frame = [det(0.0, 5 * t, t)] if k < 20 else []
        frame.append(det(50.0 * math.sin(k), 50.0 * math.cos(k * 1.7), t, 0.3))  # weak clutter jumps around
        if tracker.update(t, frame) and ended_at is None:
            ended_at = t
    assert ended_at is not None and ended_at == pytest.approx(1.9 + 2.0, abs=0.15)
    assert len(tracker.finished) == 1


def test_class_is_voted_over_the_track_life() -> None:
    def run(frames: list[tuple[str, float, str | None]]) -> str:
        tracker = GroundTracker()
        for k, (label, length, load) in enumerate(frames):
            d = GeoDetection(Detection((0, 0, 1, 1), label, 0.9), label, 0.9, k * DT, k, 30.0, 121.0, 8.0 * k * DT,
                             0.0, 1.0, length, 2.5, load=load)
            tracker.update(k * DT, [d])
        (track,) = tracker.flush()
        return track.label

    # An earth load seen in two thirds of the views makes a muck truck, whatever the per-frame labels said;
    # in a third of them (a truck whose top passes for earth in some light) it does not.
    assert run([("truck", 10.0, "earth" if k % 3 else None) for k in range(30)]) == "muck_truck"
    assert run([("truck", 10.0, "earth" if k % 3 == 0 else None) for k in range(30)]) == "truck"
    # No load seen: a muck-truck majority of a heavy dump truck's length stays one; short or split votes do not.
    assert run([("muck_truck", 10.5, None)] * 30) == "muck_truck"
    assert run([("muck_truck", 7.0, None)] * 30) == "truck"
    assert run([("muck_truck" if k % 2 else "truck", 10.5, None) for k in range(30)]) == "truck"
    # An earth-coloured patch of a load's size alone, short on the ground, is no truck.
    assert run([("muck_truck", 4.5, "earth")] * 30) == "truck"
    # A "car" of a truck's length is a truck; a car stays a car.
    assert run([("car", 8.0, None)] * 30) == "truck"
    assert run([("car", 4.5, None)] * 30) == "car"


def test_a_truck_appearing_beside_a_small_thing_keeps_its_own_track() -> None:
    """A 1.2 m thing (a cone the model takes for a car), seen every other frame once confirmed, 2.5 m from
    the truck's path; the truck enters beside it in a frame where it is missed: by position alone its
    track would take the truck."""
    tracker = GroundTracker()
    for k in range(40):
        t = k * DT
        dets = []
        if k < 10 or k % 2 == 0:
            dets.append(GeoDetection(Detection((0, 0, 1, 1), "car", 0.9), "car", 0.9, t, k, 30.0, 121.0, 0.0, 3.5,
                                     1.0, 1.2, 0.6))
        if k >= 11:
            dets.append(GeoDetection(Detection((0, 0, 1, 1), "muck_truck", 0.9), "muck_truck", 0.9, t, k, 30.0,
                                     121.0, -1.0 + 10.0 * (t - 1.1), 1.0, 1.0, 10.0, 2.5, load="earth"))
        tracker.update(t, dets)
    tracks = tracker.flush()
    assert sorted(tr.label for tr in tracks) == ["car", "muck_truck"]
    car_track = next(tr for tr in tracks if tr.label == "car")
    assert car_track.votes["muck_truck"] == 0 and max(abs(p.north_m - 3.5) for p in car_track.points) < 0.01


def test_machinery_or_earth_driving_at_road_speed_is_a_truck() -> None:
    """The detector takes some trucks for an excavator (or a truck's open load for excavation): motion
    tells them apart; machinery and dug earth that stand still stay what they are."""
    def run(label: str, speed: float, length: float = 9.0, frames: int = 30) -> str:
        tracker = GroundTracker()
        rng = np.random.default_rng(3)
        for k in range(frames):
            t = k * DT
            e, n = speed * t + rng.normal(0, 0.5), rng.normal(0, 0.5)  # position noise of a high view
            tracker.update(t, [GeoDetection(Detection((0, 0, 1, 1), label, 0.9), label, 0.9, t, k, 30.0, 121.0,
                                            e, n, 1.0, length, 2.5)])
        (track,) = tracker.flush()
        return track.label

    assert run("excavator", 9.0) == "truck"
    assert run("excavation", 9.0) == "muck_truck"
    assert run("excavator", 0.0) == "excavator"
    assert run("excavation", 0.5) == "excavation"
    assert run("excavation", 9.0, length=4.5) == "truck"  # too short for a loaded bed
    assert run("excavator", 9.0, frames=8) == "excavator"  # not yet seen long enough to tell


def test_a_second_box_on_a_tracked_truck_starts_no_track() -> None:
    """The model boxes a truck's cab as a car, 4 m ahead of the bed it boxes as a truck, in every frame
    after the truck is tracked: one track, which keeps the extra box as evidence."""
    tracker = GroundTracker()
    for k in range(40):
        t = k * DT
        e = 9.0 * t
        dets = [GeoDetection(Detection((0, 0, 1, 1), "muck_truck", 0.9), "muck_truck", 0.9, t, k, 30.0, 121.0,
                             e, 0.0, 1.0, 9.0, 2.5)]
        if k >= 5:
            dets.append(GeoDetection(Detection((0, 0, 1, 1), "car", 0.8), "car", 0.8, t, k, 30.0, 121.0,
                                     e + 4.0, 0.0, 1.0, 2.4, 2.3))
        tracker.update(t, dets)
    tracks = tracker.flush()
    assert len(tracks) == 1 and tracks[0].label == "muck_truck"
    assert tracks[0].labels["car"] == 35 and len(tracks[0].points) == 40


def _box_at(label: str, e: float, n: float, t: float, length: float) -> GeoDetection:
    return GeoDetection(Detection((0, 0, 1, 1), label, 0.9), label, 0.9, t, round(t / DT), 30.0, 121.0, e, n, 0.8,
                        length_m=length, width_m=2.5)


def test_two_tracks_on_one_truck_are_merged_into_the_older() -> None:
    """A truck seen as two boxes from the first frame (its body and its cab, 3.5 m ahead) starts two
    tracks; they stay on one thing, so the younger is merged into the older."""
    tracker = GroundTracker()
    merged: list[int] = []
    for k in range(30):
        t = k * DT
        e = -40.0 + 8.0 * t
        tracker.update(t, [_box_at("muck_truck", e, 0.0, t, 9.0), _box_at("truck", e + 3.5, 0.3, t, 4.0)])
        merged += [tr.id for tr in tracker.merged]
    assert [tr.id for tr in tracker.active] == [1] and merged == [2]
    assert tracker.active[0].votes["truck"] > 0  # the cab's votes are kept


def test_vehicles_side_by_side_or_nose_to_tail_are_not_merged() -> None:
    """Two trucks in adjacent lanes (3.5 m apart), one behind the other in a lane (12 m apart), or a car
    close behind a long truck (6.5 m between centres), at the same speed, stay two tracks each."""
    for (de, dn), label, length in (((0.0, 3.5), "truck", 9.0), ((12.0, 0.0), "truck", 9.0),
                                    ((-6.5, 0.0), "car", 5.0)):
        tracker = GroundTracker()
        for k in range(40):
            t = k * DT
            e = -40.0 + 8.0 * t
            tracker.update(t, [_box_at("muck_truck", e, 0.0, t, 11.0), _box_at(label, e + de, dn, t, length)])
        assert len(tracker.active) == 2, (de, dn, label)


def test_a_truck_seen_as_its_cab_and_its_load_is_as_long_as_the_load() -> None:
    """The model boxes a muck truck's cab as a 4 m car; the colour cue boxes its 7.5 m earth load 2-3.5 m
    behind. Whether the load's box is absorbed into the cab's track (a second box on it) or starts its
    own track that is merged into the cab's, the truck is as long as its load: a muck truck."""
    for behind, first_load in ((2.0, 3), (3.5, 0)):
        tracker = GroundTracker()
        for k in range(30):
            t = k * DT
            e = -40.0 + 8.0 * t
            dets = [GeoDetection(Detection((0, 0, 1, 1), "car", 0.8), "car", 0.8, t, k, 30.0, 121.0, e, 0.0, 0.8,
                                 4.0, 2.3)]
            if k >= first_load:
                dets.append(GeoDetection(Detection((0, 0, 1, 1), "muck_truck", 0.9), "muck_truck", 0.9, t, k,
                                         30.0, 121.0, e - behind, 0.2, 0.8, 7.5, 2.5, load="earth"))
            tracker.update(t, dets)
        tracks = tracker.flush()
        assert [tr.label for tr in tracks] == ["muck_truck"], (behind, [(tr.label, tr.lengths) for tr in tracks])


def test_a_dig_beside_the_road_does_not_take_the_trucks_passing_it() -> None:
    """Earth dug beside the lane (an 11 m box, 3.5 m from the trucks' path) is tracked in case it drives;
    once it has stood still, a muck truck passing it keeps all its own sightings, and the dig gets none."""
    tracker = GroundTracker()
    truck_frames = 0
    for k in range(60):
        t = k * DT
        dets = [GeoDetection(Detection((0, 0, 1, 1), "excavation", 0.7), "excavation", 0.7, t, k, 30.0, 121.0,
                             0.3 * math.sin(k), 1.5, 0.8, 11.0, 4.0)]
        if k >= 20:  # it comes into view beside the dig
            truck_frames += 1
            dets.append(GeoDetection(Detection((0, 0, 1, 1), "muck_truck", 0.9), "muck_truck", 0.9, t, k, 30.0,
                                     121.0, -3.0 + 8.0 * (t - 2.0), -2.0, 0.8, 7.5, 2.5, load="earth"))
        tracker.update(t, dets)
    tracks = {tr.label: tr for tr in tracker.flush()}
    assert sorted(tracks) == ["excavation", "muck_truck"]
    assert set(tracks["excavation"].labels) == {"excavation"}
    assert len(tracks["muck_truck"].points) == truck_frames
