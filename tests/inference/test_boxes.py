"""Box overlap arithmetic shared by the detectors, the motion cue, the evaluation and training."""

from __future__ import annotations

import numpy as np
import pytest

from inference.boxes import box_cover, box_cover_smaller, box_iou


def test_overlaps_of_known_boxes() -> None:
    a = [(0, 0, 10, 10), (20, 20, 30, 30)]
    b = [(5, 0, 15, 10), (0, 0, 10, 10), (2, 2, 4, 4)]
    assert box_iou(a, b)[0] == pytest.approx([50 / 150, 1.0, 4 / 100])
    assert box_cover(a, b)[0] == pytest.approx([0.5, 1.0, 0.04])
    assert box_cover_smaller(a, b)[0] == pytest.approx([0.5, 1.0, 1.0])  # the small box lies inside
    assert not box_iou(a, b)[1].any()  # the second box touches none


def test_empty_sets_give_empty_matrices() -> None:
    assert box_iou(np.zeros((0, 4)), [(0, 0, 1, 1)]).shape == (0, 1)
    assert box_cover([(0, 0, 1, 1)], np.zeros((0, 4))).shape == (1, 0)
