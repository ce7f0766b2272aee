"""The interface every read/steer command uses (``client.connect`` picks the transport).

``dashcam videos``, ``plates search``, ``export``, ``tasks``, ``ingest``, ``status`` and
``workers`` are written once against :class:`DashcamClient`. :class:`LocalClient` answers
from the database (``DASHCAM_DATABASE_URL`` / ``DASHCAM_DATA_DIR``),
:class:`RemoteClient` from a server's HTTP API; both hand back the same records, so a
command prints the same thing either way.
"""

from __future__ import annotations

from collections.abc import Sequence
from pathlib import Path
from typing import Protocol

from dashcam.services.ingest import IngestResult
from dashcam.store.results import StoredSighting, VideoRecord
from dashcam.store.schema import VideoStatus
from dashcam.store.status import SystemStatus
from dashcam.store.task_records import Task
from dashcam.store.task_schema import TaskStatus, TaskType

#: Sightings fetched per round trip when a command wants all of them.
PAGE = 5000


class DashcamClient(Protocol):
    """What the read and steer commands need. Every method is one request or transaction
    (``sightings`` pages through as many as it takes)."""

    @property
    def where(self) -> str:
        """Where the answers come from, for messages (a database file, a server URL)."""
        ...

    def videos(self, *, status: VideoStatus | None = None, limit: int = 1000) -> list[VideoRecord]:
        """Videos, newest registered first."""
        ...

    def sightings(self, *, video_id: str | None = None) -> list[StoredSighting]:
        """Every stored sighting (of one video), in (video, first seen, id) order."""
        ...

    def search_plates(self, text: str, max_distance: float) -> list[tuple[StoredSighting, float]]:
        """Fuzzy plate search, closest first (see ``ResultsRepository.search_plates``)."""
        ...

    def tasks(
        self,
        *,
        status: TaskStatus | None = None,
        task_type: TaskType | None = None,
        limit: int = 50,
    ) -> list[Task]:
        """Tasks, newest first."""
        ...

    def cancel_task(self, task_id: int) -> bool:
        """False when the task is not queued, waiting or running."""
        ...

    def requeue_task(self, task_id: int) -> bool:
        """False when the task is not dead or cancelled."""
        ...

    def ingest(self, paths: Sequence[Path]) -> list[IngestResult]:
        """Register video files and queue their processing (same content: once)."""
        ...

    def status(self) -> SystemStatus:
        """Workers, task counts, backlog and throughput."""
        ...

    def close(self) -> None: ...
