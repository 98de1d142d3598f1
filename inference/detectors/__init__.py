"""Detectors behind one interface: an image in, pixel detections with SkyPatrol labels out.

- `yolo_onnx.YoloOnnxDetector`: any YOLO-family ONNX export (Ultralytics 1x(4+nc)xN or YOLOv5
  1xNx(5+nc)) through onnxruntime (or cv2.dnn), with a class map to SkyPatrol labels;
- `colour.ColourDetector`: colour cues (orange cones and barriers, earth-coloured loads and soil),
  enough for rendered scenes and a fallback without a model;
- `rules`: metric size from the ground resolution, applied after georeferencing.
"""

from __future__ import annotations

from typing import Protocol, runtime_checkable

import numpy as np
from numpy.typing import NDArray

from inference.types import Detection


@runtime_checkable
class Detector(Protocol):
    """frame (BGR uint8, H x W x 3) -> detections in that frame's pixels."""

    def detect(self, image: NDArray[np.uint8]) -> list[Detection]: ...


class CombinedDetector:
    """Several detectors on the same frame (e.g. a model for vehicles plus colour cues)."""

    def __init__(self, *detectors: Detector) -> None:
        self.detectors = detectors

    def detect(self, image: NDArray[np.uint8]) -> list[Detection]:
        return [d for det in self.detectors for d in det.detect(image)]
