"""The workstation worker: HEAVY_PROCESS_VIDEO → heavy outputs, then ARCHIVE_VIDEO."""

from __future__ import annotations

import json
import logging
import shutil
import time
from pathlib import Path
from typing import Any

from dashcam.config import Settings
from dashcam.output.metadata import gps_clock_to_dict, sighting_to_dict, video_clock_to_dict
from dashcam.pipeline.inline import DetectorStages, VideoJob, process_video
from dashcam.store.task_records import FollowUp
from dashcam.store.task_schema import ArchiveVideoPayload, HeavyProcessVideoPayload, TaskType
from dashcam.workers.base import ClaimedTask, Outcome, QueueClient, TaskContext, Worker

log = logging.getLogger(__name__)


class HeavyWorker(Worker):
    kind = "heavy"
    task_types = (TaskType.HEAVY_PROCESS_VIDEO,)

    def __init__(
        self,
        client: QueueClient,
        settings: Settings,
        *,
        clean_scratch: bool = True,
        use_engine: bool = False,
        **kwargs: Any,
    ) -> None:
        kwargs.setdefault("poll_interval_s", settings.poll_interval)
        kwargs.setdefault("heartbeat_interval_s", settings.heartbeat_interval_s)
        super().__init__(client, **kwargs)
        self.settings = settings
        self.clean_scratch = clean_scratch
        self.use_engine = use_engine  # the multiprocess engine instead of the inline runner
        self._stages: DetectorStages | None = None

    def on_start(self) -> None:
        scratch = self.settings.scratch
        if self.clean_scratch and scratch.exists():
            log.info("wiping scratch %s (--skip-scratch-clean keeps it)", scratch)
            shutil.rmtree(scratch, ignore_errors=True)
        scratch.mkdir(parents=True, exist_ok=True)

    @property
    def stages(self) -> DetectorStages:
        if self._stages is None:  # models load on the first task, then stay loaded
            self._stages = DetectorStages(self.settings)
        return self._stages

    def handle(self, task: ClaimedTask, ctx: TaskContext) -> Outcome:
        p = HeavyProcessVideoPayload.model_validate({"video_id": task.video_id, **task.payload})
        run_dir = self.settings.scratch / f"{p.video_id}-t{task.id}-a{task.attempts}"
        run_dir.mkdir(parents=True, exist_ok=True)
        t0 = time.perf_counter()
        try:
            job = VideoJob(Path(p.raw_video), Path(p.gps_path) if p.gps_path else None, p.video_id)
            if self.use_engine:
                from dashcam.pipeline.engine import process_videos_multiprocess

                (result,) = process_videos_multiprocess(
                    [job],
                    self.settings,
                    repo=None,
                    output_root=self.settings.heavy_output,
                    stop=ctx.halt,
                )
            else:
                result = process_video(
                    job,
                    self.settings,
                    repo=None,
                    output_root=self.settings.heavy_output,
                    stages=self.stages,
                    stop=ctx.halt,
                )
            elapsed = time.perf_counter() - t0
            (run_dir / "run.json").write_text(
                json.dumps(
                    {
                        "task_id": task.id,
                        "video_id": p.video_id,
                        "elapsed_s": round(elapsed, 3),
                        "frames_processed": result.frames_processed,
                        "notes": result.notes,
                    },
                    indent=1,
                )
            )
        finally:
            if not self.settings.retain_runs:
                shutil.rmtree(run_dir, ignore_errors=True)
        info = result.info
        facts = result.facts
        archive = ArchiveVideoPayload(
            video_id=p.video_id, heavy_output_dir=str(result.output_dir), raw_video=p.raw_video
        )
        return Outcome(
            result={
                "video_id": p.video_id,
                "metadata_path": str(result.metadata_path),
                "crops_dir": str(result.crops_dir),
                "output_dir": str(result.output_dir),
                "detections": result.detections,
                "model_info": result.model_info,
                "sightings": [sighting_to_dict(s) for s in result.sightings],
                "frames_processed": result.frames_processed,
                "complete": result.complete,
                "notes": result.notes,
                "elapsed_s": round(time.perf_counter() - t0, 3),
                "duration_s": info.duration_s,
                "width": info.width,
                "height": info.height,
                "fps": info.fps,
                "recorded_at": facts.recorded_at.isoformat()
                if facts and facts.recorded_at
                else None,
                "gps_clock": gps_clock_to_dict(facts.gps_clock) if facts else None,
                "clock": video_clock_to_dict(facts.clock) if facts else None,
            },
            follow_ups=[
                FollowUp(TaskType.ARCHIVE_VIDEO, archive.model_dump(), video_id=p.video_id)
            ],
        )
