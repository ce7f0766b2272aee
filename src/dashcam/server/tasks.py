"""The worker protocol (the seed's ``/tasks/next`` + heartbeat/complete/fail) and operator
endpoints for tasks and workers."""

from __future__ import annotations

import functools
from dataclasses import asdict
from typing import Annotated, Any

from fastapi import APIRouter, Depends, HTTPException, Path, Query, Response
from pydantic import BaseModel, ConfigDict, Field, ValidationError, model_validator
from starlette.concurrency import run_in_threadpool

from dashcam.domain.ids import ID_PATTERN
from dashcam.errors import LeaseLost, describe_fields
from dashcam.http_errors import error_responses
from dashcam.server.deps import ServerState, iso, require_key, run_store, state
from dashcam.server.workers import workers_json
from dashcam.services import completion
from dashcam.services.task_results import TaskResult, plain_json
from dashcam.store.schema import MAX_BIGINT
from dashcam.store.status import queue_stats as count_tasks
from dashcam.store.task_records import Finished, FollowUp, Task, parse_wire_id
from dashcam.store.task_schema import TaskStatus, TaskType, validate_payload

router = APIRouter(
    dependencies=[Depends(require_key)], tags=["tasks"], responses=error_responses(401, 422, 503)
)
State = Annotated[ServerState, Depends(state)]
WireId = Annotated[
    str, Path(min_length=1, max_length=128, description="`<id>.<lease token>` from /tasks/next")
]
TaskId = Annotated[int, Path(ge=1, le=MAX_BIGINT)]
MAX_PRIORITY = 1_000_000


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
    """A follow-up task named by a completion; its payload must fit its task type."""

    model_config = ConfigDict(extra="allow")
    task_type: TaskType
    payload: dict[str, Any] | None = None
    inputs: dict[str, Any] | None = None
    priority: int = Field(0, ge=-MAX_PRIORITY, le=MAX_PRIORITY)
    video_id: str | None = Field(None, pattern=ID_PATTERN)

    @model_validator(mode="after")
    def _payload_fits_its_type(self) -> RemoteTask:
        data = self.payload or self.inputs or {}
        if not plain_json(data):
            raise ValueError("payload: not plain JSON (NaN, Infinity, too deep)")
        try:
            validate_payload(self.task_type, data)
        except ValidationError as exc:
            raise ValueError(
                f"payload does not fit {self.task_type.value}: {describe_fields(exc.errors())}"
            ) from None
        return self

    def follow_up(self) -> FollowUp:
        return FollowUp(
            self.task_type, self.payload or self.inputs or {}, self.priority, self.video_id
        )


class Completion(TaskResult):
    """The seed completion payload: a task result plus ``remote_tasks`` (follow-ups).
    Validated whole before anything is written; unknown fields are kept in the result."""

    remote_tasks: list[RemoteTask] = Field(default_factory=list, max_length=100)


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
async def next_task(
    st: State,
    task_type: TaskType,
    worker_id: Annotated[str | None, Query(min_length=1, max_length=128)] = None,
) -> Any:
    """Claim the next task of ``task_type`` (204 when there is none)."""
    tasks = await run_store(
        st, completion.claim, st.queue, st.repo, [task_type], worker_id or "http-worker"
    )
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


@router.post("/tasks/{wire_id}/heartbeat", responses=error_responses(404, 409))
async def heartbeat(st: State, wire_id: WireId) -> dict[str, Any]:
    task_id, token = _fenced(wire_id)
    return {"lease_expires_at": iso(await run_store(st, st.queue.heartbeat, task_id, token))}


@router.post("/tasks/{wire_id}/complete", responses=error_responses(400, 404, 409))
async def complete(st: State, wire_id: WireId, body: Completion) -> dict[str, Any]:
    """Finish a claimed task: its state, its video's state, the sightings and the
    follow-up tasks (``remote_tasks``, once) commit together or not at all. Paths it
    names must lie in the server's heavy output root."""
    task_id, token = _fenced(wire_id)
    follow = [r.follow_up() for r in body.remote_tasks]
    heavy = body.sightings is not None or body.metadata_path is not None  # file and row work
    # Reading metadata.json and writing many sightings is not work for the event loop.
    run = run_in_threadpool if heavy else functools.partial(run_store, st)
    done = await run(_complete, st, task_id, token, body, follow)
    if not done.replay:
        st.metrics.completions.labels(done.task_type.value).inc()
        if done.task_type is TaskType.HEAVY_PROCESS_VIDEO:
            st.metrics.frames_processed.inc(body.frames_processed or 0)
            st.metrics.plates_read.inc(len(body.sightings or []))
            if body.elapsed_s:
                st.metrics.processing_seconds.observe(body.elapsed_s)
            if st.events is not None and done.video_id:
                st.events.video_finished(done.video_id)
    return {"task_id": task_id, "status": "done", "follow_ups": done.follow_ups}


def _complete(
    st: ServerState, task_id: int, token: str, body: Completion, follow: list[FollowUp]
) -> Finished:
    s = st.settings
    completion.check_paths(body, heavy_root=s.heavy_output, archive_root=s.archive)
    sightings = completion.sightings_of(body)
    return completion.complete(
        st.queue, st.repo, task_id, token, body, follow, sightings=sightings, inherit_video=True
    )


@router.post("/tasks/{wire_id}/fail", responses=error_responses(400, 404, 409))
async def fail(st: State, wire_id: WireId, body: Failure) -> dict[str, Any]:
    task_id, token = _fenced(wire_id)
    failed = await run_store(
        st, completion.fail, st.queue, st.repo, task_id, token, body.error, retry=body.retry
    )
    st.metrics.failures.labels(failed.task_type.value).inc()
    dead = failed.status is TaskStatus.DEAD and failed.task_type is TaskType.HEAVY_PROCESS_VIDEO
    if dead and st.events is not None and failed.video_id:
        st.events.video_failed(failed.video_id, failed.error)
    return {"task_id": task_id, "status": failed.status.value}


@router.post("/tasks/{wire_id}/release", responses=error_responses(404, 409))
async def release(st: State, wire_id: WireId) -> dict[str, Any]:
    task_id, token = _fenced(wire_id)
    await run_store(st, st.queue.release, task_id, token)
    return {"task_id": task_id, "status": "queued"}


@router.get("/tasks")
def list_tasks(
    st: State,
    status: TaskStatus | None = None,
    task_type: TaskType | None = None,
    video_id: Annotated[str | None, Query(max_length=128)] = None,
    limit: int = Query(100, ge=1, le=1000),
) -> list[dict[str, Any]]:
    return [
        task_json(t)
        for t in st.queue.list_tasks(
            status=status, task_type=task_type, video_id=video_id, limit=limit
        )
    ]


@router.get("/tasks/{task_id}", responses=error_responses(404))
def get_task(st: State, task_id: TaskId) -> dict[str, Any]:
    t = st.queue.get(task_id)
    if t is None:
        raise HTTPException(404, f"no task {task_id}")
    return task_json(t)


@router.post("/tasks/{task_id}/cancel", responses=error_responses(409))
def cancel(st: State, task_id: TaskId) -> dict[str, Any]:
    if not st.queue.cancel(task_id):
        raise HTTPException(409, f"task {task_id} is not queued, waiting or running")
    return {"task_id": task_id, "status": "cancelled"}


@router.post("/tasks/{task_id}/requeue", responses=error_responses(409))
def requeue(st: State, task_id: TaskId) -> dict[str, Any]:
    if not st.queue.requeue(task_id):
        raise HTTPException(409, f"task {task_id} is not dead or cancelled")
    return {"task_id": task_id, "status": "queued"}


def queue_stats(st: ServerState, window_s: float = 300.0) -> dict[str, Any]:
    return asdict(count_tasks(st.queue, window_s=window_s))


@router.get("/queue/stats")
def stats(st: State, window_s: float = Query(300.0, gt=0, le=86400)) -> dict[str, Any]:
    return queue_stats(st, window_s)


__all__ = ["iso", "queue_stats", "router", "task_json", "workers_json"]
