"""The client over the local database (SQLite file or PostgreSQL URL)."""

from __future__ import annotations

from collections.abc import Sequence
from pathlib import Path

from sqlalchemy import Engine

from dashcam.client.base import PAGE
from dashcam.config import Settings
from dashcam.errors import InputError
from dashcam.services.ingest import IngestResult, ingest_video
from dashcam.store.database import existing_engine, make_engine, where
from dashcam.store.results import ResultsRepository, StoredSighting, VideoRecord
from dashcam.store.schema import VideoStatus
from dashcam.store.status import SystemStatus, system_status
from dashcam.store.task_queue import TaskQueue
from dashcam.store.task_records import Task
from dashcam.store.task_schema import TaskStatus, TaskType


def _missing(settings: Settings, exc: InputError) -> InputError:
    data_dir = settings.data_dir
    relative = "" if data_dir.is_absolute() else ", relative to the current folder"
    return InputError(
        f"{exc}; nothing was created. The database is DASHCAM_DATABASE_URL, else "
        f"dashcam.db in DASHCAM_DATA_DIR (now {data_dir}{relative}): set one of them, "
        "or ask a server with --server URL or DASHCAM_SERVER_URL"
    )


class LocalClient:
    """Reads and steers through the repositories on one engine."""

    def __init__(self, settings: Settings, engine: Engine) -> None:
        self.engine = engine
        self.repo = ResultsRepository(engine)
        self.queue = TaskQueue(engine, lease_s=settings.lease_s, max_attempts=settings.max_attempts)
        self.stale_after_s = settings.stale_after_s
        self._where = f"the database {where(settings.db_url)}"

    @classmethod
    def open(cls, settings: Settings, *, create: bool = False) -> LocalClient:
        """The database of ``settings``; ``create`` False refuses to make a new one."""
        if create:
            return cls(settings, make_engine(settings.db_url))
        try:
            return cls(settings, existing_engine(settings.db_url))
        except InputError as exc:
            raise _missing(settings, exc) from None

    @property
    def where(self) -> str:
        return self._where

    def videos(self, *, status: VideoStatus | None = None, limit: int = 1000) -> list[VideoRecord]:
        return self.repo.list_videos(status=status, limit=limit)

    def sightings(self, *, video_id: str | None = None) -> list[StoredSighting]:
        out: list[StoredSighting] = []
        while True:
            page = self.repo.list_sightings(video_id=video_id, limit=PAGE, offset=len(out))
            out += page
            if len(page) < PAGE:
                return out

    def search_plates(self, text: str, max_distance: float) -> list[tuple[StoredSighting, float]]:
        return self.repo.search_plates(text, max_distance)

    def tasks(
        self,
        *,
        status: TaskStatus | None = None,
        task_type: TaskType | None = None,
        limit: int = 50,
    ) -> list[Task]:
        return self.queue.list_tasks(status=status, task_type=task_type, limit=limit)

    def cancel_task(self, task_id: int) -> bool:
        return self.queue.cancel(task_id)

    def requeue_task(self, task_id: int) -> bool:
        return self.queue.requeue(task_id)

    def ingest(self, paths: Sequence[Path]) -> list[IngestResult]:
        return [ingest_video(self.repo, self.queue, p) for p in paths]

    def status(self) -> SystemStatus:
        return system_status(self.queue, stale_after_s=self.stale_after_s)

    def close(self) -> None:
        self.engine.dispose()
