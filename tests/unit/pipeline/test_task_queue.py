"""The central task queue's limits and picking, and the frame store's refcounts."""

from __future__ import annotations

import threading
import time

import numpy as np
import pytest

from dashcam.errors import DashcamError
from dashcam.pipeline.frame_store import FrameStore, leftover_segments
from dashcam.pipeline.task_queue import CentralTaskQueue
from dashcam.pipeline.tasks import Task
from dashcam.stages.category import TaskCategory, WorkerKind
from dashcam.stages.records import FrameAnalysis


def _task(i: int, category: TaskCategory = TaskCategory.VEHICLE_DETECT) -> Task:
    return Task(
        task_id=i,
        category=category,
        video_id="v",
        payload=FrameAnalysis(video_id="v", frame_index=i, pts_s=0.0),
        seq=i,
    )


def test_readers_block_at_the_hard_limit_until_a_frame_passes() -> None:
    q = CentralTaskQueue(soft_limit=1, hard_limit=2, max_slowdown_s=0.0)
    for i in range(2):
        q.put(_task(i), new_frame=True)
    passed = threading.Event()
    t = threading.Thread(target=lambda: q.wait_for_room(None) and passed.set())
    t.start()
    time.sleep(0.2)
    assert not passed.is_set()
    # the frame leaves every frame category: tracked
    for c in (
        TaskCategory.VEHICLE_DETECT,
        TaskCategory.PLATE_DETECT,
        TaskCategory.OCR,
        TaskCategory.VEHICLE_TRACK,
    ):
        q.complete(c)
    t.join(2)
    assert passed.is_set()


def test_stop_releases_a_blocked_reader() -> None:
    q = CentralTaskQueue(soft_limit=1, hard_limit=1)
    q.put(_task(0), new_frame=True)
    stop = threading.Event()
    stop.set()
    assert q.wait_for_room(stop) is False


@pytest.mark.parametrize(
    ("queued", "want", "expected"),
    [
        ({TaskCategory.OCR: 1, TaskCategory.PLATE_DETECT: 3}, None, TaskCategory.PLATE_DETECT),
        ({TaskCategory.OCR: 1, TaskCategory.PLATE_DETECT: 3}, TaskCategory.OCR, TaskCategory.OCR),
        ({TaskCategory.PLATE_DETECT: 2}, TaskCategory.OCR, TaskCategory.PLATE_DETECT),
        ({TaskCategory.VEHICLE_TRACK: 2}, None, None),
    ],
)
def test_detector_workers_get_their_wish_or_the_busiest_category(
    queued: dict[TaskCategory, int], want: TaskCategory | None, expected: TaskCategory | None
) -> None:
    q = CentralTaskQueue(soft_limit=8, hard_limit=16)
    i = 0
    for cat, n in queued.items():
        for _ in range(n):
            i += 1
            q.put(_task(i, cat))
    task = q.take_for(WorkerKind.DETECTOR, want)
    assert (task.category if task else None) == expected


def test_frame_store_frees_a_slot_when_the_last_reference_goes() -> None:
    store = FrameStore(slots=1, slot_bytes=4 * 4 * 3)
    try:
        image = np.arange(48, dtype=np.uint8).reshape(4, 4, 3)
        ref = store.put(image, stop=None)
        assert ref is not None
        assert np.array_equal(store.view(ref), image)
        store.retain(ref)
        store.release(ref)
        stop = threading.Event()
        stop.set()
        assert store.put(image, stop=stop) is None  # still held: the pool is full
        store.release(ref)
        assert store.in_use == 0
        with pytest.raises(DashcamError, match="released more often"):
            store.release(ref)
        assert leftover_segments() and ref.name in leftover_segments()
    finally:
        store.close()
    assert ref.name not in leftover_segments()


def test_frame_store_refuses_frames_larger_than_its_slots() -> None:
    store = FrameStore(slots=1, slot_bytes=10)
    try:
        with pytest.raises(DashcamError, match="slots hold 10"):
            store.put(np.zeros((4, 4, 3), np.uint8), stop=None)
    finally:
        store.close()
