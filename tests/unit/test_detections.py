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


def test_turned_boxes_keep_their_own_size_and_angle_and_bound_it() -> None:
    d = Detections.from_rotated([[100, 50, 80, 20, 90.0], [0, 0, 10, 4, 0.0]], [0.9, 0.5])
    assert d.xyxy[0].tolist() == pytest.approx([90, 10, 110, 90], abs=1e-3)
    assert d.size_wh.tolist() == [[80, 20], [10, 4]]
    assert d.angle_deg.tolist() == [90.0, 0.0]
    picked = d[[1]]
    assert picked.size_wh.tolist() == [[10, 4]] and picked.angle_deg.tolist() == [0.0]


def test_upright_boxes_are_their_own_size_and_concat_keeps_every_field() -> None:
    a = Detections.from_boxes([[0, 0, 10, 5]], [0.9])
    b = Detections.from_rotated([[50, 50, 20, 10, 30.0]], [0.4])
    assert a.size_wh.tolist() == [[10, 5]] and a.angle_deg.tolist() == [0.0]
    both = Detections.concat([a, Detections.empty(), b])
    assert len(both) == 2
    assert both.angle_deg.tolist() == [0.0, 30.0]
    assert both.with_tracker_ids(np.array([7, 8])).size_wh.tolist() == [[10, 5], [20, 10]]
    assert len(Detections.concat([])) == 0
