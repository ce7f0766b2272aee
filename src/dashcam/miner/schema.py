"""The miner's tables on the shared ``Base``: projects, videos, frames and labels.

Times are epoch seconds (``*_s``). Frame image paths are relative to the project root.
"""

from __future__ import annotations

from enum import StrEnum
from typing import Any

from sqlalchemy import (
    JSON,
    BigInteger,
    Float,
    ForeignKey,
    Index,
    Integer,
    String,
    Text,
    UniqueConstraint,
)
from sqlalchemy.orm import Mapped, mapped_column

from dashcam.store.database import Base

_Id = BigInteger().with_variant(Integer(), "sqlite")


class ProjectState(StrEnum):
    POPULATING = "POPULATING"  # videos downloading / extracting
    FILTERING = "FILTERING"  # every video extracted, some not yet filtered
    DEDUP_READY = "DEDUP_READY"  # every video filtered: cross-video dedup may run
    DETECT_READY = "DETECT_READY"  # dedup done: detection may run
    COMPLETE = "COMPLETE"


class VideoState(StrEnum):
    PENDING = "pending"  # added, not downloaded
    DOWNLOADED = "downloaded"
    EXTRACTED = "extracted"
    FILTERED = "filtered"
    DUPLICATE = "duplicate"  # same content as another video of the project
    PLAYLIST = "playlist"  # expanded into one video per entry
    FAILED = "failed"


class FrameState(StrEnum):
    EXTRACTED = "extracted"
    KEPT = "kept"
    REJECTED = "rejected"  # by a quality or text filter (reason kept)
    DUPLICATE = "duplicate"  # a near-duplicate of a kept frame


class MinerProjectRow(Base):
    __tablename__ = "miner_projects"

    name: Mapped[str] = mapped_column(String(128), primary_key=True)
    root: Mapped[str] = mapped_column(Text)
    config: Mapped[dict[str, Any]] = mapped_column(JSON)
    state: Mapped[str] = mapped_column(String(16), default=ProjectState.POPULATING)
    epoch: Mapped[int] = mapped_column(Integer, default=0)  # bumps when new videos arrive
    dedup_epoch: Mapped[int] = mapped_column(Integer, default=-1)
    detect_epoch: Mapped[int] = mapped_column(Integer, default=-1)
    backup_epoch: Mapped[int] = mapped_column(Integer, default=-1)
    detect_note: Mapped[str | None] = mapped_column(Text)
    created_s: Mapped[float] = mapped_column(Float(precision=53))
    updated_s: Mapped[float] = mapped_column(Float(precision=53))


class MinerVideoRow(Base):
    __tablename__ = "miner_videos"

    id: Mapped[int] = mapped_column(_Id, primary_key=True, autoincrement=True)
    project: Mapped[str] = mapped_column(
        String(128), ForeignKey("miner_projects.name", ondelete="CASCADE"), index=True
    )
    source: Mapped[str] = mapped_column(Text)
    state: Mapped[str] = mapped_column(String(16), default=VideoState.PENDING)
    path: Mapped[str | None] = mapped_column(Text)
    gps_path: Mapped[str | None] = mapped_column(Text)
    content_hash: Mapped[str | None] = mapped_column(String(64))
    duplicate_of: Mapped[int | None] = mapped_column(BigInteger)
    n_frames: Mapped[int] = mapped_column(Integer, default=0)
    n_kept: Mapped[int] = mapped_column(Integer, default=0)
    error: Mapped[str | None] = mapped_column(Text)
    created_s: Mapped[float] = mapped_column(Float(precision=53))
    updated_s: Mapped[float] = mapped_column(Float(precision=53))

    __table_args__ = (UniqueConstraint("project", "source", name="uq_miner_video_source"),)


class MinerFrameRow(Base):
    __tablename__ = "miner_frames"

    id: Mapped[int] = mapped_column(_Id, primary_key=True, autoincrement=True)
    project: Mapped[str] = mapped_column(String(128), index=True)
    video_id: Mapped[int] = mapped_column(
        BigInteger, ForeignKey("miner_videos.id", ondelete="CASCADE")
    )
    frame_index: Mapped[int] = mapped_column(Integer)
    pts_s: Mapped[float] = mapped_column(Float(precision=53))
    path: Mapped[str] = mapped_column(Text)
    width: Mapped[int] = mapped_column(Integer)
    height: Mapped[int] = mapped_column(Integer)
    lat: Mapped[float | None] = mapped_column(Float(precision=53))
    lon: Mapped[float | None] = mapped_column(Float(precision=53))
    utc_ms: Mapped[int | None] = mapped_column(BigInteger)
    state: Mapped[str] = mapped_column(String(16), default=FrameState.EXTRACTED)
    reason: Mapped[str | None] = mapped_column(Text)
    sharpness: Mapped[float | None] = mapped_column(Float)
    brightness: Mapped[float | None] = mapped_column(Float)
    entropy: Mapped[float | None] = mapped_column(Float)
    text_score: Mapped[float | None] = mapped_column(Float)
    phash: Mapped[int | None] = mapped_column(BigInteger)  # signed view of the 64 bits
    embedding: Mapped[bytes | None] = mapped_column()
    cluster: Mapped[int | None] = mapped_column(BigInteger)
    detected: Mapped[int] = mapped_column(Integer, default=0)

    __table_args__ = (
        UniqueConstraint("video_id", "frame_index", name="uq_miner_frame"),
        Index("ix_miner_frames_state", "project", "state"),
    )


class MinerLabelRow(Base):
    __tablename__ = "miner_labels"

    id: Mapped[int] = mapped_column(_Id, primary_key=True, autoincrement=True)
    frame_id: Mapped[int] = mapped_column(
        BigInteger, ForeignKey("miner_frames.id", ondelete="CASCADE"), index=True
    )
    label: Mapped[str] = mapped_column(String(128))
    class_id: Mapped[int] = mapped_column(Integer)
    x1: Mapped[float] = mapped_column(Float)
    y1: Mapped[float] = mapped_column(Float)
    x2: Mapped[float] = mapped_column(Float)
    y2: Mapped[float] = mapped_column(Float)
    confidence: Mapped[float] = mapped_column(Float)
    backend: Mapped[str] = mapped_column(String(64))
