"""Events built from stored records: a processed video's sightings and watchlist hits,
a failed video, workers going stale and coming back. Pure: records and ``at`` in,
events out (the hub reads the records)."""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from datetime import UTC, datetime
from pathlib import Path

from dashcam.domain.events import (
    Event,
    EventType,
    SightingEvent,
    VideoEvent,
    WatchlistHitEvent,
    WorkerEvent,
)
from dashcam.domain.plate_text import search_matches
from dashcam.store.results import StoredSighting, VideoRecord
from dashcam.store.status import WorkerView
from dashcam.store.watchlist import WatchEntry


def utc(ms: int | None) -> datetime | None:
    """Epoch milliseconds as an aware UTC datetime (None stays None)."""
    return None if ms is None else datetime.fromtimestamp(ms / 1000, UTC)


def crop_url(s: StoredSighting, video: VideoRecord | None, server_url: str | None) -> str | None:
    """Where the sighting's best crop is: the server's ``/sightings/<id>/crop`` when
    ``server_url`` is given, else a ``file://`` URL into the video's output folder."""
    crop = s.sighting.best_crop_path
    if not crop:
        return None
    if server_url:
        return f"{server_url.rstrip('/')}/sightings/{s.id}/crop"
    folder = video.archive_dir or video.output_dir if video is not None else None
    return (Path(folder) / crop).resolve().as_uri() if folder else None


def sighting_event(
    s: StoredSighting, video: VideoRecord | None, server_url: str | None, at: datetime
) -> SightingEvent:
    sg = s.sighting
    pos = sg.position
    return SightingEvent(
        at=at,
        plate_text=sg.plate_text,
        confidence=min(1.0, max(0.0, sg.confidence)),
        video_id=sg.video_id,
        sighting_id=s.id,
        first_utc=utc(sg.first_utc_ms),
        last_utc=utc(sg.last_utc_ms),
        lat=pos.lat if pos else None,
        lon=pos.lon if pos else None,
        crop_url=crop_url(s, video, server_url),
    )


def watch_hits(
    sightings: Sequence[SightingEvent], entries: Sequence[WatchEntry]
) -> list[WatchlistHitEvent]:
    """One hit per (entry, sighting) within the entry's distance (nearest entry only)."""
    hits: list[WatchlistHitEvent] = []
    for s in sightings:
        best: tuple[WatchEntry, float] | None = None
        for e in entries:
            for _, dist in search_matches(e.plate, [s.plate_text], e.max_distance):
                if best is None or dist < best[1]:
                    best = (e, dist)
        if best is not None:
            fields = s.model_dump(exclude={"type"})
            hits.append(
                WatchlistHitEvent(
                    **fields, watched=best[0].plate, distance=best[1], note=best[0].note
                )
            )
    return hits


def processed_events(
    video: VideoRecord,
    sightings: Sequence[StoredSighting],
    entries: Sequence[WatchEntry],
    *,
    server_url: str | None,
    at: datetime,
) -> list[Event]:
    """A processed video: its sightings, the watchlist hits among them, then the video."""
    seen = [sighting_event(s, video, server_url, at) for s in sightings]
    done = VideoEvent(
        type=EventType.VIDEO_PROCESSED,
        at=at,
        video_id=video.id,
        path=video.path,
        sightings=len(seen),
    )
    return [*seen, *watch_hits(seen, entries), done]


def failed_event(video_id: str, path: str | None, error: str | None, at: datetime) -> VideoEvent:
    return VideoEvent(type=EventType.VIDEO_FAILED, at=at, video_id=video_id, path=path, error=error)


def worker_changes(
    before: Mapping[str, bool], views: Sequence[WorkerView], at: datetime
) -> tuple[dict[str, bool], list[WorkerEvent]]:
    """Workers whose staleness changed since ``before`` (worker id -> stale).

    A worker first seen yields no event; one that went stale yields ``worker_stale``,
    one stale before and fresh now ``worker_back``. Returns the new map and the events.
    """
    now = {w.worker_id: w.stale for w in views}
    events = [
        WorkerEvent(
            type=EventType.WORKER_STALE if w.stale else EventType.WORKER_BACK,
            at=at,
            worker_id=w.worker_id,
            kind=w.kind,
            last_heartbeat=datetime.fromtimestamp(w.last_heartbeat_s, UTC),
        )
        for w in views
        if w.worker_id in before and before[w.worker_id] != w.stale
    ]
    return now, events
