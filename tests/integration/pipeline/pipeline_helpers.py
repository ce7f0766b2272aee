"""Helpers shared by the pipeline engine tests."""

from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path

from dashcam.config import Settings, load_settings
from dashcam.media.synthetic import SyntheticClip
from dashcam.pipeline.inline import VideoResult


@dataclass(frozen=True)
class Reference:
    clips: list[SyntheticClip]
    results: list[VideoResult]


def engine_settings(data_dir: Path, **overrides: object) -> Settings:
    return load_settings(data_dir=data_dir, **overrides)


def sighting_facts(result: VideoResult) -> list[tuple[object, ...]]:
    """What a user compares: plate text, time span, reads, box and position."""
    return [
        (
            s.plate_text,
            round(s.first_s, 3),
            round(s.last_s, 3),
            s.n_reads,
            s.best_frame_index,
            tuple(round(v, 1) for v in s.best_xyxy),
            (round(s.position.lat, 6), round(s.position.lon, 6)) if s.position else None,
        )
        for s in result.sightings
    ]
