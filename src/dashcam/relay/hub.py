"""The relay's core: cameras feed frames, frames become jobs, jobs are offered to workers.

Everything here runs on one asyncio loop (camera threads hop onto it with
``call_soon_threadsafe``), so job claims are decided by plain sequential code: the first
claim wins and every later one gets 409, with no locks.
"""

from __future__ import annotations

import asyncio
import contextlib
import json
import logging
import time
import uuid
from collections.abc import Callable
from dataclasses import dataclass
from datetime import UTC, datetime
from typing import Any

from pydantic import ValidationError

from dashcam.config import Settings
from dashcam.domain.events import EventPublisher, PlateReadEvent
from dashcam.errors import InputError
from dashcam.relay.cameras import Camera, CameraSpec, CameraState, CameraStatus
from dashcam.relay.connections import WorkerConnection, WorkerRegistry
from dashcam.relay.frames import FrameStore
from dashcam.relay.jobs import Job, JobBook, JobState, NotJobOwner
from dashcam.relay.live import ResultOrder, frame_reads
from dashcam.relay.messages import (
    JobAvailableMessage,
    JobMetadata,
    JobOffer,
    RegisteredData,
    RegisteredMessage,
)
from dashcam.relay.sightings import Horizon, SightingBuilder

log = logging.getLogger(__name__)

_MAX_PENDING_FRAMES = 32  # per camera, frames handed to the loop but not yet taken


@dataclass(frozen=True)
class RelayConfig:
    fps: float = 1.0
    frames_per_job: int = 1
    heartbeat_timeout_s: float = 30.0
    job_ttl_s: float = 60.0
    max_frame_bytes: int = 256 * 1024 * 1024
    worker_queue: int = 256
    max_message_bytes: int = 64 * 1024
    auto_start: bool = False
    max_open_jobs: int = 10_000
    result_subscriber_queue: int = 1000
    sightings_tick_s: float = 0.25  # how often quiet cameras' tracks are checked for closing

    @classmethod
    def from_settings(cls, s: Settings) -> RelayConfig:
        return cls(
            fps=s.relay_fps,
            frames_per_job=s.relay_frames_per_job,
            heartbeat_timeout_s=s.relay_heartbeat_timeout_s,
            job_ttl_s=s.relay_job_ttl_s,
            max_frame_bytes=s.relay_max_frame_bytes,
            worker_queue=s.relay_worker_queue,
            max_message_bytes=s.relay_max_message_bytes,
            auto_start=s.auto_request_realtime_stream,
        )


class Relay:
    """Cameras, the job book, the frame store and the connected workers; with
    ``sightings``, the camera frames' reads become stored sightings (``relay.sightings``).

    ``publisher`` gets a ``plate_read`` event for each plate a worker's result names
    (docs/events.md); ``cameras_changed`` is told the camera names whenever they change
    (the MQTT publisher keeps Home Assistant's per-camera sensors from them).
    """

    def __init__(
        self,
        config: RelayConfig | None = None,
        sightings: SightingBuilder | None = None,
        *,
        publisher: EventPublisher | None = None,
        cameras_changed: Callable[[list[str]], None] | None = None,
    ) -> None:
        self.config = config or RelayConfig()
        self.sightings = sightings
        self.publisher = publisher
        self.cameras_changed = cameras_changed
        self.order = ResultOrder()
        self._frame_seq: dict[str, int] = {}
        self._offers = 0
        self.frames = FrameStore(self.config.max_frame_bytes)
        self.jobs = JobBook(self.config.job_ttl_s, max_open=self.config.max_open_jobs)
        self.workers = WorkerRegistry()
        self.cameras: dict[str, Camera] = {}
        self.started_at = time.time()
        self.messages_dropped = 0
        self._loop: asyncio.AbstractEventLoop | None = None
        self._pending: dict[str, int] = {}
        self._batches: dict[str, list[tuple[bytes, tuple[int, int], float]]] = {}
        self._subscribers: set[asyncio.Queue[str]] = set()
        self._maintenance: asyncio.Task[None] | None = None
        self._horizons: asyncio.Task[None] | None = None

    @property
    def loop(self) -> asyncio.AbstractEventLoop | None:
        return self._loop

    # --- life cycle (on the loop) -----------------------------------------------------
    async def start(self) -> None:
        self._loop = asyncio.get_running_loop()
        self._maintenance = asyncio.create_task(self._maintain())
        if self.sightings is not None:
            self.sightings.start()
            self._horizons = asyncio.create_task(self._tick_sightings())
        if self.config.auto_start:
            for cam in self.cameras.values():
                cam.start()

    async def stop(self) -> None:
        for cam in self.cameras.values():
            await asyncio.to_thread(cam.stop)
        for task in (self._maintenance, self._horizons):
            if task is not None:
                task.cancel()
                with contextlib.suppress(asyncio.CancelledError):
                    await task
        if self.sightings is not None:
            # what workers finished goes in, then every open track becomes a sighting
            for camera in self.order.cameras():
                self._hand_over(self.order.flush(camera))
            await asyncio.to_thread(self.sightings.stop)
        for conn in self.workers.connections():
            await conn.close(1001)

    async def _maintain(self) -> None:
        period = max(0.05, min(1.0, self.config.heartbeat_timeout_s / 4, self.config.job_ttl_s / 4))
        while True:
            await asyncio.sleep(period)
            self.tick(time.time())

    async def _tick_sightings(self) -> None:
        while True:
            await asyncio.sleep(self.config.sightings_tick_s)
            self.tick_sightings(time.time())

    def tick_sightings(self, now: float) -> None:
        """Tell the sighting thread how far each camera's frames are handed over."""
        if self.sightings is None:
            return
        for camera in self.order.cameras():
            self._advance(camera, now)
            batch = self._batches.get(camera)
            horizon = self.order.horizon(camera, batch[0][2] if batch else now)
            self.sightings.put(Horizon(camera, horizon))

    def tick(self, now: float) -> None:
        """Expire unclaimed jobs and drop workers silent past the heartbeat timeout."""
        for job in self.jobs.expire(now):
            self._finished(job)
        for conn in self.workers.connections():
            if now - conn.last_seen > self.config.heartbeat_timeout_s:
                silent_s = now - conn.last_seen
                log.info("worker %s silent for %.1f s: dropped", conn.worker_id, silent_s)
                self.disconnect(conn, now)
                asyncio.get_running_loop().create_task(conn.close(1001))

    # --- cameras -------------------------------------------------------------------
    def add_camera(self, spec: CameraSpec) -> Camera:
        if spec.name in self.cameras:
            raise InputError(f"camera {spec.name!r} already exists")
        cam = Camera(spec, self.config.fps, self.ingest_threadsafe)
        self.cameras[spec.name] = cam
        if self.sightings is not None:
            self.sightings.recorder.camera_urls[spec.name] = spec.url
        if self.cameras_changed is not None:
            self.cameras_changed(sorted(self.cameras))
        if self.config.auto_start and self._loop is not None:
            cam.start()
        return cam

    def camera(self, name: str) -> Camera:
        cam = self.cameras.get(name)
        if cam is None:
            raise KeyError(name)
        return cam

    def services(self) -> list[CameraStatus]:
        return [c.status() for c in self.cameras.values()]

    def ingest_threadsafe(
        self, service_id: str, jpeg: bytes, wh: tuple[int, int], timestamp: float
    ) -> bool:
        """Called from a camera thread: hand the frame to the loop, or drop it if it lags."""
        loop = self._loop
        if loop is None or loop.is_closed():
            return False
        if self._pending.get(service_id, 0) >= _MAX_PENDING_FRAMES:
            return False
        self._pending[service_id] = self._pending.get(service_id, 0) + 1
        try:
            loop.call_soon_threadsafe(self._ingest_on_loop, service_id, jpeg, wh, timestamp)
        except RuntimeError:  # loop closed meanwhile
            return False
        return True

    def _ingest_on_loop(
        self, service_id: str, jpeg: bytes, wh: tuple[int, int], timestamp: float
    ) -> None:
        self._pending[service_id] = max(0, self._pending.get(service_id, 0) - 1)
        batch = self._batches.setdefault(service_id, [])
        batch.append((jpeg, wh, timestamp))
        if len(batch) >= self.config.frames_per_job:
            del self._batches[service_id]
            self.submit(
                service_id,
                [b[0] for b in batch],
                batch[0][1],
                batch[0][2],
                frame_times=[b[2] for b in batch],
            )

    # --- jobs ----------------------------------------------------------------------
    def submit(
        self,
        service_id: str,
        jpegs: list[bytes],
        resolution_wh: tuple[int, int],
        timestamp: float,
        now: float | None = None,
        frame_times: list[float] | None = None,
    ) -> Job:
        """Open a job for these frames and offer it to every registered worker."""
        now = time.time() if now is None else now
        seq = self._frame_seq.get(service_id, 0)
        self._frame_seq[service_id] = seq + len(jpegs)
        job_id = uuid.uuid4().hex
        frame_ids = [str(uuid.uuid4()) for _ in jpegs]
        cam = self.cameras.get(service_id)
        job = Job(
            job_id,
            service_id,
            timestamp,
            frame_ids,
            resolution_wh,
            offered_at=now,
            camera_url=cam.spec.url if cam else None,
            seq=seq,
            frame_times=frame_times or [],
        )
        for fid, jpeg in zip(frame_ids, jpegs, strict=True):
            for victim in self.frames.put(fid, job_id, jpeg):
                dropped = self.jobs.drop(victim.job_id, now, "frames dropped (memory bound)")
                if dropped is not None:
                    self._count_drop(dropped.service_id)
                    self._finished(dropped)
        if self.sightings is not None:
            self.order.opened(job)
        for old in self.jobs.add(job):
            self._finished(old)
        if cam is not None:
            cam.jobs += 1
        self.offer(job)
        return job

    def offer(self, job: Job) -> int:
        """Broadcast ``job_available``; returns how many workers took it into their queue."""
        msg = JobAvailableMessage(
            job=JobOffer(
                id=job.id,
                service_id=job.service_id,
                timestamp=job.timestamp,
                frames=job.frame_ids,
                metadata=JobMetadata(
                    resolution=job.resolution, camera_url=job.camera_url, attempt=job.attempt
                ),
            )
        )
        self._offers += 1
        job.offer_no = self._offers
        text = msg.model_dump_json()
        taken = 0
        for conn in self.workers.connections():
            if conn.offer(text):
                taken += 1
            else:
                self.messages_dropped += 1
        return taken

    def claim(self, job_id: str, worker_id: str, now: float | None = None) -> Job:
        if self.workers.get(worker_id) is None:
            raise NotRegistered(f"worker {worker_id!r} is not connected")
        job = self.jobs.claim(job_id, worker_id, time.time() if now is None else now)
        if self.sightings is not None and not job.passed_over:
            self.order.started(job)
            self._advance(job.service_id, job.claimed_at or time.time())
        return job

    def frame(self, job_id: str, frame_id: str, key: str | None) -> bytes:
        """The JPEG of one frame, for the worker (identified by its key) that claimed the job."""
        worker_id = self.workers.worker_for_key(key)
        if worker_id is None:
            raise NotRegistered("missing or invalid X-Worker-Key")
        job = self.jobs.get(job_id)
        if job.claimed_by != worker_id or job.state is not JobState.claimed:
            raise NotJobOwner(f"job {job_id} is not claimed by this worker")
        if frame_id not in job.frame_ids:
            raise FrameGone(f"job {job_id} has no frame {frame_id}")
        stored = self.frames.get(frame_id)
        if stored is None:
            raise FrameGone(f"frame {frame_id} was dropped")
        return stored.jpeg

    def complete(self, job_id: str, worker_id: str, result: dict[str, Any]) -> Job:
        job = self.jobs.complete(job_id, worker_id, result, time.time())
        self._finished(job)
        return job

    def fail(self, job_id: str, worker_id: str, error: str) -> Job:
        job = self.jobs.fail(job_id, worker_id, error, time.time())
        self._finished(job)
        return job

    def _finished(self, job: Job) -> None:
        if self.sightings is not None:
            jpegs = None
            if job.state is JobState.completed and not job.passed_over:
                stored = [self.frames.get(fid) for fid in job.frame_ids]
                jpegs = [f.jpeg if f is not None else b"" for f in stored]
            self.order.finished(job, jpegs)
            if not job.passed_over:
                self._advance(job.service_id, job.finished_at or time.time())
        self.frames.discard(job.frame_ids)
        self._publish(job)
        if self.publisher is not None and job.state is JobState.completed:
            for event in plate_reads(job, datetime.now(UTC)):
                self.publisher.publish(event)

    def _advance(self, camera: str, now: float) -> None:
        """Hand on ``camera``'s finished jobs in order; expire the jobs passed over (no
        worker will take them: their frames are freed now, not at ``relay_job_ttl_s``)."""
        self._hand_over(self.order.ready(camera))
        for job in self.order.take_passed_over():
            dropped = self.jobs.drop(job.id, now, "passed over: every worker was busy")
            if dropped is not None:
                self._finished(dropped)

    def _hand_over(self, ready: list[tuple[Job, list[bytes] | None]]) -> None:
        """Finished jobs, in capture order, to the sighting thread."""
        assert self.sightings is not None
        for job, jpegs in ready:
            for frame in frame_reads(job, jpegs):
                self.sightings.put(frame)

    def _count_drop(self, service_id: str) -> None:
        cam = self.cameras.get(service_id)
        if cam is not None:
            cam.drops += 1

    # --- workers -------------------------------------------------------------------
    def connect(self, conn: WorkerConnection) -> None:
        """A socket opened; nothing is offered to it until it registers."""

    def register(self, conn: WorkerConnection, worker_id: str, now: float) -> str:
        reg = self.workers.register(conn, worker_id)
        if reg.replaced is not None:
            self._release(reg.worker_id, now)
            asyncio.get_running_loop().create_task(reg.replaced.close(1008))
        conn.last_seen = now
        reply = RegisteredMessage(data=RegisteredData(worker_id=worker_id, key=reg.key))
        conn.offer(reply.model_dump_json())
        log.info("worker %s registered (connection %d)", worker_id, conn.conn_id)
        return reg.key

    def disconnect(self, conn: WorkerConnection, now: float | None = None) -> None:
        """The socket closed or went silent: its key dies now, its claimed jobs are re-offered."""
        worker_id = self.workers.unregister(conn)
        if worker_id is not None:
            self._release(worker_id, time.time() if now is None else now)

    def _release(self, worker_id: str, now: float) -> None:
        for job in self.jobs.release_worker(worker_id, now):
            log.info("job %s offered again (worker %s went away)", job.id, worker_id)
            self.offer(job)

    # --- results stream --------------------------------------------------------------
    def subscribe(self) -> asyncio.Queue[str]:
        q: asyncio.Queue[str] = asyncio.Queue(maxsize=self.config.result_subscriber_queue)
        self._subscribers.add(q)
        return q

    def unsubscribe(self, q: asyncio.Queue[str]) -> None:
        self._subscribers.discard(q)

    def _publish(self, job: Job) -> None:
        if not self._subscribers:
            return
        text = json.dumps(job_view(job))
        for q in list(self._subscribers):
            with contextlib.suppress(asyncio.QueueFull):
                q.put_nowait(text)

    # --- views ---------------------------------------------------------------------
    def health(self) -> dict[str, Any]:
        """``now``: what is so at this moment; ``totals``: counts since the relay started."""
        open_jobs = {JobState.pending.value: 0, JobState.claimed.value: 0}
        for job in self.jobs.open_jobs():
            open_jobs[job.state.value] = open_jobs.get(job.state.value, 0) + 1
        streaming = sum(c.state is CameraState.streaming for c in self.cameras.values())
        now: dict[str, Any] = {
            "workers": len(self.workers),
            "cameras": len(self.cameras),
            "cameras_streaming": streaming,
            "jobs_open": open_jobs,
            "frames_held": len(self.frames),
            "frame_bytes": self.frames.bytes,
        }
        totals: dict[str, Any] = {
            "jobs": dict(self.jobs.counts),
            "frames_dropped": self.frames.dropped,
            "messages_dropped": self.messages_dropped,
        }
        if self.sightings is not None:
            live = self.sightings.stats()
            now["open_tracks"] = live.pop("open_tracks")
            now["sightings_queued"] = live.pop("queued")
            now["sightings_jobs_waiting"] = self.order.waiting()
            now["track_close_s"] = live.pop("close_after_s")
            totals["sightings"] = {
                **live,
                "frames_passed_over": self.order.passed_over,
                "late_results": self.order.late,
            }
        return {
            "status": "ok",
            "uptime_s": round(time.time() - self.started_at, 3),
            "now": now,
            "totals": totals,
        }

    def worker_views(self) -> list[dict[str, Any]]:
        return [
            {
                "worker_id": c.worker_id,
                "connected_at": c.connected_at,
                "last_seen": c.last_seen,
                "sent": c.sent,
                "queued": c.queued,
                "dropped": c.dropped,
            }
            for c in self.workers.connections()
        ]


class NotRegistered(InputError):
    """No live worker behind this id or key (HTTP 401)."""


class FrameGone(InputError):
    """The frame is not part of the job or was dropped from memory (HTTP 410)."""


def plate_reads(job: Job, at: datetime) -> list[PlateReadEvent]:
    """A completed job's ``plates`` (``[{"text", "confidence", ...}]``) as ``plate_read``
    events of its camera; entries that are not plates are skipped."""
    plates = (job.result or {}).get("plates")
    out: list[PlateReadEvent] = []
    seen_at = datetime.fromtimestamp(job.timestamp, UTC)
    for p in plates if isinstance(plates, list) else []:
        try:
            out.append(
                PlateReadEvent(
                    at=at,
                    plate_text=p["text"],
                    confidence=p.get("confidence", 0.0),
                    camera=job.service_id,
                    first_utc=seen_at,
                    last_utc=seen_at,
                )
            )
        except (TypeError, KeyError, AttributeError, ValidationError):
            continue
    return out


def job_view(job: Job) -> dict[str, Any]:
    return {
        "id": job.id,
        "type": "frame_analysis",
        "service_id": job.service_id,
        "timestamp": job.timestamp,
        "frames": job.frame_ids,
        "state": job.state.value,
        "attempt": job.attempt,
        "claimed_by": job.claimed_by,
        "finished_at": job.finished_at,
        "result": job.result,
        "error": job.error,
    }
