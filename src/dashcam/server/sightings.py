"""Sightings with filters, their crops, and fuzzy plate search."""

from __future__ import annotations

from datetime import UTC, datetime
from pathlib import Path
from typing import Annotated, Any

from fastapi import APIRouter, Depends, HTTPException, Query
from fastapi import Path as PathParam
from fastapi.responses import FileResponse

from dashcam.errors import PathEscapeError
from dashcam.http_errors import error_responses
from dashcam.output.metadata import sighting_to_dict
from dashcam.server.deps import ServerState, require_key, state
from dashcam.store.results import StoredSighting
from dashcam.store.schema import MAX_BIGINT, MAX_INT

router = APIRouter(
    dependencies=[Depends(require_key)],
    tags=["sightings"],
    responses=error_responses(401, 422, 503),
)
State = Annotated[ServerState, Depends(state)]
SightingId = Annotated[int, PathParam(ge=1, le=MAX_INT)]
PLATE_CHARS = 32  # the longest plate text stored


def epoch_ms(t: datetime | None) -> int | None:
    """``t`` as epoch milliseconds; a time without a zone is taken as UTC."""
    if t is None:
        return None
    if t.tzinfo is None:
        t = t.replace(tzinfo=UTC)
    return int(t.timestamp() * 1000)


def sighting_json(s: StoredSighting, distance: float | None = None) -> dict[str, Any]:
    d = sighting_to_dict(s.sighting)
    d["id"] = s.id
    d["crop_url"] = f"/sightings/{s.id}/crop" if s.sighting.best_crop_path else None
    if distance is not None:
        d["distance"] = round(distance, 3)
    if not d.get("reads"):
        d.pop("reads", None)
    return d


@router.get("/sightings")
def sightings(
    st: State,
    plate: Annotated[str | None, Query(max_length=PLATE_CHARS)] = None,
    video_id: Annotated[str | None, Query(max_length=128)] = None,
    since: datetime | None = Query(None, description="ISO time, e.g. 2024-05-01T08:00:00Z"),
    until: datetime | None = Query(None, description="ISO time (a naive time is UTC)"),
    since_ms: int | None = Query(
        None, ge=-MAX_BIGINT, le=MAX_BIGINT, description="Epoch ms; overrides since"
    ),
    until_ms: int | None = Query(
        None, ge=-MAX_BIGINT, le=MAX_BIGINT, description="Epoch ms; overrides until"
    ),
    min_confidence: float | None = Query(None, ge=0, le=1),
    limit: int = Query(1000, ge=1, le=10_000),
    offset: int = Query(0, ge=0, le=MAX_BIGINT, description="Skip this many (page with limit)"),
) -> list[dict[str, Any]]:
    """Sightings seen (UTC, from the GPS clock) between ``since`` and ``until``, in
    (video, first seen, id) order; page through more than ``limit`` with ``offset``."""
    rows = st.repo.list_sightings(
        plate=plate.upper() if plate else None,
        video_id=video_id,
        since_ms=since_ms if since_ms is not None else epoch_ms(since),
        until_ms=until_ms if until_ms is not None else epoch_ms(until),
        min_confidence=min_confidence,
        limit=limit,
        offset=offset,
    )
    return [sighting_json(s) for s in rows]


@router.get("/sightings/{sighting_id}", responses=error_responses(404))
def sighting(st: State, sighting_id: SightingId) -> dict[str, Any]:
    s = st.repo.get_sighting(sighting_id)
    if s is None:
        raise HTTPException(404, f"no sighting {sighting_id}")
    return sighting_json(s)


@router.get(
    "/sightings/{sighting_id}/crop",
    response_class=FileResponse,
    responses={200: {"content": {"image/jpeg": {}}}, **error_responses(404)},
)
def sighting_crop(st: State, sighting_id: SightingId) -> FileResponse:
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
    try:
        found = path.is_file()
    except OSError:  # a name the file system cannot hold
        found = False
    if not found:
        raise HTTPException(404, f"crop file missing: {path.name}")
    return FileResponse(path, media_type="image/jpeg")


@router.get("/plates/search")
def plate_search(
    st: State,
    q: str = Query(min_length=1, max_length=PLATE_CHARS),
    max_distance: float = Query(1.0, ge=0, le=4),
) -> list[dict[str, Any]]:
    """Fuzzy search (confusable pairs O/0, I/1, B/8, S/5... cost less), closest first."""
    return [sighting_json(s, d) for s, d in st.repo.search_plates(q, max_distance)]


@router.get("/plates/{plate}")
def plate_page(
    st: State, plate: Annotated[str, PathParam(min_length=1, max_length=PLATE_CHARS)]
) -> dict[str, Any]:
    """Every sighting of one plate across all videos."""
    rows = st.repo.list_sightings(plate=plate.upper())
    return {
        "plate": plate.upper(),
        "sightings": [sighting_json(s) for s in rows],
        "videos": sorted({s.sighting.video_id for s in rows}),
    }
