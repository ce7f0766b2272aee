"""The Scheduler: a monitor process that never runs tasks.

It reads the shared status map and shows a live HUD (``rich`` Live) on a terminal:
backlog per category, each worker's category and heartbeat age (stale ones flagged),
frames/s, per-video progress and ETA, and which workers have had no task at all. When
stderr is not a terminal it prints one plain ``progress`` line per video and a
``workers`` line every ``log_interval_s`` instead (0 turns that off). At the end it prints
the last state and one ``finished`` summary line, HUD or not. It sets the ``all_idle``
flag when every worker is idle and every queue is empty, which the orchestrator waits for
before it ends the workers.
"""

from __future__ import annotations

import signal
import sys
import time
from dataclasses import dataclass

from rich.console import Console, Group
from rich.live import Live
from rich.table import Table

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
    G_START,
    G_STOP,
    G_TERMINATE,
    KINDS,
    V_READ,
    V_STATE,
    V_TOTAL,
    V_TRACKED,
    VIDEO_DONE,
    VIDEO_FAILED,
    W_BUSY,
    W_DONE,
    W_PID,
    StatusBoard,
)
from dashcam.stages.category import WorkerKind

_STATES = ("waiting", "reading", "finishing", "done", "failed")


@dataclass(frozen=True)
class HudOptions:
    video_names: tuple[str, ...]
    stale_after_s: float = 30.0
    refresh_s: float = 0.25
    hud: bool | None = None  # None: a live HUD when stderr is a terminal
    log_interval_s: float = 2.0
    pool_slots: int = 0


class Rate:
    """Frames per second over a sliding window of a few seconds."""

    def __init__(self, window_s: float = 5.0) -> None:
        self.window_s = window_s
        self.points: list[tuple[float, float]] = []

    def add(self, now: float, frames: float) -> float:
        self.points.append((now, frames))
        while len(self.points) > 2 and now - self.points[0][0] > self.window_s:
            self.points.pop(0)
        (t0, f0), (t1, f1) = self.points[0], self.points[-1]
        return (f1 - f0) / (t1 - t0) if t1 > t0 else 0.0


def all_idle(board: StatusBoard) -> bool:
    idle_workers = not board.workers[:, W_BUSY].any()
    queues_empty = not board.categories[:, [C_QUEUED, C_RUNNING]].any()
    videos_done = bool((board.videos[:, V_STATE] >= VIDEO_DONE).all())
    return idle_workers and queues_empty and videos_done


@dataclass(frozen=True)
class KindUse:
    """How one kind of worker is being used: busy now, had a task at all, started."""

    busy: int
    used: int
    total: int


def worker_use(board: StatusBoard) -> dict[WorkerKind, KindUse]:
    """Per kind of worker (in :data:`KINDS` order, kinds with no worker left out)."""
    out: dict[WorkerKind, KindUse] = {}
    for kind in KINDS:
        rows = [
            board.workers[i]
            for i in range(board.layout.workers)
            if board.workers[i, W_PID] and board.worker_kind(i) is kind
        ]
        if rows:
            busy = sum(1 for r in rows if r[W_BUSY])
            used = sum(1 for r in rows if r[W_DONE] or r[W_BUSY])
            out[kind] = KindUse(busy, used, len(rows))
    return out


def worker_state(board: StatusBoard, worker: int) -> str:
    """``busy``, ``idle``, or ``idle, no task yet`` for a worker that never had one."""
    row = board.workers[worker]
    if row[W_BUSY]:
        return "busy"
    return "idle" if row[W_DONE] else "idle, no task yet"


def workers_line(board: StatusBoard) -> str:
    """``workers: detector 2 busy, 2/2 had work; cpu 0 busy, 1/4 had work``."""
    parts = [
        f"{kind.value} {u.busy} busy, {u.used}/{u.total} had work"
        for kind, u in worker_use(board).items()
    ]
    return "workers: " + "; ".join(parts) if parts else "workers: none started"


def summary_line(board: StatusBoard, now: float) -> str:
    """The last line of a run: videos done and failed, frames and rate, and the workers
    that never had a task (with why, for CPU workers)."""
    states = board.videos[:, V_STATE]
    done = int((states == VIDEO_DONE).sum())
    failed = int((states == VIDEO_FAILED).sum())
    elapsed = max(now - float(board.globals[G_START]), 1e-9)
    frames = int(board.globals[G_FRAMES])
    line = (
        f"finished: {done} of {len(states)} video(s) done, {failed} failed; {frames} frames "
        f"tracked in {elapsed:.1f} s ({frames / elapsed:.1f} frames/s); {workers_line(board)}"
    )
    cpu = worker_use(board).get(WorkerKind.CPU)
    if cpu is not None and cpu.used < cpu.total:
        line += (
            f" ({cpu.total - cpu.used} cpu worker(s) never had a task: a video's frames are "
            "tracked in order, one at a time, so extra cpu workers help only with several "
            "videos or many ending tracks)"
        )
    return line


def stale_workers(board: StatusBoard, stale_after_s: float, now: float) -> list[int]:
    return [
        i
        for i in range(board.layout.workers)
        if board.workers[i, W_PID] and board.heartbeat_age_s(i, now) > stale_after_s
    ]


def render(board: StatusBoard, opts: HudOptions, fps: float, now: float) -> Group:
    queues = Table(title="queues", show_edge=False)
    for col in ("category", "queued", "backlog", "running"):
        queues.add_column(col, justify="left" if col == "category" else "right")
    for i, c in enumerate(CATEGORIES):
        row = board.categories[i]
        queues.add_row(c.value, *(str(int(row[k])) for k in (C_QUEUED, C_BACKLOG, C_RUNNING)))
    workers = Table(title=workers_line(board), show_edge=False)
    for col in ("#", "kind", "pid", "category", "state", "heartbeat", "done"):
        workers.add_column(col)
    stale = set(stale_workers(board, opts.stale_after_s, now))
    for i in range(board.layout.workers):
        cat = board.worker_category(i)
        age = board.heartbeat_age_s(i, now)
        beat = f"{age:.1f}s" + (" [red]STALE[/]" if i in stale else "")
        workers.add_row(
            str(i),
            board.worker_kind(i).value,
            str(int(board.workers[i, W_PID])),
            cat.value if cat else "-",
            worker_state(board, i),
            beat,
            str(int(board.workers[i, W_DONE])),
        )
    videos = Table(title=f"videos — {fps:.1f} frames/s", show_edge=False)
    for col in ("video", "state", "read", "tracked", "ETA"):
        videos.add_column(col)
    for v, name in enumerate(opts.video_names):
        row = board.videos[v]
        total = int(row[V_TOTAL])
        done = int(row[V_TRACKED])
        eta = f"{(total - done) / fps:.0f}s" if fps > 0 and total > done else "-"
        videos.add_row(
            name,
            _STATES[int(row[V_STATE])],
            str(int(row[V_READ])),
            f"{done}/{total if total >= 0 else '?'}",
            eta,
        )
    g = board.globals
    flags = []
    if g[G_STOP]:
        flags.append("[yellow]stopping: draining queued work[/]")
    if g[G_TERMINATE]:
        flags.append("[red]terminating[/]")
    footer = (
        f"frame slots in use {int(g[G_SLOTS_USED])}/{opts.pool_slots}  "
        f"restarts {int(g[G_RESTARTS])}  {' '.join(flags)}"
    )
    return Group(queues, workers, videos, footer)


def progress_lines(board: StatusBoard, opts: HudOptions, fps: float, now: float) -> list[str]:
    lines = []
    for v, name in enumerate(opts.video_names):
        row = board.videos[v]
        total = int(row[V_TOTAL])
        lines.append(
            f"progress {name} {_STATES[int(row[V_STATE])]} tracked "
            f"{int(row[V_TRACKED])}/{total if total >= 0 else '?'} read "
            f"{int(row[V_READ])} fps {fps:.1f}"
        )
    lines.append(workers_line(board))
    for i in stale_workers(board, opts.stale_after_s, now):
        lines.append(
            f"stale worker {i} pid {int(board.workers[i, W_PID])}: no heartbeat "
            f"for {board.heartbeat_age_s(i, now):.0f}s"
        )
    return lines


def scheduler_main(board: StatusBoard, opts: HudOptions) -> None:
    """Entry point of the monitor process; returns when the orchestrator sets ``quit``."""
    signal.signal(signal.SIGINT, signal.SIG_IGN)
    console = Console(stderr=True)
    live_hud = console.is_terminal if opts.hud is None else opts.hud
    rate = Rate()
    last_log = 0.0
    live: Live | None = None
    if live_hud:
        live = Live(
            console=console, refresh_per_second=max(1, round(1 / opts.refresh_s)), transient=False
        )
        live.start()
    try:
        while not board.globals[G_QUIT]:
            now = time.time()
            fps = rate.add(now - board.globals[G_START], float(board.globals[G_FRAMES]))
            board.globals[G_ALL_IDLE] = 1.0 if all_idle(board) else 0.0
            if live is not None:
                live.update(render(board, opts, fps, now))
            elif opts.log_interval_s and now - last_log >= opts.log_interval_s:
                last_log = now
                for line in progress_lines(board, opts, fps, now):
                    print(line, file=sys.stderr, flush=True)
            time.sleep(opts.refresh_s)
        board.globals[G_ALL_IDLE] = 1.0 if all_idle(board) else 0.0
        # The end of the run: the last state (a short run can end between two progress
        # lines) and one summary line, whether anyone watches a HUD or reads a log.
        now = time.time()
        if live is not None:
            live.update(render(board, opts, fps, now))
        elif opts.log_interval_s:
            for line in progress_lines(board, opts, fps, now):
                print(line, file=sys.stderr, flush=True)
        if live is not None or opts.log_interval_s:
            print(summary_line(board, now), file=sys.stderr, flush=True)
    finally:
        if live is not None:
            live.stop()


__all__ = ["VIDEO_FAILED", "HudOptions", "all_idle", "scheduler_main"]
