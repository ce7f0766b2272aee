"""The queue's promises, on SQLite and on PostgreSQL alike."""

from __future__ import annotations

import subprocess
import sys
import textwrap
import threading
import time
from collections import Counter
from collections.abc import Callable
from pathlib import Path
from typing import Any

import httpx
import pytest

from dashcam.errors import LeaseLost
from dashcam.store.database import make_engine
from dashcam.store.task_queue import TaskQueue
from dashcam.store.task_records import FollowUp
from dashcam.store.task_schema import TaskStatus, TaskType

H = TaskType.HEAVY_PROCESS_VIDEO
A = TaskType.ARCHIVE_VIDEO


def _payload(i: int) -> dict[str, str]:
    return {"video_id": f"v{i}", "raw_video": f"/nas/v{i}.mp4"}


def run_concurrently(n: int, work: Callable[[int], None], timeout_s: float) -> None:
    """``work(0) .. work(n - 1)`` in threads at once; the first error fails the test."""
    errors: list[BaseException] = []

    def guarded(i: int) -> None:
        try:
            work(i)
        except BaseException as exc:  # surfaced below
            errors.append(exc)

    threads = [threading.Thread(target=guarded, args=(i,)) for i in range(n)]
    for t in threads:
        t.start()
    for t in threads:
        t.join(timeout=timeout_s)
    assert not errors, errors[0]


@pytest.mark.slow
def test_16_claimers_5000_tasks_none_twice_none_lost(db_url: str) -> None:
    q = TaskQueue(make_engine(db_url), lease_s=300)
    ids = q.enqueue_many(H, [_payload(i) for i in range(5000)])
    claimed: list[int] = []
    lock = threading.Lock()

    def claimer(n: int) -> None:
        while got := q.claim([H], f"w{n}"):
            t = got[0]
            q.complete(t.id, t.lease_token or "", {"by": n})
            with lock:
                claimed.append(t.id)

    run_concurrently(16, claimer, timeout_s=300)
    counts = Counter(claimed)
    assert [i for i, n in counts.items() if n > 1] == []
    assert sorted(counts) == sorted(ids)
    assert q.counts() == {(H, TaskStatus.DONE): 5000}


def test_stale_token_changes_nothing(db_url: str) -> None:
    q = TaskQueue(make_engine(db_url), lease_s=0.2)
    q.enqueue(H, _payload(1))
    (first,) = q.claim([H], "slow")
    time.sleep(0.4)  # the lease runs out on the database clock
    (second,) = q.claim([H], "fast")
    assert second.id == first.id and second.attempts == 2
    with pytest.raises(LeaseLost):
        q.complete(
            first.id, first.lease_token or "", {"late": True}, [FollowUp(A, {"video_id": "v1"})]
        )
    with pytest.raises(LeaseLost):
        q.heartbeat(first.id, first.lease_token or "")
    t = q.get(first.id)
    assert t is not None and t.status is TaskStatus.RUNNING and t.worker_id == "fast"
    assert q.list_tasks(task_type=A) == []
    q.complete(second.id, second.lease_token or "", {"ok": True}, [FollowUp(A, {"video_id": "v1"})])
    # A replayed completion is accepted once and publishes nothing more.
    assert (
        q.complete(
            second.id, second.lease_token or "", {"ok": True}, [FollowUp(A, {"video_id": "v1"})]
        )
        == []
    )
    assert len(q.list_tasks(task_type=A)) == 1


def test_fail_retries_with_backoff_then_dead_and_operator_requeue(db_url: str) -> None:
    q = TaskQueue(make_engine(db_url), max_attempts=2, backoff_base_s=0.3)
    tid = q.enqueue(H, _payload(1))
    assert tid is not None
    (t,) = q.claim([H], "w")
    assert q.fail(t.id, t.lease_token or "", "decode error: x.mp4") is TaskStatus.RETRY
    assert q.claim([H], "w") == []  # backoff not yet over
    time.sleep(0.4)
    (t,) = q.claim([H], "w")
    assert q.fail(t.id, t.lease_token or "", "decode error: x.mp4") is TaskStatus.DEAD
    dead = q.get(tid)
    assert dead is not None and dead.status is TaskStatus.DEAD and "x.mp4" in (dead.error or "")
    assert q.requeue(tid)
    (again,) = q.claim([H], "w")
    assert again.attempts == 1


def test_priorities_cancel_and_release(db_url: str) -> None:
    q = TaskQueue(make_engine(db_url))
    low = q.enqueue(H, _payload(1))
    high = q.enqueue(H, _payload(2), priority=5)
    gone = q.enqueue(H, _payload(3), priority=9)
    assert gone is not None and q.cancel(gone)
    (t,) = q.claim([H], "w")
    assert t.id == high
    q.release(t.id, t.lease_token or "")
    (t2,) = q.claim([H], "w")
    assert t2.id == high and t2.attempts == 1  # a release does not use up an attempt
    (t3,) = q.claim([H], "w")
    assert t3.id == low


def test_counts_and_lists_filter_by_payload_values(db_url: str) -> None:
    q = TaskQueue(make_engine(db_url))
    dl = TaskType.MINER_DOWNLOAD
    for project, vid in (("cars", 1), ("cars", 2), ("bikes", 3)):
        q.enqueue(dl, {"project": project, "video_id": vid})
    q.enqueue(H, _payload(9))
    assert q.counts(payload={"project": "cars"}) == {(dl, TaskStatus.QUEUED): 2}
    assert q.counts(payload={"project": "bikes"}) == {(dl, TaskStatus.QUEUED): 1}
    assert q.counts(payload={"project": "none"}) == {}
    assert sum(q.counts().values()) == 4
    cars = q.list_tasks(payload={"project": "cars"})
    assert [t.payload["video_id"] for t in cars] == [2, 1]  # newest first


def test_claim_order_across_types_batches_and_expired_leases(db_url: str) -> None:
    q = TaskQueue(make_engine(db_url), lease_s=0.3)
    h1 = q.enqueue(H, _payload(1), priority=1)
    a5 = q.enqueue(A, {"video_id": "v5"}, priority=5)
    h3 = q.enqueue(H, _payload(3), priority=3)
    (first,) = q.claim([H], "dies")
    assert first.id == h3
    time.sleep(0.5)  # its lease runs out; no reaper runs
    got = q.claim([H, A], "w", limit=3)
    assert [t.id for t in got] == [a5, h3, h1]  # the expired lease competes by priority
    assert {t.worker_id for t in got} == {"w"} and got[1].attempts == 2
    assert q.claim([H, A], "w") == []


def test_sqlite_claim_walks_the_ready_index_without_sorting(tmp_path: Path) -> None:
    """The next task is found by index order, whatever the backlog (no sort of it)."""
    url = f"sqlite:///{tmp_path / 'plan.db'}"
    q = TaskQueue(make_engine(url))
    q.enqueue_many(H, [_payload(i) for i in range(50)])
    with q.engine.connect() as c:
        sql = str(q._ready_stmt.compile(q.engine))
        plan = " ".join(
            str(r[-1])
            for r in c.exec_driver_sql(f"EXPLAIN QUERY PLAN {sql}", (H.value, 1, 0)).all()
        )
    assert "ix_tasks_ready" in plan and "TEMP B-TREE" not in plan, plan


def test_an_older_database_gets_the_new_indexes(tmp_path: Path) -> None:
    url = f"sqlite:///{tmp_path / 'old.db'}"
    engine = make_engine(url)
    with engine.begin() as c:
        c.exec_driver_sql("DROP INDEX ix_tasks_ready")
    engine.dispose()
    engine = make_engine(url)
    with engine.connect() as c:
        names = {r[0] for r in c.exec_driver_sql("SELECT name FROM sqlite_master").all()}
    assert "ix_tasks_ready" in names


def test_reaper_recovers_within_lease_plus_sweep(db_url: str) -> None:
    q = TaskQueue(make_engine(db_url), lease_s=0.5)
    q.enqueue(H, _payload(1))
    (t,) = q.claim([H], "dies")
    t0 = time.time()
    while q.reap() == 0:
        time.sleep(0.1)
        assert time.time() - t0 < 0.5 + 0.1 + 1.0
    (again,) = q.claim([H], "other")
    assert again.id == t.id and again.status is TaskStatus.RUNNING


_WORKER = textwrap.dedent("""
    import sys, time
    from dashcam.store.database import make_engine
    from dashcam.store.task_queue import TaskQueue
    from dashcam.store.task_schema import TaskType
    if len(sys.argv) > 2:  # this process's clock is an hour fast
        real = time.time
        time.time = lambda: real() + 3600
    q = TaskQueue(make_engine(sys.argv[1]), lease_s=1.0)
    (t,) = q.claim([TaskType.HEAVY_PROCESS_VIDEO], "victim")
    print(t.id, t.lease_expires_s - q.now(), flush=True)
    time.sleep(600)
""")


def test_sigkilled_worker_task_is_reclaimed_and_completed_once(db_url: str, tmp_path: Path) -> None:
    q = TaskQueue(make_engine(db_url), lease_s=1.0)
    tid = q.enqueue(H, _payload(1))
    proc = subprocess.Popen(
        [sys.executable, "-c", _WORKER, db_url, "skew"], stdout=subprocess.PIPE, text=True
    )
    try:
        assert proc.stdout is not None
        line = proc.stdout.readline().split()
        assert int(line[0]) == tid
        # The lease is measured on the database clock, not the worker's (an hour fast).
        assert 0.5 < float(line[1]) <= 1.05
        proc.kill()
        proc.wait(timeout=10)
    finally:
        if proc.poll() is None:
            proc.kill()
    deadline = time.time() + 5
    while not (got := q.claim([H], "rescuer")):
        assert time.time() < deadline
        time.sleep(0.1)
    (t,) = got
    assert t.id == tid and t.attempts == 2
    q.complete(t.id, t.lease_token or "", {"ok": True})
    done = q.get(tid)
    assert done is not None and done.status is TaskStatus.DONE


def test_http_stale_completion_is_409_and_changes_nothing(live_server: Any) -> None:
    st = live_server.app.state.dashcam
    st.queue.lease_s = 0.3
    st.queue.enqueue(H, _payload(1), video_id="v1")
    h = {"Authorization": "Bearer k3y"}
    with httpx.Client(base_url=live_server.url, headers=h, timeout=10) as c:
        first = c.get("/tasks/next", params={"task_type": "HEAVY_PROCESS_VIDEO"}).json()
        time.sleep(0.6)
        second = c.get("/tasks/next", params={"task_type": "HEAVY_PROCESS_VIDEO"}).json()
        assert first["task_id"] != second["task_id"]
        late = c.post(
            f"/tasks/{first['task_id']}/complete",
            json={
                "video_id": "v1",
                "remote_tasks": [{"task_type": "ARCHIVE_VIDEO", "payload": {"video_id": "v1"}}],
            },
        )
        assert late.status_code == 409
        assert c.get("/tasks", params={"task_type": "ARCHIVE_VIDEO"}).json() == []
        ok = c.post(f"/tasks/{second['task_id']}/complete", json={"video_id": "v1"})
        assert ok.status_code == 200
        # no key -> 401; bad input -> 422 with a readable message
        assert httpx.get(live_server.url + "/tasks").status_code == 401
        bad = c.get("/tasks/next", params={"task_type": "NOPE"})
        assert bad.status_code == 422 and "task_type" in bad.json()["detail"]
        esc = c.get("/videos/..%2F..%2Fetc")
        assert esc.status_code in (404, 422)
        assert c.get("/health").status_code == 200


def test_http_16_workers_claim_each_task_once(live_server: Any) -> None:
    """The worker protocol under concurrency (its queue calls run on the event loop on
    SQLite and in the thread pool on PostgreSQL): every task done once, none twice."""
    st = live_server.app.state.dashcam
    ids = st.queue.enqueue_many(H, [_payload(i) for i in range(400)])
    claimed: list[int] = []
    lock = threading.Lock()

    def work(i: int) -> None:
        h = {"Authorization": "Bearer k3y"}
        with httpx.Client(base_url=live_server.url, headers=h, timeout=30) as c:
            while True:
                r = c.get("/tasks/next", params={"task_type": H.value, "worker_id": f"h{i}"})
                if r.status_code == 204:
                    return
                task_id = r.json()["task_id"]
                assert c.post(f"/tasks/{task_id}/heartbeat").status_code == 200
                assert c.post(f"/tasks/{task_id}/complete", json={}).status_code == 200
                with lock:
                    claimed.append(int(task_id.split(".")[0]))

    run_concurrently(16, work, timeout_s=120)
    assert sorted(claimed) == sorted(ids)
    assert st.queue.counts() == {(H, TaskStatus.DONE): 400}
