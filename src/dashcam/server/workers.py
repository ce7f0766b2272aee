"""Workers as the server sees them: their heartbeats, last task, and staleness."""

from __future__ import annotations

from dataclasses import asdict
from typing import Annotated, Any

from fastapi import APIRouter, Depends
from pydantic import BaseModel, Field

from dashcam.http_errors import error_responses
from dashcam.server.deps import ServerState, iso, require_key, state
from dashcam.store.schema import MAX_BIGINT, MAX_INT
from dashcam.store.status import worker_views
from dashcam.store.task_schema import TaskType

router = APIRouter(
    dependencies=[Depends(require_key)], tags=["workers"], responses=error_responses(401, 422, 503)
)
State = Annotated[ServerState, Depends(state)]


class WorkerBeat(BaseModel):
    """A worker's heartbeat; every field fits its column (``state`` as in ``idle``,
    ``busy``, ``draining``, ``stopped``)."""

    worker_id: str = Field(min_length=1, max_length=128)
    kind: str = Field(min_length=1, max_length=40)
    host: str | None = Field(None, max_length=255)
    pid: int | None = Field(None, ge=0, le=MAX_INT)
    task_id: int | None = Field(None, ge=1, le=MAX_BIGINT)
    task_type: TaskType | None = None
    state: str = Field("idle", min_length=1, max_length=16)


def workers_json(st: ServerState) -> list[dict[str, Any]]:
    out = []
    for w in worker_views(st.queue, stale_after_s=st.stale_after_s):
        d = asdict(w)
        d["last_heartbeat_at"] = iso(d.pop("last_heartbeat_s"))
        out.append(d)
    return out


@router.get("/workers")
def workers(st: State) -> list[dict[str, Any]]:
    return workers_json(st)


@router.post("/workers/heartbeat", responses=error_responses(400))
def worker_heartbeat(st: State, beat: WorkerBeat) -> dict[str, str]:
    st.queue.worker_heartbeat(
        beat.worker_id,
        beat.kind,
        host=beat.host,
        pid=beat.pid,
        task_id=beat.task_id,
        task_type=beat.task_type,
        state=beat.state,
    )
    st.metrics.worker_heartbeats.labels(beat.kind).inc()
    return {"status": "ok"}
