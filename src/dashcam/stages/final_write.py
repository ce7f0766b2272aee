"""FINAL_WRITE: metadata.json, report.html and the database rows of one video."""

from __future__ import annotations

import json
from collections.abc import Sequence
from dataclasses import dataclass
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

from dashcam.domain.gps import GpsClock, GpsTrack
from dashcam.domain.sighting import PlateObservation, Sighting
from dashcam.domain.video_clock import VideoClock
from dashcam.output.folder import OutputFolder
from dashcam.output.metadata import (
    FORMAT_VERSION,
    detection_record,
    gps_clock_to_dict,
    sighting_to_dict,
    video_clock_to_dict,
)
from dashcam.output.report import render_report
from dashcam.stages.summary import position_on
from dashcam.store.results import ResultsRepository, gps_clock_columns, video_clock_columns
from dashcam.store.schema import VideoStatus


@dataclass(frozen=True)
class VideoFacts:
    """What FINAL_WRITE records about the video itself."""

    video_id: str
    path: str
    width: int
    height: int
    fps: float
    duration_s: float | None
    recorded_at: datetime | None  # the start: start_utc_ms, on the clock gps_clock implies
    start_utc_ms: int | None
    gps_path: str | None
    content_hash: str | None
    gps_clock: GpsClock | None = None
    clock: VideoClock | None = None  # which clock placed the video, the others' offsets
    overlay_regions: tuple[tuple[float, float, float, float], ...] = ()  # burned-in text
    overlay_text: str | None = None  # what it said on the first surveyed frame


class FinalWriteStage:
    def __init__(self, repo: ResultsRepository | None, *, gps_max_gap_s: float = 5.0) -> None:
        self.repo = repo
        self.gps_max_gap_s = gps_max_gap_s

    def run(
        self,
        folder: OutputFolder,
        facts: VideoFacts,
        sightings: Sequence[Sighting],
        observations: Sequence[PlateObservation],
        *,
        track: GpsTrack | None,
        model_info: dict[str, Any],
        stats: dict[str, Any],
        ocr_enabled: bool,
        notes: Sequence[str] = (),
    ) -> tuple[Path, list[dict[str, Any]]]:
        """Publish the folder and the rows; returns (output dir, detection records)."""
        detections = [
            detection_record(
                o,
                start_utc_ms=facts.start_utc_ms,
                gps=position_on(track, o.pts_s, facts.start_utc_ms, self.gps_max_gap_s),
                ocr_enabled=ocr_enabled,
            )
            for o in observations
        ]
        points = [(f.lat, f.lon) for f in track.fixes] if track is not None else []
        metadata = {
            "format_version": FORMAT_VERSION,
            "video": {
                "video_id": facts.video_id,
                "path": facts.path,
                "width": facts.width,
                "height": facts.height,
                "fps": facts.fps,
                "duration_s": facts.duration_s,
                "recorded_at": facts.recorded_at.isoformat() if facts.recorded_at else None,
                "gps_path": facts.gps_path,
                "content_hash": facts.content_hash,
                "gps_clock": gps_clock_to_dict(facts.gps_clock),
                "clock": video_clock_to_dict(facts.clock),
                "overlay": {
                    "regions": [[round(v, 1) for v in r] for r in facts.overlay_regions],
                    "text": facts.overlay_text,
                }
                if facts.overlay_regions
                else None,
            },
            "model_info": model_info,
            "stats": stats,
            "detections": detections,
            "sightings": [sighting_to_dict(s) for s in sightings],
            "track": [[f.timestamp_ms, f.lat, f.lon] for f in track.fixes]
            if track is not None
            else [],
        }
        folder.write_text("metadata.json", json.dumps(metadata, indent=1))
        folder.write_text(
            "report.html",
            render_report(
                title=f"dashcam — {Path(facts.path).name}",
                video_name=facts.path,
                sightings=sightings,
                track_points=points,
                output_dir=folder.staging,
                notes=notes,
            ),
        )
        out_dir = folder.commit()
        if self.repo is not None:
            self.repo.upsert_video(
                facts.video_id,
                facts.path,
                content_hash=facts.content_hash,
                width=facts.width,
                height=facts.height,
                fps=facts.fps,
                duration_s=facts.duration_s,
                recorded_at=facts.recorded_at,
                gps_path=facts.gps_path,
                **gps_clock_columns(facts.gps_clock),
                **video_clock_columns(facts.clock),
                output_dir=str(out_dir),
                frames_processed=int(stats.get("frames_processed", 0)),
                progress=1.0,
                status=VideoStatus.DONE,
                error=None,
                track=[[f.timestamp_ms, f.lat, f.lon] for f in track.fixes] if track else None,
                processed_at=datetime.now(UTC),
            )
            self.repo.replace_sightings(facts.video_id, sightings)
        return out_dir, detections
