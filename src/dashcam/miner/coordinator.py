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
import uuid
from collections.abc import Sequence
from typing import Any

from sqlalchemy import Table, and_, update

from dashcam.errors import DashcamError, LeaseLost, StoreError
from dashcam.miner.monitor import next_state
from dashcam.miner.schema import ProjectState, VideoState
from dashcam.miner.stages import HANDLERS, StageContext
from dashcam.store.task_records import FollowUp
from dashcam.store.task_schema import TaskRow, TaskStatus, TaskType
from dashcam.workers.base import (
    ClaimedTask,
    Outcome,
    Permanent,
    TaskContext,
    Worker,
)

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


class MinerQueueClient:
    """The durable queue, seen by miner stage workers (same machine as the database)."""

    def __init__(self, ctx: StageContext, lease_s: float) -> None:
        self.ctx = ctx
        self.lease_s = lease_s

    def claim(self, task_types: Sequence[TaskType], worker_id: str) -> ClaimedTask | None:
        got = self.ctx.queue.claim(task_types, worker_id, lease_s=self.lease_s)
        if not got:
            return None
        t = got[0]
        return ClaimedTask(
            t.id,
            t.lease_token or "",
            t.task_type,
            t.payload,
            t.video_id,
            t.attempts,
            t.max_attempts,
        )

    def heartbeat(self, task: ClaimedTask) -> None:
        self.ctx.queue.heartbeat(task.id, task.token, lease_s=self.lease_s)

    def complete(
        self, task: ClaimedTask, result: dict[str, Any], follow_ups: Sequence[FollowUp]
    ) -> None:
        self.ctx.queue.complete(task.id, task.token, result, follow_ups)

    def fail(self, task: ClaimedTask, error: str, *, retry: bool = True) -> None:
        status = self.ctx.queue.fail(task.id, task.token, error, retry=retry)
        if status == TaskStatus.DEAD and "video_id" in task.payload:
            self.ctx.store.set_video(
                int(task.payload["video_id"]), state=VideoState.FAILED.value, error=error[:2000]
            )

    def release(self, task: ClaimedTask) -> None:
        self.ctx.queue.release(task.id, task.token)

    def worker_heartbeat(
        self, worker_id: str, kind: str, task: ClaimedTask | None, state: str
    ) -> None:
        self.ctx.queue.worker_heartbeat(
            worker_id,
            kind,
            host=socket.gethostname(),
            pid=os.getpid(),
            task_id=task.id if task else None,
            task_type=task.task_type if task else None,
            state=state,
        )


class StageWorker(Worker):
    """Runs miner handlers for ``task_types`` on the shared worker loop (leases,
    heartbeats, drain on the first signal, release on the second)."""

    kind = "miner"

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
        super().__init__(
            MinerQueueClient(ctx, lease_s),
            worker_id=worker_id
            or f"miner-{socket.gethostname()}-{os.getpid()}-{uuid.uuid4().hex[:6]}",
            poll_interval_s=poll_interval_s,
            heartbeat_interval_s=heartbeat_interval_s,
        )
        self.ctx = ctx
        self.task_types = tuple(task_types)

    @property
    def stopping(self) -> bool:
        return self._stop.is_set()

    def run_one(self) -> bool:
        """Claim and run one task; False when none was ready."""
        task = self.client.claim(self.task_types, self.worker_id)
        if task is None:
            return False
        self._run_one(task)
        return True

    def handle(self, task: ClaimedTask, tctx: TaskContext) -> Outcome:
        full = self.ctx.queue.get(task.id)
        if full is None:
            raise Permanent(f"task {task.id} vanished")

        def beat() -> None:
            if tctx.should_stop():
                raise LeaseLost(f"task {task.id}: lease lost or stopping")

        try:
            result, follow = HANDLERS[task.task_type](self.ctx, full, beat)
        except (LeaseLost, StoreError):
            raise
        except DashcamError as exc:  # bad config, missing model: a retry cannot help
            raise Permanent(str(exc)) from exc
        return Outcome(result=dict(result or {}), follow_ups=list(follow))
