"""The inline runner: every stage of the frame path in one process, frame by frame.

Used by ``dashcam process`` (and ``demo``) by default, by tests, and by the server-mode
heavy worker. The multiprocess engine runs the very same stage objects.
"""

from __future__ import annotations

import logging
import threading
import time
from collections.abc import Callable, Sequence
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from dashcam.config import Settings
from dashcam.domain.sighting import PlateObservation, Sighting
from dashcam.media.decode import FrameReader, VideoInfo
from dashcam.output.folder import OutputFolder
from dashcam.pipeline.overlay_survey import OverlaySurveyor
from dashcam.pipeline.prepare import PreparedVideo, VideoJob, prepare
from dashcam.stages.detect import OcrStage, PlateDetectStage, VehicleDetectStage
from dashcam.stages.final_write import FinalWriteStage, VideoFacts
from dashcam.stages.records import FrameAnalysis
from dashcam.stages.smooth import SmoothStage
from dashcam.stages.summary import SummaryStage
from dashcam.stages.track import TrackStage
from dashcam.store.results import ResultsRepository

__all__ = ["DetectorStages", "VideoJob", "VideoResult", "process_video", "process_videos"]

log = logging.getLogger(__name__)

Progress = Callable[[int, int | None], None]
Regions = tuple[tuple[float, float, float, float], ...]


class DetectorStages:
    """The model-backed stages, loaded once and reused for every video."""

    def __init__(self, settings: Settings) -> None:
        self.settings = settings
        self.vehicle = VehicleDetectStage(settings)
        self.plate = PlateDetectStage(settings)
        # With OCR off the stage still merges overlapping candidates (one box per plate).
        self.ocr: OcrStage | None = OcrStage(settings)
        self.surveyor = OverlaySurveyor.for_settings(settings)

    def analyse(
        self, video_id: str, frame_index: int, pts_s: float, image: Any, overlay: Regions = ()
    ) -> FrameAnalysis:
        """VEHICLE_DETECT → PLATE_DETECT → OCR on one frame (``overlay``: the regions the
        overlay survey found, no plates there)."""
        analysis = FrameAnalysis(
            video_id=video_id, frame_index=frame_index, pts_s=pts_s, overlay=overlay
        )
        self.vehicle.run(image, analysis)
        self.plate.run(image, analysis)
        if self.ocr is not None:
            self.ocr.run(analysis)
        return analysis

    def model_info(self) -> dict[str, Any]:
        return {
            "vehicle_detector": self.vehicle.name,
            "plate_detector": self.plate.name,
            "plate_reader": self.ocr.name if self.ocr and self.settings.enable_ocr else None,
            "ocr_enabled": self.settings.enable_ocr,
        }


@dataclass
class VideoResult:
    video_id: str
    video_path: Path
    output_dir: Path
    metadata_path: Path
    crops_dir: Path
    report_path: Path
    sightings: list[Sighting]
    detections: list[dict[str, Any]]
    model_info: dict[str, Any]
    frames_processed: int
    info: VideoInfo
    complete: bool = True
    decode_errors: int = 0
    notes: list[str] = field(default_factory=list)
    elapsed_s: float = 0.0
    facts: VideoFacts | None = None  # what was recorded about the video itself


def process_video(
    job: VideoJob,
    settings: Settings,
    *,
    repo: ResultsRepository | None,
    output_root: Path | None = None,
    stages: DetectorStages | None = None,
    progress: Progress | None = None,
    stop: threading.Event | None = None,
) -> VideoResult:
    """Process one video end to end and publish its outputs (and rows when ``repo``)."""
    stages = stages or DetectorStages(settings)
    prepared = prepare(job, settings, stages.surveyor)
    return run_prepared(
        prepared,
        settings,
        repo=repo,
        output_root=output_root,
        stages=stages,
        progress=progress,
        stop=stop,
    )


def expected_frames(info: VideoInfo, settings: Settings) -> int | None:
    if info.frame_count is None and info.duration_s is None:
        return None
    total = info.frame_count or round((info.duration_s or 0) * info.fps)
    n = -(-total // settings.frame_sample_rate)
    return min(n, settings.max_frames) if settings.max_frames else n


def run_prepared(
    prepared: PreparedVideo,
    settings: Settings,
    *,
    repo: ResultsRepository | None,
    output_root: Path | None,
    stages: DetectorStages,
    progress: Progress | None = None,
    stop: threading.Event | None = None,
) -> VideoResult:
    t0 = time.perf_counter()
    facts = prepared.facts
    root = output_root or settings.heavy_output
    folder = OutputFolder(root, facts.video_id)
    tracker = TrackStage(facts.video_id)
    smoother = SmoothStage(min_reads=settings.min_track_reads, ocr=settings.enable_ocr)
    observations: list[PlateObservation] = []
    sightings: list[Sighting] = []
    total = expected_frames(prepared.info, settings)
    n = 0
    complete = True
    try:
        with FrameReader(
            prepared.job.video_path,
            sample_rate=settings.frame_sample_rate,
            max_frames=settings.max_frames,
        ) as reader:
            for frame in reader:
                if stop is not None and stop.is_set():
                    complete = False
                    break
                analysis = stages.analyse(
                    facts.video_id,
                    frame.frame_index,
                    frame.pts_s,
                    frame.image,
                    prepared.overlay_regions,
                )
                obs, ended = tracker.run(analysis)
                for k, o in enumerate(obs):
                    if o.crop_path and k < len(analysis.plate_crops):
                        folder.write_crop(o.crop_path, analysis.plate_crops[k])
                observations.extend(obs)
                sightings.extend(s for ev in ended if (s := smoother.run(ev)) is not None)
                n += 1
                if progress is not None:
                    progress(n, total)
            decode_errors = reader.errors
            truncated = reader.truncated
        sightings.extend(s for ev in tracker.close() if (s := smoother.run(ev)) is not None)
        observations = tracker.kept(observations)
        summary = SummaryStage(max_gap_s=settings.gps_max_gap_s).run(
            sightings, start_utc_ms=facts.start_utc_ms, track=prepared.track
        )
        notes = list(prepared.notes)
        if truncated or decode_errors:
            notes.append(
                f"video is damaged or truncated ({decode_errors} decode error(s)): "
                f"processed the {n} sampled frame(s) that decoded"
            )
        if not complete:
            notes.append(f"stopped early after {n} frame(s)")
        model_info = stages.model_info()
        stats = {
            "frames_processed": n,
            "frame_sample_rate": settings.frame_sample_rate,
            "max_frames": settings.max_frames,
            "decode_errors": decode_errors,
            "truncated": truncated,
            "complete": complete,
        }
        out_dir, detections = FinalWriteStage(repo, gps_max_gap_s=settings.gps_max_gap_s).run(
            folder,
            facts,
            summary,
            observations,
            track=prepared.track,
            model_info=model_info,
            stats=stats,
            ocr_enabled=settings.enable_ocr,
            notes=notes,
        )
    except BaseException:
        folder.abort()
        raise
    return VideoResult(
        video_id=facts.video_id,
        video_path=prepared.job.video_path,
        output_dir=out_dir,
        metadata_path=out_dir / "metadata.json",
        crops_dir=out_dir / "crops",
        report_path=out_dir / "report.html",
        sightings=summary,
        detections=detections,
        model_info=model_info,
        frames_processed=n,
        info=prepared.info,
        complete=complete and not truncated,
        decode_errors=decode_errors,
        notes=notes,
        elapsed_s=time.perf_counter() - t0,
        facts=facts,
    )


def process_videos(
    jobs: Sequence[VideoJob],
    settings: Settings,
    *,
    repo: ResultsRepository | None,
    output_root: Path | None = None,
    progress_for: Callable[[VideoJob], Progress | None] | None = None,
    stop: threading.Event | None = None,
) -> list[VideoResult]:
    """Process several videos one after another, loading models once."""
    stages = DetectorStages(settings)
    prepared = [prepare(job, settings, stages.surveyor) for job in jobs]  # bad input fails fast
    results = []
    for p in prepared:
        if stop is not None and stop.is_set():
            break
        results.append(
            run_prepared(
                p,
                settings,
                repo=repo,
                output_root=output_root,
                stages=stages,
                progress=progress_for(p.job) if progress_for else None,
                stop=stop,
            )
        )
    return results
