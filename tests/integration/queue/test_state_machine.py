"""Hypothesis: the queue behaves like a simple in-memory model under any sequence of calls."""

from __future__ import annotations

import tempfile
from pathlib import Path

from hypothesis import settings
from hypothesis import strategies as st
from hypothesis.stateful import Bundle, RuleBasedStateMachine, invariant, precondition, rule

from dashcam.errors import LeaseLost
from dashcam.store.database import make_engine
from dashcam.store.task_queue import TaskQueue
from dashcam.store.task_records import FollowUp
from dashcam.store.task_schema import TaskStatus, TaskType

H = TaskType.HEAVY_PROCESS_VIDEO
A = TaskType.ARCHIVE_VIDEO


class QueueMachine(RuleBasedStateMachine):
    """Model: task id -> (status, attempts, current token). Leases never expire on their
    own here (lease 1 h); ``expire`` forces expiry the way a dead worker would."""

    leases = Bundle("leases")

    def __init__(self) -> None:
        super().__init__()
        self.dir = tempfile.TemporaryDirectory()
        self.q = TaskQueue(
            make_engine(f"sqlite:///{Path(self.dir.name) / 'q.db'}"),
            lease_s=3600,
            max_attempts=3,
            backoff_base_s=0,
        )
        self.model: dict[int, dict[str, object]] = {}
        self.children: dict[int, int] = {}

    def teardown(self) -> None:
        self.q.engine.dispose()
        self.dir.cleanup()

    @rule(priority=st.integers(0, 3))
    def enqueue(self, priority: int) -> None:
        tid = self.q.enqueue(H, {"video_id": "v", "raw_video": "/v.mp4"}, priority=priority)
        assert tid is not None
        self.model[tid] = {"status": "queued", "attempts": 0, "token": None}

    @rule(target=leases)
    def claim(self) -> tuple[int, str] | None:
        got = self.q.claim([H], "w")
        ready = [i for i, m in self.model.items() if m["status"] in ("queued", "retry")]
        if not got:
            assert ready == []
            return None
        t = got[0]
        assert t.id in ready
        m = self.model[t.id]
        m.update(status="running", attempts=int(m["attempts"]) + 1, token=t.lease_token)  # type: ignore[call-overload]
        assert t.attempts == m["attempts"]
        return (t.id, t.lease_token or "")

    @rule(lease=leases)
    def complete(self, lease: tuple[int, str] | None) -> None:
        if lease is None:
            return
        tid, token = lease
        m = self.model[tid]
        if m["status"] == "running" and m["token"] == token:
            self.q.complete(tid, token, {}, [FollowUp(A, {"video_id": "v"})])
            m["status"] = "done"
            self.children[tid] = self.children.get(tid, 0) + 1
        elif m["status"] == "done" and m["token"] == token:
            assert self.q.complete(tid, token, {}, [FollowUp(A, {"video_id": "v"})]) == []
        else:
            try:
                self.q.complete(tid, token, {})
            except LeaseLost:
                return
            raise AssertionError("a stale token completed a task")

    @rule(lease=leases)
    def fail(self, lease: tuple[int, str] | None) -> None:
        if lease is None:
            return
        tid, token = lease
        m = self.model[tid]
        if m["status"] == "running" and m["token"] == token:
            status = self.q.fail(tid, token, "boom")
            want = "dead" if int(m["attempts"]) >= 3 else "retry"  # type: ignore[call-overload]
            assert status.value == want
            m["status"] = want
        else:
            try:
                self.q.fail(tid, token, "boom")
            except LeaseLost:
                return
            raise AssertionError("a stale token failed a task")

    @precondition(lambda self: any(m["status"] == "running" for m in self.model.values()))
    @rule()
    def expire(self) -> None:
        """A worker died: its lease runs out and the reaper takes the task back."""
        from sqlalchemy import update

        from dashcam.store.task_queue import T

        with self.q.engine.begin() as c:
            c.execute(update(T).where(T.c.status == "running").values(lease_expires_s=0))
        self.q.reap()
        for m in self.model.values():
            if m["status"] == "running":
                m["status"] = "dead" if int(m["attempts"]) >= 3 else "queued"  # type: ignore[call-overload]

    @invariant()
    def matches_model(self) -> None:
        for tid, m in self.model.items():
            t = self.q.get(tid)
            assert t is not None
            assert t.status.value == m["status"], (tid, t.status, m)
            assert t.attempts == m["attempts"]
        archives = [t for t in self.q.list_tasks(task_type=A, limit=10_000)]
        assert len(archives) == sum(self.children.values())
        assert all(n == 1 for n in self.children.values())
        assert all(t.status is TaskStatus.QUEUED for t in archives)


QueueMachine.TestCase.settings = settings(max_examples=25, stateful_step_count=25, deadline=None)
TestQueueMachine = QueueMachine.TestCase
