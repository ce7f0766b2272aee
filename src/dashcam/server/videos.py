"""Videos: ingest, list (status, location), detail with its tasks and GPS track."""

from __future__ import annotations

from pathlib import Path
from typing import Annotated, Any

from fastapi import APIRouter, Depends, HTTPException, Query
from fastapi import Path as PathParam
from pydantic import BaseModel, Field

from dashcam.domain.ids import ID_PATTERN, is_valid_id
from dashcam.errors import InputError, PathEscapeError
from dashcam.http_errors import error_responses
from dashcam.media.decode import probe
from dashcam.output.metadata import gps_clock_to_dict, video_clock_to_dict
from dashcam.server.deps import ServerState, require_key, state
from dashcam.server.sightings import sighting_json
from dashcam.server.tasks import MAX_PRIORITY, task_json
from dashcam.services.ingest import ingest_video, iter_videos
from dashcam.store.results import VideoRecord
from dashcam.store.schema import VideoStatus

router = APIRouter(
    dependencies=[Depends(require_key)], tags=["videos"], responses=error_responses(401, 422, 503)
)
State = Annotated[ServerState, Depends(state)]
VideoId = Annotated[str, PathParam(pattern=ID_PATTERN)]
MAX_INGEST_FILES = 10_000


class IngestRequest(BaseModel):
    paths: list[Annotated[str, Field(min_length=1, max_length=4096, pattern=r"^/[^\x00]*$")]] = (
        Field(min_length=1, max_length=1000, description="Absolute paths below DASHCAM_NAS_MOUNT")
    )
    priority: int = Field(0, ge=-MAX_PRIORITY, le=MAX_PRIORITY)


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
        "clock": video_clock_to_dict(v.clock),
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


@router.post("/videos/ingest", responses=error_responses(400))
def ingest(st: State, req: IngestRequest) -> list[dict[str, Any]]:
    """Register videos (files or folders below ``DASHCAM_NAS_MOUNT``); one
    HEAVY_PROCESS_VIDEO each, de-duplicated by content hash. Every file is checked first:
    a path outside the NAS root or a file that is not a readable video refuses the whole
    request (422, nothing registered)."""
    assert st.settings.nas_mount is not None  # filled in by Settings
    nas = st.settings.nas_mount.resolve()
    paths = [Path(p).resolve() for p in req.paths]
    outside = [str(p) for p in paths if p != nas and nas not in p.parents]
    if outside:
        raise PathEscapeError(f"outside DASHCAM_NAS_MOUNT ({nas}): {', '.join(outside[:5])}")
    files = iter_videos(paths, limit=MAX_INGEST_FILES)
    bad = []
    for f in files:
        try:
            probe(f)
        except InputError as exc:
            bad.append(str(exc))
    if bad:
        raise InputError(f"{len(bad)} file(s) are not readable videos: {'; '.join(bad[:5])}")
    out = []
    for path in files:
        r = ingest_video(st.repo, st.queue, path, priority=req.priority, probed=True)
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


@router.get("/videos/{video_id}", responses=error_responses(404))
def video_detail(st: State, video_id: VideoId) -> dict[str, Any]:
    v = _video_or_404(st, video_id)
    d = video_json(v)
    d["tasks"] = [task_json(t) for t in st.queue.list_tasks(video_id=video_id, limit=50)]
    d["track"] = st.repo.get_track(video_id) or []
    return d


@router.get("/videos/{video_id}/sightings", responses=error_responses(404))
def video_sightings(st: State, video_id: VideoId) -> list[dict[str, Any]]:
    _video_or_404(st, video_id)
    return [sighting_json(s) for s in st.repo.list_sightings(video_id=video_id)]
