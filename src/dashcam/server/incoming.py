"""The incoming-folder scan: new videos on the NAS become HEAVY_PROCESS_VIDEO tasks.

Used by the server (``DASHCAM_NAS_SCAN_INTERVAL_S`` > 0 scans
``<DASHCAM_NAS_MOUNT>/videos/incoming``) and by ``dashcam ingest --watch DIR``.

A file is ingested only once it looks finished: its size and mtime must be the same in
two scans in a row (a camera or ``rsync`` still writing it changes one of them). Each
path is hashed once; the content hash de-duplicates copies under other names.
"""

from __future__ import annotations

import logging
import threading
from dataclasses import dataclass, field
from pathlib import Path

from dashcam.errors import DashcamError, DecodeError
from dashcam.services.ingest import VIDEO_SUFFIXES, IngestResult, ingest_video
from dashcam.store.results import ResultsRepository
from dashcam.store.task_queue import TaskQueue

log = logging.getLogger(__name__)

FileState = tuple[int, int]  # (size in bytes, mtime in ns)


def settled(
    previous: dict[Path, FileState], current: dict[Path, FileState], done: set[Path]
) -> list[Path]:
    """Paths unchanged since the previous scan and not ingested yet, sorted.

    >>> p = Path("/nas/a.mp4")
    >>> settled({p: (10, 1)}, {p: (10, 1)}, set()), settled({p: (9, 1)}, {p: (10, 1)}, set())
    ([PosixPath('/nas/a.mp4')], [])
    """
    return sorted(p for p, s in current.items() if p not in done and previous.get(p) == s)


@dataclass
class IncomingScanner:
    """Scans ``folder`` (recursively) and ingests every settled video once."""

    repo: ResultsRepository
    queue: TaskQueue
    folder: Path
    _previous: dict[Path, FileState] = field(default_factory=dict)
    _done: set[Path] = field(default_factory=set)
    _refused: dict[Path, FileState] = field(default_factory=dict)  # not a video, as it was

    def _states(self) -> dict[Path, FileState]:
        out: dict[Path, FileState] = {}
        if not self.folder.is_dir():
            return out
        for f in self.folder.rglob("*"):
            if f.suffix.lower() not in VIDEO_SUFFIXES or f.name.startswith("."):
                continue
            try:
                st = f.stat()
            except OSError:  # moved away between listing and stat
                continue
            if f.is_file():
                out[f] = (st.st_size, st.st_mtime_ns)
        return out

    def scan(self) -> list[IngestResult]:
        """One pass: ingest what settled since the last pass (new tasks and duplicates)."""
        current = self._states()
        ready = settled(self._previous, current, self._done)
        self._previous = current
        self._done &= set(current)  # a file removed and put back is looked at again
        out = []
        for path in ready:
            if self._refused.get(path) == current[path]:
                continue  # refused once; looked at again when it changes
            try:
                out.append(ingest_video(self.repo, self.queue, path))
            except DecodeError as exc:
                log.warning("incoming: %s not ingested: %s", path, exc)
                self._refused[path] = current[path]
                continue
            except (OSError, DashcamError) as exc:
                log.warning("incoming: %s not ingested: %s", path, exc)
                continue
            self._done.add(path)
            if out[-1].task_id is not None:
                log.info("incoming: queued %s (%s)", out[-1].video_id, path)
        return out

    def run(self, interval_s: float, stop: threading.Event) -> None:
        """Scan every ``interval_s`` until ``stop`` is set; errors are logged, not raised."""
        while not stop.is_set():
            try:
                self.scan()
            except DashcamError as exc:
                log.warning("incoming: scan of %s failed: %s", self.folder, exc)
            stop.wait(interval_s)
