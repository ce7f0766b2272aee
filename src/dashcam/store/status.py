"""The system as the queue sees it: workers (heartbeat age, stale) and task counts.

One computation for ``dashcam status``, ``dashcam workers``, the monitor, the server's
``/workers`` and ``/queue/stats`` and the dashboard's live feed.
"""

from __future__ import annotations

from dataclasses import dataclass

from dashcam.store.task_queue import TaskQueue


@dataclass(frozen=True)
class WorkerView:
    """A worker's last heartbeat: ``stale`` when older than the stale limit (and running)."""

    worker_id: str
    kind: str
    host: str | None
    pid: int | None
    state: str
    task_id: int | None
    task_type: str | None
    last_heartbeat_s: float  # epoch seconds, on the database clock
    heartbeat_age_s: float
    stale: bool


@dataclass(frozen=True)
class QueueStats:
    """Tasks per type and status, the backlog (queued + retry) and throughput per minute
    over the last ``window_s`` seconds; keys are task type values."""

    tasks: dict[str, dict[str, int]]
    backlog: dict[str, int]
    throughput_per_min: dict[str, float]
    window_s: float


@dataclass(frozen=True)
class SystemStatus:
    """What ``dashcam status`` and the monitor show."""

    workers: list[WorkerView]
    tasks: dict[str, dict[str, int]]
    backlog: dict[str, int]
    throughput_per_min: dict[str, float]


def worker_views(queue: TaskQueue, *, stale_after_s: float) -> list[WorkerView]:
    return [
        WorkerView(
            worker_id=w.id,
            kind=w.kind,
            host=w.host,
            pid=w.pid,
            state=w.state,
            task_id=w.task_id,
            task_type=w.task_type,
            last_heartbeat_s=float(w.last_heartbeat_s),
            heartbeat_age_s=round(w.heartbeat_age_s, 1),
            stale=w.heartbeat_age_s > stale_after_s and w.state != "stopped",
        )
        for w in queue.workers()
    ]


def queue_stats(queue: TaskQueue, *, window_s: float = 300.0) -> QueueStats:
    tasks: dict[str, dict[str, int]] = {}
    for (tt, st), n in queue.counts().items():
        tasks.setdefault(tt.value, {})[st.value] = n
    done = queue.finished_since(window_s)
    return QueueStats(
        tasks=tasks,
        backlog={tt: v.get("queued", 0) + v.get("retry", 0) for tt, v in tasks.items()},
        throughput_per_min={tt.value: round(n * 60.0 / window_s, 2) for tt, n in done.items()},
        window_s=window_s,
    )


def system_status(
    queue: TaskQueue, *, stale_after_s: float = 30.0, window_s: float = 300.0
) -> SystemStatus:
    q = queue_stats(queue, window_s=window_s)
    return SystemStatus(
        workers=worker_views(queue, stale_after_s=stale_after_s),
        tasks=q.tasks,
        backlog=q.backlog,
        throughput_per_min=q.throughput_per_min,
    )
