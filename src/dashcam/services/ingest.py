"""Ingest: register a video and queue its HEAVY_PROCESS_VIDEO, once per content.

Used by the server (``POST /videos/ingest``, the incoming-folder scan) and by
``dashcam ingest``. A file is probed with the decoder check ``dashcam process`` uses
before anything is written: an empty, text or damaged "video" is refused, named.
"""

from __future__ import annotations

import itertools
from collections.abc import Iterable
from dataclasses import dataclass
from pathlib import Path

from dashcam.domain.ids import video_id_for
from dashcam.errors import InputError
from dashcam.media.decode import probe
from dashcam.media.telemetry import find_track_for_video
from dashcam.store.paths import quick_content_hash
from dashcam.store.results import ResultsRepository
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


def iter_videos(paths: Iterable[Path], *, limit: int | None = None) -> list[Path]:
    """Video files named directly, plus the videos found (recursively) in folders; more
    than ``limit`` is :class:`InputError` (ingest a smaller folder)."""
    out: list[Path] = []
    for p in paths:
        try:
            if p.is_dir():
                found = (
                    f for f in p.rglob("*") if f.suffix.lower() in VIDEO_SUFFIXES and f.is_file()
                )
                out += sorted(itertools.islice(found, None if limit is None else limit + 1))
            elif p.is_file():
                out.append(p)
            else:
                raise InputError(f"{p}: no such file or folder")
        except OSError as exc:
            raise InputError(f"{p}: cannot read ({exc.strerror or exc})") from exc
        if limit is not None and len(out) > limit:
            raise InputError(f"more than {limit} videos: ingest fewer at a time")
    return out


def ingest_video(
    repo: ResultsRepository,
    queue: TaskQueue,
    path: Path,
    *,
    priority: int = 0,
    probed: bool = False,
) -> IngestResult:
    """Register one video and queue its HEAVY_PROCESS_VIDEO, once per content hash.

    Raises ``DecodeError`` naming the file when it is not a readable video (``probed``:
    the caller checked it already)."""
    path = path.resolve()
    if not probed:
        probe(path)
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
