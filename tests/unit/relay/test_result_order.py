"""A camera's finished jobs leave in capture order; frames nobody is doing are not waited for."""

from __future__ import annotations

from dashcam.relay.jobs import Job, JobBook, JobState
from dashcam.relay.live import ResultOrder, frame_reads, plate_reads

OFFERS = iter(range(1, 1_000_000))  # the relay numbers its offers


def _jobs(book: JobBook, order: ResultOrder, n: int, camera: str = "cam") -> list[Job]:
    jobs = []
    for k in range(n):
        job = Job(f"{camera}{k}", camera, 100.0 + k, [f"f{camera}{k}"], (8, 8), 0.0, seq=k)
        job.offer_no = next(OFFERS)
        book.add(job)
        order.opened(job)
        jobs.append(job)
    return jobs


def _complete(book: JobBook, order: ResultOrder, job: Job, worker: str = "w") -> None:
    book.claim(job.id, worker, 1.0)
    order.started(job)
    book.complete(job.id, worker, {"plates": []}, 2.0)
    order.finished(job, None)


def _ids(ready: list[tuple[Job, list[bytes] | None]]) -> list[str]:
    return [j.id for j, _ in ready]


def test_jobs_finished_out_of_order_leave_in_capture_order() -> None:
    book, order = JobBook(ttl_s=60), ResultOrder()
    a, b, c = _jobs(book, order, 3)
    book.claim(a.id, "w1", 1.0)
    order.started(a)
    _complete(book, order, c, "w2")
    _complete(book, order, b, "w3")
    assert order.ready("cam") == []  # a is claimed: being worked on, waited for
    assert order.horizon("cam", now_s=500.0) == a.timestamp
    book.complete(a.id, "w1", {}, 3.0)
    order.finished(a, None)
    assert _ids(order.ready("cam")) == ["cam0", "cam1", "cam2"]
    assert order.horizon("cam", now_s=500.0) == 500.0


def test_a_pending_front_is_passed_over_once_a_later_offer_is_taken_and_is_late_after() -> None:
    book, order = JobBook(ttl_s=60), ResultOrder()
    a, b = _jobs(book, order, 2)
    assert order.ready("cam") == []  # nobody took anything yet: wait
    _complete(book, order, b)
    assert _ids(order.ready("cam")) == ["cam1"]
    assert a.passed_over and order.passed_over == 1
    assert order.take_passed_over() == [a] and order.take_passed_over() == []
    _complete(book, order, a)  # done after all: not tracked, counted
    assert order.ready("cam") == [] and order.late == 1


def test_workers_busy_with_other_cameras_pass_a_cameras_frame_over() -> None:
    book, order = JobBook(ttl_s=60), ResultOrder()
    (a,) = _jobs(book, order, 1, "front")
    (b,) = _jobs(book, order, 1, "yard")
    _complete(book, order, b)
    assert _ids(order.ready("yard")) == ["yard0"]
    assert order.ready("front") == [] and a.passed_over


def test_a_job_offered_again_is_waited_for_until_a_newer_offer_is_taken() -> None:
    book, order = JobBook(ttl_s=60), ResultOrder()
    a, b = _jobs(book, order, 2)
    book.claim(a.id, "dies", 1.0)
    order.started(a)
    _complete(book, order, b)
    (released,) = book.release_worker("dies", 3.0)
    released.offer_no = next(OFFERS)  # the relay offers it again
    assert order.ready("cam") == [] and not a.passed_over
    _complete(book, order, a, "w2")
    assert _ids(order.ready("cam")) == ["cam0", "cam1"]


def test_cameras_are_ordered_apart() -> None:
    book, order = JobBook(ttl_s=60), ResultOrder()
    (a,) = _jobs(book, order, 1, "front")
    (b,) = _jobs(book, order, 1, "yard")
    book.claim(a.id, "w1", 1.0)
    order.started(a)
    _complete(book, order, b, "w2")
    assert order.ready("front") == []  # claimed: waited for
    assert _ids(order.ready("yard")) == ["yard0"]
    assert not a.passed_over


def test_flush_gives_what_is_finished_and_drops_the_rest() -> None:
    book, order = JobBook(ttl_s=60), ResultOrder()
    a, b = _jobs(book, order, 2)
    book.claim(a.id, "w", 1.0)
    _complete(book, order, b, "w2")
    assert _ids(order.flush("cam")) == ["cam1"]
    assert order.cameras() == []


def test_reads_are_split_by_frame_and_bad_reads_are_left_out() -> None:
    job = Job("j", "cam", 10.0, ["f1", "f2"], (8, 8), 0.0, seq=40, frame_times=[10.0, 10.5])
    job.state = JobState.completed
    job.result = {
        "plates": [
            {"frame": "f2", "text": "KX52ABC", "confidence": 0.9, "xyxy": [1, 2, 30, 12],
             "alternatives": [["KX52ABC", 0.7], ["KX52A8C", 0.3]]},
            {"frame": "f1", "text": "LM07PQR", "confidence": 0.8, "xyxy": [5, 5, 5, 9]},
        ]
    }  # fmt: skip
    frames = frame_reads(job, [b"jpeg1", b"jpeg2"])
    assert [(f.frame_index, f.timestamp_s) for f in frames] == [(40, 10.0), (41, 10.5)]
    assert frames[0].reads == () and frames[0].jpeg is None  # an empty box is no read
    (read,) = frames[1].reads
    assert (read.text, read.alternatives) == ("KX52ABC", (("KX52ABC", 0.7), ("KX52A8C", 0.3)))
    assert frames[1].jpeg == b"jpeg2"


def test_results_without_boxes_give_no_reads() -> None:
    job = Job("j", "cam", 10.0, ["f1"], (8, 8), 0.0)
    job.state = JobState.completed
    job.result = {"backend": "vlm", "plates": [{"text": "KX52ABC", "confidence": 0.9}]}
    assert plate_reads(job) == {}
    job.result = {"plates": None, "text": "a red car"}
    assert plate_reads(job) == {}
