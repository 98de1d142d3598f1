"""Privacy: faces and number plates blurred in the evidence most roles see (China's PIPL).

`private_regions(image)` finds what identifies a person:
- number plates by colour and shape, as China issues them: blue (cars, white characters), yellow
  (large vehicles such as muck trucks, black characters) and new-energy green plates - a plate-coloured
  rectangle of plate proportions (2-5.5 : 1) with characters of the contrasting shade inside;
- faces with dlib's frontal face detector (HOG features and a linear SVM, built into the `dlib`
  module of the `dlib-bin` wheel: no model file, nothing fetched at run time). It runs on a grey copy
  scaled to at most `_FACE_WORK_PX` pixels (about 1920x1080) and at most 4x: small crops are
  upsampled 4x (as two pyramid levels up), a 1280x720 frame 1.5x (upsampling once, 2x, takes about
  twice as long), 4K frames are scaled down; boxes are scaled back. The detector's 80 px window
  then finds faces from about 20 px in small crops, 53 px in a 1280x720 frame, 80 px in 1920x1080
  (about 120 ms of one core for 1280x720).
  Where dlib is not installed, OpenCV's Haar cascade (`haarcascade_frontalface_default.xml` from
  `cv2.data.haarcascades`) where the installed OpenCV offers cascades (`cv2.CascadeClassifier`,
  OpenCV 4; OpenCV 5 dropped them); where neither is there only plates are found
  (`face_detection_available()` says whether faces are);
- plates also with OpenCV's `haarcascade_russian_plate_number.xml` where OpenCV has cascades.
`blur_regions(image, regions)` pixelates and blurs each region grown by a margin, so what was there
cannot be read back. The evidence API serves this public derivative to every role below the one
allowed originals (admin by default).
"""

from __future__ import annotations

import functools
import math
import threading
from pathlib import Path
from typing import Any

import cv2
import numpy as np
from numpy.typing import NDArray

Box = tuple[int, int, int, int]  # x1, y1, x2, y2

# HSV ranges (OpenCV scale) of plate backgrounds and the character shade each carries.
_PLATES = (
    ("blue", (100, 125), (120, 255), (60, 255), "light"),
    ("yellow", (15, 35), (120, 255), (120, 255), "dark"),
    ("green", (40, 85), (60, 255), (80, 255), "dark"),
)


# The face detector's work image: at most this many pixels (about 1920x1080) and at most 4x the input.
_FACE_WORK_PX = 2_100_000
_FACE_MAX_UPSCALE = 4.0
_dlib_lock = threading.Lock()


@functools.cache
def _dlib_detector() -> Any | None:
    try:
        import dlib  # type: ignore[import-untyped]
    except (ImportError, OSError):
        return None
    return dlib.get_frontal_face_detector()


@functools.cache
def _cascade(name: str) -> object | None:
    if not hasattr(cv2, "CascadeClassifier"):
        return None
    folder = getattr(getattr(cv2, "data", None), "haarcascades", None)
    if not folder or not (Path(folder) / name).is_file():
        return None
    c = cv2.CascadeClassifier(str(Path(folder) / name))
    return None if c.empty() else c


def face_detection_available() -> bool:
    """Whether faces are found: dlib's HOG detector, else OpenCV's Haar cascade (OpenCV 4 only)."""
    return _dlib_detector() is not None or _cascade("haarcascade_frontalface_default.xml") is not None


def plate_regions(image: NDArray[np.uint8], *, min_area_px: int = 24) -> list[Box]:
    """Plate-coloured rectangles of plate proportions with characters inside."""
    hsv = cv2.cvtColor(image, cv2.COLOR_BGR2HSV)
    v = hsv[..., 2]
    s = hsv[..., 1]
    out: list[Box] = []
    kernel = cv2.getStructuringElement(cv2.MORPH_RECT, (5, 3))
    for _, h, sat, val, chars in _PLATES:
        mask = cv2.inRange(hsv, np.array([h[0], sat[0], val[0]], np.uint8), np.array([h[1], sat[1], val[1]], np.uint8))
        # Characters split the background: close over them to get the whole plate.
        closed = cv2.morphologyEx(mask, cv2.MORPH_CLOSE, kernel)
        n, labels, stats, _ = cv2.connectedComponentsWithStats(closed, connectivity=8)
        for i in range(1, n):
            x, y, w, hh, area = (int(q) for q in stats[i])
            if area < min_area_px or hh < 3:
                continue
            roi = (labels[y:y + hh, x:x + w] == i).astype(np.uint8)
            pts = cv2.findNonZero(roi)
            (_, _), (rw, rh), _ = cv2.minAreaRect(pts)
            long, short = max(rw, rh), max(1.0, min(rw, rh))
            if not 2.0 <= long / short <= 5.5 or area < 0.6 * rw * rh:
                continue
            inside = roi.astype(bool)
            if chars == "light":
                glyph = (v[y:y + hh, x:x + w] >= 170) & (s[y:y + hh, x:x + w] <= 80)
            else:
                glyph = v[y:y + hh, x:x + w] <= 80
            share = float(np.count_nonzero(glyph & inside)) / float(np.count_nonzero(inside))
            if 0.05 <= share <= 0.6:
                out.append((x, y, x + w, y + hh))
    return out


def _dlib_face_regions(detector: Any, image: NDArray[np.uint8]) -> list[Box]:
    gray = image if image.ndim == 2 else cv2.cvtColor(image, cv2.COLOR_BGR2GRAY)
    h, w = gray.shape[:2]
    if h < 8 or w < 8:
        return []
    f = min(_FACE_MAX_UPSCALE, math.sqrt(_FACE_WORK_PX / float(h * w)))
    if abs(f - 1.0) > 0.02:
        size = (max(1, round(w * f)), max(1, round(h * f)))
        work = cv2.resize(gray, size, interpolation=cv2.INTER_AREA if f < 1.0 else cv2.INTER_LINEAR)
        fx, fy = size[0] / w, size[1] / h
    else:
        work, fx, fy = np.ascontiguousarray(gray), 1.0, 1.0
    with _dlib_lock:
        found = detector(work, 0)
    out: list[Box] = []
    for r in found:  # dlib's boxes may reach past the border
        x1, y1 = max(0, math.floor(r.left() / fx)), max(0, math.floor(r.top() / fy))
        x2, y2 = min(w, math.ceil((r.right() + 1) / fx)), min(h, math.ceil((r.bottom() + 1) / fy))
        if x2 > x1 and y2 > y1:
            out.append((x1, y1, x2, y2))
    return out


def face_regions(image: NDArray[np.uint8]) -> list[Box]:
    """Frontal faces: dlib's HOG detector where dlib is installed, else OpenCV's Haar cascade, else none."""
    detector = _dlib_detector()
    if detector is not None:
        return _dlib_face_regions(detector, image)
    cascade = _cascade("haarcascade_frontalface_default.xml")
    if cascade is None:
        return []
    gray = cv2.equalizeHist(image if image.ndim == 2 else cv2.cvtColor(image, cv2.COLOR_BGR2GRAY))
    found = cascade.detectMultiScale(gray, scaleFactor=1.1, minNeighbors=4, minSize=(16, 16))  # type: ignore[attr-defined]
    return [(int(x), int(y), int(x + w), int(y + h)) for x, y, w, h in np.asarray(found).reshape(-1, 4)]


def cascade_plate_regions(image: NDArray[np.uint8]) -> list[Box]:
    cascade = _cascade("haarcascade_russian_plate_number.xml")
    if cascade is None:
        return []
    gray = cv2.cvtColor(image, cv2.COLOR_BGR2GRAY)
    found = cascade.detectMultiScale(gray, scaleFactor=1.1, minNeighbors=4, minSize=(24, 8))  # type: ignore[attr-defined]
    return [(int(x), int(y), int(x + w), int(y + h)) for x, y, w, h in np.asarray(found).reshape(-1, 4)]


def private_regions(image: NDArray[np.uint8]) -> list[Box]:
    return plate_regions(image) + cascade_plate_regions(image) + face_regions(image)


def blur_regions(image: NDArray[np.uint8], regions: list[Box], margin: float = 0.2) -> NDArray[np.uint8]:
    """A copy with each region (grown by `margin`) pixelated to blocks and blurred."""
    out = image.copy()
    h, w = image.shape[:2]
    for x1, y1, x2, y2 in regions:
        gx, gy = round((x2 - x1) * margin), round((y2 - y1) * margin)
        xa, ya, xb, yb = max(0, x1 - gx), max(0, y1 - gy), min(w, x2 + gx), min(h, y2 + gy)
        if xb - xa < 2 or yb - ya < 2:
            continue
        roi = out[ya:yb, xa:xb]
        small = cv2.resize(roi, (max(1, (xb - xa) // 8), max(1, (yb - ya) // 8)), interpolation=cv2.INTER_AREA)
        block = cv2.resize(small, (xb - xa, yb - ya), interpolation=cv2.INTER_NEAREST)
        out[ya:yb, xa:xb] = cv2.GaussianBlur(block, (0, 0), max(1.0, (xb - xa) / 16))
    return out


def public_copy(image: NDArray[np.uint8]) -> tuple[NDArray[np.uint8], list[Box]]:
    """The image as roles below the originals' role see it, and the regions blurred."""
    regions = private_regions(image)
    return (blur_regions(image, regions) if regions else image.copy()), regions
