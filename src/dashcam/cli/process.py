"""``dashcam process`` and ``dashcam demo``."""

from __future__ import annotations

import signal
import threading
import time
from pathlib import Path
from types import FrameType

import typer
from rich.progress import (
    BarColumn,
    MofNCompleteColumn,
    Progress,
    TextColumn,
    TimeElapsedColumn,
    TimeRemainingColumn,
)

from dashcam.cli.common import console, open_repo, out, settings_from
from dashcam.cli.tables import sightings_table
from dashcam.config import Settings
from dashcam.errors import InputError
from dashcam.pipeline.inline import VideoJob, VideoResult, process_videos
from dashcam.pipeline.prepare import prepare

VIDEO_SUFFIXES = {".mp4", ".mov", ".avi", ".mkv", ".m4v", ".ts", ".mts", ".webm", ".h264", ".h265"}


def collect_jobs(inputs: list[Path], gps: Path | None) -> list[VideoJob]:
    """Videos from files and folders (a folder contributes its video files, sorted)."""
    videos: list[Path] = []
    for p in inputs:
        if p.is_dir():
            found = sorted(f for f in p.iterdir() if f.suffix.lower() in VIDEO_SUFFIXES)
            if not found:
                raise InputError(f"{p}: no video files in this folder")
            videos.extend(found)
        else:
            videos.append(p)
    if gps is not None and len(videos) > 1:
        raise InputError(
            "--gps names one track: use it with one video (or put X.gps next to X.mp4)"
        )
    return [VideoJob(video_path=v, gps_path=gps) for v in videos]


def usable_jobs(
    jobs: list[VideoJob], settings: Settings
) -> tuple[list[VideoJob], list[InputError]]:
    """The jobs whose video (and GPS track) pass the checks the executors make first, and
    the errors of the others, each printed as it is found. One job alone fails at once."""
    good: list[VideoJob] = []
    refused: list[InputError] = []
    for job in jobs:
        try:
            prepare(job, settings)
        except InputError as exc:
            if len(jobs) == 1:
                raise
            console.print(f"[red]skipped[/] {exc}")
            refused.append(exc)
        else:
            good.append(job)
    return good, refused


class _Interrupts:
    """First Ctrl+C: stop after the current frame and write what we have; second: abort."""

    def __init__(self) -> None:
        self.stop = threading.Event()
        self._old: object = None

    def __enter__(self) -> _Interrupts:
        self._old = signal.signal(signal.SIGINT, self._handle)
        signal.signal(signal.SIGTERM, self._handle)
        return self

    def _handle(self, signum: int, frame: FrameType | None) -> None:
        if self.stop.is_set():
            raise KeyboardInterrupt
        self.stop.set()
        console.print(
            "[yellow]stopping: finishing the current frame and writing results "
            "(press Ctrl+C again to abort)[/]"
        )

    def __exit__(self, *exc: object) -> None:
        signal.signal(signal.SIGINT, signal.default_int_handler)
        signal.signal(signal.SIGTERM, signal.SIG_DFL)


def run_and_report(
    jobs: list[VideoJob],
    settings: Settings,
    *,
    workers: bool,
    drain_timeout_s: float | None = None,
) -> list[VideoResult]:
    t0 = time.perf_counter()
    if workers:
        results = _run_multiprocess(jobs, settings, drain_timeout_s)
    else:
        results = _run_inline(jobs, settings)
    _announce(results, settings)
    _report(jobs, results, settings, time.perf_counter() - t0)
    return results


def _announce(results: list[VideoResult], settings: Settings, timeout_s: float = 30.0) -> None:
    """Publish the videos' events (MQTT, webhooks) when configured, and deliver them
    before the command exits (at most ``timeout_s``; what is left is counted dropped)."""
    if not (settings.mqtt_url or settings.webhook_urls):
        return
    from dashcam.events.announcer import Announcer
    from dashcam.events.hub import EventHub

    hub = EventHub.from_settings(settings, role="process")
    announcer = Announcer(hub, open_repo(settings), settings=settings, server_url=None).start()
    for r in results:
        announcer.video_finished(r.video_id)
    announcer.close(timeout_s)
    hub.close(timeout_s)
    for st in hub.status():
        if st.queued or st.dropped or st.failed:
            console.print(
                f"[yellow]events:[/] {st.name}: {st.delivered} delivered, {st.queued} not "
                f"delivered, {st.dropped} dropped, {st.failed} failed ({st.last_error or 'ok'})"
            )


def _run_multiprocess(
    jobs: list[VideoJob], settings: Settings, drain_timeout_s: float | None
) -> list[VideoResult]:
    """The multiprocess engine; its scheduler shows the HUD (plain lines off a terminal)."""
    from dashcam.pipeline.engine import EngineOptions, process_videos_multiprocess

    options = (
        EngineOptions()
        if drain_timeout_s is None
        else EngineOptions(drain_timeout_s=drain_timeout_s)
    )
    repo = open_repo(settings)
    with _Interrupts() as interrupts:
        return process_videos_multiprocess(
            jobs, settings, repo=repo, stop=interrupts.stop, options=options
        )


def _run_inline(jobs: list[VideoJob], settings: Settings) -> list[VideoResult]:
    repo = open_repo(settings)
    with (
        _Interrupts() as interrupts,
        Progress(
            TextColumn("[bold]{task.description}"),
            BarColumn(),
            MofNCompleteColumn(),
            TextColumn("frames"),
            TimeElapsedColumn(),
            TimeRemainingColumn(),
            console=console,
            transient=False,
        ) as progress,
    ):
        tasks: dict[Path, int] = {}

        def progress_for(job: VideoJob):  # type: ignore[no-untyped-def]
            tid = progress.add_task(job.video_path.name, total=None)
            tasks[job.video_path] = tid

            def update(done: int, total: int | None) -> None:
                progress.update(tid, completed=done, total=total)

            return update

        return process_videos(
            jobs, settings, repo=repo, progress_for=progress_for, stop=interrupts.stop
        )


def _report(
    jobs: list[VideoJob], results: list[VideoResult], settings: Settings, elapsed: float
) -> None:
    for r in results:
        out.print(
            sightings_table(
                r.sightings,
                show_video=False,
                title=f"{r.video_path.name} ({r.video_id}): {len(r.sightings)} sighting(s)",
            )
        )
        for note in r.notes:
            console.print(f"[yellow]note:[/] {note}")
        console.print(f"outputs: {r.output_dir}  (report: {r.report_path})")
    frames = sum(r.frames_processed for r in results)
    console.print(
        f"{len(results)} video(s), {frames} frames analysed in {elapsed:.1f} s; "
        f"database: {settings.db_url}"
    )
    if len(results) < len(jobs) or not all(r.complete for r in results):
        raise typer.Exit(code=1 if any(not r.complete for r in results) else 130)


def register(app: typer.Typer) -> None:
    @app.command()
    def process(
        videos: list[Path] = typer.Argument(..., help="Video files or folders of videos."),
        gps: Path | None = typer.Option(None, "--gps", help="GPS track for a single video."),
        sample_rate: int | None = typer.Option(
            None, "--sample-rate", help="Analyse every Nth frame."
        ),
        max_frames: int | None = typer.Option(
            None, "--max-frames", help="Cap per video (0 = none)."
        ),
        no_ocr: bool = typer.Option(False, "--no-ocr", help="Detect plates without reading them."),
        gps_offset: float | None = typer.Option(
            None, "--gps-offset", help="Seconds added to GPS times."
        ),
        output: Path | None = typer.Option(None, "--output", "-o", help="Output root folder."),
        engine: str = typer.Option(
            "inline", "--engine", help="inline (one process) or multiprocess."
        ),
        gpu_workers: int | None = typer.Option(
            None, "--gpu-workers", help="Detector worker processes (NUM_GPU_WORKERS)."
        ),
        cpu_workers: int | None = typer.Option(
            None, "--cpu-workers", help="CPU worker processes (NUM_CPU_WORKERS)."
        ),
        video_readers: int | None = typer.Option(
            None, "--video-readers", help="Videos read at once (NUM_VIDEO_READERS)."
        ),
        max_gpu_backlog: int | None = typer.Option(
            None, "--max-gpu-backlog", help="Frames waiting for detectors (MAX_GPU_BACKLOG)."
        ),
        max_cpu_backlog: int | None = typer.Option(
            None, "--max-cpu-backlog", help="Frames waiting for CPU stages (MAX_CPU_BACKLOG)."
        ),
        queue_soft_limit: int | None = typer.Option(
            None, "--queue-soft-limit", help="Readers slow down above it (QUEUE_SOFT_LIMIT)."
        ),
        queue_hard_limit: int | None = typer.Option(
            None, "--queue-hard-limit", help="Readers block at it (QUEUE_HARD_LIMIT)."
        ),
        drain_timeout: float | None = typer.Option(
            None, "--drain-timeout", help="Seconds to drain after Ctrl+C (multiprocess)."
        ),
    ) -> None:
        """Find plates in videos, align them to GPS, store and report the sightings."""
        settings = settings_from(
            num_gpu_workers=gpu_workers,
            num_cpu_workers=cpu_workers,
            num_video_readers=video_readers,
            max_gpu_backlog=max_gpu_backlog,
            max_cpu_backlog=max_cpu_backlog,
            queue_soft_limit=queue_soft_limit,
            queue_hard_limit=queue_hard_limit,
            frame_sample_rate=sample_rate,
            max_frames=max_frames,
            enable_ocr=False if no_ocr else None,
            gps_clock_offset_s=gps_offset,
            heavy_output_root=output,
        )
        if engine not in ("inline", "multiprocess"):
            raise InputError(f"--engine must be inline or multiprocess, not {engine!r}")
        jobs, refused = usable_jobs(collect_jobs(videos, gps), settings)
        if jobs:
            run_and_report(
                jobs, settings, workers=engine == "multiprocess", drain_timeout_s=drain_timeout
            )
        if refused:  # named again at the end, after the good ones' reports
            raise InputError(
                f"{len(refused)} of {len(jobs) + len(refused)} video(s) not processed: "
                + "; ".join(str(e) for e in refused)
            )

    @app.command()
    def demo(
        out_dir: Path = typer.Option(Path("dashcam-demo"), "--dir", help="Where the clip goes."),
        duration: float = typer.Option(20.0, "--duration", help="Clip length in seconds."),
        seed: int = typer.Option(0, "--seed", help="Same seed, same clip."),
    ) -> None:
        """Make a synthetic dashcam clip with known plates, a burned-in clock and a GPS log,
        then process it."""
        from dashcam.media.synthetic import ClipOverlay, make_clip

        console.print(f"making a {duration:.0f} s synthetic clip in {out_dir} ...")
        # the dashcam's own date/time/speed at the bottom: not a plate, and a clock
        clip = make_clip(
            out_dir, name="demo", seed=seed, duration_s=duration, overlay=ClipOverlay()
        )
        console.print(
            f"rendered plates: {', '.join(p.text for p in clip.plates)}\n"
            f"video: {clip.video_path}\nGPS:   {clip.gps_path}"
        )
        settings = settings_from(heavy_output_root=out_dir / "output")
        results = run_and_report(
            [VideoJob(clip.video_path, clip.gps_path)], settings, workers=False
        )
        rendered = {p.text for p in clip.plates}
        found = {s.plate_text for r in results for s in r.sightings}
        missing, extra = sorted(rendered - found), sorted(found - rendered)
        if not missing and not extra:
            console.print(f"[green]all {len(rendered)} rendered plates found, nothing else[/]")
        else:
            console.print(
                f"[yellow]rendered but not found: {missing or '-'}; "
                f"found but not rendered: {extra or '-'}[/]"
            )
