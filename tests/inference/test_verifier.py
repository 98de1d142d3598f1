"""The vehicle crop classifier, as committed: the crop maths, the model file, and what it does to the
own detector's vehicle boxes on held-out rendered frames (worlds the training never saw;
synthetic): labels closer to the truth and fewer boxes on nothing."""

from __future__ import annotations

import numpy as np
import pytest

from inference.detectors.own import ModelWithCues, default_detector, own_detector
from inference.detectors.verifier import (
    CROP,
    VERIFIER_CLASSES,
    VERIFIER_MODEL,
    VehicleClassifier,
    VerifiedDetector,
    crop,
)
from inference.evaluate import box_iou, cares, held_out_flights, render_flight
from inference.types import VEHICLE_LABELS


def test_crop_is_centred_on_the_box_and_padded_from_the_frame_edge() -> None:
    image = np.zeros((720, 1280, 3), np.uint8)
    image[300:320, 600:660] = (0, 0, 255)  # a 60 x 20 px red "truck"
    patch = crop(image, (600, 300, 660, 320))
    assert patch.shape == (CROP, CROP, 3)
    assert tuple(patch[CROP // 2, CROP // 2]) == (0, 0, 255)
    # The long side x 1.3 spans the patch: the red bar covers about 1/1.3 of its width.
    red = patch[CROP // 2, :, 2] > 128
    assert abs(red.sum() - CROP / 1.3) <= 2
    assert not (patch[2, CROP // 2] > 128).any()  # above the bar: black
    image[:, :4] = (255, 0, 0)  # a blue left edge, repeated beyond the frame
    edge = crop(image, (0, 100, 40, 120))
    assert edge.shape == (CROP, CROP, 3) and tuple(edge[CROP // 2, 0]) == (255, 0, 0)
    tiny = crop(image, (600, 300, 602, 302))  # a 2 px box is cropped with its surroundings (16 px side)
    assert tiny.shape == (CROP, CROP, 3) and (tiny[..., 2] > 128).mean() < 0.5


def test_committed_classifier_is_small_and_names_its_classes() -> None:
    assert VERIFIER_MODEL.stat().st_size <= 2 * 1024 * 1024
    c = VehicleClassifier()
    assert c.classes == VERIFIER_CLASSES
    probs = c.probabilities(np.zeros((3, CROP, CROP, 3), np.uint8))
    assert probs.shape == (3, len(VERIFIER_CLASSES)) and np.allclose(probs.sum(axis=1), 1, atol=1e-5)
    assert c.probabilities(np.zeros((0, CROP, CROP, 3), np.uint8)).shape == (0, len(VERIFIER_CLASSES))


def test_the_crop_classifier_is_an_option_of_the_default_detector() -> None:
    d = default_detector()
    assert isinstance(d, ModelWithCues) and not isinstance(d.model, VerifiedDetector)
    d = default_detector(verify=True)
    assert isinstance(d, ModelWithCues) and isinstance(d.model, VerifiedDetector)


@pytest.fixture(scope="module")
def frames():  # type: ignore[no-untyped-def]
    flights = held_out_flights(8, frames=4, width=1280, height=720, first_seed=100_500)
    return [(image, truth) for f in flights for image, _, _, truth in render_flight(f)]


def _score(detector, frames) -> tuple[int, int, int]:  # type: ignore[no-untyped-def]
    """(vehicle boxes on a true vehicle with its true label, on a true vehicle with another label,
    on no vehicle at all)."""
    right = wrong = stray = 0
    for image, truth in frames:
        gt = [o for o in truth if o.label in VEHICLE_LABELS and cares(o)]
        dets = [d for d in detector.detect(image) if d.label in VEHICLE_LABELS]
        if not dets:
            continue
        iou = box_iou(np.array([d.box for d in dets], dtype=float),
                      np.array([o.box for o in gt], dtype=float).reshape(-1, 4))
        for j, d in enumerate(dets):
            k = int(np.argmax(iou[j])) if iou.shape[1] else -1
            if k < 0 or iou[j, k] < 0.3:
                stray += 1
            elif gt[k].label == d.label:
                right += 1
            else:
                wrong += 1
    return right, wrong, stray


def test_verifier_settles_labels_and_drops_boxes_on_nothing(frames) -> None:  # type: ignore[no-untyped-def]
    raw = _score(own_detector(), frames)
    verified = _score(own_detector(verify=True), frames)
    # With the shipped (GPU-trained) detector: right labels up, wrong ones down by a fifth, stray boxes
    # down (as committed: 90 -> 100, 41 -> 31, 39 -> 32 on these 32 frames; with the CPU-trained one,
    # which the classifier was trained on, 43 -> 59, 56 -> 41, 62 -> 35).
    assert verified[0] >= raw[0] * 1.05 and verified[1] <= raw[1] * 0.8, (raw, verified)
    assert verified[2] <= raw[2] * 0.9, (raw, verified)
