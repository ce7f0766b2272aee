"""The durable task queue's tables: one ``tasks`` table for every task type, and workers.

Times are float seconds since the Unix epoch taken from the database clock
(``*_s`` columns), never from a worker's clock.
"""

from __future__ import annotations

from enum import StrEnum
from typing import Any

from pydantic import BaseModel, ConfigDict
from sqlalchemy import JSON, BigInteger, Float, Index, Integer, String, Text, text
from sqlalchemy.orm import Mapped, mapped_column

from dashcam.store.database import Base

_Id = BigInteger().with_variant(Integer(), "sqlite")  # INTEGER PRIMARY KEY = rowid on SQLite
_Time = Float(precision=53)


class TaskType(StrEnum):
    HEAVY_PROCESS_VIDEO = "HEAVY_PROCESS_VIDEO"
    ARCHIVE_VIDEO = "ARCHIVE_VIDEO"
    MINER_DOWNLOAD = "MINER_DOWNLOAD"
    MINER_EXTRACT = "MINER_EXTRACT"
    MINER_FILTER = "MINER_FILTER"
    MINER_DEDUP = "MINER_DEDUP"
    MINER_DETECT = "MINER_DETECT"
    MINER_BACKUP = "MINER_BACKUP"


class TaskStatus(StrEnum):
    QUEUED = "queued"
    RUNNING = "running"
    RETRY = "retry"  # failed, waiting for its backoff to pass
    DONE = "done"
    DEAD = "dead"  # failed max_attempts times; error kept
    CANCELLED = "cancelled"


CLAIMABLE = (TaskStatus.QUEUED, TaskStatus.RETRY)
# The claimable statuses as literal SQL: a partial index is used only by a query whose
# WHERE repeats its condition literally (bound parameters would hide it from SQLite).
READY_SQL = "status IN ({})".format(", ".join(f"'{s.value}'" for s in CLAIMABLE))
FINISHED = (TaskStatus.DONE, TaskStatus.DEAD, TaskStatus.CANCELLED)


class _Payload(BaseModel):
    model_config = ConfigDict(extra="allow")


class HeavyProcessVideoPayload(_Payload):
    """Inputs of the workstation job, as the seed worker protocol names them."""

    video_id: str
    raw_video: str
    gps_path: str | None = None
    preproc_json: str | None = None
    thumbnails_dir: str | None = None


class ArchiveVideoPayload(_Payload):
    video_id: str
    heavy_output_dir: str | None = None
    raw_video: str | None = None
    archive_raw: bool = False


class MinerVideoPayload(_Payload):
    """Miner per-video stages (download, extract, filter)."""

    project: str
    video_id: int


class MinerProjectPayload(_Payload):
    """Miner per-project stages (dedup, detect, backup) for one epoch of the project."""

    project: str
    epoch: int


class GenericPayload(_Payload):
    """Payload of task types that define their own model elsewhere (the miner's)."""


PAYLOADS: dict[TaskType, type[BaseModel]] = {
    TaskType.HEAVY_PROCESS_VIDEO: HeavyProcessVideoPayload,
    TaskType.ARCHIVE_VIDEO: ArchiveVideoPayload,
    TaskType.MINER_DOWNLOAD: MinerVideoPayload,
    TaskType.MINER_EXTRACT: MinerVideoPayload,
    TaskType.MINER_FILTER: MinerVideoPayload,
    TaskType.MINER_DEDUP: MinerProjectPayload,
    TaskType.MINER_DETECT: MinerProjectPayload,
    TaskType.MINER_BACKUP: MinerProjectPayload,
}


def validate_payload(task_type: TaskType, payload: dict[str, Any] | BaseModel) -> dict[str, Any]:
    """The payload checked against its task type's model, as a JSON-able dict."""
    model = PAYLOADS.get(task_type, GenericPayload)
    data = payload.model_dump() if isinstance(payload, BaseModel) else payload
    return model.model_validate(data).model_dump(mode="json")


class TaskRow(Base):
    __tablename__ = "tasks"

    id: Mapped[int] = mapped_column(_Id, primary_key=True, autoincrement=True)
    task_type: Mapped[str] = mapped_column(String(40))
    status: Mapped[str] = mapped_column(String(12), default=TaskStatus.QUEUED)
    priority: Mapped[int] = mapped_column(Integer, default=0)
    payload: Mapped[dict[str, Any]] = mapped_column(JSON)
    result: Mapped[dict[str, Any] | None] = mapped_column(JSON)
    error: Mapped[str | None] = mapped_column(Text)
    attempts: Mapped[int] = mapped_column(Integer, default=0)
    max_attempts: Mapped[int] = mapped_column(Integer, default=3)
    lease_token: Mapped[str | None] = mapped_column(String(40))
    lease_expires_s: Mapped[float | None] = mapped_column(_Time)
    worker_id: Mapped[str | None] = mapped_column(String(128))
    parent_id: Mapped[int | None] = mapped_column(BigInteger)
    dedupe_key: Mapped[str | None] = mapped_column(String(200), unique=True)
    video_id: Mapped[str | None] = mapped_column(String(128), index=True)
    run_after_s: Mapped[float] = mapped_column(_Time)
    created_s: Mapped[float] = mapped_column(_Time)
    updated_s: Mapped[float] = mapped_column(_Time)
    started_s: Mapped[float | None] = mapped_column(_Time)
    finished_s: Mapped[float | None] = mapped_column(_Time)

    __table_args__ = (
        Index("ix_tasks_claim", "status", "task_type", "priority", "id"),
        # Claim order within a type, over the claimable rows only: the next task is the
        # first index entry whose backoff has passed, whatever the backlog.
        Index(
            "ix_tasks_ready",
            "task_type",
            text("priority DESC"),
            "id",
            sqlite_where=text(READY_SQL),
            postgresql_where=text(READY_SQL),
        ),
        Index("ix_tasks_lease", "status", "lease_expires_s"),
        Index("ix_tasks_finished", "finished_s"),
    )


class WorkerRow(Base):
    __tablename__ = "workers"

    id: Mapped[str] = mapped_column(String(128), primary_key=True)
    kind: Mapped[str] = mapped_column(String(40))
    host: Mapped[str | None] = mapped_column(String(255))
    pid: Mapped[int | None] = mapped_column(Integer)
    task_id: Mapped[int | None] = mapped_column(BigInteger)
    task_type: Mapped[str | None] = mapped_column(String(40))
    state: Mapped[str] = mapped_column(String(16), default="idle")
    started_s: Mapped[float] = mapped_column(_Time)
    last_heartbeat_s: Mapped[float] = mapped_column(_Time)
