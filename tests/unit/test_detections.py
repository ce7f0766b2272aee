from __future__ import annotations

import numpy as np
import pytest

from dashcam.domain.detections import Detections, box_iou


def test_from_boxes_and_indexing() -> None:
    d = Detections.from_boxes([[0, 0, 10, 10], [5, 5, 15, 25]], [0.5, 0.9], [1, 2])
    assert len(d) == 2
    assert d.tracker_id.tolist() == [-1, -1]
    sub = d[np.array([1])]
    assert sub.class_id.tolist() == [2]
    assert d.area.tolist() == [100.0, 200.0]


@pytest.mark.parametrize(
    ("kwargs", "message"),
    [
        ({"xyxy": np.zeros((2, 3), np.float32)}, "xyxy: expected shape (N, 4), got (2, 3)"),
        ({"confidence": np.zeros(3, np.float32)}, "confidence: expected shape (2,), got (3,)"),
    ],
)
def test_validation_names_expected_and_got(kwargs: dict[str, object], message: str) -> None:
    base: dict[str, object] = {
        "xyxy": np.zeros((2, 4), np.float32),
        "confidence": np.zeros(2, np.float32),
        "class_id": np.zeros(2, np.int64),
    }
    base.update(kwargs)
    with pytest.raises(ValueError, match=message.replace("(", r"\(").replace(")", r"\)")):
        Detections(**base)  # type: ignore[arg-type]


def test_box_iou() -> None:
    a = np.array([[0, 0, 10, 10]], np.float32)
    b = np.array([[0, 0, 10, 10], [5, 0, 15, 10], [20, 20, 30, 30]], np.float32)
    assert np.allclose(box_iou(a, b), [[1.0, 50 / 150, 0.0]])
    assert box_iou(a, np.zeros((0, 4), np.float32)).shape == (1, 0)
