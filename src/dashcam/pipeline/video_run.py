"""What the orchestrator knows about one video while the engine runs it.

The per-video state of the CPU path lives here, owned by the orchestrator: the reorder
buffer that hands frames to VEHICLE_TRACK strictly in order (one at a time, so the
tracker sees every frame of its video in order however many CPU workers there are), the
tracker's saved state between frames, the observations, and the sightings in the order
the inline runner would have produced them.
"""

from __future__ import annotations

import time
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from dashcam.config import Settings
from dashcam.domain.sighting import PlateObservation, Sighting
from dashcam.output.folder import OutputFolder
from dashcam.pipeline.inline import VideoResult, expected_frames
from dashcam.pipeline.prepare import PreparedVideo
from dashcam.pipeline.tasks import FinalWriteOutput
from dashcam.stages.records import FrameAnalysis


@dataclass
class VideoRun:
    index: int
    prepared: PreparedVideo
    settings: Settings
    folder: OutputFolder | None = None
    t0: float = 0.0
    # written by the reader thread (one writer each)
    read: int = 0
    reading_done: bool = False
    stopped: bool = False
    decode_errors: int = 0
    truncated: bool = False
    # written by the orchestrator
    next_track: int = 0
    ready: dict[int, FrameAnalysis] = field(default_factory=dict)
    track_busy: bool = False
    track_state: bytes | None = None
    tracked: int = 0
    closed: bool = False
    smoothing: int = 0
    observations: list[PlateObservation] = field(default_factory=list)
    sightings: dict[tuple[int, int], Sighting] = field(default_factory=dict)
    summary_queued: bool = False
    summary: list[Sighting] | None = None
    writing: bool = False
    result: VideoResult | None = None
    error: str | None = None

    @property
    def video_id(self) -> str:
        return self.prepared.facts.video_id

    @property
    def total(self) -> int | None:
        return expected_frames(self.prepared.info, self.settings)

    @property
    def finished(self) -> bool:
        return self.result is not None or self.error is not None

    def ordered_sightings(self) -> list[Sighting]:
        return [self.sightings[k] for k in sorted(self.sightings)]

    @property
    def complete(self) -> bool:
        return not self.stopped

    def notes(self) -> list[str]:
        notes = list(self.prepared.notes)
        if self.truncated or self.decode_errors:
            notes.append(
                f"video is damaged: {self.decode_errors} undecodable packet(s); "
                "processed what decoded"
            )
        if self.stopped:
            notes.append(f"stopped early after {self.read} frame(s)")
        return notes

    def stats(self) -> dict[str, Any]:
        return {
            "frames_processed": self.read,
            "frame_sample_rate": self.settings.frame_sample_rate,
            "max_frames": self.settings.max_frames,
            "decode_errors": self.decode_errors,
            "truncated": self.truncated,
            "complete": self.complete,
        }

    def finish(self, out: FinalWriteOutput, model_info: dict[str, Any]) -> VideoResult:
        out_dir: Path = out.output_dir
        assert self.summary is not None
        self.result = VideoResult(
            video_id=self.video_id,
            video_path=self.prepared.job.video_path,
            output_dir=out_dir,
            metadata_path=out_dir / "metadata.json",
            crops_dir=out_dir / "crops",
            report_path=out_dir / "report.html",
            sightings=self.summary,
            detections=out.detections,
            model_info=model_info,
            frames_processed=self.read,
            info=self.prepared.info,
            complete=self.complete and not self.truncated,
            decode_errors=self.decode_errors,
            notes=self.notes(),
            elapsed_s=time.perf_counter() - self.t0,
            facts=self.prepared.facts,
        )
        return self.result
