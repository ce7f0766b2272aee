"""The relay's sighting thread: camera frames with their reads in, stored sightings out.

The relay's loop hands each camera's frames over in capture order (``relay.live``), and
a *horizon* now and then (every frame of the camera taken before it has been handed over)
so tracks close on time when a camera is quiet. This thread owns one
:class:`~dashcam.stages.live.CameraTracks` per camera, cuts the crops of the reads from the
frame's JPEG, and gives every closed track to the
:class:`~dashcam.services.live_sightings.SightingRecorder` (crop file, database, listeners).

The queue between the loop and the thread is bounded: what does not fit is dropped and
counted (``queue_dropped``), so a stuck database never grows the relay's memory. ``stop``
closes every open track as a sighting (a relay restart loses none).
"""

from __future__ import annotations

import contextlib
import logging
import queue
import threading
from dataclasses import dataclass
from typing import Any

import numpy as np
from numpy.typing import NDArray

from dashcam.errors import DashcamError
from dashcam.relay.live import FrameReads
from dashcam.services.live_sightings import SightingRecorder
from dashcam.stages.live import CameraTracks, LiveSighting

log = logging.getLogger(__name__)


@dataclass(frozen=True)
class Horizon:
    """Every frame of ``camera`` taken before ``now_s`` (Unix seconds) was handed over."""

    camera: str
    now_s: float


_STOP = object()


def _crops(jpeg: bytes | None, frame: FrameReads) -> list[NDArray[np.uint8]]:
    import cv2

    from dashcam.stages.recognise import pad_crop

    decoded = None if not jpeg else cv2.imdecode(np.frombuffer(jpeg, np.uint8), cv2.IMREAD_COLOR)
    if decoded is None:
        return [np.zeros((0, 0, 3), np.uint8) for _ in frame.reads]
    image: NDArray[np.uint8] = np.asarray(decoded, dtype=np.uint8)
    return [pad_crop(image, r.xyxy) for r in frame.reads]


class SightingBuilder:
    """One thread turning camera frames into stored sightings. ``start``/``stop`` once."""

    def __init__(
        self,
        recorder: SightingRecorder,
        *,
        close_after_s: float = 5.0,
        queue_size: int = 4096,
    ) -> None:
        self.recorder = recorder
        self.close_after_s = close_after_s
        self._queue: queue.Queue[object] = queue.Queue(maxsize=queue_size)
        self._cameras: dict[str, CameraTracks] = {}
        self._thread = threading.Thread(target=self._run, name="relay-sightings", daemon=True)
        self.frames = 0
        self.reads = 0
        self.queue_dropped = 0
        self.store_errors = 0
        self.errors = 0

    # --- from the loop -----------------------------------------------------------------
    def start(self) -> None:
        self._thread.start()

    def put(self, item: FrameReads | Horizon) -> bool:
        """Hand over one item without waiting; False (and counted) when the queue is full."""
        try:
            self._queue.put_nowait(item)
        except queue.Full:
            if isinstance(item, FrameReads):
                self.queue_dropped += 1
            return False
        return True

    def stop(self, timeout_s: float = 30.0) -> None:
        """Finish what is queued, close every open track as a sighting, end the thread."""
        if not self._thread.is_alive():
            return
        try:
            self._queue.put(_STOP, timeout=timeout_s)
        except queue.Full:
            log.warning("sighting thread: queue still full after %.0f s", timeout_s)
        self._thread.join(timeout_s)

    def stats(self) -> dict[str, Any]:
        return {
            "open_tracks": sum(t.open_tracks for t in list(self._cameras.values())),
            "stored": self.recorder.stored,
            "frames": self.frames,
            "reads": self.reads,
            "queued": self._queue.qsize(),
            "queue_dropped": self.queue_dropped,
            "store_errors": self.store_errors,
            "errors": self.errors,
            "close_after_s": self.close_after_s,
        }

    # --- the thread --------------------------------------------------------------------
    def _tracks(self, camera: str) -> CameraTracks:
        tracks = self._cameras.get(camera)
        if tracks is None:
            tracks = self._cameras[camera] = CameraTracks(camera, close_after_s=self.close_after_s)
        return tracks

    def _run(self) -> None:
        while True:
            item = self._queue.get()
            if item is _STOP:
                break
            try:
                self._handle(item)
            except Exception:  # one bad frame never ends the thread
                self.errors += 1
                log.exception("sighting thread: cannot handle %r", type(item).__name__)
        for tracks in self._cameras.values():
            with contextlib.suppress(Exception):
                self._store(tracks.close())

    def _handle(self, item: object) -> None:
        if isinstance(item, Horizon):
            if item.camera in self._cameras:
                self._store(self._cameras[item.camera].close_unseen(item.now_s))
            return
        assert isinstance(item, FrameReads)
        tracks = self._tracks(item.camera)
        self.frames += 1
        self.reads += len(item.reads)
        crops = _crops(item.jpeg, item) if item.reads else []
        self._store(tracks.add(item.frame_index, item.timestamp_s, item.reads, crops))

    def _store(self, closed: list[LiveSighting]) -> None:
        for live in closed:
            try:
                self.recorder.record(live)
            except (DashcamError, OSError) as exc:
                self.store_errors += 1
                log.error("sighting of %s on %s not stored: %s", live.sighting.plate_text,
                          live.camera, exc)  # fmt: skip
