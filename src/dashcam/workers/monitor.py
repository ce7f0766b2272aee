"""The server-mode monitor: reaps expired leases, repairs videos left behind by older
versions' two-step completions, and reports; never runs a task."""

from __future__ import annotations

import logging
import threading
from collections.abc import Callable

from dashcam.errors import StoreError
from dashcam.services.completion import repair_videos
from dashcam.store.results import ResultsRepository
from dashcam.store.status import SystemStatus, system_status
from dashcam.store.task_queue import TaskQueue

log = logging.getLogger(__name__)


class Monitor:
    """Every ``interval_s``: reap expired leases, repair videos whose heavy task finished
    while they stayed ``processing``, then hand the status to ``report``."""

    def __init__(
        self,
        queue: TaskQueue,
        *,
        repo: ResultsRepository | None = None,
        interval_s: float = 5.0,
        stale_after_s: float = 30.0,
    ) -> None:
        self.queue = queue
        self.repo = repo or ResultsRepository(queue.engine)
        self.interval_s = interval_s
        self.stale_after_s = stale_after_s
        self._stop = threading.Event()
        self.reaped = 0
        self.repaired = 0

    def stop(self) -> None:
        self._stop.set()

    def tick(self) -> SystemStatus:
        n = self.queue.reap()
        if n:
            log.warning("monitor: %d expired lease(s) requeued or marked dead", n)
        self.reaped += n
        self.repaired += repair_videos(self.queue, self.repo)
        return system_status(self.queue, stale_after_s=self.stale_after_s)

    def run(
        self, report: Callable[[SystemStatus], None] | None = None, *, once: bool = False
    ) -> None:
        while not self._stop.is_set():
            try:
                status = self.tick()
                if report is not None:
                    report(status)
            except StoreError as exc:
                log.warning("monitor: %s", exc)
            if once:
                return
            self._stop.wait(self.interval_s)
