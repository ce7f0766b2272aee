"""VideoReader threads: decode sampled frames into the frame store, one video per thread.

At most ``num_video_readers`` videos are read at once; a reader that finishes a video
takes the next one. Before each frame a reader waits for room in the central queue
(slower above the soft limit, blocked at the hard limit) and for a free frame slot, so
memory stays bounded for a video of any length. An exception in a reader thread is kept
and re-raised in the orchestrator.
"""

from __future__ import annotations

import itertools
import logging
import threading
import time
from collections.abc import Callable
from pathlib import Path

from dashcam.media.decode import FrameReader
from dashcam.output.folder import OutputFolder
from dashcam.pipeline.frame_store import FrameStore
from dashcam.pipeline.task_queue import CentralTaskQueue
from dashcam.pipeline.tasks import Task
from dashcam.pipeline.video_run import VideoRun
from dashcam.stages.category import TaskCategory
from dashcam.stages.records import FrameAnalysis

log = logging.getLogger(__name__)


class VideoReaders:
    def __init__(
        self,
        runs: list[VideoRun],
        *,
        count: int,
        store: FrameStore,
        queue: CentralTaskQueue,
        output_root: Path,
        stop: threading.Event,
        wake: Callable[[], None],
        task_ids: itertools.count[int],
    ) -> None:
        self.runs = runs
        self.store = store
        self.queue = queue
        self.output_root = output_root
        self.stop = stop
        self.wake = wake
        self.task_ids = task_ids
        self._next = iter(runs)
        self._lock = threading.Lock()
        self.errors: list[tuple[VideoRun, BaseException]] = []
        self.threads = [
            threading.Thread(target=self._loop, name=f"dashcam-reader-{i}", daemon=True)
            for i in range(min(count, len(runs)))
        ]

    def start(self) -> None:
        for t in self.threads:
            t.start()

    def alive(self) -> bool:
        return any(t.is_alive() for t in self.threads)

    def join(self, timeout_s: float) -> None:
        deadline = time.monotonic() + timeout_s
        for t in self.threads:
            if t.ident is not None:
                t.join(max(0.0, deadline - time.monotonic()))

    def _take(self) -> VideoRun | None:
        with self._lock:
            return next(self._next, None)

    def _loop(self) -> None:
        while (run := self._take()) is not None:
            try:
                self._read(run)
            except BaseException as exc:  # handed to the orchestrator, which re-raises
                self.errors.append((run, exc))
            finally:
                run.reading_done = True
                self.wake()

    def _read(self, run: VideoRun) -> None:
        settings = run.settings
        run.t0 = time.perf_counter()
        if self.stop.is_set():
            run.stopped = True
            run.folder = OutputFolder(self.output_root, run.video_id)
            return
        run.folder = OutputFolder(self.output_root, run.video_id)
        with FrameReader(
            run.prepared.job.video_path,
            sample_rate=settings.frame_sample_rate,
            max_frames=settings.max_frames,
        ) as reader:
            for frame in reader:
                if self.stop.is_set() or not self.queue.wait_for_room(self.stop):
                    run.stopped = True
                    break
                ref = self.store.put(frame.image, stop=self.stop)
                if ref is None:
                    run.stopped = True
                    break
                analysis = FrameAnalysis(
                    video_id=run.video_id,
                    frame_index=frame.frame_index,
                    pts_s=frame.pts_s,
                    overlay=run.prepared.overlay_regions,
                )
                task = Task(
                    task_id=next(self.task_ids),
                    category=TaskCategory.VEHICLE_DETECT,
                    video_id=run.video_id,
                    payload=analysis,
                    seq=run.read,
                    frame=ref,
                )
                run.read += 1
                self.queue.put(task, new_frame=True)
                self.wake()
            run.decode_errors = reader.errors
            run.truncated = reader.truncated
