"""SkyPatrol's own aerial detector: the ONNX model shipped in the package (`inference/models/`),
trained on rendered scenes only (`inference/training/`), loaded from the package path (no network).

`default_detector()` is what the pipeline and `skypatrol infer` use unless told otherwise: the own
model with the colour cues beside it (`ModelWithCues`: an orange blob overlapping a model cone or
barrier, or a yellow blob overlapping a model excavator, is dropped; an earth-coloured load on a
model vehicle box replaces that box, so one object is not reported twice), or the colour cues alone
where the model file is absent. The size rules still settle truck labels by metric length.
"""

from __future__ import annotations

from pathlib import Path

import numpy as np
from numpy.typing import NDArray

from inference.boxes import box_iou
from inference.detectors import Detector
from inference.detectors.colour import EARTH, ORANGE, YELLOW, ColourDetector
from inference.types import VEHICLE_LABELS, Detection

MODELS_DIR = Path(__file__).resolve().parents[1] / "models"
OWN_MODEL = MODELS_DIR / "skypatrol-aerial.onnx"
OWN_CLASSES = MODELS_DIR / "skypatrol-aerial.classes.json"
DEFAULT_CONF = 0.45
# Vehicle boxes from here up to DEFAULT_CONF are candidates: kept where they move (`inference.motion`).
CANDIDATE_CONF = 0.25
# Beside the model: orange (cones and barriers too small for it at altitude), earth (loads: with
# the size rule a heavy truck's earth-coloured bed is a muck truck, where the model is weakest on
# large close trucks) and yellow (machinery).
MODEL_CUES = (ORANGE, EARTH, YELLOW)

# The colour cue that would report the same object as a model label.
_CUE_OF_LABEL = {"traffic_cone": "orange", "barrier": "orange", "muck_truck": "earth",
                 "excavator": "yellow"}


def own_model_available() -> bool:
    return OWN_MODEL.is_file() and OWN_CLASSES.is_file()


def own_detector(conf_threshold: float = DEFAULT_CONF, iou_threshold: float = 0.45,
                 threads: int | None = None, *, verify: bool = False,
                 candidate_threshold: float | None = None) -> Detector:
    """The own model alone (raises `BadInput` where the file is absent); `verify`: its vehicle and
    machinery boxes settled by the crop classifier (`verifier.VerifiedDetector`) where that is shipped;
    `candidate_threshold`: weaker vehicle boxes reported as candidates (see `YoloOnnxDetector`)."""
    from inference.detectors.verifier import VehicleClassifier, VerifiedDetector, verifier_available
    from inference.detectors.yolo_onnx import YoloOnnxDetector

    model = YoloOnnxDetector(OWN_MODEL, OWN_CLASSES, conf_threshold=conf_threshold, iou_threshold=iou_threshold,
                             threads=threads, candidate_threshold=candidate_threshold)
    if verify and verifier_available():
        return VerifiedDetector(model, VehicleClassifier(threads=threads))
    return model


class ModelWithCues:
    """A model plus the colour cues for what it misses; a cue blob overlapping (IoU >= `overlap`) a
    model box whose label that cue would also give is dropped."""

    def __init__(self, model: Detector, cues: Detector | None = None, overlap: float = 0.2) -> None:
        self.model = model
        self.cues = cues or ColourDetector(MODEL_CUES)
        self.overlap = overlap

    def detect(self, image: NDArray[np.uint8]) -> list[Detection]:
        found = self.model.detect(image)
        weak = [d for d in found if d.candidate]  # they stand for nothing until confirmed
        found = [d for d in found if not d.candidate]
        blobs = self.cues.detect(image)
        if not found or not blobs:
            return found + blobs + weak
        iou = box_iou([b.box for b in blobs], [d.box for d in found])
        # An earth-coloured load on a vehicle the model saw: the load (settled by the size rule) stands
        # for the vehicle, so that one truck is not two detections (the model splits large trucks).
        vehicle = np.array([d.label in VEHICLE_LABELS for d in found])
        on_vehicle = np.array([b.cue == "earth" for b in blobs])[:, None] & vehicle[None, :] & (iou >= self.overlap)
        cue_of = np.array([_CUE_OF_LABEL.get(d.label, "") for d in found])
        keep = [b for i, b in enumerate(blobs) if on_vehicle[i].any()
                or not np.any((iou[i] >= self.overlap) & (cue_of == b.cue))]
        found = [d for j, d in enumerate(found) if not on_vehicle[:, j].any()]
        return found + keep + weak


def default_detector(*, conf_threshold: float = DEFAULT_CONF, use_model: bool = True,
                     threads: int | None = None, verify: bool = False) -> Detector:
    """The own model with colour cues when the model is shipped, else the colour cues alone; its weaker
    vehicle boxes (from `CANDIDATE_CONF`) come as candidates for the pipeline's motion cue; `threads`
    caps the model's CPU threads (None: onnxruntime's default, all cores); `verify`: the crop
    classifier settles the model's vehicle labels (off by default: with the GPU-trained model it
    cleans car labels but not truck ones, and costs a quarter to a third of the frame rate;
    docs/inference.md)."""
    if use_model and own_model_available():
        return ModelWithCues(own_detector(conf_threshold, threads=threads, verify=verify,
                                          candidate_threshold=CANDIDATE_CONF))
    return ColourDetector()
