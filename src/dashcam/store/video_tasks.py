"""Videos and their tasks together: ingest (register + HEAVY_PROCESS_VIDEO) and applying
the results that completions carry. Used by the server and by workers on the server's
machine, so both paths record the same things.
"""

from __future__ import annotations

import json
from collections.abc import Iterable, Sequence
from dataclasses import dataclass
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

from dashcam.domain.ids import video_id_for
from dashcam.domain.sighting import Sighting
from dashcam.errors import InputError
from dashcam.media.telemetry import find_track_for_video
from dashcam.output.metadata import gps_clock_from_dict, sighting_from_dict
from dashcam.store.paths import quick_content_hash
from dashcam.store.results import ResultsRepository, gps_clock_columns
from dashcam.store.schema import VideoStatus
from dashcam.store.task_queue import TaskQueue
from dashcam.store.task_schema import HeavyProcessVideoPayload, TaskType

VIDEO_SUFFIXES = frozenset(
    {".mp4", ".mov", ".avi", ".mkv", ".m4v", ".ts", ".mts", ".webm", ".h264", ".h265"}
)


@dataclass(frozen=True)
class IngestResult:
    path: Path
    video_id: str
    task_id: int | None  # None: already known (same content), nothing queued
    duplicate_of: str | None = None


def iter_videos(paths: Iterable[Path]) -> list[Path]:
    """Video files named directly, plus the videos found (recursively) in folders."""
    out: list[Path] = []
    for p in paths:
        if p.is_dir():
            out += sorted(
                f for f in p.rglob("*") if f.is_file() and f.suffix.lower() in VIDEO_SUFFIXES
            )
        elif p.is_file():
            out.append(p)
        else:
            raise InputError(f"{p}: no such file or folder")
    return out


def ingest_video(
    repo: ResultsRepository, queue: TaskQueue, path: Path, *, priority: int = 0
) -> IngestResult:
    """Register one video and queue its HEAVY_PROCESS_VIDEO, once per content hash."""
    path = path.resolve()
    content_hash = quick_content_hash(path)
    known = repo.find_video_by_hash(content_hash)
    if known is not None:
        return IngestResult(path, known.id, None, duplicate_of=known.id)
    video_id = video_id_for(path.stem, content_hash)
    gps = find_track_for_video(path)
    repo.upsert_video(
        video_id,
        str(path),
        content_hash=content_hash,
        status=VideoStatus.QUEUED,
        gps_path=str(gps) if gps else None,
    )
    payload = HeavyProcessVideoPayload(
        video_id=video_id, raw_video=str(path), gps_path=str(gps) if gps else None
    )
    task_id = queue.enqueue(
        TaskType.HEAVY_PROCESS_VIDEO,
        payload,
        priority=priority,
        video_id=video_id,
        dedupe_key=f"ingest:{video_id}",
    )
    return IngestResult(path, video_id, task_id)


def sightings_from_completion(payload: dict[str, Any]) -> list[Sighting] | None:
    """Sightings carried by a heavy completion: its ``sightings`` list, else the ones in
    the ``metadata.json`` at ``metadata_path`` (shared storage), else None."""
    if isinstance(payload.get("sightings"), list):
        return [sighting_from_dict(s) for s in payload["sightings"]]
    meta = payload.get("metadata_path")
    if meta and Path(meta).is_file():
        doc = json.loads(Path(meta).read_text(encoding="utf-8"))
        return [sighting_from_dict(s) for s in doc.get("sightings", [])]
    return None


def apply_heavy_completion(repo: ResultsRepository, video_id: str, payload: dict[str, Any]) -> int:
    """Record a finished HEAVY_PROCESS_VIDEO: sightings replace the video's old ones and
    the video is marked done with its output folder. Returns the number of sightings."""
    found = sightings_from_completion(payload)
    if found is None and repo.get_video(video_id) is None:
        return 0  # an unknown video and no results: nothing to record
    sightings: Sequence[Sighting] = found or []
    output_dir = payload.get("output_dir") or (
        str(Path(payload["metadata_path"]).parent) if payload.get("metadata_path") else None
    )
    if repo.get_video(video_id) is None:
        repo.upsert_video(video_id, str(payload.get("raw_video") or ""))
    fields: dict[str, Any] = {
        "status": VideoStatus.DONE,
        "output_dir": output_dir,
        "progress": 1.0,
        "error": None,
        "processed_at": datetime.now(UTC),
    }
    for key in ("frames_processed", "duration_s", "width", "height", "fps"):
        if payload.get(key) is not None:
            fields[key] = payload[key]
    if payload.get("recorded_at"):
        fields["recorded_at"] = datetime.fromisoformat(str(payload["recorded_at"]))
    if "gps_clock" in payload:  # how the frames met the track (None: no track)
        fields.update(gps_clock_columns(gps_clock_from_dict(payload["gps_clock"])))
    if payload.get("track") is not None:
        fields["track"] = payload["track"]
    repo.update_video(video_id, **fields)
    repo.replace_sightings(video_id, [_with_video(s, video_id) for s in sightings])
    return len(sightings)


def _with_video(s: Sighting, video_id: str) -> Sighting:
    from dataclasses import replace

    return s if s.video_id == video_id else replace(s, video_id=video_id)


def apply_archive_completion(repo: ResultsRepository, video_id: str, archive_dir: str) -> None:
    """Record that a video's outputs now live in the archive."""
    repo.update_video(video_id, status=VideoStatus.ARCHIVED, archive_dir=archive_dir)


def on_claimed(repo: ResultsRepository, task_type: TaskType, video_id: str | None) -> None:
    """A worker took a video's heavy task: the video is processing."""
    if task_type is TaskType.HEAVY_PROCESS_VIDEO and video_id:
        repo.update_video(video_id, status=VideoStatus.PROCESSING, error=None)


def on_completed(
    repo: ResultsRepository, task_type: TaskType, video_id: str | None, result: dict[str, Any]
) -> None:
    """Apply what a completion carries to the results store (both transports call this)."""
    if not video_id:
        return
    if task_type is TaskType.HEAVY_PROCESS_VIDEO:
        apply_heavy_completion(repo, video_id, result)
    elif task_type is TaskType.ARCHIVE_VIDEO and result.get("archive_dir"):
        apply_archive_completion(repo, video_id, str(result["archive_dir"]))


def replay_needs_apply(repo: ResultsRepository, task_type: TaskType, video_id: str | None) -> bool:
    """A completion replayed with the same token (the task is already done): apply it to
    the results store again only if the first delivery never got there (the server died
    between the two), never over a video that has moved on."""
    if not video_id:
        return False
    v = repo.get_video(video_id)
    if v is None:
        return False
    if task_type is TaskType.HEAVY_PROCESS_VIDEO:
        return v.status not in (VideoStatus.DONE, VideoStatus.ARCHIVED)
    return task_type is TaskType.ARCHIVE_VIDEO and v.status is not VideoStatus.ARCHIVED


def on_failed(
    repo: ResultsRepository, task_type: TaskType, video_id: str | None, error: str, dead: bool
) -> None:
    """A video task failed: a dead heavy task marks the video failed, with the error."""
    if task_type is TaskType.HEAVY_PROCESS_VIDEO and video_id:
        status = VideoStatus.FAILED if dead else VideoStatus.QUEUED
        repo.update_video(video_id, status=status, error=error)


def compact_result(result: dict[str, Any]) -> dict[str, Any]:
    """What the tasks table keeps of a completion: bulky lists become counts (they live
    in metadata.json and the sightings table)."""
    out = {k: v for k, v in result.items() if k not in ("detections", "sightings", "track")}
    for key in ("detections", "sightings"):
        if isinstance(result.get(key), list):
            out[f"n_{key}"] = len(result[key])
    return out
