"""The worker base class: claim, heartbeat while handling, complete or fail; stop cleanly.

First SIGINT/SIGTERM drains: no new claims, the current task keeps its lease
(heartbeats go on) and finishes — or is released when its handler gives up. A second
signal stops hard: the task is released (if the store is reachable) and the process exits.
"""

from __future__ import annotations

import contextlib
import logging
import os
import signal
import socket
import threading
import time
import traceback
from abc import ABC, abstractmethod
from collections.abc import Callable, Sequence
from dataclasses import dataclass, field
from types import FrameType
from typing import Any, Protocol

from dashcam.errors import (
    DashcamError,
    InputError,
    LeaseLost,
    PathEscapeError,
    StoreError,
    TaskNotFound,
)
from dashcam.store.task_records import FollowUp
from dashcam.store.task_schema import TaskType

log = logging.getLogger(__name__)


@dataclass(frozen=True)
class ClaimedTask:
    """A leased task as a worker sees it, whatever the transport."""

    id: int
    token: str
    task_type: TaskType
    payload: dict[str, Any]
    video_id: str | None = None
    attempts: int = 1
    max_attempts: int = 1

    @property
    def wire_id(self) -> str:
        return f"{self.id}.{self.token}"


class QueueClient(Protocol):
    """How a worker talks to the queue: the database directly, or the server over HTTP."""

    def claim(self, task_types: Sequence[TaskType], worker_id: str) -> ClaimedTask | None: ...

    def heartbeat(self, task: ClaimedTask) -> None: ...

    def complete(
        self, task: ClaimedTask, result: dict[str, Any], follow_ups: Sequence[FollowUp]
    ) -> None: ...

    def fail(self, task: ClaimedTask, error: str, *, retry: bool = True) -> None: ...

    def release(self, task: ClaimedTask) -> None: ...

    def worker_heartbeat(
        self, worker_id: str, kind: str, task: ClaimedTask | None, state: str
    ) -> None: ...


class TaskContext:
    """What a handler may ask while it runs. ``halt`` is set when it must stop now: its
    lease was lost (``lease_lost``) or the worker got a second signal (``terminated``)."""

    def __init__(self, task: ClaimedTask) -> None:
        self.task = task
        self.halt = threading.Event()
        self.lease_lost = False
        self.terminated = False

    def abandon(self) -> None:
        self.lease_lost = True
        self.halt.set()

    def hard_stop(self) -> None:
        self.terminated = True
        self.halt.set()

    @property
    def abandoned(self) -> bool:
        """The lease was lost: another worker may have the task; drop the work, report nothing."""
        return self.lease_lost

    def should_stop(self) -> bool:
        return self.halt.is_set()


@dataclass
class Outcome:
    result: dict[str, Any] = field(default_factory=dict)
    follow_ups: list[FollowUp] = field(default_factory=list)


class Retryable(DashcamError):
    """A failure worth retrying (the default for errors a handler raises)."""


class Permanent(DashcamError):
    """A failure no retry can fix: the task goes straight to ``dead``."""


def default_worker_id(kind: str) -> str:
    return f"{kind}-{socket.gethostname()}-{os.getpid()}"


class Worker(ABC):
    """Subclasses set ``kind`` and ``task_types`` and implement :meth:`handle`."""

    kind: str = "worker"
    task_types: tuple[TaskType, ...] = ()

    def __init__(
        self,
        client: QueueClient,
        *,
        worker_id: str | None = None,
        poll_interval_s: float = 10.0,
        heartbeat_interval_s: float = 10.0,
        deliver_timeout_s: float = 300.0,
        hard_stop_grace_s: float = 5.0,
    ) -> None:
        self.client = client
        self.deliver_timeout_s = deliver_timeout_s
        self.hard_stop_grace_s = hard_stop_grace_s
        self._exited = threading.Event()
        self.worker_id = worker_id or default_worker_id(self.kind)
        self.poll_interval_s = poll_interval_s
        self.heartbeat_interval_s = heartbeat_interval_s
        self._stop = threading.Event()
        self._terminate = threading.Event()
        self._lock = threading.Lock()
        self._current: TaskContext | None = None
        self.done = 0
        self.failed = 0

    # --- to implement ---------------------------------------------------------------
    @abstractmethod
    def handle(self, task: ClaimedTask, ctx: TaskContext) -> Outcome:
        """Do the task. Raise to fail it (Permanent: no retry). Check ``ctx.should_stop()``."""

    def on_start(self) -> None:  # noqa: B027 - an optional hook
        """Called once before the first claim."""

    def after_complete(self, task: ClaimedTask, outcome: Outcome) -> None:  # noqa: B027
        """Called once the completion is recorded (e.g. delete a source after archiving)."""

    # --- control --------------------------------------------------------------------
    def stop(self) -> None:
        """Stop claiming; the current task finishes. Idempotent and thread-safe."""
        self._stop.set()

    def terminate(self) -> None:
        """Hard stop: the current handler is told to give up; its task is released."""
        self._stop.set()
        self._terminate.set()
        with self._lock:
            if self._current is not None:
                self._current.hard_stop()

    def install_signal_handlers(self) -> None:
        """First SIGINT/SIGTERM: drain. Second: hard stop."""

        def on_signal(signum: int, frame: FrameType | None) -> None:
            if self._stop.is_set():
                log.warning("%s: second signal, stopping now", self.worker_id)
                self.terminate()
                threading.Thread(target=self._exit_hard, name="hard-stop", daemon=True).start()
            else:
                log.warning(
                    "%s: stopping after the current task (signal again to abort)", self.worker_id
                )
                self.stop()

        signal.signal(signal.SIGINT, on_signal)
        signal.signal(signal.SIGTERM, on_signal)

    def _exit_hard(self) -> None:
        """After a second signal: give the handler ``hard_stop_grace_s`` to notice, then
        release its task (if the store answers) and leave the process at once."""
        if self._exited.wait(self.hard_stop_grace_s):
            return
        with self._lock:
            ctx = self._current
        if ctx is not None and not ctx.lease_lost:
            self._release(ctx.task)
        log.error(
            "%s: handler did not stop within %.1f s: exiting",
            self.worker_id,
            self.hard_stop_grace_s,
        )
        os._exit(130)

    def run(self, *, until_idle: bool = False, once: bool = False) -> int:
        """Work until stopped (or, for tests, until no task is ready). Returns tasks done."""
        self._exited.clear()
        try:
            return self._run(until_idle=until_idle, once=once)
        finally:
            self._exited.set()

    def _run(self, *, until_idle: bool, once: bool) -> int:
        self.on_start()
        self._report(None, "idle")
        while not self._stop.is_set():
            try:
                task = self.client.claim(self.task_types, self.worker_id)
            except StoreError as exc:  # server or database away: poll again later
                if until_idle or once:
                    raise
                log.warning("%s: cannot claim: %s", self.worker_id, exc)
                self._stop.wait(self.poll_interval_s)
                continue
            if task is None:
                self._report(None, "idle")
                if until_idle or once:
                    break
                self._stop.wait(self.poll_interval_s)
                continue
            self._run_one(task)
            if once:
                break
        self._report(None, "stopped")
        return self.done

    # --- internals ------------------------------------------------------------------
    def _report(self, task: ClaimedTask | None, state: str) -> None:
        try:
            self.client.worker_heartbeat(self.worker_id, self.kind, task, state)
        except DashcamError as exc:
            log.warning("%s: worker heartbeat failed: %s", self.worker_id, exc)

    def _heartbeats(self, ctx: TaskContext, finished: threading.Event) -> None:
        while not finished.wait(self.heartbeat_interval_s):
            try:
                self.client.heartbeat(ctx.task)
                self._report(ctx.task, "busy")
            except LeaseLost:
                log.error("%s: lease of task %d lost: abandoning it", self.worker_id, ctx.task.id)
                ctx.abandon()
                return
            except DashcamError as exc:  # server briefly away: keep trying until the lease ends
                log.warning("%s: heartbeat failed: %s", self.worker_id, exc)

    def _run_one(self, task: ClaimedTask) -> None:
        ctx = TaskContext(task)
        with self._lock:
            self._current = ctx
            if self._terminate.is_set():
                ctx.hard_stop()
        finished = threading.Event()
        beat = threading.Thread(target=self._heartbeats, args=(ctx, finished), daemon=True)
        beat.start()
        self._report(task, "busy")
        log.info(
            "%s: task %d %s (attempt %d)", self.worker_id, task.id, task.task_type, task.attempts
        )
        started = time.monotonic()
        try:
            outcome = self.handle(task, ctx)
        except BaseException as exc:
            finished.set()
            beat.join(timeout=5)
            self._after_failure(task, ctx, exc)
            if not isinstance(exc, Exception):
                raise
            return
        finally:
            with self._lock:
                self._current = None
        finished.set()
        beat.join(timeout=5)
        if ctx.lease_lost:
            return
        if ctx.terminated:
            self._release(task)
            return
        try:
            self._deliver(
                "complete",
                task,
                lambda: self.client.complete(task, outcome.result, outcome.follow_ups),
            )
        except LeaseLost:
            log.error("%s: task %d was reclaimed before it completed", self.worker_id, task.id)
            return
        except InputError as exc:  # the server refused the report: a failure, with its reason
            self._after_failure(task, ctx, InputError(f"completion refused: {exc}"))
            return
        self.done += 1
        log.info(
            "%s: task %d %s done in %.1f s",
            self.worker_id,
            task.id,
            task.task_type,
            time.monotonic() - started,
        )
        self.after_complete(task, outcome)

    def _after_failure(self, task: ClaimedTask, ctx: TaskContext, exc: BaseException) -> None:
        if ctx.lease_lost:
            return
        if ctx.terminated or isinstance(exc, KeyboardInterrupt):
            self._release(task)
            return
        message = str(exc) or type(exc).__name__
        log.error("%s: task %d failed: %s", self.worker_id, task.id, message)
        log.debug("%s", "".join(traceback.format_exception(exc)))
        self.failed += 1
        with contextlib.suppress(LeaseLost):
            # Bad ids never become good: no retry for them either.
            retry = not isinstance(exc, Permanent | PathEscapeError)
            self._deliver("fail", task, lambda: self.client.fail(task, message, retry=retry))

    def _deliver(self, what: str, task: ClaimedTask, send: Callable[[], None]) -> None:
        """Send a completion or failure, retrying while the server or database is away
        (for up to ``deliver_timeout_s``; a hard stop gives up at once). Once the lease has
        expired the answer is LeaseLost and another worker redoes the task."""
        deadline = time.monotonic() + self.deliver_timeout_s
        pause = 0.5
        while True:
            try:
                send()
                return
            except StoreError as exc:
                if isinstance(exc, TaskNotFound) or self._terminate.is_set():
                    raise
                if time.monotonic() + pause > deadline:
                    raise
                log.warning("%s: %s of task %d: %s (retrying)", self.worker_id, what, task.id, exc)
                self._terminate.wait(pause)
                pause = min(pause * 2, 10.0)

    def _release(self, task: ClaimedTask) -> None:
        try:
            self.client.release(task)
        except DashcamError as exc:
            log.warning("%s: could not release task %d: %s", self.worker_id, task.id, exc)
