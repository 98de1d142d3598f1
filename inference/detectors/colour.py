"""Colour cues as a simple detector: orange cones and barriers, earth-coloured loads and bare
soil, yellow construction machinery. It sees blobs, not objects: the labels it gives are
provisional and `rules.apply_size_rules` settles them by metric size once the blob is on the
ground (a cone is small, a barrier long and thin, a muck truck's load 4-9.5 m, an excavation
large). Thresholds are HSV on OpenCV's scale (H 0-180, S and V 0-255).
"""

from __future__ import annotations

from dataclasses import dataclass

import cv2
import numpy as np
from numpy.typing import NDArray

from inference.types import Detection


@dataclass(frozen=True, slots=True)
class ColourCue:
    name: str
    label: str  # provisional SkyPatrol label
    h: tuple[int, int]
    s: tuple[int, int]
    v: tuple[int, int]
    min_area_px: int = 6
    close_px: int = 3


ORANGE = ColourCue("orange", "traffic_cone", h=(0, 22), s=(170, 255), v=(100, 255), min_area_px=5, close_px=3)
EARTH = ColourCue("earth", "excavation", h=(5, 26), s=(50, 150), v=(50, 200), min_area_px=40, close_px=5)
YELLOW = ColourCue("yellow", "excavator", h=(23, 34), s=(150, 255), v=(150, 255), min_area_px=30, close_px=5)
# A green tarp or net over a load (Shanghai requires muck trucks to travel covered); greener than grass.
TARP = ColourCue("tarp", "muck_truck", h=(58, 85), s=(100, 255), v=(60, 210), min_area_px=40, close_px=3)
DEFAULT_CUES = (ORANGE, EARTH, YELLOW)


def cue_mask(hsv: NDArray[np.uint8], cue: ColourCue) -> NDArray[np.uint8]:
    lo = np.array([cue.h[0], cue.s[0], cue.v[0]], dtype=np.uint8)
    hi = np.array([cue.h[1], cue.s[1], cue.v[1]], dtype=np.uint8)
    mask = cv2.inRange(hsv, lo, hi)
    if cue.close_px > 1:
        k = cv2.getStructuringElement(cv2.MORPH_ELLIPSE, (cue.close_px, cue.close_px))
        mask = cv2.morphologyEx(mask, cv2.MORPH_CLOSE, k)
    return mask


def cue_fraction(image: NDArray[np.uint8], box: tuple[float, float, float, float], cue: ColourCue = EARTH) -> float:
    """Share of a box's pixels showing a cue (e.g. an earth-coloured load on a truck)."""
    x1, y1, x2, y2 = (round(v) for v in box)
    crop = image[max(0, y1):max(0, y2), max(0, x1):max(0, x2)]
    if crop.size == 0:
        return 0.0
    hits = np.count_nonzero(cue_mask(cv2.cvtColor(crop, cv2.COLOR_BGR2HSV), cue))
    return float(hits) / (crop.shape[0] * crop.shape[1])


class ColourDetector:
    """Connected blobs of each cue's colour, each with its rotated outline for metric sizing."""

    def __init__(self, cues: tuple[ColourCue, ...] = DEFAULT_CUES) -> None:
        self.cues = cues

    def detect(self, image: NDArray[np.uint8]) -> list[Detection]:
        hsv = cv2.cvtColor(image, cv2.COLOR_BGR2HSV)
        out: list[Detection] = []
        for cue in self.cues:
            for x, y, w, h, area, pts in blobs(cue_mask(hsv, cue), cue.min_area_px):
                rect = cv2.minAreaRect(pts)
                (rw, rh) = rect[1]
                corners = cv2.boxPoints(((rect[0][0] + 0.5, rect[0][1] + 0.5), (rw + 1.0, rh + 1.0), rect[2]))
                fill = area / max(1.0, (rw + 1.0) * (rh + 1.0))
                score = float(np.clip(0.5 + 0.5 * fill, 0.0, 1.0))
                out.append(Detection(box=(float(x), float(y), float(x + w), float(y + h)), label=cue.label,
                                     score=score, footprint_px=corners.astype(np.float64), cue=cue.name))
        return out


def blobs(mask: NDArray[np.uint8], min_area_px: int) -> list[tuple[int, int, int, int, int, NDArray[np.float32]]]:
    """The 8-connected blobs of a mask with at least `min_area_px` pixels, in raster order of their
    first pixel: (x, y, w, h, pixel count, outline points). The outlines come from contour tracing,
    which on these sparse masks costs a small part of labelling the whole frame; a blob's pixel
    count from labelling its bounding box alone (the blob lies wholly inside it)."""
    contours, hierarchy = cv2.findContours(mask, cv2.RETR_CCOMP, cv2.CHAIN_APPROX_SIMPLE)
    found = []
    for c, link in zip(contours, hierarchy[0] if hierarchy is not None else (), strict=True):
        if link[3] != -1:  # the border of a hole
            continue
        x, y, w, h = cv2.boundingRect(c)
        if w * h < min_area_px:
            continue
        _, labels, stats, _ = cv2.connectedComponentsWithStats(mask[y:y + h, x:x + w], connectivity=8)
        fx, fy = (int(v) for v in c[0, 0])  # the trace starts at the blob's first pixel in raster order
        area = int(stats[labels[fy - y, fx - x], cv2.CC_STAT_AREA])
        if area >= min_area_px:
            found.append((fy, fx, (x, y, w, h, area, c.reshape(-1, 2).astype(np.float32))))
    return [b for *_, b in sorted(found, key=lambda f: (f[0], f[1]))]
