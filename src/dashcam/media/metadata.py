"""Video metadata: what ``probe`` reports about a file without decoding it."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import UTC, datetime
from fractions import Fraction
from pathlib import Path
from typing import Any

import av

from dashcam.errors import DecodeError


@dataclass(frozen=True)
class VideoInfo:
    """Container/stream facts. ``creation_time`` is tz-aware UTC when the file has one."""

    path: Path
    width: int
    height: int
    fps: float
    duration_s: float | None
    frame_count: int | None
    codec: str
    creation_time: datetime | None


def parse_creation_time(value: str | None) -> datetime | None:
    """ISO 8601 text as FFmpeg writes it (``2024-05-17T08:30:00.000000Z``) -> UTC datetime.

    Naive times are taken as UTC (that is what MP4 ``mvhd`` stores); unparseable or
    epoch-zero values (cameras with no clock) give ``None``.
    """
    if not value:
        return None
    text = value.strip().replace(" ", "T", 1)
    if text.endswith(("Z", "z")):
        text = text[:-1] + "+00:00"
    try:
        when = datetime.fromisoformat(text)
    except ValueError:
        return None
    when = when.replace(tzinfo=UTC) if when.tzinfo is None else when.astimezone(UTC)
    if when.year <= 1970:
        return None
    return when


def open_container(path: Path) -> Any:
    """``av.open`` for reading, with errors turned into one-line ``DecodeError``s."""
    path = Path(path)
    if not path.exists():
        raise DecodeError(f"{path}: no such file")
    if not path.is_file():
        raise DecodeError(f"{path}: not a regular file")
    try:
        return av.open(str(path), mode="r")
    except av.FFmpegError as exc:
        raise DecodeError(f"{path}: not a readable video ({exc.strerror or exc})") from exc


def video_stream(container: Any, path: Path) -> Any:
    """The first video stream, or ``DecodeError`` naming the file."""
    if not container.streams.video:
        container.close()
        raise DecodeError(f"{path}: no video stream")
    return container.streams.video[0]


def _rate(stream: Any) -> float:
    for rate in (stream.average_rate, stream.guessed_rate, stream.base_rate):
        if rate:
            value = float(rate)
            if 0.0 < value < 1000.0:
                return value
    return 0.0


def info_from(container: Any, stream: Any, path: Path) -> VideoInfo:
    """Build ``VideoInfo`` from an open container and its video stream."""
    fps = _rate(stream)
    duration_s: float | None = None
    if stream.duration is not None and stream.time_base is not None:
        duration_s = float(stream.duration * Fraction(stream.time_base))
    elif container.duration is not None:
        duration_s = container.duration / av.time_base
    frame_count: int | None = int(stream.frames) if stream.frames else None
    if frame_count is None and duration_s and fps:
        frame_count = None  # an estimate would lie for VFR; leave unknown
    created = parse_creation_time(
        container.metadata.get("creation_time") or stream.metadata.get("creation_time")
    )
    ctx = stream.codec_context
    return VideoInfo(
        path=Path(path),
        width=int(ctx.width),
        height=int(ctx.height),
        fps=fps,
        duration_s=duration_s,
        frame_count=frame_count,
        codec=str(ctx.name),
        creation_time=created,
    )


def probe(path: Path) -> VideoInfo:
    """Read a video's size, rate, duration, frame count, codec and creation time.

    Raises ``DecodeError`` (one line, naming the file) for a missing file, a file that is
    not media, or media with no video stream. Example::

        probe(Path("clip.mp4")).fps  # 30.0
    """
    path = Path(path)
    container = open_container(path)
    try:
        stream = video_stream(container, path)
        info = info_from(container, stream, path)
    finally:
        container.close()
    if info.width <= 0 or info.height <= 0:
        raise DecodeError(f"{path}: video stream has no frame size")
    return info
