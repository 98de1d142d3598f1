"""Overlap of axis-aligned pixel boxes (x1, y1, x2, y2), vectorised: one place for the arithmetic the
detectors, the motion cue, the evaluation and the training scripts share."""

from __future__ import annotations

import numpy as np
from numpy.typing import ArrayLike, NDArray

FloatArray = NDArray[np.float64]


def box_overlaps(a: ArrayLike, b: ArrayLike) -> tuple[FloatArray, FloatArray, FloatArray]:
    """(intersection, area of a, area of b) for every pair: A x B, A, B."""
    a = np.asarray(a, dtype=float).reshape(-1, 4)
    b = np.asarray(b, dtype=float).reshape(-1, 4)
    x1 = np.maximum(a[:, None, 0], b[None, :, 0])
    y1 = np.maximum(a[:, None, 1], b[None, :, 1])
    x2 = np.minimum(a[:, None, 2], b[None, :, 2])
    y2 = np.minimum(a[:, None, 3], b[None, :, 3])
    inter = np.clip(x2 - x1, 0, None) * np.clip(y2 - y1, 0, None)
    return inter, (a[:, 2] - a[:, 0]) * (a[:, 3] - a[:, 1]), (b[:, 2] - b[:, 0]) * (b[:, 3] - b[:, 1])


def box_iou(a: ArrayLike, b: ArrayLike) -> FloatArray:
    """Intersection over union, A x B (empty where either is)."""
    inter, area_a, area_b = box_overlaps(a, b)
    return inter / np.maximum(area_a[:, None] + area_b[None, :] - inter, 1e-9)


def box_cover(a: ArrayLike, b: ArrayLike) -> FloatArray:
    """The share of each box of `a` that lies on each box of `b`, A x B."""
    inter, area_a, _ = box_overlaps(a, b)
    return inter / np.maximum(area_a[:, None], 1e-9)


def box_cover_smaller(a: ArrayLike, b: ArrayLike) -> FloatArray:
    """Intersection over the smaller box's area, A x B (1 where one box lies inside the other)."""
    inter, area_a, area_b = box_overlaps(a, b)
    return inter / np.maximum(np.minimum(area_a[:, None], area_b[None, :]), 1e-9)
