"""Starting, watching, restarting and ending the worker processes.

Workers are started from a ``forkserver`` (a clean single-threaded process with the
stage modules preloaded), never forked from the orchestrator, whose reader threads may
hold locks at any moment. Each worker has its own duplex pipe; the orchestrator tracks
the tasks it handed to each one, so a worker that dies loses nothing: its tasks go back
to the front of their queues and a fresh worker takes its index.
"""

from __future__ import annotations

import contextlib
import logging
import multiprocessing as mp
from dataclasses import dataclass, field
from multiprocessing.connection import Connection
from multiprocessing.context import ForkServerContext
from multiprocessing.process import BaseProcess

from dashcam.config import Settings
from dashcam.pipeline.status import StatusBoard
from dashcam.pipeline.tasks import Stop, Task
from dashcam.pipeline.worker import worker_main
from dashcam.stages.category import TaskCategory, WorkerKind

log = logging.getLogger(__name__)

_PRELOAD = ["dashcam.pipeline.worker"]


def forkserver_context() -> ForkServerContext:
    ctx = mp.get_context("forkserver")
    assert isinstance(ctx, ForkServerContext)
    ctx.set_forkserver_preload(_PRELOAD)
    return ctx


@dataclass
class WorkerHandle:
    """The orchestrator's view of one worker process."""

    index: int
    kind: WorkerKind
    process: BaseProcess
    conn: Connection
    inflight: dict[int, Task] = field(default_factory=dict)
    want: TaskCategory | None = None
    ready: bool = False
    pid: int | None = None

    @property
    def alive(self) -> bool:
        return self.process.is_alive()


class WorkerPool:
    def __init__(
        self,
        ctx: ForkServerContext,
        board: StatusBoard,
        settings: Settings,
        *,
        kinds: list[WorkerKind],
        heartbeat_interval_s: float,
        threads: int,
    ) -> None:
        self.ctx = ctx
        self.board = board
        # The processes are the parallelism: one thread per model session unless configured.
        if threads > 0 and settings.model_threads == 0:
            settings = settings.model_copy(update={"model_threads": threads})
        self.settings = settings
        self.heartbeat_interval_s = heartbeat_interval_s
        self.threads = threads
        self.kinds = kinds
        self.workers: list[WorkerHandle] = []
        self.restarts = 0

    def start(self) -> None:
        self.workers = [self._spawn(i, k) for i, k in enumerate(self.kinds)]

    def _spawn(self, index: int, kind: WorkerKind) -> WorkerHandle:
        ours, theirs = self.ctx.Pipe(duplex=True)
        proc = self.ctx.Process(
            target=worker_main,
            args=(
                index,
                kind,
                theirs,
                self.board,
                self.settings,
                self.heartbeat_interval_s,
                self.threads,
            ),
            name=f"dashcam-{kind.value}-{index}",
            daemon=True,
        )
        proc.start()
        theirs.close()
        return WorkerHandle(index=index, kind=kind, process=proc, conn=ours)

    def replace(self, handle: WorkerHandle) -> tuple[WorkerHandle, list[Task]]:
        """Reap a dead (or broken) worker; return its replacement and its lost tasks."""
        self.kill(handle)
        lost = list(handle.inflight.values())
        handle.inflight.clear()
        fresh = self._spawn(handle.index, handle.kind)
        self.workers[handle.index] = fresh
        self.restarts += 1
        log.warning(
            "worker %s (pid %s) died; restarted as pid %s, %d task(s) re-queued",
            handle.index,
            handle.pid,
            fresh.process.pid,
            len(lost),
        )
        return fresh, lost

    @staticmethod
    def kill(handle: WorkerHandle, grace_s: float = 1.0) -> None:
        proc = handle.process
        if proc.is_alive():
            proc.terminate()
            proc.join(grace_s)
        if proc.is_alive():
            proc.kill()
            proc.join(grace_s)
        handle.conn.close()

    def stop_all(self, *, graceful_s: float) -> None:
        """Ask every worker to stop, wait ``graceful_s``, then end the stragglers."""
        for w in self.workers:
            with contextlib.suppress(OSError, ValueError):
                w.conn.send(Stop())
        for w in self.workers:
            w.process.join(graceful_s)
        for w in self.workers:
            self.kill(w)

    def terminate_all(self) -> None:
        for w in self.workers:
            if w.process.is_alive():
                w.process.terminate()
        for w in self.workers:
            self.kill(w, grace_s=1.0)
