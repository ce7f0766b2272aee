"""Tables for results: videos, sightings and the plate reads behind each sighting."""

from __future__ import annotations

from datetime import datetime
from enum import StrEnum
from typing import Any

from sqlalchemy import (
    JSON,
    BigInteger,
    DateTime,
    Float,
    ForeignKey,
    Index,
    Integer,
    String,
    Text,
    func,
)
from sqlalchemy.orm import Mapped, mapped_column, relationship

from dashcam.store.database import Base

# The largest values the integer columns hold on every backend (PostgreSQL's INTEGER is
# 32-bit, BIGINT and SQLite's INTEGER 64-bit): what the HTTP models bound their input to.
MAX_INT = 2**31 - 1
MAX_BIGINT = 2**63 - 1


class VideoStatus(StrEnum):
    REGISTERED = "registered"
    QUEUED = "queued"
    PROCESSING = "processing"
    DONE = "done"
    ARCHIVED = "archived"
    FAILED = "failed"
    #: Not a video: a live camera of the relay, whose sightings are stored under it.
    LIVE = "live"


class VideoRow(Base):
    __tablename__ = "videos"

    id: Mapped[str] = mapped_column(String(128), primary_key=True)
    path: Mapped[str] = mapped_column(Text)
    content_hash: Mapped[str | None] = mapped_column(String(64), index=True, unique=True)
    status: Mapped[str] = mapped_column(String(16), default=VideoStatus.REGISTERED, index=True)
    width: Mapped[int | None] = mapped_column(Integer)
    height: Mapped[int | None] = mapped_column(Integer)
    fps: Mapped[float | None] = mapped_column(Float)
    duration_s: Mapped[float | None] = mapped_column(Float)
    recorded_at: Mapped[datetime | None] = mapped_column(DateTime(timezone=True))
    gps_path: Mapped[str | None] = mapped_column(Text)
    # how frames meet the GPS track (domain.gps.GpsClock); all None without a track
    gps_source: Mapped[str | None] = mapped_column(String(16))
    gps_time_base: Mapped[str | None] = mapped_column(String(16))
    gps_start_utc_ms: Mapped[int | None] = mapped_column(BigInteger)
    gps_minus_creation_ms: Mapped[int | None] = mapped_column(BigInteger)
    # which clock placed the video (domain.video_clock.VideoClock): its source, and every
    # other clock's start minus it in seconds ({"container": -185000000.0})
    clock_source: Mapped[str | None] = mapped_column(String(16))
    clock_offsets: Mapped[dict[str, float] | None] = mapped_column(JSON)
    output_dir: Mapped[str | None] = mapped_column(Text)
    archive_dir: Mapped[str | None] = mapped_column(Text)
    frames_processed: Mapped[int | None] = mapped_column(Integer)
    progress: Mapped[float | None] = mapped_column(Float)
    error: Mapped[str | None] = mapped_column(Text)
    track: Mapped[list[Any] | None] = mapped_column(JSON)
    registered_at: Mapped[datetime] = mapped_column(
        DateTime(timezone=True), server_default=func.now()
    )
    processed_at: Mapped[datetime | None] = mapped_column(DateTime(timezone=True))

    sightings: Mapped[list[SightingRow]] = relationship(
        back_populates="video", cascade="all, delete-orphan", passive_deletes=True
    )


class SightingRow(Base):
    __tablename__ = "sightings"

    id: Mapped[int] = mapped_column(Integer, primary_key=True, autoincrement=True)
    video_id: Mapped[str] = mapped_column(ForeignKey("videos.id", ondelete="CASCADE"), index=True)
    track_id: Mapped[int] = mapped_column(Integer)
    plate_text: Mapped[str] = mapped_column(String(32), index=True)
    confidence: Mapped[float] = mapped_column(Float)
    first_s: Mapped[float] = mapped_column(Float)
    last_s: Mapped[float] = mapped_column(Float)
    first_utc_ms: Mapped[int | None] = mapped_column(BigInteger)
    last_utc_ms: Mapped[int | None] = mapped_column(BigInteger)
    # lat/lon/speed/bearing: the position at the best crop (best_s, best_utc_ms).
    lat: Mapped[float | None] = mapped_column(Float)
    lon: Mapped[float | None] = mapped_column(Float)
    speed_mps: Mapped[float | None] = mapped_column(Float)
    bearing_deg: Mapped[float | None] = mapped_column(Float)
    # Added later (nullable, so init_schema adds them to older databases).
    best_s: Mapped[float | None] = mapped_column(Float)
    best_utc_ms: Mapped[int | None] = mapped_column(BigInteger)
    first_lat: Mapped[float | None] = mapped_column(Float)
    first_lon: Mapped[float | None] = mapped_column(Float)
    last_lat: Mapped[float | None] = mapped_column(Float)
    last_lon: Mapped[float | None] = mapped_column(Float)
    best_frame_index: Mapped[int] = mapped_column(Integer)
    best_xyxy: Mapped[list[float]] = mapped_column(JSON)
    best_crop_path: Mapped[str | None] = mapped_column(Text)
    n_reads: Mapped[int] = mapped_column(Integer)
    vehicle_class: Mapped[str | None] = mapped_column(String(32))
    vehicle_xyxy: Mapped[list[float] | None] = mapped_column(JSON)

    video: Mapped[VideoRow] = relationship(back_populates="sightings")
    reads: Mapped[list[PlateReadRow]] = relationship(
        back_populates="sighting", cascade="all, delete-orphan", passive_deletes=True
    )

    __table_args__ = (Index("ix_sightings_video_track", "video_id", "track_id"),)


class PlateReadRow(Base):
    __tablename__ = "plate_reads"

    id: Mapped[int] = mapped_column(Integer, primary_key=True, autoincrement=True)
    sighting_id: Mapped[int] = mapped_column(
        ForeignKey("sightings.id", ondelete="CASCADE"), index=True
    )
    frame_index: Mapped[int] = mapped_column(Integer)
    pts_s: Mapped[float] = mapped_column(Float)
    text: Mapped[str] = mapped_column(String(32))
    confidence: Mapped[float] = mapped_column(Float)
    xyxy: Mapped[list[float]] = mapped_column(JSON)

    sighting: Mapped[SightingRow] = relationship(back_populates="reads")
