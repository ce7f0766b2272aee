"""The two transports of :class:`~dashcam.workers.base.QueueClient`.

``DirectQueueClient``: a worker on a machine that reaches the database (the server's own
machine, or a LAN with PostgreSQL). ``HttpQueueClient``: a remote workstation that only
reaches the server's HTTP API (the seed worker protocol).
"""

from __future__ import annotations

import os
import socket
from collections.abc import Sequence
from typing import Any

import httpx

from dashcam.errors import ConfigError, InputError, LeaseLost, StoreError, TaskNotFound
from dashcam.services import completion
from dashcam.store.results import ResultsRepository
from dashcam.store.task_queue import TaskQueue
from dashcam.store.task_records import FollowUp
from dashcam.store.task_schema import TaskType
from dashcam.workers.base import ClaimedTask


class DirectQueueClient:
    def __init__(self, queue: TaskQueue, repo: ResultsRepository) -> None:
        self.queue = queue
        self.repo = repo

    def claim(self, task_types: Sequence[TaskType], worker_id: str) -> ClaimedTask | None:
        tasks = completion.claim(self.queue, self.repo, task_types, worker_id)
        if not tasks:
            return None
        t = tasks[0]
        return ClaimedTask(
            t.id,
            t.lease_token or "",
            t.task_type,
            t.payload,
            t.video_id,
            t.attempts,
            t.max_attempts,
        )

    def heartbeat(self, task: ClaimedTask) -> None:
        self.queue.heartbeat(task.id, task.token)

    def complete(
        self, task: ClaimedTask, result: dict[str, Any], follow_ups: Sequence[FollowUp]
    ) -> None:
        parsed = completion.parse_result(result)  # all of it checked before any write
        sightings = completion.sightings_of(parsed)
        completion.complete(
            self.queue, self.repo, task.id, task.token, parsed, follow_ups, sightings=sightings
        )

    def fail(self, task: ClaimedTask, error: str, *, retry: bool = True) -> None:
        completion.fail(self.queue, self.repo, task.id, task.token, error, retry=retry)

    def release(self, task: ClaimedTask) -> None:
        self.queue.release(task.id, task.token)

    def worker_heartbeat(
        self, worker_id: str, kind: str, task: ClaimedTask | None, state: str
    ) -> None:
        self.queue.worker_heartbeat(
            worker_id,
            kind,
            host=socket.gethostname(),
            pid=os.getpid(),
            task_id=task.id if task else None,
            task_type=task.task_type if task else None,
            state=state,
        )


def follow_ups_to_wire(follow_ups: Sequence[FollowUp]) -> list[dict[str, Any]]:
    """Follow-ups as the seed completion payload's ``remote_tasks``."""
    return [
        {
            "task_type": TaskType(f.task_type).value,
            "payload": f.payload,
            "priority": f.priority,
            "video_id": f.video_id,
        }
        for f in follow_ups
    ]


def _raise_for_status(r: httpx.Response, path: str) -> None:
    """Map an error answer: a refused key is a config error and a refused request an input
    error (retrying cannot help); a server error is a StoreError (worth retrying)."""
    if r.status_code < 400:
        return
    what = f"server answered {r.status_code} to {path}: {r.text[:200]}"
    if r.status_code in (401, 403):
        raise ConfigError(f"{what} (check DASHCAM_API_KEY)")
    if r.status_code < 500:
        raise InputError(what)
    raise StoreError(what)


class HttpQueueClient:
    """The seed worker protocol over HTTP, with a bearer API key."""

    def __init__(
        self, server_url: str, api_key: str | None = None, *, timeout_s: float = 30.0
    ) -> None:
        headers = {"Authorization": f"Bearer {api_key}"} if api_key else {}
        self.http = httpx.Client(
            base_url=server_url.rstrip("/"), headers=headers, timeout=timeout_s
        )
        self.server_url = server_url

    def _post(self, path: str, body: dict[str, Any] | None = None) -> httpx.Response:
        try:
            r = self.http.post(path, json=body or {})
        except httpx.HTTPError as exc:
            raise StoreError(f"server {self.server_url} unreachable: {exc}") from exc
        if r.status_code == 409:
            raise LeaseLost(r.json().get("detail", "lease lost"))
        if r.status_code == 404:
            raise TaskNotFound(r.json().get("detail", "not found"))
        _raise_for_status(r, path)
        return r

    def claim(self, task_types: Sequence[TaskType], worker_id: str) -> ClaimedTask | None:
        for tt in task_types:
            try:
                r = self.http.get(
                    "/tasks/next", params={"task_type": TaskType(tt).value, "worker_id": worker_id}
                )
            except httpx.HTTPError as exc:
                raise StoreError(f"server {self.server_url} unreachable: {exc}") from exc
            if r.status_code == 204:
                continue
            _raise_for_status(r, "/tasks/next")
            d = r.json()
            head, _, token = str(d["task_id"]).partition(".")
            return ClaimedTask(
                id=int(head),
                token=token,
                task_type=TaskType(d.get("task_type", tt)),
                payload=d.get("inputs") or {},
                video_id=d.get("video_id"),
                attempts=int(d.get("attempts", 1)),
                max_attempts=int(d.get("max_attempts", 1)),
            )
        return None

    def heartbeat(self, task: ClaimedTask) -> None:
        self._post(f"/tasks/{task.wire_id}/heartbeat")

    def complete(
        self, task: ClaimedTask, result: dict[str, Any], follow_ups: Sequence[FollowUp]
    ) -> None:
        body = {
            "video_id": task.video_id,
            "task_id": task.wire_id,
            **result,
            "remote_tasks": follow_ups_to_wire(follow_ups),
        }
        self._post(f"/tasks/{task.wire_id}/complete", body)

    def fail(self, task: ClaimedTask, error: str, *, retry: bool = True) -> None:
        self._post(f"/tasks/{task.wire_id}/fail", {"error": error, "retry": retry})

    def release(self, task: ClaimedTask) -> None:
        self._post(f"/tasks/{task.wire_id}/release")

    def worker_heartbeat(
        self, worker_id: str, kind: str, task: ClaimedTask | None, state: str
    ) -> None:
        self._post(
            "/workers/heartbeat",
            {
                "worker_id": worker_id,
                "kind": kind,
                "host": socket.gethostname(),
                "pid": os.getpid(),
                "task_id": task.id if task else None,
                "state": state,
            },
        )
