"""The CLI's tables: sightings, videos, tasks, workers and the queue (from records, so a
local and a remote answer print alike)."""

from __future__ import annotations

from collections.abc import Sequence
from datetime import UTC, datetime

from rich import box
from rich.table import Table

from dashcam.domain.gps import GpsClock, TrackTimeBase
from dashcam.domain.sighting import Sighting
from dashcam.domain.video_clock import VideoClock
from dashcam.store.results import VideoRecord
from dashcam.store.status import SystemStatus, WorkerView
from dashcam.store.task_records import Task

SIGHTING_CAPTION = (
    "first, best, last: video time of the first read, the best read (its crop) and the "
    "last read; best UTC and best lat/lon: time and place of the best read"
)


def fmt_time(s: float | None) -> str:
    if s is None:
        return "—"
    m, sec = divmod(s, 60)
    return f"{int(m):d}:{sec:04.1f}"


def fmt_utc(ms: int | None) -> str:
    if ms is None:
        return "—"
    return datetime.fromtimestamp(ms / 1000, UTC).strftime("%H:%M:%S")


def sightings_table(
    sightings: Sequence[Sighting],
    title: str = "Sightings",
    distances: Sequence[float] | None = None,
    show_video: bool = True,
) -> Table:
    """Plate, first/best/last video times, the best read's UTC and place, confidence, reads
    (and video, distance).

    On a narrow terminal the plate column keeps its full text; others shrink with an
    ellipsis.
    """
    plate_w = max([5, *(len(s.plate_text or "(not read)") for s in sightings)])
    table = Table(title=title, caption=SIGHTING_CAPTION, box=box.SIMPLE_HEAD, pad_edge=False)
    table.add_column("plate", style="bold", no_wrap=True, min_width=plate_w)
    if distances is not None:
        table.add_column("dist", justify="right", no_wrap=True)
    if show_video:
        table.add_column("video", no_wrap=True, overflow="ellipsis", max_width=22)
    for name in ("first", "best", "last", "best UTC", "best lat", "best lon", "conf", "reads"):
        table.add_column(name, justify="right", no_wrap=True)
    for i, s in enumerate(sightings):
        row = [s.plate_text or "(not read)"]
        if distances is not None:
            row.append(f"{distances[i]:.1f}")
        if show_video:
            row.append(s.video_id)
        row += [
            fmt_time(s.first_s),
            fmt_time(s.best_s),
            fmt_time(s.last_s),
            fmt_utc(s.best_utc_ms),
            f"{s.position.lat:.5f}" if s.position else "—",
            f"{s.position.lon:.5f}" if s.position else "—",
            f"{s.confidence:.2f}",
            str(s.n_reads),
        ]
        table.add_row(*row)
    return table


_TIME_BASES = {
    TrackTimeBase.VIDEO: "video time",
    TrackTimeBase.CREATION_TIME: "creation time",
    TrackTimeBase.OVERLAY: "overlay clock",
    TrackTimeBase.FIRST_FIX: "first fix",
}


def gps_clock_cell(clock: GpsClock | None) -> str:
    """``gpmf, video time, GPS -3600.0 s vs creation`` / ``nmea, creation time`` / ``—``."""
    if clock is None:
        return "—"
    cell = f"{clock.source}, {_TIME_BASES[clock.time_base]}"
    if clock.gps_minus_creation_ms is not None:
        cell += f", GPS {clock.gps_minus_creation_ms / 1000:+.1f} s vs creation"
    return cell


def _span(ms: int) -> str:
    """A clock offset as people read it: ``+12.3 s``, ``-15.0 min``, ``+2.00 h``, ``-2163 d``."""
    s = ms / 1000
    if abs(s) < 120:
        return f"{s:+.1f} s"
    if abs(s) < 7200:
        return f"{s / 60:+.1f} min"
    if abs(s) < 3 * 86_400:
        return f"{s / 3600:+.2f} h"
    return f"{s / 86_400:+.0f} d"


def clock_offsets_cell(clock: VideoClock | None) -> str:
    """Every other clock's start minus the one used: ``container -2163 d`` / ``—``."""
    if clock is None or not clock.offsets_ms:
        return "—"
    return ", ".join(f"{k.value} {_span(v)}" for k, v in clock.offsets_ms.items())


def videos_table(videos: Sequence[VideoRecord]) -> Table:
    table = Table(title="Videos")
    for col in (
        "id",
        "status",
        "recorded (UTC)",
        "duration",
        "sightings",
        "other clocks",
        "GPS clock",
        "outputs",
    ):
        # the offsets and the path give way when the table is too wide; times and clocks
        # stay on one line
        wraps = col in ("other clocks", "outputs")
        table.add_column(col, no_wrap=not wraps, overflow="fold" if wraps else "ellipsis")
    for v in videos:
        recorded = "—"
        if v.recorded_at is not None:
            t = v.recorded_at  # SQLite gives the UTC time back without its zone
            t = t.replace(tzinfo=UTC) if t.tzinfo is None else t.astimezone(UTC)
            recorded = t.strftime("%Y-%m-%d %H:%M:%S")
            recorded += f" ({v.recorded_clock.value} clock)" if v.recorded_clock else ""
        table.add_row(
            v.id,
            v.status.value,
            recorded,
            f"{v.duration_s:.1f} s" if v.duration_s else "—",
            str(v.n_sightings),
            clock_offsets_cell(v.clock),
            gps_clock_cell(v.gps_clock),
            v.archive_dir or v.output_dir or "—",
        )
    return table


def tasks_table(tasks: Sequence[Task]) -> Table:
    t = Table(title="Tasks")
    for col in ("id", "type", "status", "video", "attempts", "worker", "error"):
        t.add_column(col)
    for x in tasks:
        t.add_row(
            str(x.id),
            x.task_type.value,
            x.status.value,
            x.video_id or "—",
            f"{x.attempts}/{x.max_attempts}",
            x.worker_id or "—",
            (x.error or "")[:80],
        )
    return t


def workers_table(workers: Sequence[WorkerView]) -> Table:
    w = Table(title="Workers")
    for col in ("worker", "kind", "host", "state", "task", "heartbeat age"):
        w.add_column(col)
    for x in workers:
        age = f"{x.heartbeat_age_s:.0f} s"
        w.add_row(
            x.worker_id,
            x.kind,
            x.host or "—",
            x.state,
            f"{x.task_type} #{x.task_id}" if x.task_id else "—",
            f"[red]{age} STALE[/]" if x.stale else age,
        )
    return w


def queue_table(s: SystemStatus) -> Table:
    q = Table(title="Queue")
    for col in ("task type", "backlog", "running", "done", "retry", "dead", "per min"):
        q.add_column(col, justify="right")
    for tt, counts in sorted(s.tasks.items()):
        q.add_row(
            tt,
            str(s.backlog.get(tt, 0)),
            str(counts.get("running", 0)),
            str(counts.get("done", 0)),
            str(counts.get("retry", 0)),
            str(counts.get("dead", 0)),
            f"{s.throughput_per_min.get(tt, 0):.1f}",
        )
    return q


def status_tables(s: SystemStatus) -> list[Table]:
    return [workers_table(s.workers), queue_table(s)]
