"""Frames out of a video: by frame interval, by time, or key frames only.

:func:`select_times` is the pure rule of time mode; :func:`extract_frames` decodes (an edge:
PyAV), writes one image file per kept frame under ``out_dir`` and returns their records
with the GPS position when a track is given. Video time is aligned to UTC by the
container's creation time, else by the track's first fix (as ``dashcam process`` does).
"""

from __future__ import annotations

import logging
from collections.abc import Callable, Iterator
from dataclasses import dataclass
from pathlib import Path

import av
import cv2
import numpy as np
from numpy.typing import NDArray

from dashcam.domain.gps import GpsTrack, position_at
from dashcam.errors import DecodeError
from dashcam.media.decode import FrameReader, probe
from dashcam.miner.config import ExtractConfig, ExtractMode

log = logging.getLogger(__name__)


@dataclass(frozen=True)
class ExtractedFrame:
    frame_index: int
    pts_s: float
    path: Path
    width: int
    height: int
    lat: float | None
    lon: float | None
    utc_ms: int | None


class TimeSampler:
    """Keep the first frame at or after each multiple of ``every_s`` (pure, stateful).

    >>> s = TimeSampler(1.0)
    >>> [s.keep(t) for t in (0.0, 0.4, 1.01, 1.5, 2.0, 3.7)]
    [True, False, True, False, True, True]
    """

    def __init__(self, every_s: float) -> None:
        self.every_s = every_s
        self.next_s = 0.0

    def keep(self, pts_s: float) -> bool:
        if pts_s + 1e-6 < self.next_s:
            return False
        self.next_s = (np.floor(pts_s / self.every_s + 1e-9) + 1) * self.every_s
        return True


def _keyframes(path: Path) -> Iterator[tuple[int, float, NDArray[np.uint8]]]:
    """Key frames only: the decoder skips everything else (``skip_frame = NONKEY``)."""
    try:
        container = av.open(str(path))
    except (av.error.FFmpegError, OSError) as exc:
        raise DecodeError(f"{path}: cannot open video") from exc
    with container:
        stream = container.streams.video[0]
        stream.codec_context.skip_frame = "NONKEY"
        tb = float(stream.time_base or 0)
        start = stream.start_time or 0
        rate = float(stream.average_rate or stream.guessed_rate or 0)
        for frame in container.decode(stream):
            pts_s = max(0.0, ((frame.pts or 0) - start) * tb) if tb else float(frame.time or 0)
            index = round(pts_s * rate) if rate else int(getattr(frame, "index", 0))
            image: NDArray[np.uint8] = np.asarray(frame.to_ndarray(format="bgr24"), np.uint8)
            yield index, pts_s, image


def _frames(path: Path, cfg: ExtractConfig) -> Iterator[tuple[int, float, NDArray[np.uint8]]]:
    if cfg.mode == ExtractMode.KEYFRAMES:
        yield from _keyframes(path)
        return
    if cfg.mode == ExtractMode.INTERVAL:
        with FrameReader(path, sample_rate=cfg.every_n_frames) as reader:
            for f in reader:
                yield f.frame_index, f.pts_s, f.image
        return
    # time mode: sample finely enough (half the interval) and let the sampler pick
    fps = probe(path).fps or 30.0
    step = max(1, int(fps * cfg.every_s / 2))
    sampler = TimeSampler(cfg.every_s)
    with FrameReader(path, sample_rate=step) as reader:
        for f in reader:
            if sampler.keep(f.pts_s):
                yield f.frame_index, f.pts_s, f.image


def video_start_ms(path: Path, track: GpsTrack | None) -> int | None:
    info = probe(path)
    if info.creation_time is not None:
        return round(info.creation_time.timestamp() * 1000)
    return track.start_ms if track is not None and len(track) else None


def extract_frames(
    video: Path,
    out_dir: Path,
    cfg: ExtractConfig,
    *,
    track: GpsTrack | None = None,
    max_gap_s: float = 5.0,
    on_frame: Callable[[int], None] | None = None,
) -> list[ExtractedFrame]:
    """Write the selected frames of ``video`` as ``out_dir/<frame_index:08d>.<ext>``."""
    out_dir.mkdir(parents=True, exist_ok=True)
    start_ms = video_start_ms(video, track) if track is not None else None
    params = [cv2.IMWRITE_JPEG_QUALITY, cfg.jpeg_quality] if cfg.image_format == "jpg" else []
    out: list[ExtractedFrame] = []
    for index, pts_s, image in _frames(video, cfg):
        path = out_dir / f"{index:08d}.{cfg.image_format}"
        ok, buf = cv2.imencode(f".{cfg.image_format}", image, params)
        if not ok:
            raise DecodeError(f"{video}: cannot encode frame {index}")
        path.write_bytes(buf.tobytes())
        lat = lon = utc_ms = None
        if start_ms is not None and track is not None:
            utc_ms = start_ms + round(pts_s * 1000)
            fix = position_at(track, utc_ms, max_gap_s=max_gap_s)
            if fix is not None:
                lat, lon = fix.lat, fix.lon
        h, w = image.shape[:2]
        out.append(ExtractedFrame(index, pts_s, path, w, h, lat, lon, utc_ms))
        if on_frame is not None:
            on_frame(len(out))
        if cfg.max_frames and len(out) >= cfg.max_frames:
            break
    return out
