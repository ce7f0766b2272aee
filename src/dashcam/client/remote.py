"""The client over a server's HTTP API (bearer ``DASHCAM_API_KEY``).

The server's JSON is turned back into the records the local client returns
(:class:`VideoRecord`, :class:`StoredSighting`, :class:`Task`, :class:`SystemStatus`), so
a command cannot tell the two apart.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from datetime import datetime
from pathlib import Path
from typing import Any

import httpx

from dashcam.client.base import PAGE
from dashcam.errors import ConfigError, InputError, StoreError
from dashcam.output.metadata import (
    gps_clock_from_dict,
    sighting_from_dict,
    video_clock_from_dict,
)
from dashcam.services.ingest import IngestResult
from dashcam.store.results import StoredSighting, VideoRecord
from dashcam.store.schema import VideoStatus
from dashcam.store.status import SystemStatus, WorkerView
from dashcam.store.task_records import Task
from dashcam.store.task_schema import TaskStatus, TaskType

INGEST_TIMEOUT_S = 600.0  # the server hashes every new file before it answers


def _time(iso: str | None) -> datetime | None:
    return None if iso is None else datetime.fromisoformat(iso.replace("Z", "+00:00"))


def _epoch(iso: str | None) -> float | None:
    t = _time(iso)
    return None if t is None else t.timestamp()


def video_from_json(d: Mapping[str, Any]) -> VideoRecord:
    """A ``/videos`` entry as the record ``ResultsRepository.list_videos`` gives."""
    return VideoRecord(
        id=d["id"],
        path=d["path"],
        status=VideoStatus(d["status"]),
        width=d.get("width"),
        height=d.get("height"),
        fps=d.get("fps"),
        duration_s=d.get("duration_s"),
        recorded_at=_time(d.get("recorded_at")),
        gps_path=d.get("gps_path"),
        gps_clock=gps_clock_from_dict(d.get("gps_clock")),
        clock=video_clock_from_dict(d.get("clock")),
        output_dir=d.get("output_dir"),
        archive_dir=d.get("archive_dir"),
        frames_processed=d.get("frames_processed"),
        progress=d.get("progress"),
        error=d.get("error"),
        registered_at=_time(d.get("registered_at")),
        processed_at=_time(d.get("processed_at")),
        n_sightings=int(d.get("n_sightings") or 0),
    )


def stored_sighting_from_json(d: Mapping[str, Any]) -> StoredSighting:
    return StoredSighting(id=int(d["id"]), sighting=sighting_from_dict(dict(d)))


def task_from_json(d: Mapping[str, Any]) -> Task:
    """A ``/tasks`` entry as the queue's :class:`Task` (the lease token stays private)."""
    return Task(
        id=int(d["id"]),
        task_type=TaskType(d["task_type"]),
        status=TaskStatus(d["status"]),
        payload=d.get("payload") or {},
        attempts=int(d["attempts"]),
        max_attempts=int(d["max_attempts"]),
        priority=int(d.get("priority") or 0),
        lease_token=None,
        lease_expires_s=_epoch(d.get("lease_expires_at")),
        worker_id=d.get("worker_id"),
        parent_id=d.get("parent_id"),
        video_id=d.get("video_id"),
        result=d.get("result"),
        error=d.get("error"),
        run_after_s=_epoch(d.get("run_after")) or 0.0,
        created_s=_epoch(d.get("created_at")) or 0.0,
        updated_s=_epoch(d.get("updated_at")) or 0.0,
        started_s=_epoch(d.get("started_at")),
        finished_s=_epoch(d.get("finished_at")),
    )


def worker_from_json(d: Mapping[str, Any]) -> WorkerView:
    return WorkerView(
        worker_id=d["worker_id"],
        kind=d["kind"],
        host=d.get("host"),
        pid=d.get("pid"),
        state=d["state"],
        task_id=d.get("task_id"),
        task_type=d.get("task_type"),
        last_heartbeat_s=_epoch(d.get("last_heartbeat_at")) or 0.0,
        heartbeat_age_s=float(d["heartbeat_age_s"]),
        stale=bool(d["stale"]),
    )


class RemoteClient:
    """Every call is one HTTP request to ``server_url`` (``sightings`` pages)."""

    def __init__(
        self, server_url: str, api_key: str | None = None, *, timeout_s: float = 30.0
    ) -> None:
        self.server_url = server_url.rstrip("/")
        headers = {"Authorization": f"Bearer {api_key}"} if api_key else {}
        self.http = httpx.Client(base_url=self.server_url, headers=headers, timeout=timeout_s)

    @property
    def where(self) -> str:
        return f"the server {self.server_url}"

    def _call(
        self,
        method: str,
        path: str,
        *,
        params: Mapping[str, Any] | None = None,
        json: Any = None,
        ok: Sequence[int] = (),
        timeout_s: float | None = None,
    ) -> httpx.Response:
        """One request; an error answer (other than those in ``ok``) raises: a refused key
        is a ConfigError, a refused request an InputError, anything else a StoreError."""
        query = {k: v for k, v in (params or {}).items() if v is not None}
        try:
            r = self.http.request(
                method,
                path,
                params=query,
                json=json,
                timeout=timeout_s if timeout_s is not None else httpx.USE_CLIENT_DEFAULT,
            )
        except httpx.HTTPError as exc:
            raise StoreError(f"server {self.server_url} unreachable") from exc
        if r.status_code < 400 or r.status_code in ok:
            return r
        try:
            detail = r.json().get("detail", r.text)
        except ValueError:
            detail = r.text[:200]
        what = f"server {self.server_url} answered {r.status_code} to {path}: {detail}"
        if r.status_code in (401, 403):
            raise ConfigError(f"{what} (check DASHCAM_API_KEY)")
        if r.status_code < 500:
            raise InputError(what)
        raise StoreError(what)

    def videos(self, *, status: VideoStatus | None = None, limit: int = 1000) -> list[VideoRecord]:
        params = {"status": status.value if status else None, "limit": limit}
        return [video_from_json(d) for d in self._call("GET", "/videos", params=params).json()]

    def sightings(self, *, video_id: str | None = None) -> list[StoredSighting]:
        out: list[StoredSighting] = []
        while True:
            params = {"video_id": video_id, "limit": PAGE, "offset": len(out)}
            page = self._call("GET", "/sightings", params=params).json()
            out += [stored_sighting_from_json(d) for d in page]
            if len(page) < PAGE:
                return out

    def search_plates(self, text: str, max_distance: float) -> list[tuple[StoredSighting, float]]:
        params = {"q": text, "max_distance": max_distance}
        rows = self._call("GET", "/plates/search", params=params).json()
        return [(stored_sighting_from_json(d), float(d["distance"])) for d in rows]

    def tasks(
        self,
        *,
        status: TaskStatus | None = None,
        task_type: TaskType | None = None,
        limit: int = 50,
    ) -> list[Task]:
        params = {
            "status": status.value if status else None,
            "task_type": task_type.value if task_type else None,
            "limit": limit,
        }
        return [task_from_json(d) for d in self._call("GET", "/tasks", params=params).json()]

    def cancel_task(self, task_id: int) -> bool:
        return self._call("POST", f"/tasks/{task_id}/cancel", ok=(409,)).status_code < 400

    def requeue_task(self, task_id: int) -> bool:
        return self._call("POST", f"/tasks/{task_id}/requeue", ok=(409,)).status_code < 400

    def ingest(self, paths: Sequence[Path]) -> list[IngestResult]:
        if not paths:
            return []
        body = {"paths": [str(p.resolve()) for p in paths]}
        rows = self._call("POST", "/videos/ingest", json=body, timeout_s=INGEST_TIMEOUT_S).json()
        return [
            IngestResult(Path(d["path"]), d["video_id"], d.get("task_id"), d.get("duplicate_of"))
            for d in rows
        ]

    def status(self) -> SystemStatus:
        stats = self._call("GET", "/queue/stats").json()
        workers = self._call("GET", "/workers").json()
        return SystemStatus(
            workers=[worker_from_json(w) for w in workers],
            tasks=stats["tasks"],
            backlog=stats["backlog"],
            throughput_per_min=stats["throughput_per_min"],
        )

    def close(self) -> None:
        self.http.close()
