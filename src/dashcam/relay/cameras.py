"""Camera sources ("services") of the relay: RTSP and files through PyAV, MJPEG over HTTP.

Each camera runs its blocking reader in its own daemon thread, samples frames at ``fps``,
encodes them to JPEG (MJPEG parts pass through as they are) and hands them to a sink.
A camera that drops is reopened with exponential backoff; its state and counters are
what ``GET /services`` shows. A file camera loops forever at real-time pace, for tests.
"""

from __future__ import annotations

import logging
import threading
import time
from collections.abc import Callable, Iterator
from dataclasses import dataclass
from enum import StrEnum
from pathlib import Path

from pydantic import BaseModel

from dashcam.errors import InputError
from dashcam.relay.mjpeg import FrameSampler, MjpegParser, jpeg_size

log = logging.getLogger(__name__)

# (service_id, jpeg, (width, height), capture time in Unix seconds) -> accepted?
FrameSink = Callable[[str, bytes, tuple[int, int], float], bool]


class SourceKind(StrEnum):
    rtsp = "rtsp"
    mjpeg = "mjpeg"
    file = "file"


class CameraState(StrEnum):
    idle = "idle"  # added, extraction not requested yet
    connecting = "connecting"
    streaming = "streaming"
    reconnecting = "reconnecting"  # waiting out a backoff after a drop
    stopped = "stopped"


@dataclass(frozen=True)
class CameraSpec:
    name: str
    url: str
    kind: SourceKind

    @classmethod
    def parse(cls, text: str) -> CameraSpec:
        """``"front=rtsp://cam/stream"`` -> a spec; the kind follows from the URL.

        >>> CameraSpec.parse("test=./clip.mp4").kind
        <SourceKind.file: 'file'>
        """
        name, sep, url = text.partition("=")
        name, url = name.strip(), url.strip()
        if not sep or not name or not url:
            raise InputError(f"camera {text!r}: expected NAME=URL, e.g. front=rtsp://host/stream")
        if not name.replace("-", "").replace("_", "").isalnum() or len(name) > 64:
            raise InputError(f"camera name {name!r}: use letters, digits, '-' and '_'")
        return cls(name, url, kind_of(url))


def kind_of(url: str) -> SourceKind:
    lower = url.lower()
    if lower.startswith(("rtsp://", "rtsps://")):
        return SourceKind.rtsp
    if lower.startswith(("http://", "https://")):
        return SourceKind.mjpeg
    return SourceKind.file


class CameraStatus(BaseModel):
    name: str
    url: str
    kind: SourceKind
    state: CameraState
    frames: int
    drops: int
    jobs: int
    reconnects: int
    last_error: str | None
    last_frame_at: float | None
    resolution: str | None


class Camera:
    """One named source and its reader thread. ``start``/``stop`` are idempotent."""

    def __init__(
        self,
        spec: CameraSpec,
        fps: float,
        sink: FrameSink,
        backoff_initial_s: float = 0.5,
        backoff_max_s: float = 30.0,
        open_timeout_s: float = 10.0,
        jpeg_quality: int = 85,
    ) -> None:
        self.spec = spec
        self.fps = fps
        self._sink = sink
        self.backoff_initial_s = backoff_initial_s
        self.backoff_max_s = backoff_max_s
        self.open_timeout_s = open_timeout_s
        self.jpeg_quality = jpeg_quality
        self.state = CameraState.idle
        self.frames = 0
        self.drops = 0
        self.jobs = 0
        self.reconnects = 0
        self.last_error: str | None = None
        self.last_frame_at: float | None = None
        self.resolution_wh: tuple[int, int] | None = None
        self._stop = threading.Event()
        self._thread: threading.Thread | None = None
        self._lock = threading.Lock()

    def status(self) -> CameraStatus:
        wh = self.resolution_wh
        return CameraStatus(
            name=self.spec.name,
            url=self.spec.url,
            kind=self.spec.kind,
            state=self.state,
            frames=self.frames,
            drops=self.drops,
            jobs=self.jobs,
            reconnects=self.reconnects,
            last_error=self.last_error,
            last_frame_at=self.last_frame_at,
            resolution=f"{wh[0]}x{wh[1]}" if wh else None,
        )

    @property
    def running(self) -> bool:
        return self._thread is not None and self._thread.is_alive()

    def start(self) -> None:
        with self._lock:
            if self.running:
                return
            self._stop = threading.Event()
            self.state = CameraState.connecting
            self._thread = threading.Thread(
                target=self._run, name=f"camera-{self.spec.name}", daemon=True
            )
            self._thread.start()

    def stop(self, timeout_s: float = 5.0) -> None:
        with self._lock:
            self._stop.set()
            thread, self._thread = self._thread, None
        if thread is not None:
            thread.join(timeout_s)
        self.state = CameraState.stopped

    # --- reader thread ---------------------------------------------------------------
    def _run(self) -> None:
        stop = self._stop
        backoff = self.backoff_initial_s
        while not stop.is_set():
            self.state = CameraState.connecting
            got_frame = False
            try:
                for jpeg, wh in self._frames(stop):
                    if stop.is_set():
                        break
                    got_frame = True
                    self.state = CameraState.streaming
                    self.frames += 1
                    self.resolution_wh = wh
                    self.last_frame_at = time.time()
                    if not self._sink(self.spec.name, jpeg, wh, self.last_frame_at):
                        self.drops += 1
                if stop.is_set():
                    break
                raise ConnectionError("stream ended")
            except Exception as exc:
                if stop.is_set():
                    break
                self.last_error = f"{type(exc).__name__}: {exc}"[:500]
                log.warning("camera %s dropped: %s", self.spec.name, self.last_error)
            if got_frame:
                backoff = self.backoff_initial_s
            self.state = CameraState.reconnecting
            self.reconnects += 1
            stop.wait(backoff)
            backoff = min(self.backoff_max_s, backoff * 2)
        self.state = CameraState.stopped

    def _frames(self, stop: threading.Event) -> Iterator[tuple[bytes, tuple[int, int]]]:
        if self.spec.kind is SourceKind.mjpeg:
            return self._mjpeg_frames(stop)
        return self._av_frames(stop)

    def _encode(self, bgr: object) -> bytes:
        import cv2
        import numpy as np

        assert isinstance(bgr, np.ndarray)
        ok, buf = cv2.imencode(".jpg", bgr, [cv2.IMWRITE_JPEG_QUALITY, self.jpeg_quality])
        if not ok:
            raise ValueError("JPEG encoding failed")
        return bytes(buf.tobytes())

    def _av_frames(self, stop: threading.Event) -> Iterator[tuple[bytes, tuple[int, int]]]:
        import av

        is_file = self.spec.kind is SourceKind.file
        url = self.spec.url.removeprefix("file://") if is_file else self.spec.url
        if is_file and not Path(url).is_file():
            raise FileNotFoundError(f"{url}: no such video file")
        options = {} if is_file else {"rtsp_transport": "tcp"}
        sampler = FrameSampler(self.fps)
        wall_start = time.monotonic()
        offset_s = 0.0  # media time of the start of the current loop of a file
        while not stop.is_set():
            container = av.open(url, options=options, timeout=self.open_timeout_s)
            try:
                stream = container.streams.video[0]
                stream.thread_type = "AUTO"
                first: float | None = None
                media_t = offset_s
                for frame in container.decode(stream):
                    if stop.is_set():
                        return
                    if is_file:
                        t = float(frame.time or 0.0)
                        first = t if first is None else first
                        media_t = offset_s + (t - first)
                        delay = wall_start + media_t - time.monotonic()
                        if delay > 0 and stop.wait(delay):
                            return
                    else:
                        media_t = time.monotonic()
                    if sampler.take(media_t):
                        jpeg = self._encode(frame.to_ndarray(format="bgr24"))
                        yield jpeg, (frame.width, frame.height)
            finally:
                container.close()
            if not is_file:
                return  # a live stream ended: reconnect with backoff
            rate = stream.average_rate
            offset_s = media_t + (1.0 / float(rate) if rate else 0.04)

    def _mjpeg_frames(self, stop: threading.Event) -> Iterator[tuple[bytes, tuple[int, int]]]:
        import httpx

        sampler = FrameSampler(self.fps)
        parser = MjpegParser()
        timeout = httpx.Timeout(self.open_timeout_s)
        with (
            httpx.Client(timeout=timeout) as client,
            client.stream("GET", self.spec.url) as resp,
        ):
            if resp.status_code != 200:
                raise ConnectionError(f"HTTP {resp.status_code} from {self.spec.url}")
            for chunk in resp.iter_bytes():
                if stop.is_set():
                    return
                for jpeg in parser.feed(chunk):
                    if not sampler.take(time.monotonic()):
                        continue
                    wh = jpeg_size(jpeg)
                    if wh is None:
                        self.drops += 1
                        continue
                    yield jpeg, wh
