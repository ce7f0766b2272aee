"""The frame store: decoded frames in a fixed pool of shared-memory slots, refcounted.

The orchestrator owns the pool (:class:`FrameStore`): a reader thread takes a free slot
(blocking while the pool is full — that is what bounds memory for any video length),
copies a frame in and gets a :class:`FrameRef`; queues carry only the ref. Every task that
needs the frame holds one reference; the orchestrator releases it when the task's handler
has finished, and the slot is free again when the count reaches zero.

Workers open slots by name through a :class:`FrameViewer` (attach once, then zero-copy
views). Segment names start with ``dashcam-<main pid>-`` so leftovers are recognisable;
:meth:`FrameStore.close` unlinks them all and also runs from ``atexit``.

>>> store = FrameStore(slots=2, slot_bytes=4 * 4 * 3)        # doctest: +SKIP
>>> ref = store.put(np.zeros((4, 4, 3), np.uint8), stop=None)  # doctest: +SKIP
"""

from __future__ import annotations

import atexit
import contextlib
import os
import secrets
import threading
from dataclasses import dataclass
from multiprocessing import shared_memory
from pathlib import Path

import numpy as np
from numpy.typing import NDArray

from dashcam.errors import DashcamError

SHM_PREFIX = "dashcam-"
_SHM_DIR = Path("/dev/shm")


@dataclass(frozen=True, slots=True)
class FrameRef:
    """A small, picklable handle on one frame in the store: ``shape`` is (H, W, 3)."""

    name: str
    slot: int
    shape: tuple[int, int, int]


def segment_prefix(pid: int | None = None) -> str:
    """Prefix of every shared-memory segment made by the engine run in process ``pid``."""
    return f"{SHM_PREFIX}{os.getpid() if pid is None else pid}-"


def leftover_segments(pid: int | None = None) -> list[str]:
    """Names in /dev/shm that an engine (of ``pid``, or any when None) has left behind."""
    prefix = SHM_PREFIX if pid is None else segment_prefix(pid)
    if not _SHM_DIR.is_dir():
        return []
    return sorted(p.name for p in _SHM_DIR.iterdir() if p.name.startswith(prefix))


class FrameStore:
    """A fixed pool of ``slots`` shared-memory slots of ``slot_bytes`` each (owner side).

    Thread-safe: reader threads call :meth:`put`, the orchestrator calls :meth:`retain` and
    :meth:`release`. ``peak_in_use`` is the most slots ever held at once.
    """

    def __init__(self, *, slots: int, slot_bytes: int) -> None:
        if slots < 1 or slot_bytes < 1:
            raise DashcamError(
                f"frame store needs slots >= 1 and bytes >= 1, got {slots}, {slot_bytes}"
            )
        self.slot_bytes = slot_bytes
        self._run = f"{segment_prefix()}{secrets.token_hex(3)}-"
        self._segments: list[shared_memory.SharedMemory] = []
        self._cond = threading.Condition()
        self._refs = [0] * slots
        self._free = list(range(slots - 1, -1, -1))
        self.peak_in_use = 0
        self.waits = 0  # times a put had to wait for a free slot
        self._closed = False
        atexit.register(self.close)
        try:
            for i in range(slots):
                self._segments.append(
                    shared_memory.SharedMemory(
                        name=f"{self._run}f{i}", create=True, size=slot_bytes
                    )
                )
        except BaseException:
            self.close()
            raise

    @property
    def slots(self) -> int:
        return len(self._refs)

    @property
    def in_use(self) -> int:
        with self._cond:
            return len(self._refs) - len(self._free)

    def names(self) -> list[str]:
        return [s.name for s in self._segments]

    def put(
        self, image: NDArray[np.uint8], *, stop: threading.Event | None, poll_s: float = 0.1
    ) -> FrameRef | None:
        """Copy ``image`` (H, W, 3 uint8) into a free slot, holding one reference.

        Blocks while every slot is taken; returns None when ``stop`` is set meanwhile.
        """
        if image.nbytes > self.slot_bytes:
            raise DashcamError(
                f"frame of {image.shape} needs {image.nbytes} bytes; slots hold {self.slot_bytes}"
            )
        with self._cond:
            waited = False
            while not self._free:
                if self._closed or (stop is not None and stop.is_set()):
                    return None
                waited = True
                self._cond.wait(poll_s)
            if self._closed:
                return None
            self.waits += waited
            slot = self._free.pop()
            self._refs[slot] = 1
            self.peak_in_use = max(self.peak_in_use, len(self._refs) - len(self._free))
        seg = self._segments[slot]
        h, w = image.shape[:2]
        view: NDArray[np.uint8] = np.ndarray((h, w, 3), dtype=np.uint8, buffer=seg.buf)
        np.copyto(view, image)
        return FrameRef(name=seg.name, slot=slot, shape=(h, w, 3))

    def retain(self, ref: FrameRef) -> None:
        with self._cond:
            if self._refs[ref.slot] <= 0:
                raise DashcamError(f"frame slot {ref.slot} retained after it was freed")
            self._refs[ref.slot] += 1

    def release(self, ref: FrameRef) -> None:
        """Drop one reference; the slot is free for the readers when none is left."""
        with self._cond:
            if self._refs[ref.slot] <= 0:
                raise DashcamError(f"frame slot {ref.slot} released more often than held")
            self._refs[ref.slot] -= 1
            if self._refs[ref.slot] == 0:
                self._free.append(ref.slot)
                self._cond.notify()

    def view(self, ref: FrameRef) -> NDArray[np.uint8]:
        """The frame itself, zero-copy (owner side; for tests and the benchmark)."""
        buf = self._segments[ref.slot].buf
        return np.ndarray(ref.shape, dtype=np.uint8, buffer=buf)

    def close(self) -> None:
        """Unlink every segment (idempotent; also registered with ``atexit``)."""
        with self._cond:
            self._closed = True
            self._cond.notify_all()
        segments, self._segments = self._segments, []
        for seg in segments:
            # a view may still exist (BufferError); unlinking below still frees the name
            with contextlib.suppress(BufferError):
                seg.close()
            with contextlib.suppress(FileNotFoundError):
                seg.unlink()
        atexit.unregister(self.close)


class FrameViewer:
    """Worker side: open slots by name (once each) and view frames without copying."""

    def __init__(self) -> None:
        self._open: dict[str, shared_memory.SharedMemory] = {}

    def view(self, ref: FrameRef) -> NDArray[np.uint8]:
        seg = self._open.get(ref.name)
        if seg is None:
            seg = shared_memory.SharedMemory(name=ref.name, create=False)
            self._open[ref.name] = seg
        return np.ndarray(ref.shape, dtype=np.uint8, buffer=seg.buf)

    def close(self) -> None:
        for seg in self._open.values():
            with contextlib.suppress(BufferError):
                seg.close()
        self._open.clear()
