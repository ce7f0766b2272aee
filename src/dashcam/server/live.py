"""The live feed behind ``/api/live``: one snapshot per tick, shared by every dashboard.

Each connected dashboard asks :meth:`LiveFeed.snapshot` about once a second; only the
first ask after ``min_interval_s`` builds a new snapshot (a handful of small queries),
the others get the same pre-serialised JSON. So ten open dashboards cost what one does.
"""

from __future__ import annotations

import json
import threading
import time
from dataclasses import dataclass
from typing import Any

from dashcam.domain.ids import camera_of
from dashcam.server.deps import ServerState, iso
from dashcam.server.sightings import sighting_json
from dashcam.server.tasks import queue_stats
from dashcam.server.workers import workers_json
from dashcam.store.schema import VideoStatus
from dashcam.store.task_schema import TaskStatus
from dashcam.store.throughput import finished_per_minute
from dashcam.store.watchlist import WatchEntry, WatchlistRepository, WatchMatch

THROUGHPUT_MINUTES = 10
FAILURES_SHOWN = 10
MATCHES_SHOWN = 20
CAMERA_PLATES_SHOWN = 8
RECENT_TASKS_SHOWN = 12
ERROR_CHARS = 400
EVENTS_SHOWN = 10


@dataclass(frozen=True)
class LiveSnapshot:
    seq: int
    built_at_s: float  # time.monotonic() when built
    json: str  # the event's data, serialised once for every client


def match_json(m: WatchMatch) -> dict[str, Any]:
    return {
        "sighting_id": m.sighting_id,
        "watched": m.watched,
        "plate_text": m.plate_text,
        "distance": m.distance,
        "video_id": m.video_id,
        "first_utc_ms": m.first_utc_ms,
        "lat": m.lat,
        "lon": m.lon,
        "confidence": round(m.confidence, 3),
        "note": m.note,
    }


class LiveFeed:
    """Builds and caches live snapshots for one server process. Thread-safe."""

    def __init__(self, st: ServerState, *, min_interval_s: float = 1.0) -> None:
        self.st = st
        self.watchlist = WatchlistRepository(st.repo.engine)
        self.min_interval_s = min_interval_s
        self.builds = 0  # how many snapshots were built (tests check the sharing)
        self._lock = threading.Lock()
        self._snap: LiveSnapshot | None = None
        # Watchlist matching scans distinct plate texts: redo it only when sightings or
        # the watchlist changed.
        self._match_key: tuple[int, tuple[WatchEntry, ...]] | None = None
        self._matches: list[dict[str, Any]] = []
        self._cameras_key: int | None = None
        self._cameras: list[dict[str, Any]] = []

    def fresh(self) -> LiveSnapshot | None:
        """The cached snapshot when it is young enough to send as is (no lock, no I/O)."""
        snap = self._snap
        if snap is not None and time.monotonic() - snap.built_at_s < self.min_interval_s:
            return snap
        return None

    def snapshot(self) -> LiveSnapshot:
        """The current snapshot, built now only if the cached one is too old."""
        with self._lock:
            snap = self.fresh()
            if snap is None:
                data = self._build()
                self.builds += 1
                data["seq"] = self.builds
                snap = LiveSnapshot(self.builds, time.monotonic(), json.dumps(data))
                self._snap = snap
            return snap

    def _watch_matches(self) -> list[dict[str, Any]]:
        key = (self.watchlist.last_sighting_id(), tuple(self.watchlist.entries()))
        if key != self._match_key:
            self._matches = [match_json(m) for m in self.watchlist.matches(limit=MATCHES_SHOWN)]
            self._match_key = key
        return self._matches

    def _live_cameras(self) -> list[dict[str, Any]]:
        """Each live camera of the relay with its newest sightings (redone on new ones)."""
        key = self.watchlist.last_sighting_id()
        if key != self._cameras_key:
            repo = self.st.repo
            self._cameras = [
                {
                    "source": v.id,
                    "name": camera_of(v.id) or v.id,
                    "n_sightings": v.n_sightings,
                    "last": [
                        sighting_json(s)
                        for s in repo.list_sightings(
                            video_id=v.id, newest_first=True, limit=CAMERA_PLATES_SHOWN
                        )
                    ],
                }
                for v in repo.list_videos(status=VideoStatus.LIVE, limit=100)
            ]
            self._cameras_key = key
        return self._cameras

    def _build(self) -> dict[str, Any]:
        st = self.st
        now_s = st.queue.now()
        failed = st.queue.list_tasks(status=TaskStatus.DEAD, limit=FAILURES_SHOWN)
        failed += st.queue.list_tasks(status=TaskStatus.RETRY, limit=FAILURES_SHOWN)
        failed.sort(key=lambda t: t.updated_s, reverse=True)
        processing = st.repo.list_videos(status=VideoStatus.PROCESSING, limit=20)
        recent = st.queue.list_tasks(limit=RECENT_TASKS_SHOWN)
        return {
            "server_time": iso(now_s),
            "workers": workers_json(st),
            "queue": queue_stats(st, window_s=60.0 * THROUGHPUT_MINUTES),
            "throughput_per_minute": finished_per_minute(
                st.queue.engine, now_s, minutes=THROUGHPUT_MINUTES
            ),
            "failures": [
                {
                    "id": t.id,
                    "task_type": t.task_type.value,
                    "status": t.status.value,
                    "video_id": t.video_id,
                    "attempts": t.attempts,
                    "max_attempts": t.max_attempts,
                    "error": (t.error or "")[:ERROR_CHARS],
                    "updated_at": iso(t.updated_s),
                }
                for t in failed[:FAILURES_SHOWN]
            ],
            "recent_tasks": [
                {
                    "id": t.id,
                    "task_type": t.task_type.value,
                    "status": t.status.value,
                    "video_id": t.video_id,
                    "worker_id": t.worker_id,
                    "attempts": t.attempts,
                    "updated_at": iso(t.updated_s),
                }
                for t in recent
            ],
            "processing": [
                {"id": v.id, "path": v.path, "progress": v.progress} for v in processing
            ],
            "watch_matches": self._watch_matches(),
            "cameras": self._live_cameras(),
            "events": st.events.hub.summary(EVENTS_SHOWN) if st.events else None,
        }
