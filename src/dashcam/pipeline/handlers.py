"""The handler of each task category: calls the core's stage objects, unchanged.

One :class:`Handlers` per worker process. A category's model or resource (detector,
recogniser, database engine) is loaded the first time the worker switches to that
category, and kept. Frames are read zero-copy from the frame store.
"""

from __future__ import annotations

import logging
import pickle

from dashcam.config import Settings
from dashcam.errors import DashcamError
from dashcam.pipeline.frame_store import FrameViewer
from dashcam.pipeline.tasks import (
    FinalWriteInput,
    FinalWriteOutput,
    Result,
    SmoothInput,
    SummaryInput,
    Task,
    TrackInput,
    TrackOutput,
)
from dashcam.stages.category import TaskCategory
from dashcam.stages.detect import OcrStage, PlateDetectStage, VehicleDetectStage
from dashcam.stages.final_write import FinalWriteStage
from dashcam.stages.records import FrameAnalysis
from dashcam.stages.smooth import SmoothStage
from dashcam.stages.summary import SummaryStage
from dashcam.stages.track import TrackStage
from dashcam.store.results import ResultsRepository

log = logging.getLogger(__name__)


class Handlers:
    """Runs one task at a time; returns its result and the name of the model that ran."""

    def __init__(self, settings: Settings) -> None:
        self.settings = settings
        self.frames = FrameViewer()
        self.loads: list[TaskCategory] = []  # categories whose resources were loaded, in order
        self._vehicle: VehicleDetectStage | None = None
        self._plate: PlateDetectStage | None = None
        self._ocr: OcrStage | None = None
        self._repos: dict[str, ResultsRepository] = {}

    def run(self, task: Task) -> tuple[Result, str | None]:
        cat = task.category
        p = task.payload
        if cat is TaskCategory.VEHICLE_DETECT and isinstance(p, FrameAnalysis):
            vehicle = self.vehicle()
            vehicle.run(self._image(task), p)
            return p, vehicle.name
        if cat is TaskCategory.PLATE_DETECT and isinstance(p, FrameAnalysis):
            plate = self.plate()
            plate.run(self._image(task), p)
            return p, plate.name
        if cat is TaskCategory.OCR and isinstance(p, FrameAnalysis):
            ocr = self.ocr()
            ocr.run(p)
            return p, ocr.name
        if cat is TaskCategory.VEHICLE_TRACK and isinstance(p, TrackInput):
            return track(p), None
        if cat is TaskCategory.PLATE_SMOOTH and isinstance(p, SmoothInput):
            return SmoothStage(min_reads=p.min_reads, ocr=p.ocr).run(p.evidence), None
        if cat is TaskCategory.SUMMARY and isinstance(p, SummaryInput):
            summary = SummaryStage(max_gap_s=p.max_gap_s).run(
                p.sightings, start_utc_ms=p.start_utc_ms, track=p.track
            )
            return summary, None
        if cat is TaskCategory.FINAL_WRITE and isinstance(p, FinalWriteInput):
            return self.final_write(p), None
        raise DashcamError(f"no handler for {cat} with a {type(p).__name__} payload")

    # --- resources, loaded on the first switch to their category ---------------------------
    def vehicle(self) -> VehicleDetectStage:
        if self._vehicle is None:
            self._vehicle = VehicleDetectStage(self.settings)
            self.loads.append(TaskCategory.VEHICLE_DETECT)
        return self._vehicle

    def plate(self) -> PlateDetectStage:
        if self._plate is None:
            self._plate = PlateDetectStage(self.settings)
            self.loads.append(TaskCategory.PLATE_DETECT)
        return self._plate

    def ocr(self) -> OcrStage:
        if self._ocr is None:
            self._ocr = OcrStage(self.settings)
            self.loads.append(TaskCategory.OCR)
        return self._ocr

    def repo(self, db_url: str) -> ResultsRepository:
        repo = self._repos.get(db_url)
        if repo is None:
            from dashcam.store.database import make_engine

            repo = ResultsRepository(make_engine(db_url))
            self._repos[db_url] = repo
            self.loads.append(TaskCategory.FINAL_WRITE)
        return repo

    def final_write(self, p: FinalWriteInput) -> FinalWriteOutput:
        repo = self.repo(p.db_url) if p.db_url else None
        out_dir, detections = FinalWriteStage(repo, gps_max_gap_s=p.gps_max_gap_s).run(
            p.folder,
            p.facts,
            p.sightings,
            p.observations,
            track=p.track,
            model_info=p.model_info,
            stats=p.stats,
            ocr_enabled=p.ocr_enabled,
            notes=p.notes,
        )
        return FinalWriteOutput(output_dir=out_dir, detections=detections)

    def close(self) -> None:
        self.frames.close()
        for repo in self._repos.values():
            repo.engine.dispose()

    def _image(self, task: Task):  # type: ignore[no-untyped-def]
        if task.frame is None:
            raise DashcamError(f"{task.category} task {task.task_id} carries no frame")
        return self.frames.view(task.frame)


def track(p: TrackInput) -> TrackOutput:
    """VEHICLE_TRACK: restore the video's tracker, feed one frame (or close), save it."""
    if p.state is None:
        if p.analysis is None:
            raise DashcamError("tracker closed before any frame")
        stage = TrackStage(p.analysis.video_id)
    else:
        stage = pickle.loads(p.state)
    if p.analysis is None:
        ended = stage.close()
        return TrackOutput([], ended, b"", frozenset(stage.overlay_tracks))
    observations, ended = stage.run(p.analysis)
    for k, o in enumerate(observations):
        if o.crop_path and k < len(p.analysis.plate_crops):
            p.folder.write_crop(o.crop_path, p.analysis.plate_crops[k])
    return TrackOutput(
        observations=observations,
        ended=ended,
        state=pickle.dumps(stage, protocol=pickle.HIGHEST_PROTOCOL),
    )
