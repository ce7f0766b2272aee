"""What travels between the orchestrator and its workers: tasks, payloads and replies.

Everything here is small and picklable. Frames never travel: a task that needs one
carries a :class:`~dashcam.pipeline.frame_store.FrameRef`. Tracker state travels as
bytes with each VEHICLE_TRACK task, so no worker process owns a video's tracks and a
crashed worker's task can simply run again elsewhere.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from dashcam.domain.gps import GpsTrack
from dashcam.domain.sighting import PlateObservation, Sighting
from dashcam.output.folder import OutputFolder
from dashcam.pipeline.frame_store import FrameRef
from dashcam.stages.category import TaskCategory
from dashcam.stages.final_write import VideoFacts
from dashcam.stages.records import FrameAnalysis
from dashcam.stages.track import TrackEvidence


@dataclass(slots=True)
class TrackInput:
    """One frame for the tracker (``analysis`` None: the video ended, close every track)."""

    analysis: FrameAnalysis | None
    state: bytes | None
    folder: OutputFolder


@dataclass(slots=True)
class TrackOutput:
    observations: list[PlateObservation]
    ended: list[TrackEvidence]
    state: bytes
    #: At close: the tracks found to be the dashcam's overlay (their reads are dropped).
    overlay_tracks: frozenset[int] = frozenset()


@dataclass(slots=True)
class SmoothInput:
    evidence: TrackEvidence
    min_reads: int
    ocr: bool


@dataclass(slots=True)
class SummaryInput:
    sightings: list[Sighting]
    start_utc_ms: int | None
    track: GpsTrack | None
    max_gap_s: float


@dataclass(slots=True)
class FinalWriteInput:
    db_url: str | None
    folder: OutputFolder
    facts: VideoFacts
    sightings: list[Sighting]
    observations: list[PlateObservation]
    track: GpsTrack | None
    model_info: dict[str, Any]
    stats: dict[str, Any]
    ocr_enabled: bool
    notes: list[str]
    gps_max_gap_s: float


@dataclass(slots=True)
class FinalWriteOutput:
    output_dir: Path
    detections: list[dict[str, Any]]


Payload = FrameAnalysis | TrackInput | SmoothInput | SummaryInput | FinalWriteInput
Result = FrameAnalysis | TrackOutput | Sighting | list[Sighting] | FinalWriteOutput | None


@dataclass(slots=True)
class Task:
    """One unit of work. ``seq`` orders a video's frames (0, 1, ...; -1 for per-video
    tasks); ``key`` orders PLATE_SMOOTH results back into the inline runner's order."""

    task_id: int
    category: TaskCategory
    video_id: str
    payload: Payload
    seq: int = -1
    frame: FrameRef | None = None
    key: tuple[int, int] = (0, 0)
    attempts: int = 0


# --- replies from a worker ---------------------------------------------------------------


@dataclass(slots=True)
class Ready:
    """A worker is up; ``want`` is the category it would like first."""

    worker: int
    pid: int
    want: TaskCategory | None


@dataclass(slots=True)
class Done:
    worker: int
    task_id: int
    result: Result
    stage_name: str | None = None
    want: TaskCategory | None = None
    elapsed_s: float = 0.0


@dataclass(slots=True)
class Failed:
    worker: int
    task_id: int
    error: str
    traceback: str = ""
    want: TaskCategory | None = None


Reply = Ready | Done | Failed


@dataclass(slots=True)
class Stop:
    """Sent to a worker: finish and exit."""

    reason: str = "done"


@dataclass
class StageNames:
    """Names of the model backends that ran, for ``model_info`` in the outputs."""

    names: dict[TaskCategory, str] = field(default_factory=dict)
