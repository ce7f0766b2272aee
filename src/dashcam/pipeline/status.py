"""The shared status map: one block of shared float64 cells, one writer per cell.

Workers write their own row (pid, active category, last heartbeat, tasks done); the
orchestrator writes queue and video counters; the scheduler reads everything and writes
only the ``all_idle`` flag. No locks and no Manager proxies: every cell has exactly one
writer and an aligned float64 store is atomic on the platforms we run on.
"""

from __future__ import annotations

import ctypes
import time
from dataclasses import dataclass
from multiprocessing.context import BaseContext
from typing import Any

import numpy as np
from numpy.typing import NDArray

from dashcam.stages.category import TaskCategory, WorkerKind

CATEGORIES: tuple[TaskCategory, ...] = tuple(TaskCategory)
KINDS: tuple[WorkerKind, ...] = tuple(WorkerKind)

# worker row
W_PID, W_KIND, W_CATEGORY, W_HEARTBEAT, W_DONE, W_BUSY = range(6)
W_COLS = 6
# category row
C_QUEUED, C_BACKLOG, C_RUNNING = range(3)
C_COLS = 3
# video row
V_TRACKED, V_TOTAL, V_READ, V_STATE, V_STARTED = range(5)
V_COLS = 5
# video states
VIDEO_WAITING, VIDEO_READING, VIDEO_FINISHING, VIDEO_DONE, VIDEO_FAILED = range(5)
# globals
G_START, G_STOP, G_TERMINATE, G_FRAMES, G_ALL_IDLE, G_QUIT, G_RESTARTS, G_SLOTS_USED = range(8)
G_COLS = 8


@dataclass(frozen=True)
class StatusLayout:
    workers: int
    videos: int

    @property
    def size(self) -> int:
        return self.workers * W_COLS + len(CATEGORIES) * C_COLS + self.videos * V_COLS + G_COLS


class StatusBoard:
    """Typed numpy views over the shared block (create with :meth:`create`)."""

    def __init__(self, raw: Any, layout: StatusLayout) -> None:
        self.raw = raw
        self.layout = layout
        flat: NDArray[np.float64] = np.frombuffer(raw, dtype=np.float64)
        w, v = layout.workers, layout.videos
        a = w * W_COLS
        b = a + len(CATEGORIES) * C_COLS
        c = b + v * V_COLS
        self.workers = flat[:a].reshape(w, W_COLS)
        self.categories = flat[a:b].reshape(len(CATEGORIES), C_COLS)
        self.videos = flat[b:c].reshape(v, V_COLS)
        self.globals = flat[c : c + G_COLS]

    @classmethod
    def create(cls, ctx: BaseContext, layout: StatusLayout) -> StatusBoard:
        raw = ctx.RawArray(ctypes.c_double, layout.size)
        board = cls(raw, layout)
        board.workers[:, W_CATEGORY] = -1
        board.videos[:, V_TOTAL] = -1
        board.globals[G_START] = time.time()
        return board

    def __reduce__(self) -> tuple[Any, ...]:
        return (StatusBoard, (self.raw, self.layout))

    # --- worker side ----------------------------------------------------------------------
    def beat(self, worker: int, category: TaskCategory | None, *, busy: bool) -> None:
        row = self.workers[worker]
        row[W_CATEGORY] = -1 if category is None else CATEGORIES.index(category)
        row[W_BUSY] = 1.0 if busy else 0.0
        row[W_HEARTBEAT] = time.time()

    def register(self, worker: int, pid: int, kind: WorkerKind) -> None:
        row = self.workers[worker]
        row[W_PID] = pid
        row[W_KIND] = KINDS.index(kind)
        row[W_BUSY] = 0.0
        row[W_HEARTBEAT] = time.time()

    def task_done(self, worker: int) -> None:
        self.workers[worker, W_DONE] += 1

    # --- readers of the board -------------------------------------------------------------
    def worker_category(self, worker: int) -> TaskCategory | None:
        code = int(self.workers[worker, W_CATEGORY])
        return CATEGORIES[code] if code >= 0 else None

    def worker_kind(self, worker: int) -> WorkerKind:
        return KINDS[int(self.workers[worker, W_KIND])]

    def heartbeat_age_s(self, worker: int, now: float | None = None) -> float:
        beat = float(self.workers[worker, W_HEARTBEAT])
        return (time.time() if now is None else now) - beat if beat else float("inf")

    def busiest(self, kind: WorkerKind) -> TaskCategory | None:
        """The category of ``kind`` with the most queued tasks, from the shared counters."""
        best: TaskCategory | None = None
        most = 0.0
        for i, c in enumerate(CATEGORIES):
            n = float(self.categories[i, C_QUEUED])
            if c.kind == kind and n > most:
                best, most = c, n
        return best
