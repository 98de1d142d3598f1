"""A second look at every vehicle a detector reports: a small classifier on the box's crop from the
full-resolution frame settles what the vehicle is (muck truck, other truck, car, bus, machinery) or
that it is none (a roof, a shadow, road paint).

The detector sees the frame letterboxed to 640 px wide, where a truck 150 m below is a few pixels
across and a covered load looks much like a box body; the crop keeps the frame's own pixels (twice
as many at 1280x720) around just that object, so its class is told from the load, the cab and the
colours. Trained on crops of the own detector's boxes on rendered scenes, matched to the truth
(`inference.training.verifier`); shipped beside the detector in `inference/models/`.

`VerifiedDetector(detector)` wraps any detector: boxes with a vehicle or machinery label are
classified in one batch; a box the classifier calls `none` with at least `drop_at` is dropped; any
other takes the classifier's label where that is at least `relabel_at` sure (scores stay the
detector's, so trackers keep their thresholds).
"""

from __future__ import annotations

import json
from dataclasses import replace
from pathlib import Path

import cv2
import numpy as np
from numpy.typing import NDArray

from inference.detectors import Detector
from inference.detectors.own import MODELS_DIR
from inference.types import VEHICLE_LABELS, Detection

VERIFIER_MODEL = MODELS_DIR / "skypatrol-vehicle.onnx"
VERIFIER_CLASSES = ("muck_truck", "truck", "car", "bus", "excavator", "none")
CROP = 48  # pixels a side
CONTEXT = 1.3  # the crop's side over the box's longer side
MIN_SIDE = 16.0  # pixels: a smaller box is cropped with this side (the object's surroundings fill it)
CHECKED = VEHICLE_LABELS | {"excavator"}


def crop(image: NDArray[np.uint8], box: tuple[float, float, float, float], size: int = CROP,
         context: float = CONTEXT) -> NDArray[np.uint8]:
    """The square patch around a box (its longer side x `context`, at least `MIN_SIDE`), resized to
    `size` x `size`; parts beyond the frame are the frame's edge pixels repeated."""
    x1, y1, x2, y2 = box
    side = max(x2 - x1, y2 - y1, MIN_SIDE / context) * context
    n = max(1, round(side))
    x0, y0 = round((x1 + x2 - n) / 2), round((y1 + y2 - n) / 2)
    h, w = image.shape[:2]
    # Only the patch is touched: cut what lies in the frame, repeat the edge pixels for the rest.
    cx0, cy0, cx1, cy1 = max(x0, 0), max(y0, 0), min(x0 + n, w), min(y0 + n, h)
    if cx1 <= cx0 or cy1 <= cy0:
        return np.zeros((size, size, 3), np.uint8)
    patch = image[cy0:cy1, cx0:cx1]
    if (cx0, cy0, cx1, cy1) != (x0, y0, x0 + n, y0 + n):
        patch = cv2.copyMakeBorder(patch, cy0 - y0, y0 + n - cy1, cx0 - x0, x0 + n - cx1, cv2.BORDER_REPLICATE)
    return cv2.resize(patch, (size, size), interpolation=cv2.INTER_AREA if n > size else cv2.INTER_LINEAR)


def to_input(crops: NDArray[np.uint8]) -> NDArray[np.float32]:
    """N x size x size x 3 BGR uint8 -> N x 3 x size x size RGB float 0-1 (the model's input)."""
    return np.ascontiguousarray(crops[..., ::-1].transpose(0, 3, 1, 2), dtype=np.float32) / np.float32(255.0)


def verifier_available() -> bool:
    return VERIFIER_MODEL.is_file()


class VehicleClassifier:
    """The crop classifier (ONNX, onnxruntime on the CPU): crops -> class probabilities."""

    def __init__(self, path: Path = VERIFIER_MODEL, threads: int | None = None) -> None:
        import onnxruntime as ort

        from core.errors import BadInput

        if not path.is_file():
            raise BadInput(f"vehicle classifier not found: {path}")
        opts = ort.SessionOptions()
        if threads:
            opts.intra_op_num_threads = threads
        self.session = ort.InferenceSession(str(path), opts, providers=["CPUExecutionProvider"])
        self.input = self.session.get_inputs()[0].name
        meta = self.session.get_modelmeta().custom_metadata_map
        self.classes: tuple[str, ...] = tuple(json.loads(meta["classes"])) if "classes" in meta else VERIFIER_CLASSES

    def probabilities(self, crops: NDArray[np.uint8]) -> NDArray[np.float32]:
        if len(crops) == 0:
            return np.zeros((0, len(self.classes)), dtype=np.float32)
        logits = self.session.run(None, {self.input: to_input(crops)})[0]
        e = np.exp(logits - logits.max(axis=1, keepdims=True))
        return (e / e.sum(axis=1, keepdims=True)).astype(np.float32)


class VerifiedDetector:
    """A detector whose vehicle and machinery boxes the crop classifier settles (see the module)."""

    def __init__(self, detector: Detector, classifier: VehicleClassifier | None = None, *,
                 drop_at: float = 0.6, relabel_at: float = 0.5) -> None:
        self.detector = detector
        self.classifier = classifier or VehicleClassifier()
        self.drop_at = drop_at
        self.relabel_at = relabel_at

    def detect(self, image: NDArray[np.uint8]) -> list[Detection]:
        found = self.detector.detect(image)
        idx = [i for i, d in enumerate(found) if d.label in CHECKED]
        if not idx:
            return found
        probs = self.classifier.probabilities(np.stack([crop(image, found[i].box) for i in idx]))
        classes = self.classifier.classes
        settled: list[Detection | None] = list(found)  # the detector's order is kept
        for i, p in zip(idx, probs, strict=True):
            k = int(np.argmax(p))
            label = classes[k]
            if label == "none":
                if p[k] >= self.drop_at:
                    settled[i] = None
            elif p[k] >= self.relabel_at and label != found[i].label:
                settled[i] = replace(found[i], label=label)
        return [d for d in settled if d is not None]
