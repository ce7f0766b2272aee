"""A camera's finished jobs in the order their frames were taken (runs on the relay's loop).

Workers finish jobs in any order; a tracker needs a camera's frames in capture order.
:class:`ResultOrder` keeps each camera's open jobs in submission order and hands on the
finished ones from the front. The front is waited for while a worker holds it (claimed:
bounded by the heartbeat timeout, after which it is released and offered again); a front
job still pending once a job offered after it (any camera's) has been taken is passed over:
every worker was busy when it was offered, and workers take new offers, never old ones.
So a camera never waits on a frame nobody will do. A passed-over job that is done later
anyway is *late*: counted, not tracked.

:func:`frame_reads` turns a finished job's result (the ``plates`` backend's
``{"plates": [{"frame", "text", "confidence", "xyxy", "alternatives"}]}``) into one
:class:`FrameReads` per frame; results without boxes (a VLM's) give frames without reads.
"""

from __future__ import annotations

from collections import deque
from dataclasses import dataclass

from pydantic import BaseModel, ConfigDict, Field, ValidationError

from dashcam.relay.jobs import FINISHED, Job, JobState
from dashcam.stages.live import LiveRead

_MAX_TEXT = 32


class _WireRead(BaseModel):
    model_config = ConfigDict(extra="ignore")

    text: str = Field(min_length=1, max_length=_MAX_TEXT)
    confidence: float = Field(ge=0, le=1)
    xyxy: tuple[float, float, float, float]
    frame: str | None = None
    alternatives: list[tuple[str, float]] = Field(default_factory=list, max_length=16)


class _WireResult(BaseModel):
    model_config = ConfigDict(extra="ignore")

    plates: list[_WireRead] | None = None


@dataclass(frozen=True)
class FrameReads:
    """One frame of a camera, its reads and (when it has any) its JPEG for the crops."""

    camera: str
    frame_index: int
    timestamp_s: float
    reads: tuple[LiveRead, ...]
    jpeg: bytes | None = None


def plate_reads(job: Job) -> dict[int, list[LiveRead]]:
    """A completed job's plate reads by frame position in the job (usable ones only)."""
    if job.state is not JobState.completed or not job.result:
        return {}
    try:
        wire = _WireResult.model_validate(job.result)
    except ValidationError:
        return {}
    by_frame: dict[int, list[LiveRead]] = {}
    positions = {fid: k for k, fid in enumerate(job.frame_ids)}
    for p in wire.plates or ():
        k = positions.get(p.frame, 0) if p.frame is not None else 0
        x1, y1, x2, y2 = p.xyxy
        if not (x2 > x1 and y2 > y1):
            continue
        alts = tuple((t, float(w)) for t, w in p.alternatives if t and len(t) <= _MAX_TEXT)
        by_frame.setdefault(k, []).append(LiveRead(p.text, p.confidence, p.xyxy, alts))
    return by_frame


def frame_reads(job: Job, jpegs: list[bytes] | None) -> list[FrameReads]:
    """Every frame of a finished job in order, with its reads (none unless completed)."""
    reads = plate_reads(job)
    out = []
    for k in range(len(job.frame_ids)):
        got = reads.get(k, [])
        ts = job.frame_times[k] if k < len(job.frame_times) else job.timestamp
        jpeg = jpegs[k] if got and jpegs is not None and k < len(jpegs) else None
        out.append(FrameReads(job.service_id, job.seq + k, ts, tuple(got), jpeg))
    return out


class ResultOrder:
    """Each camera's open jobs in submission order; finished ones leave from the front.

    >>> order = ResultOrder()
    >>> a, b = (Job(i, "cam", k, ["f"], (8, 8), 0.0, seq=k, offer_no=k + 1)
    ...         for k, i in enumerate("ab"))
    >>> order.opened(a), order.opened(b)
    (None, None)
    >>> order.ready("cam")  # a is still pending and nothing offered later was taken
    []
    >>> order.started(b)
    >>> b.state = JobState.completed
    >>> [j.id for j, _ in order.ready("cam")], [j.id for j in order.take_passed_over()]
    (['b'], ['a'])
    """

    def __init__(self) -> None:
        self._jobs: dict[str, deque[Job]] = {}
        self._taken = 0  # the newest offer a worker has taken
        self._frames: dict[str, list[bytes]] = {}  # JPEGs of finished jobs with reads
        self._passed: list[Job] = []
        self.passed_over = 0
        self.late = 0

    def cameras(self) -> list[str]:
        return list(self._jobs)

    def waiting(self) -> int:
        """Jobs not handed on yet (open, or finished behind an open one)."""
        return sum(len(q) for q in self._jobs.values())

    def opened(self, job: Job) -> None:
        self._jobs.setdefault(job.service_id, deque()).append(job)

    def started(self, job: Job) -> None:
        """A worker claimed ``job``."""
        self._taken = max(self._taken, job.offer_no)

    def finished(self, job: Job, jpegs: list[bytes] | None) -> None:
        """``job`` is done; keep its frames (``jpegs``) until it leaves in order."""
        if job.passed_over:
            if job.state is JobState.completed:
                self.late += 1
            return
        if jpegs:
            self._frames[job.id] = jpegs

    def take_passed_over(self) -> list[Job]:
        """The jobs passed over since the last call (the relay expires them)."""
        passed, self._passed = self._passed, []
        return passed

    def ready(self, camera: str) -> list[tuple[Job, list[bytes] | None]]:
        """The finished jobs at the front of ``camera``'s queue, in order, with their frames."""
        queue = self._jobs.get(camera)
        out: list[tuple[Job, list[bytes] | None]] = []
        while queue:
            front = queue[0]
            if front.state in FINISHED:
                queue.popleft()
                out.append((front, self._frames.pop(front.id, None)))
            elif front.state is JobState.pending and front.offer_no < self._taken:
                queue.popleft()
                front.passed_over = True
                self.passed_over += 1
                self._passed.append(front)
            else:
                break
        return out

    def flush(self, camera: str) -> list[tuple[Job, list[bytes] | None]]:
        """Everything finished of ``camera`` in order; the rest is given up (stopping)."""
        queue = self._jobs.pop(camera, deque())
        return [(j, self._frames.pop(j.id, None)) for j in queue if j.state in FINISHED]

    def horizon(self, camera: str, now_s: float) -> float:
        """Every frame of ``camera`` taken before this time has been handed on."""
        queue = self._jobs.get(camera)
        return min(queue[0].timestamp, now_s) if queue else now_s
