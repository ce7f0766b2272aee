"""The worker protocol (the seed's ``/tasks/next`` + heartbeat/complete/fail) and operator
endpoints for tasks and workers."""

from __future__ import annotations

from dataclasses import asdict
from typing import Annotated, Any

from fastapi import APIRouter, Depends, HTTPException, Query, Response
from pydantic import BaseModel, ConfigDict, Field
from starlette.concurrency import run_in_threadpool

from dashcam.errors import LeaseLost
from dashcam.server.deps import ServerState, iso, require_key, run_store, state
from dashcam.server.workers import workers_json
from dashcam.store.status import queue_stats as count_tasks
from dashcam.store.task_records import Finished, FollowUp, Task, parse_wire_id
from dashcam.store.task_schema import TaskStatus, TaskType
from dashcam.store.video_tasks import (
    compact_result,
    on_claimed,
    on_completed,
    on_failed,
    replay_needs_apply,
)

router = APIRouter(dependencies=[Depends(require_key)], tags=["tasks"])
State = Annotated[ServerState, Depends(state)]


def task_json(t: Task) -> dict[str, Any]:
    return {
        "id": t.id,
        "task_type": t.task_type.value,
        "status": t.status.value,
        "video_id": t.video_id,
        "priority": t.priority,
        "attempts": t.attempts,
        "max_attempts": t.max_attempts,
        "worker_id": t.worker_id,
        "error": t.error,
        "payload": t.payload,
        "result": t.result,
        "parent_id": t.parent_id,
        "created_at": iso(t.created_s),
        "updated_at": iso(t.updated_s),
        "started_at": iso(t.started_s),
        "finished_at": iso(t.finished_s),
        "run_after": iso(t.run_after_s),
        "lease_expires_at": iso(t.lease_expires_s),
    }


class RemoteTask(BaseModel):
    model_config = ConfigDict(extra="allow")
    task_type: TaskType
    payload: dict[str, Any] | None = None
    inputs: dict[str, Any] | None = None
    priority: int = 0
    video_id: str | None = None


class Completion(BaseModel):
    """The seed completion payload; unknown fields are kept in the task's result."""

    model_config = ConfigDict(extra="allow")
    video_id: str | None = None
    task_id: str | None = None
    metadata_path: str | None = None
    crops_dir: str | None = None
    detections: list[dict[str, Any]] = Field(default_factory=list)
    model_info: dict[str, Any] = Field(default_factory=dict)
    remote_tasks: list[RemoteTask] = Field(default_factory=list)


class Failure(BaseModel):
    error: str = Field(min_length=1, max_length=10_000)
    retry: bool = True


def _fenced(wire_id: str) -> tuple[int, str]:
    task_id, token = parse_wire_id(wire_id)
    if token is None:
        raise LeaseLost(f"task id {wire_id!r} does not name a claim (use the id /tasks/next gave)")
    return task_id, token


# The worker protocol's endpoints are ``async``: their queue calls go through
# ``run_store`` (inline on SQLite, thread pool on PostgreSQL).
@router.get("/tasks/next", responses={204: {"description": "No task is ready"}})
async def next_task(st: State, task_type: TaskType, worker_id: str | None = None) -> Any:
    """Claim the next task of ``task_type`` (204 when there is none)."""
    tasks = await run_store(st, _claim, st, task_type, worker_id or "http-worker")
    if not tasks:
        return Response(status_code=204)
    t = tasks[0]
    st.metrics.claims.labels(t.task_type.value).inc()
    inputs = dict(t.payload)
    video_id = inputs.pop("video_id", None) or t.video_id
    return {
        "task_id": t.wire_id,
        "video_id": video_id,
        "task_type": t.task_type.value,
        "inputs": inputs,
        "created_at": iso(t.created_s),
        "attempts": t.attempts,
        "max_attempts": t.max_attempts,
        "lease_expires_at": iso(t.lease_expires_s),
    }


def _claim(st: ServerState, task_type: TaskType, worker_id: str) -> list[Task]:
    tasks = st.queue.claim([task_type], worker_id)
    for t in tasks:
        on_claimed(st.repo, t.task_type, t.video_id)
    return tasks


@router.post("/tasks/{wire_id}/heartbeat")
async def heartbeat(st: State, wire_id: str) -> dict[str, Any]:
    task_id, token = _fenced(wire_id)
    return {"lease_expires_at": iso(await run_store(st, st.queue.heartbeat, task_id, token))}


@router.post("/tasks/{wire_id}/complete")
async def complete(st: State, wire_id: str, body: Completion) -> dict[str, Any]:
    """Finish a claimed task; ``remote_tasks`` become its follow-up tasks (once)."""
    task_id, token = _fenced(wire_id)
    follow = [
        FollowUp(r.task_type, r.payload or r.inputs or {}, r.priority, r.video_id)
        for r in body.remote_tasks
    ]
    result = body.model_dump(exclude={"remote_tasks"})
    done = await run_store(
        st, st.queue.finish, task_id, token, compact_result(result), follow, inherit_video=True
    )
    if done.video_id:
        # Reads metadata.json and writes the video's sightings: not for the event loop.
        await run_in_threadpool(_apply_completion, st, done, result)
    if not done.replay:
        st.metrics.completions.labels(done.task_type.value).inc()
        if done.task_type is TaskType.HEAVY_PROCESS_VIDEO:
            st.metrics.frames_processed.inc(int(result.get("frames_processed") or 0))
            st.metrics.plates_read.inc(len(result.get("sightings") or []))
            if result.get("elapsed_s"):
                st.metrics.processing_seconds.observe(float(result["elapsed_s"]))
    return {"task_id": task_id, "status": "done", "follow_ups": done.follow_ups}


def _apply_completion(st: ServerState, done: Finished, result: dict[str, Any]) -> None:
    # A replay (the client retried) is applied only if the first delivery never was.
    if not done.replay or replay_needs_apply(st.repo, done.task_type, done.video_id):
        on_completed(st.repo, done.task_type, done.video_id, result)


@router.post("/tasks/{wire_id}/fail")
async def fail(st: State, wire_id: str, body: Failure) -> dict[str, Any]:
    task_id, token = _fenced(wire_id)
    task = await run_store(st, st.queue.get, task_id)
    status = await run_store(st, st.queue.fail, task_id, token, body.error, retry=body.retry)
    if task is not None:
        st.metrics.failures.labels(task.task_type.value).inc()
        await run_store(
            st,
            on_failed,
            st.repo,
            task.task_type,
            task.video_id,
            body.error,
            status is TaskStatus.DEAD,
        )
    return {"task_id": task_id, "status": status.value}


@router.post("/tasks/{wire_id}/release")
async def release(st: State, wire_id: str) -> dict[str, Any]:
    task_id, token = _fenced(wire_id)
    await run_store(st, st.queue.release, task_id, token)
    return {"task_id": task_id, "status": "queued"}


@router.get("/tasks")
def list_tasks(
    st: State,
    status: TaskStatus | None = None,
    task_type: TaskType | None = None,
    video_id: str | None = None,
    limit: int = Query(100, ge=1, le=1000),
) -> list[dict[str, Any]]:
    return [
        task_json(t)
        for t in st.queue.list_tasks(
            status=status, task_type=task_type, video_id=video_id, limit=limit
        )
    ]


@router.get("/tasks/{task_id}")
def get_task(st: State, task_id: int) -> dict[str, Any]:
    t = st.queue.get(task_id)
    if t is None:
        raise HTTPException(404, f"no task {task_id}")
    return task_json(t)


@router.post("/tasks/{task_id}/cancel")
def cancel(st: State, task_id: int) -> dict[str, Any]:
    if not st.queue.cancel(task_id):
        raise HTTPException(409, f"task {task_id} is not queued, waiting or running")
    return {"task_id": task_id, "status": "cancelled"}


@router.post("/tasks/{task_id}/requeue")
def requeue(st: State, task_id: int) -> dict[str, Any]:
    if not st.queue.requeue(task_id):
        raise HTTPException(409, f"task {task_id} is not dead or cancelled")
    return {"task_id": task_id, "status": "queued"}


def queue_stats(st: ServerState, window_s: float = 300.0) -> dict[str, Any]:
    return asdict(count_tasks(st.queue, window_s=window_s))


@router.get("/queue/stats")
def stats(st: State, window_s: float = Query(300.0, gt=0, le=86400)) -> dict[str, Any]:
    return queue_stats(st, window_s)


__all__ = ["iso", "queue_stats", "router", "task_json", "workers_json"]
