"""Job life cycle and the bounded frame store, as pure logic with the clock passed in."""

from __future__ import annotations

from contextlib import AbstractContextManager, nullcontext

import pytest

from dashcam.relay.frames import FrameStore
from dashcam.relay.jobs import Job, JobBook, JobConflict, JobNotFound, JobState, NotJobOwner


def _job(job_id: str = "j1", now: float = 0.0) -> Job:
    return Job(job_id, "cam", now, [f"{job_id}-f"], (64, 48), offered_at=now)


def test_first_claim_wins_and_later_claims_conflict() -> None:
    book = JobBook(ttl_s=10)
    book.add(_job())
    assert book.claim("j1", "a", now=1).claimed_by == "a"
    with pytest.raises(JobConflict):
        book.claim("j1", "b", now=1)
    with pytest.raises(JobNotFound):
        book.claim("nope", "b", now=1)


@pytest.mark.parametrize(
    ("who", "expect"),
    [
        ("a", nullcontext()),
        ("b", pytest.raises(NotJobOwner)),
    ],
)
def test_only_the_claimer_completes(who: str, expect: AbstractContextManager[object]) -> None:
    book = JobBook(ttl_s=10)
    book.add(_job())
    book.claim("j1", "a", now=1)
    with expect:
        assert book.complete("j1", who, {"ok": 1}, now=2).state is JobState.completed
    if who == "a":
        with pytest.raises(JobConflict):  # completing twice
            book.complete("j1", "a", {}, now=3)
        assert book.counts["completed"] == 1


def test_released_jobs_return_to_pending_with_a_new_attempt() -> None:
    book = JobBook(ttl_s=10)
    book.add(_job("j1"))
    book.add(_job("j2"))
    book.claim("j1", "a", now=1)
    book.claim("j2", "b", now=1)
    released = book.release_worker("a", now=5)
    assert [j.id for j in released] == ["j1"]
    assert released[0].state is JobState.pending and released[0].attempt == 2
    assert book.get("j2").state is JobState.claimed
    assert book.claim("j1", "b", now=6).claimed_by == "b"


def test_pending_jobs_expire_after_ttl_but_claimed_ones_do_not() -> None:
    book = JobBook(ttl_s=10)
    book.add(_job("j1", now=0))
    book.add(_job("j2", now=0))
    book.claim("j2", "a", now=1)
    assert book.expire(now=9) == []
    assert [j.id for j in book.expire(now=11)] == ["j1"]
    assert book.get("j1").state is JobState.expired and book.get("j2").state is JobState.claimed


def test_finished_history_is_bounded() -> None:
    book = JobBook(ttl_s=10, max_finished=3)
    for i in range(5):
        book.add(_job(f"j{i}"))
        book.claim(f"j{i}", "a", now=1)
        book.complete(f"j{i}", "a", {}, now=2)
    with pytest.raises(JobNotFound):
        book.get("j0")
    assert book.get("j4").state is JobState.completed


def test_frame_store_drops_oldest_to_stay_under_its_budget() -> None:
    store = FrameStore(max_bytes=100)
    dropped = [store.put(f"f{i}", f"j{i}", b"x" * 30) for i in range(5)]
    assert [d.frame_id for batch in dropped for d in batch] == ["f0", "f1"]
    assert store.bytes == 90 and len(store) == 3 and store.dropped == 2
    store.discard(["f2", "missing"])
    assert store.bytes == 60 and "f2" not in store
