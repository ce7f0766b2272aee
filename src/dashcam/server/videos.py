"""Videos (ingest, list, detail), sightings with filters, fuzzy plate search, crops."""

from __future__ import annotations

from pathlib import Path
from typing import Annotated, Any

from fastapi import APIRouter, Depends, HTTPException, Query
from fastapi.responses import FileResponse
from pydantic import BaseModel, Field

from dashcam.domain.ids import is_valid_id
from dashcam.errors import PathEscapeError
from dashcam.output.metadata import sighting_to_dict
from dashcam.server.deps import ServerState, require_key, state
from dashcam.server.tasks import iso, task_json
from dashcam.store.results import StoredSighting, VideoRecord
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
        "gps_path": v.gps_path,
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


def sighting_json(s: StoredSighting, distance: float | None = None) -> dict[str, Any]:
    d = sighting_to_dict(s.sighting)
    d["id"] = s.id
    d["crop_url"] = f"/sightings/{s.id}/crop" if s.sighting.best_crop_path else None
    if distance is not None:
        d["distance"] = round(distance, 3)
    if not d.get("reads"):
        d.pop("reads", None)
    return d


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


@router.get("/sightings")
def sightings(
    st: State,
    plate: str | None = None,
    video_id: str | None = None,
    since_ms: int | None = None,
    until_ms: int | None = None,
    min_confidence: float | None = Query(None, ge=0, le=1),
    limit: int = Query(1000, ge=1, le=10_000),
) -> list[dict[str, Any]]:
    rows = st.repo.list_sightings(
        plate=plate,
        video_id=video_id,
        since_ms=since_ms,
        until_ms=until_ms,
        min_confidence=min_confidence,
        limit=limit,
    )
    return [sighting_json(s) for s in rows]


@router.get("/sightings/{sighting_id}")
def sighting(st: State, sighting_id: int) -> dict[str, Any]:
    s = st.repo.get_sighting(sighting_id)
    if s is None:
        raise HTTPException(404, f"no sighting {sighting_id}")
    return sighting_json(s)


@router.get("/sightings/{sighting_id}/crop", response_class=FileResponse)
def sighting_crop(st: State, sighting_id: int) -> FileResponse:
    """The sighting's best crop, from the archive when the video was archived."""
    s = st.repo.get_sighting(sighting_id)
    if s is None or not s.sighting.best_crop_path:
        raise HTTPException(404, f"no crop for sighting {sighting_id}")
    v = st.repo.get_video(s.sighting.video_id)
    folder = (v.archive_dir or v.output_dir) if v else None
    if not folder:
        raise HTTPException(404, "the video's outputs are not stored")
    root = Path(folder).resolve()
    path = (root / s.sighting.best_crop_path).resolve()
    if root not in path.parents:
        raise PathEscapeError(f"crop path {s.sighting.best_crop_path!r} escapes {root}")
    if not path.is_file():
        raise HTTPException(404, f"crop file missing: {path.name}")
    return FileResponse(path, media_type="image/jpeg")


@router.get("/plates/search")
def plate_search(
    st: State,
    q: str = Query(min_length=1, max_length=32),
    max_distance: float = Query(1.0, ge=0, le=4),
) -> list[dict[str, Any]]:
    """Fuzzy search (confusable pairs O/0, I/1, B/8, S/5... cost less), closest first."""
    return [sighting_json(s, d) for s, d in st.repo.search_plates(q, max_distance)]


@router.get("/plates/{plate}")
def plate_page(st: State, plate: str) -> dict[str, Any]:
    """Every sighting of one plate across all videos."""
    rows = st.repo.list_sightings(plate=plate.upper())
    return {
        "plate": plate.upper(),
        "sightings": [sighting_json(s) for s in rows],
        "videos": sorted({s.sighting.video_id for s in rows}),
    }


__all__ = ["iso", "router"]
