"""Decode video files into sampled BGR frames with PyAV.

Sampling keeps every ``sample_rate``-th decoded frame (``frame_index % sample_rate == 0``).
Every frame is still decoded (later frames reference earlier ones) but only kept frames
are converted to BGR, and demuxing stops as soon as ``max_frames`` frames were kept.

Skipping non-reference frames in the decoder (``skip_frame = "NONREF"``) is *not* used:
measured on x264 output with B-frames, the decoder then never returns the skipped
frames, so decoded-frame counting no longer yields the true ``frame_index`` and the
sampled set changes (see ``benchmarks/decode.py``). On streams without B-frames every
frame is a reference, so the option would skip nothing anyway.
"""

from __future__ import annotations

import logging
from collections.abc import Iterator
from dataclasses import dataclass
from fractions import Fraction
from pathlib import Path
from types import TracebackType
from typing import Any

import av
import numpy as np
from numpy.typing import NDArray

from dashcam.errors import DecodeError
from dashcam.media.metadata import VideoInfo, info_from, open_container, probe, video_stream

__all__ = ["Frame", "FrameReader", "VideoInfo", "iter_frames", "probe"]

log = logging.getLogger(__name__)


@dataclass(frozen=True)
class Frame:
    """One decoded frame.

    ``image`` is (H, W, 3) uint8 BGR, C-contiguous. ``frame_index`` counts decoded frames
    from 0 in presentation order; ``pts_s`` is the presentation time relative to the
    stream start (true timestamps, so variable frame rate is handled).
    """

    frame_index: int
    pts_s: float
    image: NDArray[np.uint8]


class FrameReader:
    """Iterate sampled frames of a video; a context manager that owns the open file.

    ``FrameReader(path, sample_rate=10, max_frames=0)`` yields frames 0, 10, 20, ...;
    ``max_frames`` caps the number of *yielded* frames (0 = no cap). After iteration,
    ``errors`` counts packets that failed to demux/decode and ``truncated`` says the
    stream ended early or was damaged. Raises ``DecodeError`` if nothing decodes at all.
    """

    def __init__(self, path: Path, *, sample_rate: int = 1, max_frames: int = 0) -> None:
        if sample_rate < 1:
            raise ValueError(f"sample_rate must be >= 1, got {sample_rate}")
        if max_frames < 0:
            raise ValueError(f"max_frames must be >= 0, got {max_frames}")
        self.path = Path(path)
        self.sample_rate = sample_rate
        self.max_frames = max_frames
        self.errors = 0
        self.truncated = False
        self.frames_decoded = 0
        self.frames_yielded = 0
        self._container: Any = open_container(self.path)
        try:
            self._stream: Any = video_stream(self._container, self.path)
            self.info: VideoInfo = info_from(self._container, self._stream, self.path)
        except BaseException:
            self._container.close()
            raise
        self._stream.thread_type = "AUTO"
        self._started = False

    def __enter__(self) -> FrameReader:
        return self

    def __exit__(
        self,
        exc_type: type[BaseException] | None,
        exc: BaseException | None,
        tb: TracebackType | None,
    ) -> None:
        self.close()

    def close(self) -> None:
        self._container.close()

    def __iter__(self) -> Iterator[Frame]:
        if self._started:
            raise RuntimeError("a FrameReader can be iterated only once")
        self._started = True
        try:
            yield from self._frames()
        finally:
            self.close()

    def _frames(self) -> Iterator[Frame]:
        tb = self._stream.time_base
        time_base = Fraction(tb) if tb is not None else Fraction(0)
        # PTS are relative to the stream start; without one, to the first frame
        origin: int | None = self._stream.start_time
        fps = self.info.fps
        capped = False
        for frame in self._decoded():
            index = self.frames_decoded
            self.frames_decoded += 1
            if index % self.sample_rate:
                continue
            if frame.pts is not None and time_base:
                if origin is None:
                    origin = int(frame.pts)
                pts_s = float((frame.pts - origin) * time_base)
            else:
                pts_s = index / fps if fps else 0.0
            image = np.ascontiguousarray(frame.to_ndarray(format="bgr24"))
            self.frames_yielded += 1
            yield Frame(frame_index=index, pts_s=pts_s, image=image)
            if self.max_frames and self.frames_yielded >= self.max_frames:
                capped = True
                break
        if self.frames_decoded == 0:
            raise DecodeError(f"{self.path}: no frame could be decoded ({self.errors} errors)")
        expected = self.info.frame_count
        if not capped and expected is not None and self.frames_decoded < expected:
            self.truncated = True
        if self.errors:
            self.truncated = True
        if self.truncated:
            log.warning(
                "%s: damaged or truncated: %d frames decoded of %s, %d errors",
                self.path,
                self.frames_decoded,
                expected,
                self.errors,
            )

    def _decoded(self) -> Iterator[Any]:
        """Decoded frames in presentation order; damaged packets are counted, not fatal."""
        packets = self._container.demux(self._stream)
        while True:
            try:
                packet = next(packets)
            except StopIteration:
                return
            except (av.FFmpegError, EOFError) as exc:
                # the demuxer cannot continue past a damaged/truncated container
                self.errors += 1
                log.debug("%s: demux stopped: %s", self.path, exc)
                yield from self._flush()
                return
            try:
                frames = packet.decode()
            except (av.FFmpegError, EOFError) as exc:
                self.errors += 1
                log.debug("%s: packet decode failed: %s", self.path, exc)
                continue
            yield from frames

    def _flush(self) -> Iterator[Any]:
        try:
            yield from self._stream.codec_context.decode(None)
        except (av.FFmpegError, EOFError):
            self.errors += 1


def iter_frames(path: Path, *, sample_rate: int = 1, max_frames: int = 0) -> Iterator[Frame]:
    """Yield every ``sample_rate``-th frame of ``path`` (at most ``max_frames``, 0 = all).

    Example::

        for frame in iter_frames(Path("clip.mp4"), sample_rate=10):
            frame.image.shape  # (720, 1280, 3)
    """
    with FrameReader(path, sample_rate=sample_rate, max_frames=max_frames) as reader:
        yield from reader
