"""The announcer: turns what the store records into events, off the request path.

The server (and ``dashcam process``) tell it "video X finished" or "failed"; its thread
reads the video, its stored sightings and the watchlist, and publishes the events
(``events.records``). It also watches the workers' heartbeats (stale / back) and keeps
the watchlist's Home Assistant discovery configs current.
"""

from __future__ import annotations

import logging
import threading
from collections import deque
from collections.abc import Callable, Sequence
from dataclasses import dataclass
from datetime import UTC, datetime

from dashcam.config import Settings
from dashcam.errors import DashcamError
from dashcam.events.discovery import watch_configs
from dashcam.events.hub import EventHub
from dashcam.events.records import failed_event, processed_events, worker_changes
from dashcam.store.results import ResultsRepository
from dashcam.store.status import WorkerView
from dashcam.store.watchlist import WatchlistRepository

log = logging.getLogger(__name__)

MAX_PENDING = 10_000  # video notes waiting for the announcer's thread


@dataclass(frozen=True)
class _Note:
    video_id: str
    error: str | None  # None: processed
    failed: bool


class Announcer:
    """One thread. ``video_finished``/``video_failed``/``watchlist_changed`` return at once."""

    def __init__(
        self,
        hub: EventHub,
        repo: ResultsRepository,
        *,
        settings: Settings,
        server_url: str | None,
        workers: Callable[[], Sequence[WorkerView]] | None = None,
        check_every_s: float = 5.0,
    ) -> None:
        self.hub = hub
        self.repo = repo
        self.watchlist = WatchlistRepository(repo.engine)
        self.settings = settings
        self.server_url = server_url
        self.workers = workers
        self.check_every_s = check_every_s
        self.skipped = 0  # notes dropped because too many were waiting
        self._cond = threading.Condition()
        self._notes: deque[_Note] = deque()
        self._busy = False
        self._watch_dirty = False
        self._stale: dict[str, bool] | None = None
        self._stop = threading.Event()
        self._thread: threading.Thread | None = None

    # --- the callers' side ----------------------------------------------------------------
    def video_finished(self, video_id: str) -> None:
        self._note(_Note(video_id, None, failed=False))

    def video_failed(self, video_id: str, error: str | None) -> None:
        self._note(_Note(video_id, error, failed=True))

    def watchlist_changed(self) -> None:
        if self.hub.mqtt is not None and self.settings.mqtt_discovery_prefix:
            with self._cond:
                self._watch_dirty = True
                self._cond.notify_all()

    def _note(self, note: _Note) -> None:
        with self._cond:
            if len(self._notes) >= MAX_PENDING:
                self.skipped += 1
                return
            self._notes.append(note)
            self._cond.notify_all()

    # --- life cycle ------------------------------------------------------------------------
    def start(self) -> Announcer:
        self.watchlist_changed()  # the discovery configs, once the hub is open
        self._thread = threading.Thread(target=self._run, name="announcer", daemon=True)
        self._thread.start()
        return self

    def flush(self, timeout_s: float) -> bool:
        """Wait until every note so far is published (to the hub); False on timeout."""
        with self._cond:
            return self._cond.wait_for(
                lambda: not self._notes and not self._busy and not self._watch_dirty,
                timeout=timeout_s,
            )

    def close(self, timeout_s: float = 5.0) -> None:
        self.flush(timeout_s)
        self._stop.set()
        with self._cond:
            self._cond.notify_all()
        if self._thread is not None:
            self._thread.join(timeout=timeout_s)

    # --- the thread ----------------------------------------------------------------------
    def _run(self) -> None:
        next_check = 0.0
        while not self._stop.is_set():
            with self._cond:
                self._cond.wait_for(
                    lambda: self._notes or self._watch_dirty or self._stop.is_set(),
                    timeout=self.check_every_s,
                )
                note = self._notes.popleft() if self._notes else None
                watch = self._watch_dirty
                self._watch_dirty = False
                self._busy = note is not None or watch
            try:
                if watch:
                    self._discovery()
                if note is not None:
                    self._announce(note)
                now = datetime.now(UTC).timestamp()
                if self.workers is not None and now >= next_check:
                    next_check = now + self.check_every_s
                    self._check_workers()
            except DashcamError as exc:  # the store was away: say so, keep going
                log.warning("events: %s", exc)
            finally:
                with self._cond:
                    self._busy = False
                    self._cond.notify_all()

    def _announce(self, note: _Note) -> None:
        at = datetime.now(UTC)
        video = self.repo.get_video(note.video_id)
        if note.failed:
            path = video.path if video else None
            self.hub.publish(failed_event(note.video_id, path, note.error, at))
            return
        if video is None:
            return
        sightings = self.repo.list_sightings(video_id=note.video_id, limit=100_000)
        for event in processed_events(
            video, sightings, self.watchlist.entries(), server_url=self.server_url, at=at
        ):
            self.hub.publish(event)

    def _check_workers(self) -> None:
        assert self.workers is not None
        views = self.workers()
        if self._stale is None:  # the first look sets the baseline
            self._stale = {w.worker_id: w.stale for w in views}
            return
        self._stale, events = worker_changes(self._stale, views, datetime.now(UTC))
        for event in events:
            self.hub.publish(event)

    def _discovery(self) -> None:
        mqtt, s = self.hub.mqtt, self.settings
        if mqtt is None:
            return
        plates = [e.plate for e in self.watchlist.entries()]
        mqtt.set_discovery(
            watch_configs(
                plates,
                prefix=s.mqtt_topic_prefix,
                discovery_prefix=s.mqtt_discovery_prefix,
                availability_topic=mqtt.availability,
                seen_minutes=s.watch_seen_minutes,
            )
        )
