from __future__ import annotations

import pytest

from dashcam.domain.detections import Detections
from dashcam.domain.plate_text import plate_distance
from dashcam.domain.tracking import BoxTracker, TrackerConfig


def _dets(*boxes: tuple[float, float, float, float]) -> Detections:
    return Detections.from_boxes(list(boxes), [0.9] * len(boxes))


def test_two_moving_objects_keep_their_ids() -> None:
    t = BoxTracker()
    ids0 = t.update(0, _dets((100, 100, 160, 120), (600, 300, 680, 325)))
    # Both move ~40 px between samples (more than their width for the first one).
    ids1 = t.update(10, _dets((640, 310, 720, 335), (150, 100, 210, 120)))
    ids2 = t.update(20, _dets((200, 100, 260, 120), (680, 320, 760, 345)))
    assert ids1.tolist() == [ids0[1], ids0[0]]
    assert ids2.tolist() == [ids0[0], ids0[1]]


def test_track_ends_after_max_misses_and_is_popped_once() -> None:
    t = BoxTracker(TrackerConfig(max_misses=2))
    (tid,) = t.update(0, _dets((0, 0, 10, 5))).tolist()
    for f in (10, 20):
        t.update(f, Detections.empty())
    assert t.pop_finished() == []
    t.update(30, Detections.empty())
    done = t.pop_finished()
    assert [tr.track_id for tr in done] == [tid]
    assert t.pop_finished() == []


def test_text_disagreement_prevents_association() -> None:
    t = BoxTracker(text_distance=plate_distance)
    a = t.update(0, _dets((0, 0, 60, 20)), ["ABC1234"])
    b = t.update(10, _dets((2, 0, 62, 20)), ["XYZ9876"])
    c = t.update(20, _dets((4, 0, 64, 20)), ["ABC1Z34"])
    assert a[0] != b[0]
    assert c[0] == a[0]


def test_frames_out_of_order_are_refused() -> None:
    t = BoxTracker()
    t.update(10, Detections.empty())
    with pytest.raises(ValueError, match="in order"):
        t.update(5, Detections.empty())
