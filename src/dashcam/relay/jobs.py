"""Analysis jobs of the live relay and their life cycle — pure logic, the clock is passed in.

``pending`` (offered to every worker) -> ``claimed`` (exactly one worker) ->
``completed`` | ``failed``. A claimed job whose worker goes away returns to ``pending``
(its ``attempt`` grows) and is offered again; a pending job older than ``ttl_s``, or whose
frames were dropped, becomes ``expired``. Finished jobs are remembered in a bounded
history so ``GET /jobs/{id}`` can report them.
"""

from __future__ import annotations

from collections import OrderedDict
from dataclasses import dataclass, field
from enum import StrEnum
from typing import Any

from dashcam.errors import DashcamError


class JobState(StrEnum):
    pending = "pending"
    claimed = "claimed"
    completed = "completed"
    failed = "failed"
    expired = "expired"


FINISHED = frozenset({JobState.completed, JobState.failed, JobState.expired})


class JobError(DashcamError):
    """A job request that cannot be honoured; ``status`` is the HTTP status to answer."""

    status = 400


class JobNotFound(JobError):
    status = 404


class JobConflict(JobError):
    """Already claimed by someone else, or not in a state that allows the request."""

    status = 409


class NotJobOwner(JobError):
    """The job is claimed by another worker."""

    status = 403


@dataclass
class Job:
    id: str
    service_id: str
    timestamp: float
    frame_ids: list[str]
    resolution_wh: tuple[int, int]
    offered_at: float
    camera_url: str | None = None
    #: The camera's running number of this job's first frame (frames are counted per camera).
    seq: int = 0
    #: Capture time (Unix seconds) of each frame; empty: all at ``timestamp``.
    frame_times: list[float] = field(default_factory=list)
    #: The relay's running number of this job's latest offer (a re-offer gets a new one).
    offer_no: int = 0
    #: Still pending when a job offered after it was taken: no worker will do it (they
    #: take new offers), so the sightings go on without it (``relay.live.ResultOrder``).
    passed_over: bool = False
    state: JobState = JobState.pending
    attempt: int = 1
    claimed_by: str | None = None
    claimed_at: float | None = None
    finished_at: float | None = None
    result: dict[str, Any] | None = None
    error: str | None = None
    history: list[str] = field(default_factory=list)

    @property
    def resolution(self) -> str:
        return f"{self.resolution_wh[0]}x{self.resolution_wh[1]}"


class JobBook:
    """Every open job plus a bounded history of finished ones.

    >>> book = JobBook(ttl_s=10)
    >>> _ = book.add(Job("j1", "cam", 0.0, ["f1"], (640, 480), offered_at=0.0))
    >>> book.claim("j1", "w1", now=1.0).claimed_by
    'w1'
    """

    def __init__(self, ttl_s: float, max_open: int = 10_000, max_finished: int = 2_000) -> None:
        self.ttl_s = ttl_s
        self.max_open = max_open
        self.max_finished = max_finished
        self._open: OrderedDict[str, Job] = OrderedDict()
        self._finished: OrderedDict[str, Job] = OrderedDict()
        self.counts: dict[str, int] = {s.value: 0 for s in JobState}
        self.counts["reoffered"] = 0

    # --- queries -------------------------------------------------------------------
    def get(self, job_id: str) -> Job:
        job = self._open.get(job_id) or self._finished.get(job_id)
        if job is None:
            raise JobNotFound(f"no job {job_id!r}")
        return job

    def open_jobs(self) -> list[Job]:
        return list(self._open.values())

    def claimed_by(self, worker_id: str) -> list[Job]:
        return [j for j in self._open.values() if j.claimed_by == worker_id]

    @property
    def n_open(self) -> int:
        return len(self._open)

    # --- transitions ---------------------------------------------------------------
    def add(self, job: Job) -> list[Job]:
        """Open a new pending job; returns older pending jobs expired to stay under max_open."""
        self._open[job.id] = job
        self.counts[JobState.pending] += 1
        evicted: list[Job] = []
        if len(self._open) > self.max_open:
            for old in list(self._open.values()):
                if len(self._open) <= self.max_open:
                    break
                if old.state is JobState.pending:
                    evicted.append(self._finish(old, JobState.expired, old.offered_at, "overflow"))
        return evicted

    def claim(self, job_id: str, worker_id: str, now: float) -> Job:
        """The one winner gets the job; everyone after gets :class:`JobConflict`."""
        job = self.get(job_id)
        if job.state is not JobState.pending:
            raise JobConflict(f"job {job_id} is {job.state.value}")
        job.state = JobState.claimed
        job.claimed_by = worker_id
        job.claimed_at = now
        self.counts[JobState.claimed] += 1
        return job

    def check_owner(self, job_id: str, worker_id: str) -> Job:
        """The job if ``worker_id`` holds its claim; else NotJobOwner (403) or JobConflict (409)."""
        job = self.get(job_id)
        if job.state is not JobState.claimed:
            if job.claimed_by == worker_id or job.state is JobState.pending:
                raise JobConflict(f"job {job_id} is {job.state.value}")
            raise NotJobOwner(f"job {job_id} is not claimed by {worker_id}")
        if job.claimed_by != worker_id:
            raise NotJobOwner(f"job {job_id} is claimed by another worker")
        return job

    def complete(self, job_id: str, worker_id: str, result: dict[str, Any], now: float) -> Job:
        job = self.check_owner(job_id, worker_id)
        job.result = result
        return self._finish(job, JobState.completed, now)

    def fail(self, job_id: str, worker_id: str, error: str, now: float) -> Job:
        job = self.check_owner(job_id, worker_id)
        return self._finish(job, JobState.failed, now, error)

    def release_worker(self, worker_id: str, now: float) -> list[Job]:
        """Jobs claimed by a worker that went away go back to pending, to be offered again."""
        released = []
        for job in self.claimed_by(worker_id):
            job.history.append(f"released from {worker_id}")
            job.state = JobState.pending
            job.claimed_by = None
            job.claimed_at = None
            job.attempt += 1
            job.offered_at = now
            self.counts["reoffered"] += 1
            released.append(job)
        return released

    def expire(self, now: float) -> list[Job]:
        """Pending jobs nobody claimed within ``ttl_s``."""
        stale = [
            j
            for j in self._open.values()
            if j.state is JobState.pending and now - j.offered_at > self.ttl_s
        ]
        return [self._finish(j, JobState.expired, now, "not claimed in time") for j in stale]

    def drop(self, job_id: str, now: float, reason: str) -> Job | None:
        """Expire a pending job (e.g. its frames were dropped); claimed jobs are left alone."""
        job = self._open.get(job_id)
        if job is None or job.state is not JobState.pending:
            return None
        return self._finish(job, JobState.expired, now, reason)

    def _finish(self, job: Job, state: JobState, now: float, error: str | None = None) -> Job:
        job.state = state
        job.finished_at = now
        if error is not None:
            job.error = error
        self._open.pop(job.id, None)
        self._finished[job.id] = job
        self.counts[state] += 1
        while len(self._finished) > self.max_finished:
            self._finished.popitem(last=False)
        return job
