"""What the pipeline produces: plate reads (evidence) and sightings (one per track)."""

from __future__ import annotations

from dataclasses import dataclass, field


@dataclass(frozen=True)
class PlateObservation:
    """One read of a plate on one sampled frame (the per-read evidence of a sighting)."""

    frame_index: int
    pts_s: float
    text: str
    confidence: float
    xyxy: tuple[float, float, float, float]
    detector_score: float = 0.0
    track_id: int = -1
    crop_path: str | None = None
    #: The read's best texts under the plate formats and their probabilities (for fusion).
    alternatives: tuple[tuple[str, float], ...] = field(default=(), repr=False)


@dataclass(frozen=True)
class Position:
    lat: float
    lon: float
    speed_mps: float | None = None
    bearing_deg: float | None = None
    timestamp_ms: int | None = None


@dataclass(frozen=True)
class Sighting:
    """One tracked plate in one video: fused text, time span, place, best crop.

    Three moments of a sighting have a time and, with a GPS track, a place:

    - first: ``first_s`` (video clock), ``first_utc_ms``, ``first_position``;
    - best (the frame of the best crop): ``best_s``, ``best_utc_ms``, ``position``;
    - last: ``last_s``, ``last_utc_ms``, ``last_position``.

    ``position`` is the best crop's: where the plate was read best, which is where the
    crop shown for it was taken. Each position's ``timestamp_ms`` is its moment's UTC time.
    """

    video_id: str
    track_id: int
    plate_text: str
    confidence: float
    first_s: float
    last_s: float
    best_frame_index: int
    best_xyxy: tuple[float, float, float, float]
    n_reads: int
    first_utc_ms: int | None = None
    last_utc_ms: int | None = None
    position: Position | None = None
    best_crop_path: str | None = None
    vehicle_class: str | None = None
    vehicle_xyxy: tuple[float, float, float, float] | None = None
    reads: tuple[PlateObservation, ...] = field(default=(), repr=False)
    best_s: float | None = None
    best_utc_ms: int | None = None
    first_position: Position | None = None
    last_position: Position | None = None
