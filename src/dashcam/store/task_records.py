"""What the task queue hands out: a claimed task, a finished one, a follow-up to publish,
a worker's registry row; and the mapping from database rows to them."""

from __future__ import annotations

import json
from dataclasses import dataclass
from typing import Any

from dashcam.errors import TaskNotFound
from dashcam.store.schema import MAX_BIGINT
from dashcam.store.task_schema import TaskStatus, TaskType

__all__ = [
    "Failed",
    "Finished",
    "FollowUp",
    "Task",
    "WorkerInfo",
    "parse_wire_id",
    "task_from_row",
    "worker_from_row",
]


@dataclass(frozen=True)
class Task:
    id: int
    task_type: TaskType
    status: TaskStatus
    payload: dict[str, Any]
    attempts: int
    max_attempts: int
    priority: int
    lease_token: str | None
    lease_expires_s: float | None
    worker_id: str | None
    parent_id: int | None
    video_id: str | None
    result: dict[str, Any] | None
    error: str | None
    run_after_s: float
    created_s: float
    updated_s: float
    started_s: float | None
    finished_s: float | None

    @property
    def wire_id(self) -> str:
        """The id handed to remote workers: names the task and this claim (``<id>.<token>``)."""
        return f"{self.id}.{self.lease_token}" if self.lease_token else str(self.id)


@dataclass(frozen=True)
class Finished:
    """What :meth:`TaskQueue.finish` finished."""

    task_type: TaskType
    video_id: str | None
    replay: bool  # this claim had completed the task already; nothing changed
    follow_ups: list[int]


@dataclass(frozen=True)
class Failed:
    """What :meth:`TaskQueue.fail` recorded."""

    task_type: TaskType
    video_id: str | None
    status: TaskStatus  # retry or dead
    error: str


@dataclass(frozen=True)
class FollowUp:
    """A task published by a completion, at most once per (parent, type)."""

    task_type: TaskType
    payload: dict[str, Any]
    priority: int = 0
    video_id: str | None = None


@dataclass(frozen=True)
class WorkerInfo:
    id: str
    kind: str
    host: str | None
    pid: int | None
    task_id: int | None
    task_type: str | None
    state: str
    started_s: float
    last_heartbeat_s: float
    heartbeat_age_s: float


def parse_wire_id(wire_id: str) -> tuple[int, str | None]:
    """``"42.ab12"`` -> ``(42, "ab12")``; ``"42"`` -> ``(42, None)``. An id no task can
    have (not digits, or past what the database holds) is :class:`TaskNotFound`."""
    head, _, token = wire_id.partition(".")
    if not (head.isascii() and head.isdigit()) or len(head) > 19 or int(head) > MAX_BIGINT:
        raise TaskNotFound(f"no task {wire_id[:40]!r}")
    return int(head), token or None


def _json(value: Any) -> Any:
    # SQLite hands JSON columns back as text when read through a raw select.
    return json.loads(value) if isinstance(value, str | bytes) else value


def task_from_row(row: Any) -> Task:
    """A ``tasks`` row (any result row with its columns) as a :class:`Task`."""
    m = row._mapping
    return Task(
        id=int(m["id"]),
        task_type=TaskType(m["task_type"]),
        status=TaskStatus(m["status"]),
        payload=_json(m["payload"]) or {},
        attempts=int(m["attempts"]),
        max_attempts=int(m["max_attempts"]),
        priority=int(m["priority"]),
        lease_token=m["lease_token"],
        lease_expires_s=m["lease_expires_s"],
        worker_id=m["worker_id"],
        parent_id=m["parent_id"],
        video_id=m["video_id"],
        result=_json(m["result"]),
        error=m["error"],
        run_after_s=float(m["run_after_s"]),
        created_s=float(m["created_s"]),
        updated_s=float(m["updated_s"]),
        started_s=m["started_s"],
        finished_s=m["finished_s"],
    )


def worker_from_row(row: Any, now_s: float) -> WorkerInfo:
    """A ``workers`` row as a :class:`WorkerInfo`, its heartbeat age taken at ``now_s``."""
    return WorkerInfo(
        id=row.id,
        kind=row.kind,
        host=row.host,
        pid=row.pid,
        task_id=row.task_id,
        task_type=row.task_type,
        state=row.state,
        started_s=row.started_s,
        last_heartbeat_s=row.last_heartbeat_s,
        heartbeat_age_s=max(now_s - float(row.last_heartbeat_s), 0.0),
    )
