"""Videos: ingest, list (status, location), detail with its tasks and GPS track."""

from __future__ import annotations

from pathlib import Path
from typing import Annotated, Any

from fastapi import APIRouter, Depends, HTTPException, Query
from pydantic import BaseModel, Field

from dashcam.domain.ids import is_valid_id
from dashcam.errors import PathEscapeError
from dashcam.output.metadata import gps_clock_to_dict
from dashcam.server.deps import ServerState, require_key, state
from dashcam.server.sightings import sighting_json
from dashcam.server.tasks import task_json
from dashcam.store.results import VideoRecord
from dashcam.store.schema import VideoStatus
from dashcam.store.video_tasks import ingest_video, iter_videos

router = APIRouter(dependencies=[Depends(require_key)], tags=["videos"])
State = Annotated[ServerState, Depends(state)]


class IngestRequest(BaseModel):
    paths: list[str] = Field(min_length=1)
    priority: int = 0


def video_json(v: VideoRecord) -> dict[str, Any]:
    return {
        "id": v.id,
        "path": v.path,
        "status": v.status.value,
        "duration_s": v.duration_s,
        "width": v.width,
        "height": v.height,
        "fps": v.fps,
        "recorded_at": v.recorded_at.isoformat() if v.recorded_at else None,
        "recorded_clock": v.recorded_clock.value if v.recorded_clock else None,
        "gps_path": v.gps_path,
        "gps_clock": gps_clock_to_dict(v.gps_clock),
        "output_dir": v.output_dir,
        "archive_dir": v.archive_dir,
        "location": v.archive_dir or v.output_dir,
        "progress": v.progress,
        "frames_processed": v.frames_processed,
        "error": v.error,
        "registered_at": v.registered_at.isoformat() if v.registered_at else None,
        "processed_at": v.processed_at.isoformat() if v.processed_at else None,
        "n_sightings": v.n_sightings,
    }


def _video_or_404(st: ServerState, video_id: str) -> VideoRecord:
    if not is_valid_id(video_id):
        raise PathEscapeError(f"invalid video id {video_id!r}")
    v = st.repo.get_video(video_id)
    if v is None:
        raise HTTPException(404, f"no video {video_id}")
    return v


@router.post("/videos/ingest")
def ingest(st: State, req: IngestRequest) -> list[dict[str, Any]]:
    """Register videos (files or folders on paths the server can read); one
    HEAVY_PROCESS_VIDEO each, de-duplicated by content hash."""
    out = []
    for path in iter_videos([Path(p) for p in req.paths]):
        r = ingest_video(st.repo, st.queue, path, priority=req.priority)
        out.append(
            {
                "path": str(r.path),
                "video_id": r.video_id,
                "task_id": r.task_id,
                "duplicate_of": r.duplicate_of,
            }
        )
    return out


@router.get("/videos")
def list_videos(
    st: State, status: VideoStatus | None = None, limit: int = Query(500, ge=1, le=5000)
) -> list[dict[str, Any]]:
    return [video_json(v) for v in st.repo.list_videos(status=status, limit=limit)]


@router.get("/videos/{video_id}")
def video_detail(st: State, video_id: str) -> dict[str, Any]:
    v = _video_or_404(st, video_id)
    d = video_json(v)
    d["tasks"] = [task_json(t) for t in st.queue.list_tasks(video_id=video_id, limit=50)]
    d["track"] = st.repo.get_track(video_id) or []
    return d


@router.get("/videos/{video_id}/sightings")
def video_sightings(st: State, video_id: str) -> list[dict[str, Any]]:
    _video_or_404(st, video_id)
    return [sighting_json(s) for s in st.repo.list_sightings(video_id=video_id)]
