"""Bounded in-memory store of JPEG frames waiting for a worker to fetch them.

Live streams never block: when the byte budget is exceeded the oldest frames are
dropped (and counted), so a relay with no workers runs forever in constant memory.
"""

from __future__ import annotations

from collections import OrderedDict
from dataclasses import dataclass


@dataclass(frozen=True)
class StoredFrame:
    frame_id: str
    job_id: str
    jpeg: bytes


class FrameStore:
    """``frame_id -> JPEG bytes`` with a total byte budget; oldest out first.

    >>> store = FrameStore(max_bytes=10)
    >>> store.put("a", "job1", b"12345678")
    []
    >>> [f.frame_id for f in store.put("b", "job2", b"1234")]
    ['a']
    """

    def __init__(self, max_bytes: int) -> None:
        if max_bytes <= 0:
            raise ValueError(f"max_bytes must be positive, got {max_bytes}")
        self.max_bytes = max_bytes
        self._frames: OrderedDict[str, StoredFrame] = OrderedDict()
        self.bytes = 0
        self.stored = 0
        self.dropped = 0

    def __len__(self) -> int:
        return len(self._frames)

    def __contains__(self, frame_id: object) -> bool:
        return frame_id in self._frames

    def put(self, frame_id: str, job_id: str, jpeg: bytes) -> list[StoredFrame]:
        """Store one frame; return the frames dropped to make room (oldest first)."""
        dropped: list[StoredFrame] = []
        old = self._frames.pop(frame_id, None)
        if old is not None:
            self.bytes -= len(old.jpeg)
        while self._frames and self.bytes + len(jpeg) > self.max_bytes:
            _, victim = self._frames.popitem(last=False)
            self.bytes -= len(victim.jpeg)
            dropped.append(victim)
        self._frames[frame_id] = StoredFrame(frame_id, job_id, jpeg)
        self.bytes += len(jpeg)
        self.stored += 1
        self.dropped += len(dropped)
        return dropped

    def get(self, frame_id: str) -> StoredFrame | None:
        return self._frames.get(frame_id)

    def discard(self, frame_ids: list[str]) -> None:
        """Forget frames that are no longer needed (job finished or expired)."""
        for fid in frame_ids:
            old = self._frames.pop(fid, None)
            if old is not None:
                self.bytes -= len(old.jpeg)
