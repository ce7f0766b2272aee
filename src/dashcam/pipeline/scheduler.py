"""The Scheduler: a monitor process that never runs tasks.

It reads the shared status map and shows a live HUD (``rich`` Live) on a terminal:
backlog per category, each worker's category and heartbeat age (stale ones flagged),
frames/s, per-video progress and ETA. When stderr is not a terminal it prints one plain
``progress`` line per video every ``log_interval_s`` instead (0 turns that off). It sets
the ``all_idle`` flag when every worker is idle and every queue is empty, which the
orchestrator waits for before it ends the workers.
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
    workers = Table(title="workers", show_edge=False)
    for col in ("#", "kind", "pid", "category", "busy", "heartbeat", "done"):
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
            "yes" if board.workers[i, W_BUSY] else "",
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
    finally:
        if live is not None:
            live.stop()


__all__ = ["VIDEO_FAILED", "HudOptions", "all_idle", "scheduler_main"]
