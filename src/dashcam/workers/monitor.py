"""The server-mode monitor: reaps expired leases and reports; never runs a task."""

from __future__ import annotations

import logging
import threading
from dataclasses import dataclass
from typing import Any

import httpx

from dashcam.errors import StoreError
from dashcam.store.task_queue import TaskQueue

log = logging.getLogger(__name__)


@dataclass(frozen=True)
class SystemStatus:
    """What ``dashcam status`` and the monitor show."""

    workers: list[dict[str, Any]]
    tasks: dict[str, dict[str, int]]
    backlog: dict[str, int]
    throughput_per_min: dict[str, float]


def status_from_queue(
    queue: TaskQueue, *, stale_after_s: float = 30.0, window_s: float = 300.0
) -> SystemStatus:
    tasks: dict[str, dict[str, int]] = {}
    for (tt, st), n in queue.counts().items():
        tasks.setdefault(tt.value, {})[st.value] = n
    workers = [
        {
            "worker_id": w.id,
            "kind": w.kind,
            "state": w.state,
            "task_id": w.task_id,
            "task_type": w.task_type,
            "heartbeat_age_s": round(w.heartbeat_age_s, 1),
            "stale": w.heartbeat_age_s > stale_after_s and w.state != "stopped",
        }
        for w in queue.workers()
    ]
    done = queue.finished_since(window_s)
    return SystemStatus(
        workers=workers,
        tasks=tasks,
        backlog={tt: v.get("queued", 0) + v.get("retry", 0) for tt, v in tasks.items()},
        throughput_per_min={tt.value: round(n * 60 / window_s, 2) for tt, n in done.items()},
    )


def status_from_server(server_url: str, api_key: str | None) -> SystemStatus:
    headers = {"Authorization": f"Bearer {api_key}"} if api_key else {}
    try:
        with httpx.Client(base_url=server_url, headers=headers, timeout=10) as c:
            stats = c.get("/queue/stats").raise_for_status().json()
            workers = c.get("/workers").raise_for_status().json()
    except httpx.HTTPError as exc:
        raise StoreError(f"server {server_url}: {exc}") from exc
    return SystemStatus(
        workers=workers,
        tasks=stats["tasks"],
        backlog=stats["backlog"],
        throughput_per_min=stats["throughput_per_min"],
    )


class Monitor:
    """Every ``interval_s``: reap expired leases, then hand the status to ``report``."""

    def __init__(
        self, queue: TaskQueue, *, interval_s: float = 5.0, stale_after_s: float = 30.0
    ) -> None:
        self.queue = queue
        self.interval_s = interval_s
        self.stale_after_s = stale_after_s
        self._stop = threading.Event()
        self.reaped = 0

    def stop(self) -> None:
        self._stop.set()

    def tick(self) -> SystemStatus:
        n = self.queue.reap()
        if n:
            log.warning("monitor: %d expired lease(s) requeued or marked dead", n)
        self.reaped += n
        return status_from_queue(self.queue, stale_after_s=self.stale_after_s)

    def run(self, report: Any = None, *, once: bool = False) -> None:
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
