"""What a worker reports when it completes a task, as typed, bounded models.

Both transports (HTTP and a direct database client) validate a completion with these
before anything is written, so a bad report is refused whole: a readable error, no
change. Numbers are finite and fit their columns; strings have lengths the database
takes; unknown fields are allowed (kept in the task's result) when they are plain JSON.
"""

from __future__ import annotations

import math
from datetime import datetime
from typing import Annotated, Any

from pydantic import BaseModel, ConfigDict, Field, model_validator

from dashcam.domain.gps import GpsClock, TrackTimeBase
from dashcam.domain.sighting import PlateObservation, Position, Sighting
from dashcam.domain.video_clock import ClockSource, VideoClock
from dashcam.store.schema import MAX_BIGINT, MAX_INT

Int32 = Annotated[int, Field(ge=-MAX_INT, le=MAX_INT)]
Count = Annotated[int, Field(ge=0, le=MAX_INT)]
EpochMs = Annotated[int, Field(ge=-MAX_BIGINT, le=MAX_BIGINT)]
Real = Annotated[float, Field(allow_inf_nan=False)]
Share = Annotated[float, Field(ge=0.0, le=1.0, allow_inf_nan=False)]
Box = tuple[Real, Real, Real, Real]
PlateText = Annotated[str, Field(max_length=32)]
PathText = Annotated[str, Field(min_length=1, max_length=4096, pattern=r"^[^\x00]*$")]
ShortText = Annotated[str, Field(max_length=128)]
_MAX_EXTRA_DEPTH = 32


class _Model(BaseModel):
    model_config = ConfigDict(extra="ignore", frozen=True, allow_inf_nan=False)


class ReadIn(_Model):
    frame_index: Count
    pts_s: Real
    text: PlateText
    confidence: Share
    xyxy: Box
    detector_score: Real = 0.0
    track_id: Int32 = -1
    crop_path: Annotated[str, Field(max_length=1024)] | None = None

    def to_domain(self) -> PlateObservation:
        return PlateObservation(
            self.frame_index,
            self.pts_s,
            self.text,
            self.confidence,
            self.xyxy,
            self.detector_score,
            self.track_id,
            self.crop_path,
        )


class PositionIn(_Model):
    lat: Annotated[float, Field(ge=-90, le=90)]
    lon: Annotated[float, Field(ge=-180, le=180)]
    speed_mps: Real | None = None
    bearing_deg: Real | None = None
    timestamp_ms: EpochMs | None = None

    def to_domain(self) -> Position:
        return Position(self.lat, self.lon, self.speed_mps, self.bearing_deg, self.timestamp_ms)


class SightingIn(_Model):
    """One sighting as ``metadata.json`` and completions carry it (``sighting_to_dict``)."""

    video_id: ShortText = ""
    track_id: Int32
    plate_text: PlateText
    confidence: Share
    first_s: Real
    last_s: Real
    best_frame_index: Count
    best_xyxy: Box
    n_reads: Count
    first_utc_ms: EpochMs | None = None
    last_utc_ms: EpochMs | None = None
    best_s: Real | None = None
    best_utc_ms: EpochMs | None = None
    position: PositionIn | None = None  # at the best crop
    first_position: PositionIn | None = None
    last_position: PositionIn | None = None
    best_crop_path: Annotated[str, Field(max_length=1024)] | None = None
    vehicle_class: Annotated[str, Field(max_length=32)] | None = None
    vehicle_xyxy: Box | None = None
    reads: list[ReadIn] = Field(default_factory=list, max_length=10_000)

    def to_domain(self, video_id: str) -> Sighting:
        return Sighting(
            video_id=video_id,
            track_id=self.track_id,
            plate_text=self.plate_text,
            confidence=self.confidence,
            first_s=self.first_s,
            last_s=self.last_s,
            best_frame_index=self.best_frame_index,
            best_xyxy=self.best_xyxy,
            n_reads=self.n_reads,
            first_utc_ms=self.first_utc_ms,
            last_utc_ms=self.last_utc_ms,
            position=self.position.to_domain() if self.position else None,
            best_crop_path=self.best_crop_path,
            vehicle_class=self.vehicle_class,
            vehicle_xyxy=self.vehicle_xyxy,
            reads=tuple(r.to_domain() for r in self.reads),
            best_s=self.best_s,
            best_utc_ms=self.best_utc_ms,
            first_position=self.first_position.to_domain() if self.first_position else None,
            last_position=self.last_position.to_domain() if self.last_position else None,
        )


class MetadataDoc(BaseModel):
    """The part of a heavy output's ``metadata.json`` the server reads: its sightings."""

    model_config = ConfigDict(extra="ignore", allow_inf_nan=False)
    sightings: list[SightingIn] = Field(default_factory=list, max_length=100_000)


class GpsClockIn(_Model):
    """``metadata.json``'s ``video.gps_clock`` (``output.metadata.gps_clock_to_dict``)."""

    source: Annotated[str, Field(max_length=64)]
    time_base: TrackTimeBase
    start_utc_ms: EpochMs
    gps_minus_creation_s: Annotated[float, Field(ge=-1e9, le=1e9, allow_inf_nan=False)] | None = (
        None
    )

    def to_domain(self) -> GpsClock:
        diff = self.gps_minus_creation_s
        return GpsClock(
            self.time_base,
            self.source,
            self.start_utc_ms,
            None if diff is None else round(diff * 1000),
        )


Seconds = Annotated[float, Field(ge=-1e10, le=1e10, allow_inf_nan=False)]


class VideoClockIn(_Model):
    """``metadata.json``'s ``video.clock`` (``output.metadata.video_clock_to_dict``)."""

    source: ClockSource
    start_utc_ms: EpochMs
    offsets_s: dict[
        ClockSource, Annotated[float, Field(ge=-1e10, le=1e10, allow_inf_nan=False)]
    ] = Field(default_factory=dict, max_length=8)

    def to_domain(self) -> VideoClock:
        offsets = {k: round(v * 1000) for k, v in self.offsets_s.items()}
        return VideoClock(self.source, self.start_utc_ms, offsets)


def plain_json(value: Any, depth: int = 0) -> bool:
    """True for JSON without NaN/Infinity, nested at most ``_MAX_EXTRA_DEPTH`` deep."""
    if depth > _MAX_EXTRA_DEPTH:
        return False
    if isinstance(value, float):
        return math.isfinite(value)
    if isinstance(value, dict):
        return all(plain_json(v, depth + 1) for v in value.values())
    if isinstance(value, list):
        return all(plain_json(v, depth + 1) for v in value)
    return True


class TaskResult(BaseModel):
    """A completion's report. Known fields are typed; other fields are kept as they are."""

    model_config = ConfigDict(extra="allow", allow_inf_nan=False)

    video_id: ShortText | None = None
    task_id: Annotated[str, Field(max_length=256)] | None = None
    # heavy outputs (HEAVY_PROCESS_VIDEO)
    metadata_path: PathText | None = None
    crops_dir: PathText | None = None
    output_dir: PathText | None = None
    raw_video: PathText | None = None
    sightings: list[SightingIn] | None = Field(None, max_length=100_000)
    detections: list[dict[str, Any]] = Field(default_factory=list, max_length=1_000_000)
    model_info: dict[str, Any] = Field(default_factory=dict)
    frames_processed: Count | None = None
    elapsed_s: Annotated[float, Field(ge=0, le=1e9, allow_inf_nan=False)] | None = None
    duration_s: Annotated[float, Field(ge=0, le=1e9, allow_inf_nan=False)] | None = None
    fps: Annotated[float, Field(ge=0, le=1e6, allow_inf_nan=False)] | None = None
    width: Count | None = None
    height: Count | None = None
    track: list[tuple[EpochMs, Real, Real]] | None = Field(None, max_length=10_000_000)
    recorded_at: datetime | None = None  # the first frame's time
    gps_clock: GpsClockIn | None = None  # how the frames met the track (None: no track)
    clock: VideoClockIn | None = None  # which clock placed the video (None: none did)
    complete: bool | None = None
    notes: list[Annotated[str, Field(max_length=2000)]] | None = Field(None, max_length=1000)
    # archive outputs (ARCHIVE_VIDEO)
    archive_dir: PathText | None = None
    files_verified: Count | None = None

    @model_validator(mode="after")
    def _extras_areplain_json(self) -> TaskResult:
        for key, value in (self.model_extra or {}).items():
            if len(key) > 128 or not plain_json(value):
                raise ValueError(f"field {key[:40]!r}: not plain JSON (NaN, Infinity, too deep)")
        if not plain_json(self.model_info) or not plain_json(self.detections):
            raise ValueError("model_info/detections: not plain JSON (NaN, Infinity, too deep)")
        return self

    def stored(self) -> dict[str, Any]:
        """What the tasks table keeps: bulky lists become counts (they live in
        ``metadata.json`` and the sightings table)."""
        wire_only = set(type(self).model_fields) - set(TaskResult.model_fields)  # remote_tasks
        out = self.model_dump(mode="json", exclude_unset=True, exclude=wire_only)
        for key in ("detections", "sightings"):
            if isinstance(out.pop(key, None), list):
                out[f"n_{key}"] = len(getattr(self, key) or [])
        out.pop("track", None)
        return out
