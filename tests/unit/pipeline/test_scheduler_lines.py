"""What the scheduler prints about workers and at the end of a run (from a status board)."""

from __future__ import annotations

import multiprocessing as mp

from rich.console import Console

from dashcam.pipeline.scheduler import (
    HudOptions,
    render,
    summary_line,
    worker_state,
    worker_use,
    workers_line,
)
from dashcam.pipeline.status import (
    G_FRAMES,
    G_START,
    V_STATE,
    V_TOTAL,
    V_TRACKED,
    VIDEO_DONE,
    StatusBoard,
    StatusLayout,
)
from dashcam.stages.category import TaskCategory, WorkerKind


def _board() -> StatusBoard:
    """Two detector and four CPU workers; one CPU worker did all the CPU work."""
    board = StatusBoard.create(mp.get_context("spawn"), StatusLayout(workers=6, videos=1))
    kinds = [WorkerKind.DETECTOR] * 2 + [WorkerKind.CPU] * 4
    for i, kind in enumerate(kinds):
        board.register(i, 1000 + i, kind)
    for i in (0, 1, 2):
        board.task_done(i)
    board.beat(0, TaskCategory.OCR, busy=True)
    return board


def test_worker_use_counts_busy_and_never_used_per_kind() -> None:
    use = worker_use(_board())
    assert [(k, u.busy, u.used, u.total) for k, u in use.items()] == [
        (WorkerKind.DETECTOR, 1, 2, 2),
        (WorkerKind.CPU, 0, 1, 4),
    ]
    board = _board()
    assert [worker_state(board, i) for i in range(6)] == [
        "busy",
        "idle",
        "idle",
        "idle, no task yet",
        "idle, no task yet",
        "idle, no task yet",
    ]
    assert workers_line(board) == (
        "workers: detector 1 busy, 2/2 had work; cpu 0 busy, 1/4 had work"
    )


def test_the_hud_shows_which_workers_never_had_a_task() -> None:
    board = _board()
    console = Console(record=True, width=160)
    console.print(render(board, HudOptions(video_names=("a.mp4",)), fps=3.0, now=0.0))
    text = console.export_text()
    assert "cpu 0 busy, 1/4 had work" in text
    assert text.count("idle, no task yet") == 3


def test_summary_line_says_what_was_done_and_why_cpu_workers_idled() -> None:
    board = _board()
    board.globals[G_START] = 100.0
    board.globals[G_FRAMES] = 50
    board.videos[0, V_STATE] = VIDEO_DONE
    board.videos[0, [V_TOTAL, V_TRACKED]] = 50
    line = summary_line(board, now=110.0)
    assert line.startswith("finished: 1 of 1 video(s) done, 0 failed; 50 frames tracked in ")
    assert "(5.0 frames/s)" in line and "cpu 0 busy, 1/4 had work" in line
    assert "3 cpu worker(s) never had a task" in line
