"""Motion against the ground: which boxes hold something that moves.

The drone moves, so consecutive frames differ everywhere; but the ground is (nearly) a plane, and the
pose of each frame says where that plane is. The frame `lag_frames` back is warped onto the current
one through the ground-plane homography of the two poses (a residual shift, from pose latency or
noise, is taken out by phase correlation), and what still differs is what moved: vehicles driving,
their shadows with them. Parked vehicles, road works, roofs and road paint cancel.

The detector's weak vehicle boxes (scores under its own threshold, flagged `candidate`; see
`YoloOnnxDetector`'s `candidate_threshold`) are kept only where this cue sees motion inside them and
they cover no vehicle box already kept: a dark truck on dark asphalt that the model is unsure of is
still there when it drives, while unsure boxes on parked clutter are dropped. A confirmed box keeps its
weak score, so the tracker uses it the ByteTrack way: to carry on a track already running through
frames where the model is unsure, never to start one (a moving shadow or half a truck would).

Computed on the frame scaled by `scale` (half size by default), blurred against sensor noise; about
5 ms a 1280x720 frame here.
"""

from __future__ import annotations

import math
from collections import deque
from dataclasses import dataclass, replace

import cv2
import numpy as np
from numpy.typing import NDArray

from inference.boxes import box_cover_smaller
from inference.georef import Georeferencer
from inference.types import VEHICLE_LABELS, Detection, Pose


@dataclass(frozen=True, slots=True)
class MotionConfig:
    lag_frames: int = 5  # compare with the frame this many back
    scale: float = 0.5
    blur: int = 5  # Gaussian kernel (pixels at `scale`)
    threshold: float = 16.0  # grey levels a pixel must change by
    moving_fraction: float = 0.2  # share of a box's pixels that changed for it to count as moving
    max_shift_px: float = 12.0  # residual shift taken out (pixels at `scale`); larger is not trusted
    grid: int = 6  # grid points a side used to fit each frame's ground homography
    overlap: float = 0.3  # a candidate this much inside (or over) a kept vehicle box is part of it


class MotionCue:
    """Keeps the last frames of one camera and scores boxes by the motion inside them."""

    def __init__(self, config: MotionConfig | None = None) -> None:
        self.config = config or MotionConfig()
        self._past: deque[tuple[NDArray[np.uint8], NDArray[np.float64] | None]] = deque(
            maxlen=self.config.lag_frames)
        self.mask: NDArray[np.uint8] | None = None  # the last moving-pixel mask (1 = moved), at `scale`
        self._integral: NDArray[np.int32] | None = None

    def update(self, image: NDArray[np.uint8], pose: Pose, georef: Georeferencer) -> NDArray[np.uint8] | None:
        """Feed one frame (in time order); returns its moving-pixel mask, or None until there is a
        frame `lag_frames` back with a usable ground homography."""
        cfg = self.config
        gray = cv2.cvtColor(image, cv2.COLOR_BGR2GRAY) if image.ndim == 3 else image
        small = cv2.resize(gray, None, fx=cfg.scale, fy=cfg.scale, interpolation=cv2.INTER_AREA)
        small = cv2.GaussianBlur(small, (cfg.blur, cfg.blur), 0)
        h_now = self._ground_homography(image.shape[1], image.shape[0], pose, georef)
        self.mask = None
        self._integral = None
        if len(self._past) == self._past.maxlen:
            old, h_old = self._past[0]
            if h_now is not None and h_old is not None and old.shape == small.shape:
                self.mask = self._moved(small, old, np.linalg.inv(h_old) @ h_now)
        self._past.append((small, h_now))
        if self.mask is not None:
            self._integral = cv2.integral(self.mask)
        return self.mask

    def fraction(self, box: tuple[float, float, float, float]) -> float:
        """Share of the box's pixels that moved (NaN before the cue has a mask)."""
        if self._integral is None:
            return math.nan
        s = self.config.scale
        hgt, wid = self._integral.shape[0] - 1, self._integral.shape[1] - 1
        x1, y1 = max(0, int(box[0] * s)), max(0, int(box[1] * s))
        x2, y2 = min(wid, math.ceil(box[2] * s)), min(hgt, math.ceil(box[3] * s))
        if x2 <= x1 or y2 <= y1:
            return 0.0
        ii = self._integral
        moved = int(ii[y2, x2]) - int(ii[y1, x2]) - int(ii[y2, x1]) + int(ii[y1, x1])
        return moved / float((x2 - x1) * (y2 - y1))

    def confirm(self, detections: list[Detection]) -> list[Detection]:
        """Candidates (weak boxes) kept, with their weak scores and no longer flagged, only where they move
        and cover no vehicle box already kept (a weak box is often part of a vehicle, or its shadow); the
        other detections as given."""
        out = [d for d in detections if not d.candidate]
        taken = [d.box for d in out if d.label in VEHICLE_LABELS]
        weak = sorted((d for d in detections if d.candidate and d.label in VEHICLE_LABELS), key=lambda d: -d.score)
        for d in weak:
            if not self.fraction(d.box) >= self.config.moving_fraction:  # NaN: nothing to compare with yet
                continue
            if taken and float(box_cover_smaller([d.box], taken).max()) >= self.config.overlap:
                continue
            out.append(replace(d, candidate=False))
            taken.append(d.box)
        return out

    def _ground_homography(self, width: int, height: int, pose: Pose,
                           georef: Georeferencer) -> NDArray[np.float64] | None:
        """Homography from this frame's pixels (at `scale`) to the ground (east, north), or None
        where too little of the frame sees the ground."""
        n = self.config.grid
        xs, ys = np.meshgrid(np.linspace(0, width - 1, n), np.linspace(0, height - 1, n))
        px = np.column_stack([xs.ravel(), ys.ravel()])
        g = georef.locate(pose, px)
        ok = np.isfinite(g.east_m) & np.isfinite(g.north_m)
        if ok.sum() < 6:
            return None
        hmg, _ = cv2.findHomography(px[ok] * self.config.scale, np.column_stack([g.east_m[ok], g.north_m[ok]]))
        return hmg

    def _moved(self, now: NDArray[np.uint8], old: NDArray[np.uint8], now_to_old: NDArray[np.float64]
               ) -> NDArray[np.uint8]:
        cfg = self.config
        h, w = now.shape
        warped = cv2.warpPerspective(old, now_to_old, (w, h), flags=cv2.INTER_LINEAR | cv2.WARP_INVERSE_MAP,
                                     borderMode=cv2.BORDER_REPLICATE)
        (dx, dy), response = cv2.phaseCorrelate(now.astype(np.float32), warped.astype(np.float32))
        if response > 0.05 and math.hypot(dx, dy) <= cfg.max_shift_px and math.hypot(dx, dy) > 0.3:
            shift = np.float32([[1, 0, -dx], [0, 1, -dy]])
            warped = cv2.warpAffine(warped, shift, (w, h), borderMode=cv2.BORDER_REPLICATE)
        valid = cv2.warpPerspective(np.ones_like(old), now_to_old, (w, h),
                                    flags=cv2.INTER_NEAREST | cv2.WARP_INVERSE_MAP)
        diff = cv2.absdiff(now, warped)
        return ((diff >= cfg.threshold) & (valid > 0)).astype(np.uint8)

