"""Privacy: faces and number plates blurred in the evidence most roles see (China's PIPL).

`private_regions(image)` finds what identifies a person:
- number plates by colour and shape, as China issues them: blue (cars, white characters), yellow
  (large vehicles such as muck trucks, black characters) and new-energy green plates - a plate-coloured
  rectangle of plate proportions (2-5.5 : 1) with characters of the contrasting shade inside;
- faces with OpenCV's Haar cascade (`haarcascade_frontalface_default.xml` from `cv2.data.haarcascades`)
  and plates with its `haarcascade_russian_plate_number.xml`, where the installed OpenCV offers
  cascades (`cv2.CascadeClassifier`, OpenCV 4). OpenCV 5 dropped them: there only the plate cues
  run (`face_detection_available()` says which).
`blur_regions(image, regions)` pixelates and blurs each region grown by a margin, so what was there
cannot be read back. The evidence API serves this public derivative to every role below the one
allowed originals (admin by default).
"""

from __future__ import annotations

import functools
from pathlib import Path

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
    return _cascade("haarcascade_frontalface_default.xml") is not None


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


def face_regions(image: NDArray[np.uint8]) -> list[Box]:
    cascade = _cascade("haarcascade_frontalface_default.xml")
    if cascade is None:
        return []
    gray = cv2.equalizeHist(cv2.cvtColor(image, cv2.COLOR_BGR2GRAY))
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
