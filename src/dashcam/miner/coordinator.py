"""The monitor's tick and the stage worker loop over the shared durable task queue.

``tick`` (one pass of the monitor): requeue tasks whose lease expired or whose last
heartbeat is older than ``stale_threshold_minutes``, warn on tasks running longer than
``warn_lock_minutes``, move every project to its state, and publish the project-level task
the state calls for (dedup, detect, backup), once per project epoch (dedupe keys).

``StageWorker``: claims tasks of its types, heartbeats while a handler runs (a rejected
heartbeat abandons the item), completes with the handler's follow-ups, fails with retry.
"""

from __future__ import annotations

import logging
import os
import socket
import threading
import traceback
import uuid
from collections.abc import Sequence

from sqlalchemy import Table, and_, update

from dashcam.errors import DashcamError, LeaseLost, StoreError
from dashcam.miner.monitor import next_state
from dashcam.miner.schema import ProjectState, VideoState
from dashcam.miner.stages import HANDLERS, StageContext
from dashcam.store.task_queue import Task
from dashcam.store.task_schema import TaskRow, TaskStatus, TaskType

log = logging.getLogger(__name__)

MINER_TYPES = tuple(HANDLERS)


def reset_stale(ctx: StageContext, stale_s: float) -> int:
    """Expire the lease of running miner tasks silent for ``stale_s``; then reap."""
    t: Table = TaskRow.__table__  # type: ignore[assignment]
    q = ctx.queue
    with q.engine.begin() as c:
        c.execute(
            update(t)
            .where(
                and_(
                    t.c.status == TaskStatus.RUNNING.value,
                    t.c.task_type.in_([x.value for x in MINER_TYPES]),
                    t.c.updated_s < q._now - stale_s,
                )
            )
            .values(lease_expires_s=q._now - 1)
        )
    return q.reap()


def tick(ctx: StageContext) -> dict[str, ProjectState]:
    """One monitor pass; returns each project's state."""
    states: dict[str, ProjectState] = {}
    now = ctx.queue.now()
    for project in ctx.store.projects():
        w = project.config.workers
        reset_stale(ctx, w.stale_threshold_minutes * 60)
        for task in ctx.queue.list_tasks(status=TaskStatus.RUNNING, limit=1000):
            held = now - (task.started_s or now)
            if task.task_type in MINER_TYPES and held > w.warn_lock_minutes * 60:
                log.warning(
                    "%s task %d held by %s for %.0f min",
                    task.task_type,
                    task.id,
                    task.worker_id,
                    held / 60,
                )
        state = next_state(
            ctx.store.video_counts(project.name),
            epoch=project.epoch,
            dedup_epoch=project.dedup_epoch,
            detect_epoch=project.detect_epoch,
        )
        if state != project.state:
            log.info("project %s: %s -> %s", project.name, project.state, state)
            ctx.store.set_project(project.name, state=state.value)
        payload = {"project": project.name, "epoch": project.epoch}
        step = {
            ProjectState.DEDUP_READY: TaskType.MINER_DEDUP,
            ProjectState.DETECT_READY: TaskType.MINER_DETECT,
        }.get(state)
        if (
            step is None
            and state == ProjectState.COMPLETE
            and project.config.backup is not None
            and project.backup_epoch < project.epoch
        ):
            step = TaskType.MINER_BACKUP
        if step is not None:
            ctx.queue.enqueue(
                step,
                payload,
                max_attempts=w.max_attempts,
                dedupe_key=f"miner:{step.value}:{project.name}:{project.epoch}",
            )
        states[project.name] = state
    return states


class StageWorker:
    """Runs miner handlers for ``task_types`` until stopped (or idle, for tests)."""

    def __init__(
        self,
        ctx: StageContext,
        task_types: Sequence[TaskType],
        *,
        lease_s: float = 60.0,
        heartbeat_interval_s: float = 10.0,
        poll_interval_s: float = 2.0,
        worker_id: str | None = None,
    ) -> None:
        self.ctx = ctx
        self.task_types = list(task_types)
        self.lease_s = lease_s
        self.heartbeat_interval_s = heartbeat_interval_s
        self.poll_interval_s = poll_interval_s
        self.worker_id = (
            worker_id or f"miner-{socket.gethostname()}-{os.getpid()}-{uuid.uuid4().hex[:6]}"
        )
        self._stop = threading.Event()

    def stop(self) -> None:
        """Stop claiming; the item in hand finishes. Idempotent, thread-safe."""
        self._stop.set()

    def run_one(self) -> bool:
        """Claim and run one task; False when none was ready."""
        claimed = self.ctx.queue.claim(self.task_types, self.worker_id, lease_s=self.lease_s)
        if not claimed:
            return False
        self._run(claimed[0])
        return True

    def run(self, *, until_idle: bool = False) -> int:
        done = 0
        while not self._stop.is_set():
            if self.run_one():
                done += 1
            elif until_idle:
                break
            else:
                self._stop.wait(self.poll_interval_s)
        return done

    def _run(self, task: Task) -> None:
        token = task.lease_token or ""
        lost = threading.Event()
        finished = threading.Event()

        def heartbeat() -> None:
            while not finished.wait(self.heartbeat_interval_s):
                try:
                    self.ctx.queue.heartbeat(task.id, token, lease_s=self.lease_s)
                except LeaseLost:
                    lost.set()
                    return
                except DashcamError as exc:
                    log.warning("heartbeat of task %d failed: %s", task.id, exc)

        def beat() -> None:
            if lost.is_set():
                raise LeaseLost(f"task {task.id}: lease lost")

        hb = threading.Thread(target=heartbeat, name=f"hb-{task.id}", daemon=True)
        hb.start()
        try:
            result, follow = HANDLERS[task.task_type](self.ctx, task, beat)
        except LeaseLost:
            log.warning("task %d abandoned: lease lost", task.id)
            return
        except Exception as exc:
            log.error("task %d (%s) failed: %s", task.id, task.task_type, exc)
            retry = not isinstance(exc, DashcamError) or isinstance(exc, StoreError)
            try:
                status = self.ctx.queue.fail(
                    task.id, token, f"{exc}\n{traceback.format_exc()}", retry=retry
                )
            except LeaseLost:
                return
            if status == TaskStatus.DEAD and "video_id" in task.payload:
                self.ctx.store.set_video(
                    int(task.payload["video_id"]),
                    state=VideoState.FAILED.value,
                    error=str(exc)[:2000],
                )
            return
        finally:
            finished.set()
            hb.join(timeout=self.heartbeat_interval_s + 5)
        try:
            self.ctx.queue.complete(task.id, token, result, follow)
        except LeaseLost:
            log.warning("task %d: completed after its lease was lost (redone elsewhere)", task.id)
