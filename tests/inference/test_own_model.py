"""SkyPatrol's own aerial detector, as committed: it loads from the package path, finds the muck
truck and the cones on a held-out rendered sequence (a world and look the training never saw;
synthetic, modest thresholds), is the pipeline's default, and finds vehicles on real aerial
photographs (smoke test only: no ground truth, no accuracy claim)."""

from __future__ import annotations

from pathlib import Path

import cv2
import numpy as np
import pytest

from inference.detectors.own import (
    CANDIDATE_CONF,
    DEFAULT_CONF,
    OWN_CLASSES,
    OWN_MODEL,
    ModelWithCues,
    default_detector,
    own_detector,
)
from inference.evaluate import box_iou, cares, held_out_flights, render_flight
from inference.types import LABELS, VEHICLE_LABELS

AERIAL = Path(__file__).resolve().parents[2].parent / "shared" / "testdata" / "aerial"


@pytest.fixture(scope="module")
def detector():  # type: ignore[no-untyped-def]
    return own_detector()


def test_committed_model_is_small_and_maps_every_label(detector) -> None:  # type: ignore[no-untyped-def]
    assert OWN_MODEL.stat().st_size <= 10 * 1024 * 1024
    assert OWN_CLASSES.is_file()
    assert sorted(detector.class_to_label.values()) == sorted(LABELS)
    assert detector.input_size == (640, 384)


def _muck_truck_and_cone_hits(detector) -> tuple[int, int, int, int]:  # type: ignore[no-untyped-def]
    flight = held_out_flights(1, frames=5, width=640, height=360, first_seed=100_000 + 37 * 3)[0]
    truck_frames = truck_hits = cones = cone_hits = 0
    for image, _, _, truth in render_flight(flight):
        dets = detector.detect(image)
        for label in ("muck_truck", "traffic_cone"):
            gt = [o for o in truth if o.label == label and cares(o)]
            boxes = np.array([d.box for d in dets if d.label == label], dtype=float).reshape(-1, 4)
            iou = box_iou(np.array([o.box for o in gt], dtype=float).reshape(-1, 4), boxes)
            hits = int((iou.max(axis=1) >= 0.3).sum()) if iou.size else 0
            if label == "muck_truck":
                truck_frames += len(gt)
                truck_hits += hits
            else:
                cones += len(gt)
                cone_hits += hits
    return truck_hits, truck_frames, cone_hits, cones


def test_finds_muck_truck_and_cones_on_held_out_rendered_sequence(detector) -> None:  # type: ignore[no-untyped-def]
    truck_hits, truck_frames, cone_hits, cones = _muck_truck_and_cone_hits(detector)
    assert truck_frames >= 3 and cones >= 10
    assert truck_hits / truck_frames >= 0.5, (truck_hits, truck_frames)
    assert cone_hits / cones >= 0.4, (cone_hits, cones)


def test_cpu_trained_model_loads_and_finds_them_too() -> None:
    """The narrower, CPU-trained model shipped beside the default (same classes and layout)."""
    from inference.detectors.yolo_onnx import YoloOnnxDetector

    path = OWN_MODEL.with_name("skypatrol-aerial-cpu.onnx")
    assert path.stat().st_size <= 10 * 1024 * 1024
    cpu = YoloOnnxDetector(path, OWN_CLASSES, conf_threshold=DEFAULT_CONF)
    assert cpu.input_size == (640, 384) and sorted(cpu.class_to_label.values()) == sorted(LABELS)
    truck_hits, truck_frames, cone_hits, cones = _muck_truck_and_cone_hits(cpu)
    assert truck_frames >= 3 and cones >= 10
    assert truck_hits / truck_frames >= 0.5, (truck_hits, truck_frames)
    assert cone_hits / cones >= 0.4, (cone_hits, cones)


def test_own_model_is_the_default_detector() -> None:
    d = default_detector()
    assert isinstance(d, ModelWithCues)
    assert default_detector(use_model=False).__class__.__name__ == "ColourDetector"


@pytest.mark.skipif(not AERIAL.is_dir(), reason="../shared/testdata/aerial is absent")
def test_real_aerial_photographs_smoke(detector) -> None:  # type: ignore[no-untyped-def]
    vehicles = 0
    for path in sorted(AERIAL.glob("*.jp*g")):
        image = cv2.imread(str(path))
        assert image is not None
        dets = detector.detect(image)
        for d in dets:
            x1, y1, x2, y2 = d.box
            assert 0 <= x1 < x2 <= image.shape[1] and 0 <= y1 < y2 <= image.shape[0] and 0 < d.score <= 1
        vehicles += sum(d.label in VEHICLE_LABELS for d in dets)
    assert vehicles >= 1


def test_thread_cap_gives_the_same_detections(detector) -> None:  # type: ignore[no-untyped-def]
    """The main job runs the model on one thread beside the server; the detections are the same."""
    one = own_detector(threads=1)
    assert one._session.get_session_options().intra_op_num_threads == 1  # type: ignore[attr-defined]
    image = held_out_flights(1, frames=1, width=640, height=360)[0]
    frame = render_flight(image)[0][0]
    a, b = detector.detect(frame), one.detect(frame)
    assert a and [(d.label, round(d.score, 4)) for d in a] == [(d.label, round(d.score, 4)) for d in b]


def test_weak_vehicle_boxes_come_as_candidates(detector) -> None:  # type: ignore[no-untyped-def]
    """With a candidate threshold the model's boxes are the same, plus weaker vehicle boxes flagged
    `candidate` for the motion cue."""
    weak = own_detector(candidate_threshold=CANDIDATE_CONF)
    flight = held_out_flights(1, frames=50, width=640, height=360, first_seed=100_000 + 37 * 2)[0]
    flight = type(flight)(flight.seed, flight.world, flight.camera, flight.frames[20:23], flight.look_seed)
    candidates = 0
    for image, *_ in render_flight(flight):
        a, b = detector.detect(image), weak.detect(image)
        assert sorted((d.label, round(d.score, 4)) for d in b if not d.candidate) == \
            sorted((d.label, round(d.score, 4)) for d in a)
        cands = [d for d in b if d.candidate]
        assert all(CANDIDATE_CONF <= d.score < DEFAULT_CONF and d.label in VEHICLE_LABELS for d in cands)
        candidates += len(cands)
    assert candidates >= 1
