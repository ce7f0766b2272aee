"""The worker base class in a real process: first SIGTERM drains (the task in hand is
finished, nothing new is claimed), a second one stops hard even when the handler never
looks at its context (the task is released for another worker)."""

from __future__ import annotations

import signal
import subprocess
import sys
import textwrap
import time
from pathlib import Path

from dashcam.store.database import make_engine
from dashcam.store.task_queue import TaskQueue
from dashcam.store.task_schema import TaskStatus, TaskType

A = TaskType.ARCHIVE_VIDEO

_WORKER = textwrap.dedent("""
    import sys, time
    from dashcam.store.database import make_engine
    from dashcam.store.results import ResultsRepository
    from dashcam.store.task_queue import TaskQueue
    from dashcam.store.task_schema import TaskType
    from dashcam.workers.base import Outcome, Worker
    from dashcam.workers.clients import DirectQueueClient

    class Slow(Worker):
        kind = "slow"
        task_types = (TaskType.ARCHIVE_VIDEO,)

        def handle(self, task, ctx):
            print("claimed", task.id, flush=True)
            if sys.argv[2] == "stuck":  # never looks at ctx: only a hard exit ends it
                for _ in range(600):
                    time.sleep(0.1)
            for _ in range(30):  # 1.5 s of work that keeps checking whether to give up
                if ctx.should_stop():
                    raise RuntimeError("told to stop")
                time.sleep(0.05)
            return Outcome(result={"by": self.worker_id})

    engine = make_engine(sys.argv[1])
    client = DirectQueueClient(TaskQueue(engine, lease_s=30), ResultsRepository(engine))
    w = Slow(client, poll_interval_s=0.1, heartbeat_interval_s=0.2, hard_stop_grace_s=1.0)
    w.install_signal_handlers()
    print("done", w.run(), flush=True)
""")


def _start(db_url: str, mode: str) -> tuple[subprocess.Popen[str], int]:
    proc = subprocess.Popen(
        [sys.executable, "-c", _WORKER, db_url, mode],
        stdout=subprocess.PIPE,
        stderr=subprocess.DEVNULL,
        text=True,
    )
    assert proc.stdout is not None
    word, task_id = proc.stdout.readline().split()
    assert word == "claimed"
    return proc, int(task_id)


def test_first_sigterm_finishes_the_task_and_claims_nothing_more(tmp_path: Path) -> None:
    url = f"sqlite:///{tmp_path / 'q.db'}"
    q = TaskQueue(make_engine(url))
    first, second = (q.enqueue(A, {"video_id": f"v{i}"}, video_id=f"v{i}") for i in (1, 2))
    proc, task_id = _start(url, "drain")
    try:
        proc.send_signal(signal.SIGTERM)
        out, _ = proc.communicate(timeout=20)
    finally:
        if proc.poll() is None:
            proc.kill()
    assert proc.returncode == 0 and "done 1" in out
    assert task_id == first
    done, waiting = q.get(first or 0), q.get(second or 0)
    assert done is not None and done.status is TaskStatus.DONE
    assert waiting is not None and waiting.status is TaskStatus.QUEUED


def test_second_sigterm_exits_a_stuck_handler_and_releases_its_task(tmp_path: Path) -> None:
    url = f"sqlite:///{tmp_path / 'q.db'}"
    q = TaskQueue(make_engine(url))
    tid = q.enqueue(A, {"video_id": "v1"}, video_id="v1")
    proc, task_id = _start(url, "stuck")
    try:
        proc.send_signal(signal.SIGTERM)
        time.sleep(0.3)
        assert proc.poll() is None  # draining: the task is still being worked on
        t0 = time.monotonic()
        proc.send_signal(signal.SIGTERM)
        proc.wait(timeout=15)
        took = time.monotonic() - t0
    finally:
        if proc.poll() is None:
            proc.kill()
    assert proc.returncode == 130 and took < 10  # grace 1 s, not the handler's 60 s
    t = q.get(tid or 0)
    assert task_id == tid and t is not None
    assert t.status is TaskStatus.QUEUED and t.attempts == 0  # released, no attempt used
    (again,) = q.claim([A], "rescuer")  # at once, not after the 30 s lease
    assert again.id == tid
