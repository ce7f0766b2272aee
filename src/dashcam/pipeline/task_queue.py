"""The central task queue: one FIFO per :class:`TaskCategory`, soft and hard limits.

Lives in the orchestrator process (readers are threads there, workers get tasks through
their own pipe), so a worker killed at any moment can never leave a queue lock held.

- A category's backlog counts every frame that still has to pass it (queued, running, or
  upstream of it); per-video tasks count as queued. Readers call
  :meth:`CentralTaskQueue.wait_for_room` before each new frame: above the soft limit of
  any category they slow down, at the hard limit they block — so no queue can ever grow
  past the hard limit, however slow a stage is.
- ``max_cpu_backlog`` also blocks readers while that many analysed frames wait for the
  CPU stages (the frame pool bounds the frames waiting for the detector stages).
- Workers name the busiest category of their kind (:meth:`busiest`); the dispatcher
  serves that one when it has work, else the next busiest of the same kind.
"""

from __future__ import annotations

import threading
import time
from collections import deque

from dashcam.pipeline.tasks import Task
from dashcam.stages.category import TaskCategory, WorkerKind

CATEGORIES: tuple[TaskCategory, ...] = tuple(TaskCategory)
#: Categories every frame passes through, in order (OCR is skipped without plates).
FRAME_CATEGORIES: tuple[TaskCategory, ...] = (
    TaskCategory.VEHICLE_DETECT,
    TaskCategory.PLATE_DETECT,
    TaskCategory.OCR,
    TaskCategory.VEHICLE_TRACK,
)


class CentralTaskQueue:
    """Per-category FIFOs with backpressure for the producers (thread-safe).

    ``high_water`` is the longest each FIFO ever was; ``backlog_high_water`` the largest
    backlog (queued + running + upstream) each category ever had.
    """

    def __init__(
        self,
        *,
        soft_limit: int,
        hard_limit: int,
        max_cpu_backlog: int | None = None,
        max_slowdown_s: float = 0.05,
    ) -> None:
        self.soft_limit = soft_limit
        self.hard_limit = hard_limit
        self.max_cpu_backlog = max_cpu_backlog
        self.max_slowdown_s = max_slowdown_s
        self._q: dict[TaskCategory, deque[Task]] = {c: deque() for c in CATEGORIES}
        self._admitted = 0
        self._completed: dict[TaskCategory, int] = dict.fromkeys(FRAME_CATEGORIES, 0)
        self._cond = threading.Condition()
        self.high_water: dict[TaskCategory, int] = dict.fromkeys(CATEGORIES, 0)
        self.backlog_high_water: dict[TaskCategory, int] = dict.fromkeys(CATEGORIES, 0)
        self.blocked_s = 0.0  # total time producers spent blocked at the hard limit
        self.slowed = 0  # times a producer slowed down above the soft limit

    # --- producers ------------------------------------------------------------------------
    def put(self, task: Task, *, front: bool = False, new_frame: bool = False) -> None:
        """Queue a task (``front``: re-queued work goes first; ``new_frame``: a reader
        admits a frame, which now counts towards every frame category's backlog)."""
        with self._cond:
            if new_frame:
                self._admitted += 1
            q = self._q[task.category]
            if front:
                q.appendleft(task)
            else:
                q.append(task)
            for c in CATEGORIES:
                self._note(c)

    def complete(self, category: TaskCategory) -> None:
        """One frame has passed (or skipped) ``category``."""
        with self._cond:
            self._completed[category] += 1
            self._cond.notify_all()

    def wait_for_room(self, stop: threading.Event | None, *, poll_s: float = 0.1) -> bool:
        """Block while a category is at the hard limit (or too many analysed frames wait
        for the CPU stages); sleep a little above the soft limit. False when ``stop`` was
        set meanwhile."""
        t0 = time.monotonic()
        with self._cond:
            while self._fullest() >= self.hard_limit or self._cpu_full():
                if stop is not None and stop.is_set():
                    return False
                self._cond.wait(poll_s)
            self.blocked_s += time.monotonic() - t0
            over = self._fullest() - self.soft_limit
        if over >= 0:
            self.slowed += 1
            span = max(self.hard_limit - self.soft_limit, 1)
            time.sleep(self.max_slowdown_s * min(1.0, (over + 1) / span))
        return not (stop is not None and stop.is_set())

    def wake(self) -> None:
        with self._cond:
            self._cond.notify_all()

    # --- dispatcher -----------------------------------------------------------------------
    def take(self, category: TaskCategory) -> Task | None:
        with self._cond:
            q = self._q[category]
            if not q:
                return None
            return q.popleft()

    def take_for(self, kind: WorkerKind, want: TaskCategory | None) -> Task | None:
        """A task for a worker of ``kind``: from ``want`` if it has any, else the busiest."""
        if want is not None and want.kind == kind:
            task = self.take(want)
            if task is not None:
                return task
        best = self.busiest(kind)
        return self.take(best) if best is not None else None

    def busiest(self, kind: WorkerKind) -> TaskCategory | None:
        """The category of ``kind`` with the most queued tasks (None when all are empty)."""
        with self._cond:
            counts = [(len(self._q[c]), -i, c) for i, c in enumerate(CATEGORIES) if c.kind == kind]
        n, _, cat = max(counts)
        return cat if n > 0 else None

    def backlog(self, category: TaskCategory) -> int:
        with self._cond:
            return self._backlog(category)

    def queued(self, category: TaskCategory) -> int:
        with self._cond:
            return len(self._q[category])

    def total(self) -> int:
        with self._cond:
            return sum(len(q) for q in self._q.values())

    def drain(self) -> list[Task]:
        """Remove and return every queued task (terminate path)."""
        with self._cond:
            out = [t for q in self._q.values() for t in q]
            for q in self._q.values():
                q.clear()
            self._cond.notify_all()
            return out

    def _backlog(self, c: TaskCategory) -> int:
        if c in self._completed:
            return self._admitted - self._completed[c]
        return len(self._q[c])

    def _fullest(self) -> int:
        return max(self._backlog(c) for c in CATEGORIES)

    def _cpu_full(self) -> bool:
        if self.max_cpu_backlog is None:
            return False
        waiting = self._completed[TaskCategory.OCR] - self._completed[TaskCategory.VEHICLE_TRACK]
        return waiting >= self.max_cpu_backlog

    def _note(self, c: TaskCategory) -> None:
        self.high_water[c] = max(self.high_water[c], len(self._q[c]))
        self.backlog_high_water[c] = max(self.backlog_high_water[c], self._backlog(c))
