"""YOLO-family ONNX models a city brings, with a class map to SkyPatrol's labels.

Layouts (decided from the output shape, or forced with `layout`):
- Ultralytics (YOLOv8/v11 export): 1 x (4 + nc) x N, rows cx, cy, w, h, then class scores;
- YOLOv5: 1 x N x (5 + nc): cx, cy, w, h, objectness, class scores (score = obj * class).
Boxes are in the letterboxed input's pixels and are mapped back to the frame. Per-class NMS.

The class map (JSON) maps the model's class index (or name, where the model's metadata carries
Ultralytics `names`) to a SkyPatrol label; classes not in the map are dropped:
`{"2": "car", "5": "bus", "7": "truck"}` for a COCO model.
"""

from __future__ import annotations

import ast
import json
import math
from pathlib import Path
from typing import Any, Literal

import cv2
import numpy as np
from numpy.typing import NDArray

from core.errors import BadInput
from inference.types import LABELS, VEHICLE_LABELS, Detection

Layout = Literal["auto", "ultralytics", "yolov5"]


def load_class_map(path_or_mapping: str | Path | dict[str, Any]) -> dict[str, str]:
    if isinstance(path_or_mapping, dict):
        raw: Any = path_or_mapping
        where = "class map"
    else:
        where = str(path_or_mapping)
        try:
            raw = json.loads(Path(path_or_mapping).read_text(encoding="utf-8"))
        except FileNotFoundError:
            raise BadInput(f"{where}: class map not found") from None
        except (OSError, UnicodeDecodeError, json.JSONDecodeError) as exc:
            raise BadInput(f"{where}: not a JSON class map ({exc})") from None
    if not isinstance(raw, dict) or not raw:
        raise BadInput(f"{where}: a class map is a non-empty JSON object {{model class: SkyPatrol label}}")
    out: dict[str, str] = {}
    for k, v in raw.items():
        if v is None:
            continue
        if v not in LABELS:
            raise BadInput(f"{where}: {v!r} is not a SkyPatrol label ({', '.join(LABELS)})")
        out[str(k)] = v
    return out


def letterbox(image: NDArray[np.uint8], size: tuple[int, int]) -> tuple[NDArray[np.uint8], float, tuple[float, float]]:
    """Resize keeping the aspect ratio into (width, height), pad with grey; (image, scale, (pad_x, pad_y))."""
    w, h = size
    ih, iw = image.shape[:2]
    r = min(w / iw, h / ih)
    nw, nh = round(iw * r), round(ih * r)
    resized = cv2.resize(image, (nw, nh), interpolation=cv2.INTER_LINEAR) if (nw, nh) != (iw, ih) else image
    px, py = (w - nw) / 2.0, (h - nh) / 2.0
    out = cv2.copyMakeBorder(resized, round(py - 0.1), round(py + 0.1), round(px - 0.1),
                             round(px + 0.1), cv2.BORDER_CONSTANT, value=(114, 114, 114))
    return out, r, (px, py)


def decode_yolo(output: NDArray[np.float32], *, layout: Layout = "auto", conf_threshold: float = 0.25,
                ) -> tuple[NDArray[np.float64], NDArray[np.float64], NDArray[np.int64]]:
    """Raw head output -> (boxes xyxy in input pixels, scores, class ids) above the threshold."""
    out = np.asarray(output, dtype=np.float64)
    if out.ndim == 3:
        if out.shape[0] != 1:
            raise BadInput(f"model output batch {out.shape[0]} is not 1")
        out = out[0]
    if out.ndim != 2:
        raise BadInput(f"model output shape {output.shape} is not a YOLO head")
    if layout == "auto":
        # Ultralytics puts the (4 + nc) channels first; there are always far more anchors than channels.
        layout = "ultralytics" if out.shape[0] < out.shape[1] else "yolov5"
    if layout == "ultralytics":
        rows = out.T
        if rows.shape[1] < 5:
            raise BadInput(f"model output {output.shape}: too few channels for the Ultralytics layout")
        cls_scores = rows[:, 4:]
    else:
        rows = out
        if rows.shape[1] < 6:
            raise BadInput(f"model output {output.shape}: too few channels for the YOLOv5 layout")
        cls_scores = rows[:, 5:] * rows[:, 4:5]
    cls = np.argmax(cls_scores, axis=1)
    scores = cls_scores[np.arange(len(cls)), cls]
    keep = scores >= conf_threshold
    cx, cy, w, h = rows[keep, 0], rows[keep, 1], rows[keep, 2], rows[keep, 3]
    boxes = np.column_stack([cx - w / 2, cy - h / 2, cx + w / 2, cy + h / 2])
    return boxes, scores[keep], cls[keep].astype(np.int64)


def nms_per_class(boxes: NDArray[np.float64], scores: NDArray[np.float64], classes: NDArray[np.int64],
                  iou_threshold: float, score_threshold: float) -> list[int]:
    if len(boxes) == 0:
        return []
    xywh = np.column_stack([boxes[:, :2], boxes[:, 2:] - boxes[:, :2]])
    idx = cv2.dnn.NMSBoxesBatched(xywh.tolist(), scores.tolist(), classes.tolist(), score_threshold, iou_threshold)
    return [int(i) for i in np.asarray(idx).reshape(-1)]


class YoloOnnxDetector:
    """Runs a YOLO ONNX model with onnxruntime (CUDA where available) or, failing that, cv2.dnn."""

    def __init__(self, model_path: str | Path, class_map: dict[str, str] | str | Path, *,
                 conf_threshold: float = 0.25, iou_threshold: float = 0.45, layout: Layout = "auto",
                 input_size: tuple[int, int] | None = None, backend: Literal["auto", "onnxruntime", "cv2"] = "auto",
                 threads: int | None = None, candidate_threshold: float | None = None):
        """`candidate_threshold` (below `conf_threshold`): vehicle boxes scoring between the two are
        reported too, flagged `candidate` (kept by the pipeline only where its motion cue confirms them)."""
        self.path = Path(model_path)
        if not self.path.is_file():
            raise BadInput(f"{self.path}: model file not found")
        self.conf_threshold = conf_threshold
        self.candidate_threshold = min(conf_threshold, candidate_threshold if candidate_threshold is not None
                                       else conf_threshold)
        self.iou_threshold = iou_threshold
        self.layout = layout
        self.names: dict[int, str] = {}
        self._session: Any = None
        self._net: Any = None
        shape: list[Any] = []
        if backend in ("auto", "onnxruntime"):
            try:
                import onnxruntime as ort
            except ImportError:
                if backend == "onnxruntime":
                    raise BadInput("onnxruntime is not installed") from None
            else:
                providers = [p for p in ("CUDAExecutionProvider", "CPUExecutionProvider")
                             if p in ort.get_available_providers()]
                options = ort.SessionOptions()
                if threads is not None:  # e.g. 1 beside other work on a small machine
                    options.intra_op_num_threads = threads
                    options.inter_op_num_threads = 1
                try:
                    self._session = ort.InferenceSession(str(self.path), options, providers=providers)
                except Exception as exc:
                    raise BadInput(f"{self.path}: not a loadable ONNX model ({exc})") from None
                inp = self._session.get_inputs()[0]
                self._input_name = inp.name
                shape = list(inp.shape)
                meta = self._session.get_modelmeta().custom_metadata_map
                self.names = _parse_names(meta.get("names"))
                if input_size is None and "imgsz" in meta:
                    try:
                        sz = ast.literal_eval(meta["imgsz"])
                        input_size = (int(sz[1]), int(sz[0]))
                    except (ValueError, SyntaxError, TypeError, IndexError):
                        pass
        if self._session is None:
            try:
                self._net = cv2.dnn.readNetFromONNX(str(self.path))
            except cv2.error as exc:
                raise BadInput(f"{self.path}: OpenCV cannot load this ONNX model ({exc})") from None
        if input_size is None:
            h = shape[2] if len(shape) == 4 and isinstance(shape[2], int) else 640
            w = shape[3] if len(shape) == 4 and isinstance(shape[3], int) else 640
            input_size = (w, h)
        self.input_size = input_size
        cmap = load_class_map(class_map) if not isinstance(class_map, dict) else load_class_map(dict(class_map))
        self.class_to_label = self._resolve(cmap)

    def _resolve(self, cmap: dict[str, str]) -> dict[int, str]:
        by_name = {v: k for k, v in self.names.items()}
        out: dict[int, str] = {}
        for key, label in cmap.items():
            if key.lstrip("-").isdigit():
                out[int(key)] = label
            elif key in by_name:
                out[by_name[key]] = label
            else:
                raise BadInput(f"class map key {key!r} is neither a class index nor a class name of the model")
        return out

    def raw_output(self, blob: NDArray[np.float32]) -> NDArray[np.float32]:
        if self._session is not None:
            return self._session.run(None, {self._input_name: blob})[0]
        self._net.setInput(blob)
        return self._net.forward()

    def detect(self, image: NDArray[np.uint8]) -> list[Detection]:
        boxed, r, (px, py) = letterbox(image, self.input_size)
        blob = cv2.dnn.blobFromImage(boxed, 1.0 / 255.0, swapRB=True)
        out = self.raw_output(blob)
        low = self.candidate_threshold
        boxes, scores, classes = decode_yolo(out, layout=self.layout, conf_threshold=low)
        mapped = np.array([c in self.class_to_label for c in classes], dtype=bool)
        boxes, scores, classes = boxes[mapped], scores[mapped], classes[mapped]
        keep = nms_per_class(boxes, scores, classes, self.iou_threshold, low)
        ih, iw = image.shape[:2]
        dets = []
        for i in keep:
            x1, y1, x2, y2 = boxes[i]
            x1, x2 = (x1 - px) / r, (x2 - px) / r
            y1, y2 = (y1 - py) / r, (y2 - py) / r
            box = (max(0.0, x1), max(0.0, y1), min(float(iw), x2), min(float(ih), y2))
            if box[2] - box[0] < 1 or box[3] - box[1] < 1 or not all(math.isfinite(v) for v in box):
                continue
            label, score = self.class_to_label[int(classes[i])], float(scores[i])
            weak = score < self.conf_threshold
            if weak and label not in VEHICLE_LABELS:
                continue
            dets.append(Detection(box=box, label=label, score=score, candidate=weak))
        return dets


def _parse_names(text: str | None) -> dict[int, str]:
    if not text:
        return {}
    try:
        v = ast.literal_eval(text)
    except (ValueError, SyntaxError):
        return {}
    if isinstance(v, dict):
        return {int(k): str(n) for k, n in v.items()}
    if isinstance(v, list):
        return dict(enumerate(str(n) for n in v))
    return {}
