"""The multiprocess engine: orchestrator, readers, detector and CPU workers, scheduler.

::

    main (orchestrator: central queue, frame store, dispatch, per-video CPU-path state)
    ├─ Scheduler process (monitor + HUD, never runs tasks)
    ├─ VideoReader threads (up to num_video_readers videos at once)
    ├─ detector workers [num_gpu_workers]: VEHICLE_DETECT, PLATE_DETECT, OCR
    └─ CPU workers [num_cpu_workers]: VEHICLE_TRACK, PLATE_SMOOTH, SUMMARY, FINAL_WRITE

The stages are the inline runner's own objects, so both give the same sightings for the
same video and settings. ``process_videos_multiprocess`` has ``process_videos``'s
signature. Shutdown: ``stop`` (first Ctrl+C) ends reading and drains the queued work,
writing partial results; a second Ctrl+C (KeyboardInterrupt) or the drain timeout ends
the workers at once. Shared memory is unlinked on every path.
"""

from __future__ import annotations

import contextlib
import itertools
import logging
import os
import threading
import time
from collections.abc import Callable, Sequence
from dataclasses import dataclass, field
from multiprocessing.connection import Connection, wait
from pathlib import Path
from typing import Any

from dashcam.config import Settings
from dashcam.errors import DashcamError
from dashcam.pipeline.frame_store import FrameRef, FrameStore
from dashcam.pipeline.inline import Progress, VideoJob, VideoResult
from dashcam.pipeline.overlay_survey import OverlaySurveyor
from dashcam.pipeline.prepare import prepare
from dashcam.pipeline.reader import VideoReaders
from dashcam.pipeline.scheduler import HudOptions, scheduler_main
from dashcam.pipeline.status import (
    C_BACKLOG,
    C_QUEUED,
    C_RUNNING,
    CATEGORIES,
    G_ALL_IDLE,
    G_FRAMES,
    G_QUIT,
    G_RESTARTS,
    G_SLOTS_USED,
    G_STOP,
    G_TERMINATE,
    V_READ,
    V_STATE,
    V_TOTAL,
    V_TRACKED,
    VIDEO_DONE,
    VIDEO_FAILED,
    VIDEO_FINISHING,
    VIDEO_READING,
    VIDEO_WAITING,
    StatusBoard,
    StatusLayout,
)
from dashcam.pipeline.task_queue import CentralTaskQueue
from dashcam.pipeline.tasks import (
    Done,
    Failed,
    FinalWriteInput,
    FinalWriteOutput,
    Payload,
    Ready,
    SmoothInput,
    SummaryInput,
    Task,
    TrackInput,
    TrackOutput,
)
from dashcam.pipeline.video_run import VideoRun
from dashcam.pipeline.worker_pool import WorkerHandle, WorkerPool, forkserver_context
from dashcam.stages.category import TaskCategory, WorkerKind
from dashcam.stages.records import FrameAnalysis
from dashcam.store.results import ResultsRepository

__all__ = ["Engine", "EngineOptions", "EngineStats", "process_videos_multiprocess"]

log = logging.getLogger(__name__)

TC = TaskCategory


@dataclass(frozen=True)
class EngineOptions:
    """Engine behaviour beyond :class:`Settings` (which holds the worker/queue knobs)."""

    drain_timeout_s: float = 120.0  # after stop: time to drain before terminating
    heartbeat_interval_s: float = 0.5
    stale_after_s: float = 30.0
    hud: bool | None = None  # None: live HUD when stderr is a terminal
    log_interval_s: float = 2.0  # plain progress lines when there is no HUD (0: none)
    worker_threads: int = 1  # OpenCV / ONNX Runtime threads per worker (0: library default)
    prefetch: int = 2  # tasks handed to a worker at once (hides the round trip)
    max_task_attempts: int = 3  # a task whose worker dies this often fails its video
    max_start_failures: int = 3  # a worker slot dying this often before it is ready ends the run


@dataclass
class EngineStats:
    """What a run did: for tests, the benchmark and the operator."""

    pool_slots: int = 0
    slot_bytes: int = 0
    peak_slots_in_use: int = 0
    pool_waits: int = 0
    queue_high_water: dict[str, int] = field(default_factory=dict)
    backlog_high_water: dict[str, int] = field(default_factory=dict)
    reader_blocked_s: float = 0.0
    reader_slowed: int = 0
    worker_restarts: int = 0
    requeued_tasks: int = 0
    frames: int = 0
    elapsed_s: float = 0.0
    scheduler_saw_idle: bool = False
    terminated: bool = False
    worker_pids: list[int] = field(default_factory=list)


def pool_slots(settings: Settings, prefetch: int) -> int:
    """Frame slots: the detector backlog, what the detector workers hold, one per reader."""
    return (
        settings.max_gpu_backlog + settings.num_gpu_workers * prefetch + settings.num_video_readers
    )


class Engine:
    """Runs a batch of videos through the multiprocess pipeline (one :meth:`run` each)."""

    def __init__(
        self,
        settings: Settings,
        *,
        repo: ResultsRepository | None,
        output_root: Path | None = None,
        progress_for: Callable[[VideoJob], Progress | None] | None = None,
        stop: threading.Event | None = None,
        options: EngineOptions | None = None,
    ) -> None:
        self.settings = settings
        self.repo = repo
        self.output_root = output_root or settings.heavy_output
        self.progress_for = progress_for
        self.stop = stop or threading.Event()
        self.options = options or EngineOptions()
        self.stats = EngineStats()
        self.terminate = threading.Event()
        self._task_ids = itertools.count(1)
        self._start_failures: dict[int, int] = {}  # worker index -> deaths before Ready in a row
        self._names: dict[TaskCategory, str] = {}
        self._progress: dict[str, Progress | None] = {}
        self._wake_r, self._wake_w = os.pipe()
        os.set_blocking(self._wake_w, False)
        self.pool: WorkerPool | None = None

    # --- public -------------------------------------------------------------------------
    def run(self, jobs: Sequence[VideoJob]) -> list[VideoResult]:
        """Process ``jobs``; results of the videos that finished, in job order."""
        t0 = time.perf_counter()
        s = self.settings
        surveyor = OverlaySurveyor.for_settings(s)
        prepared = [prepare(job, s, surveyor) for job in jobs]  # fail fast on bad input
        self.runs = [VideoRun(index=i, prepared=p, settings=s) for i, p in enumerate(prepared)]
        self.runs_by_id = {r.video_id: r for r in self.runs}
        if len(self.runs_by_id) < len(self.runs):
            raise DashcamError("the same video is named twice")
        if not self.runs:
            return []
        for r in self.runs:
            self._progress[r.video_id] = (
                self.progress_for(r.prepared.job) if self.progress_for else None
            )
        slot_bytes = max(p.info.width * p.info.height * 3 for p in prepared)
        opts = self.options
        kinds = [WorkerKind.DETECTOR] * s.num_gpu_workers + [WorkerKind.CPU] * s.num_cpu_workers
        ctx = forkserver_context()
        self.board = StatusBoard.create(
            ctx, StatusLayout(workers=len(kinds), videos=len(self.runs))
        )
        self.queue = CentralTaskQueue(
            soft_limit=s.queue_soft_limit,
            hard_limit=s.queue_hard_limit,
            max_cpu_backlog=s.max_cpu_backlog,
        )
        self.store = FrameStore(slots=pool_slots(s, opts.prefetch), slot_bytes=slot_bytes)
        self.stats.pool_slots, self.stats.slot_bytes = self.store.slots, slot_bytes
        self.pool = WorkerPool(
            ctx,
            self.board,
            s,
            kinds=kinds,
            heartbeat_interval_s=opts.heartbeat_interval_s,
            threads=opts.worker_threads,
        )
        hud = HudOptions(
            video_names=tuple(r.prepared.job.video_path.name for r in self.runs),
            stale_after_s=opts.stale_after_s,
            hud=opts.hud,
            log_interval_s=opts.log_interval_s,
            pool_slots=self.store.slots,
        )
        self.scheduler = ctx.Process(
            target=scheduler_main, args=(self.board, hud), name="dashcam-scheduler", daemon=True
        )
        self.readers = VideoReaders(
            self.runs,
            count=s.num_video_readers,
            store=self.store,
            queue=self.queue,
            output_root=self.output_root,
            stop=self.stop,
            wake=self._wake,
            task_ids=self._task_ids,
        )
        try:
            self.pool.start()
            self.scheduler.start()
            self.readers.start()
            self._loop()
            self._shutdown(graceful=True)
        except BaseException:
            self._shutdown(graceful=False)
            raise
        finally:
            self.stats.elapsed_s = time.perf_counter() - t0
            self._close()
        errors = [r for r in self.runs if r.error is not None]
        if errors:
            raise DashcamError(
                "; ".join(f"{r.prepared.job.video_path.name}: {r.error}" for r in errors)
            )
        return [r.result for r in self.runs if r.result is not None]

    # --- the event loop -------------------------------------------------------------------
    def _loop(self) -> None:
        assert self.pool is not None
        deadline: float | None = None
        while not all(r.finished for r in self.runs):
            self._raise_reader_errors()
            if self.stop.is_set() and deadline is None:
                deadline = time.monotonic() + self.options.drain_timeout_s
                self.board.globals[G_STOP] = 1.0
            if deadline is not None and time.monotonic() > deadline:
                log.warning("drain timeout: terminating")
                self.terminate.set()
                self.stats.terminated = True
                return
            for r in self.runs:
                self._advance(r)
            self._dispatch()
            self._publish()
            conns = {w.conn: w for w in self.pool.workers}
            sentinels = {w.process.sentinel: w for w in self.pool.workers}
            ready = wait([*conns, *sentinels, self._wake_r], timeout=0.25)
            for obj in ready:
                if obj == self._wake_r:
                    os.read(self._wake_r, 4096)
                elif isinstance(obj, Connection) and obj in conns:
                    self._receive(conns[obj])
            for obj in ready:
                if isinstance(obj, int) and obj in sentinels:
                    w = sentinels[obj]
                    if self.pool.workers[w.index] is w:
                        self._restart(w)
        self._publish()

    def _receive(self, w: WorkerHandle) -> None:
        while True:
            try:
                if not w.conn.poll():
                    return
                msg = w.conn.recv()
            except (EOFError, OSError):
                self._restart(w)
                return
            if isinstance(msg, Ready):
                w.ready, w.pid, w.want = True, msg.pid, msg.want
                self._start_failures.pop(w.index, None)
                self.stats.worker_pids.append(msg.pid)
            elif isinstance(msg, Done):
                w.want = msg.want
                task = w.inflight.pop(msg.task_id, None)
                if task is not None:
                    self._on_done(task, msg)
            elif isinstance(msg, Failed):
                w.want = msg.want
                task = w.inflight.pop(msg.task_id, None)
                if task is not None:
                    self._fail_task(task, msg.error)
                    log.debug("worker traceback:\n%s", msg.traceback)

    def _restart(self, w: WorkerHandle) -> None:
        assert self.pool is not None
        if self.pool.workers[w.index] is not w:
            return
        if not w.ready:
            # Died before it could say Ready: a broken start (an import that fails in the
            # child, a missing model) would only die again, forever.
            failures = self._start_failures.get(w.index, 0) + 1
            self._start_failures[w.index] = failures
            if failures >= self.options.max_start_failures:
                raise DashcamError(
                    f"{w.kind.value} worker {w.index} died {failures} times while starting "
                    "(its error is printed above)"
                )
        _, lost = self.pool.replace(w)
        self.stats.worker_restarts = self.pool.restarts
        self.board.globals[G_RESTARTS] = self.pool.restarts
        for task in reversed(lost):
            task.attempts += 1
            if task.attempts >= self.options.max_task_attempts:
                self._fail_task(
                    task, f"{task.category} task lost with its worker {task.attempts} times"
                )
                continue
            self.stats.requeued_tasks += 1
            self.queue.put(task, front=True)

    def _dispatch(self) -> None:
        assert self.pool is not None
        for w in self.pool.workers:
            if not w.ready:
                continue
            while len(w.inflight) < self.options.prefetch:
                task = self.queue.take_for(w.kind, w.want)
                if task is None:
                    break
                w.inflight[task.task_id] = task
                try:
                    w.conn.send(task)
                except (OSError, ValueError):
                    break  # its death is noticed through the sentinel; the task is re-queued

    # --- results --------------------------------------------------------------------------
    def _on_done(self, task: Task, msg: Done) -> None:
        run = self.runs_by_id[task.video_id]
        if msg.stage_name is not None:
            self._names[task.category] = msg.stage_name
        res = msg.result
        cat = task.category
        if run.finished:
            self._release(task)
            return
        if cat is TC.VEHICLE_DETECT and isinstance(res, FrameAnalysis):
            self.queue.complete(cat)
            self._next(task, TC.PLATE_DETECT, res, keep_frame=True)
        elif cat is TC.PLATE_DETECT and isinstance(res, FrameAnalysis):
            self.queue.complete(cat)
            if self.settings.enable_ocr and res.plate_crops:
                self._next(task, TC.OCR, res)
            else:
                self.queue.complete(TC.OCR)
                self._ready_for_track(run, task, res)
        elif cat is TC.OCR and isinstance(res, FrameAnalysis):
            self.queue.complete(cat)
            self._ready_for_track(run, task, res)
        elif cat is TC.VEHICLE_TRACK and isinstance(res, TrackOutput):
            self._on_tracked(run, task, res)
        elif cat is TC.PLATE_SMOOTH:
            run.smoothing -= 1
            if res is not None and not isinstance(res, list):
                assert not isinstance(res, (FrameAnalysis, TrackOutput, FinalWriteOutput))
                run.sightings[task.key] = res
        elif cat is TC.SUMMARY and isinstance(res, list):
            run.summary = res
        elif cat is TC.FINAL_WRITE and isinstance(res, FinalWriteOutput):
            run.finish(res, self._model_info())
            self.board.videos[run.index, V_STATE] = VIDEO_DONE
            self.board.videos[run.index, V_TRACKED] = run.tracked
        else:
            self._fail_task(task, f"unexpected {type(res).__name__} result from {cat}")
        self._release(task)

    def _next(
        self,
        task: Task,
        category: TaskCategory,
        analysis: FrameAnalysis,
        *,
        keep_frame: bool = False,
    ) -> None:
        frame = task.frame if keep_frame else None
        if frame is not None:
            self.store.retain(frame)  # the next task's own reference
        self._submit(
            category,
            task.video_id,
            payload=analysis,
            seq=task.seq,
            frame=frame,
        )

    def _submit(
        self,
        category: TaskCategory,
        video_id: str,
        payload: Payload,
        *,
        seq: int = -1,
        key: tuple[int, int] = (0, 0),
        frame: FrameRef | None = None,
    ) -> None:
        """Queue a new task (a fresh id) for one video."""
        task_id = next(self._task_ids)
        self.queue.put(Task(task_id, category, video_id, payload, seq=seq, frame=frame, key=key))

    def _release(self, task: Task) -> None:
        if task.frame is not None:
            self.store.release(task.frame)
            task.frame = None

    def _ready_for_track(self, run: VideoRun, task: Task, analysis: FrameAnalysis) -> None:
        run.ready[task.seq] = analysis

    def _on_tracked(self, run: VideoRun, task: Task, out: TrackOutput) -> None:
        run.track_busy = False
        run.observations.extend(out.observations)
        seq = task.seq
        for k, ev in enumerate(out.ended):
            run.smoothing += 1
            self._submit(
                TC.PLATE_SMOOTH,
                run.video_id,
                key=(seq, k),
                payload=SmoothInput(ev, self.settings.min_track_reads, self.settings.enable_ocr),
            )
        if isinstance(task.payload, TrackInput) and task.payload.analysis is None:
            run.closed = True
            if out.overlay_tracks:
                run.observations = [
                    o for o in run.observations if o.track_id not in out.overlay_tracks
                ]
            return
        run.track_state = out.state
        run.tracked += 1
        run.next_track += 1
        self.queue.complete(TC.VEHICLE_TRACK)
        progress = self._progress.get(run.video_id)
        if progress is not None:
            progress(run.tracked, run.total)

    def _fail_task(self, task: Task, error: str) -> None:
        run = self.runs_by_id[task.video_id]
        self._release(task)
        if run.finished:
            return
        run.error = error
        self.board.videos[run.index, V_STATE] = VIDEO_FAILED
        if run.folder is not None:
            run.folder.abort()

    # --- moving a video along -------------------------------------------------------------
    def _advance(self, run: VideoRun) -> None:
        if run.finished or run.folder is None:
            return
        if not run.track_busy and run.next_track in run.ready:
            analysis = run.ready.pop(run.next_track)
            run.track_busy = True
            self._submit(
                TC.VEHICLE_TRACK,
                run.video_id,
                seq=run.next_track,
                payload=TrackInput(analysis, run.track_state, run.folder),
            )
            return
        if not run.reading_done or run.track_busy or run.tracked < run.read:
            return
        if not run.closed:
            if run.track_state is None:
                run.closed = True  # no frame was tracked
            else:
                run.track_busy = True
                self._submit(
                    TC.VEHICLE_TRACK,
                    run.video_id,
                    seq=run.read,
                    payload=TrackInput(None, run.track_state, run.folder),
                )
                return
        if run.smoothing:
            return
        s = self.settings
        if not run.summary_queued:
            run.summary_queued = True
            self._submit(
                TC.SUMMARY,
                run.video_id,
                payload=SummaryInput(
                    run.ordered_sightings(),
                    run.prepared.facts.start_utc_ms,
                    run.prepared.track,
                    s.gps_max_gap_s,
                ),
            )
        elif run.summary is not None and not run.writing:
            run.writing = True
            db_url = (
                self.repo.engine.url.render_as_string(hide_password=False)
                if self.repo is not None
                else None
            )
            self._submit(
                TC.FINAL_WRITE,
                run.video_id,
                payload=FinalWriteInput(
                    db_url=db_url,
                    folder=run.folder,
                    facts=run.prepared.facts,
                    sightings=run.summary,
                    observations=run.observations,
                    track=run.prepared.track,
                    model_info=self._model_info(),
                    stats=run.stats(),
                    ocr_enabled=s.enable_ocr,
                    notes=run.notes(),
                    gps_max_gap_s=s.gps_max_gap_s,
                ),
            )

    def _model_info(self) -> dict[str, Any]:
        """The inline runner's ``model_info``, from the names the workers reported."""
        names = self._names
        s = self.settings
        if TC.VEHICLE_DETECT not in names or TC.PLATE_DETECT not in names:
            from dashcam.stages.detect import PlateDetectStage, VehicleDetectStage

            names.setdefault(TC.VEHICLE_DETECT, VehicleDetectStage(s).name)
            names.setdefault(TC.PLATE_DETECT, PlateDetectStage(s).name)
        if s.enable_ocr and TC.OCR not in names:
            from dashcam.stages.detect import OcrStage

            names[TC.OCR] = OcrStage(s).name
        return {
            "vehicle_detector": names[TC.VEHICLE_DETECT],
            "plate_detector": names[TC.PLATE_DETECT],
            "plate_reader": names[TC.OCR] if s.enable_ocr else None,
            "ocr_enabled": s.enable_ocr,
        }

    # --- status, shutdown -----------------------------------------------------------------
    def _publish(self) -> None:
        assert self.pool is not None
        b = self.board
        running = dict.fromkeys(CATEGORIES, 0)
        for w in self.pool.workers:
            for t in w.inflight.values():
                running[t.category] += 1
        for i, c in enumerate(CATEGORIES):
            b.categories[i, C_QUEUED] = self.queue.queued(c)
            b.categories[i, C_BACKLOG] = self.queue.backlog(c)
            b.categories[i, C_RUNNING] = running[c]
        frames = 0
        for r in self.runs:
            row = b.videos[r.index]
            total = r.total
            row[V_TOTAL] = -1 if total is None else total
            row[V_READ] = r.read
            row[V_TRACKED] = r.tracked
            frames += r.tracked
            if not r.finished:
                row[V_STATE] = (
                    VIDEO_WAITING
                    if r.folder is None
                    else VIDEO_READING
                    if not r.reading_done
                    else VIDEO_FINISHING
                )
        b.globals[G_FRAMES] = frames
        b.globals[G_SLOTS_USED] = self.store.in_use

    def _raise_reader_errors(self) -> None:
        for run, exc in self.readers.errors:
            if isinstance(exc, DashcamError) and not run.finished:
                run.error = str(exc)
                if run.folder is not None:
                    run.folder.abort()
            elif not isinstance(exc, DashcamError):
                raise exc

    def _wake(self) -> None:
        with contextlib.suppress(BlockingIOError):  # the pipe is full of wake-ups already
            os.write(self._wake_w, b"x")

    def _shutdown(self, *, graceful: bool) -> None:
        graceful = graceful and not self.terminate.is_set()
        if graceful:
            # the scheduler tells us when every worker is idle and every queue is empty
            deadline = time.monotonic() + 2.0
            self._publish()
            while time.monotonic() < deadline and not self.board.globals[G_ALL_IDLE]:
                time.sleep(0.05)
            self.stats.scheduler_saw_idle = bool(self.board.globals[G_ALL_IDLE])
        else:
            self.terminate.set()
            self.stats.terminated = True
            self.board.globals[G_TERMINATE] = 1.0
            self.stop.set()  # readers end at once
        self.queue.wake()
        if self.pool is not None:
            if graceful:
                self.pool.stop_all(graceful_s=5.0)
            else:
                self.pool.terminate_all()
        self.readers.join(5.0)
        self.board.globals[G_QUIT] = 1.0
        if self.scheduler.pid is not None:
            self.scheduler.join(2.0)
            if self.scheduler.is_alive():
                self.scheduler.kill()
                self.scheduler.join(1.0)
        for r in self.runs:
            if r.result is None and r.folder is not None:
                r.folder.abort()

    def _close(self) -> None:
        self.stats.peak_slots_in_use = self.store.peak_in_use
        self.stats.pool_waits = self.store.waits
        self.stats.queue_high_water = {c.value: n for c, n in self.queue.high_water.items()}
        self.stats.backlog_high_water = {
            c.value: n for c, n in self.queue.backlog_high_water.items()
        }
        self.stats.reader_blocked_s = self.queue.blocked_s
        self.stats.reader_slowed = self.queue.slowed
        self.stats.frames = sum(r.read for r in self.runs)
        self.store.close()
        for fd in (self._wake_r, self._wake_w):
            with contextlib.suppress(OSError):
                os.close(fd)


def process_videos_multiprocess(
    jobs: Sequence[VideoJob],
    settings: Settings,
    *,
    repo: ResultsRepository | None,
    output_root: Path | None = None,
    progress_for: Callable[[VideoJob], Progress | None] | None = None,
    stop: threading.Event | None = None,
    options: EngineOptions | None = None,
) -> list[VideoResult]:
    """``process_videos`` on the multiprocess engine: same arguments, same results."""
    engine = Engine(
        settings,
        repo=repo,
        output_root=output_root,
        progress_for=progress_for,
        stop=stop,
        options=options,
    )
    return engine.run(jobs)
