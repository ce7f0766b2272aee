"""GPS tracks embedded in camera videos, read in Python (no ExifTool needed).

Sources, and how each is put on the video's timeline (the boxes first, as they cost
one pass over the file's top level, then the tracks):

- BlackVue: the top-level ``free`` box's NMEA log, timed by the camera clock minus
  ``sttm`` (``media/blackvue.py``), with the ``3gf `` accelerometer.
- Novatek ``freeGPS`` blocks listed in ``moov/gps ``: one per second of video
  (``media/freegps.py``).
- GoPro GPMF (``gpmd`` track) and Google CAMM (``camm`` track): PyAV demuxes the
  track, with every other stream discarded so only its samples are read; a packet's
  presentation time is its place on the video timeline. GPMF samples are spread
  evenly over their packet's span (``media/gpmf.py``, ``media/camm.py``).

Video times are milliseconds from the first frame of the first video stream, the
same clock as a decoded frame's ``pts_s``.
"""

from __future__ import annotations

import logging
import struct
from collections.abc import Iterator
from dataclasses import dataclass
from enum import StrEnum
from fractions import Fraction
from pathlib import Path
from typing import Any, BinaryIO

import av

from dashcam.domain.gps import GpsFix
from dashcam.errors import GpsError
from dashcam.media import blackvue, camm, freegps, gpmf
from dashcam.media.blackvue import AccelSample
from dashcam.media.metadata import parse_creation_time
from dashcam.media.mp4_boxes import (
    Box,
    find,
    is_iso_media,
    read_payload,
    sample_kinds,
    top_level,
)

log = logging.getLogger(__name__)

_MAX_FREE_BOX = 64 << 20  # a BlackVue free box is a few hundred kB; skip huge padding
_MAX_BLOCK = 1 << 16


class EmbeddedSource(StrEnum):
    GPMF = "gpmf"
    CAMM = "camm"
    BLACKVUE = "blackvue"
    FREEGPS = "freegps"


@dataclass(frozen=True)
class EmbeddedTrack:
    """A track read from inside a video: ``fixes`` carry ``video_ms``; ``rejected``
    counts samples without a fix, time or valid position."""

    source: EmbeddedSource
    fixes: tuple[GpsFix, ...]
    rejected: int
    accel: tuple[AccelSample, ...] = ()


def _packets(container: Any, stream: Any, origin_s: Fraction) -> Iterator[tuple[bytes, int, int]]:
    """``(data, start_ms, end_ms)`` per packet of ``stream`` on the video timeline."""
    tb = Fraction(stream.time_base)
    for packet in container.demux(stream):
        if packet.pts is None or packet.size == 0:
            continue
        start = Fraction(packet.pts) * tb - origin_s
        end = start + Fraction(packet.duration or 0) * tb
        yield bytes(packet), round(start * 1000), round(end * 1000)


def _from_streams(path: Path, kinds: dict[int, str]) -> EmbeddedTrack | None:
    """The first ``gpmd`` or ``camm`` track (``kinds``: track_ID -> sample entry type)."""
    wanted = {i: k for i, k in kinds.items() if k in ("gpmd", "camm")}
    if not wanted:
        return None
    try:
        container = av.open(str(path), mode="r")
    except av.FFmpegError:
        return None
    try:
        stream = next((s for s in container.streams if s.id in wanted), None)
        if stream is None:
            return None
        video = container.streams.video[0] if container.streams.video else None
        origin = Fraction(0)
        if video is not None and video.start_time is not None and video.time_base is not None:
            origin = Fraction(video.start_time) * Fraction(video.time_base)
        for other in container.streams:
            if other is not stream:  # else demuxing reads every video byte of the file
                other.discard = av.stream.Discard.all
        if wanted[stream.id] == "gpmd":
            return _gpmf_track(container, stream, origin)
        created = parse_creation_time(container.metadata.get("creation_time"))
        creation_ms = round(created.timestamp() * 1000) if created else None
        return _camm_track(container, stream, origin, creation_ms)
    finally:
        container.close()


def _gpmf_track(container: Any, stream: Any, origin: Fraction) -> EmbeddedTrack:
    fixes: list[GpsFix] = []
    rejected = 0
    for data, start, end in _packets(container, stream, origin):
        try:
            got, bad = gpmf.fixes_from_payload(data, start, end)
        except (ValueError, KeyError, struct.error):
            rejected += 1  # a damaged payload: its samples cannot be counted
            continue
        fixes.extend(got)
        rejected += bad
    return EmbeddedTrack(EmbeddedSource.GPMF, tuple(fixes), rejected)


def _camm_track(
    container: Any, stream: Any, origin: Fraction, creation_ms: int | None
) -> EmbeddedTrack:
    timed: list[GpsFix] = []
    untimed: list[tuple[camm.CammGps, int]] = []
    rejected = 0
    for data, start, _end in _packets(container, stream, origin):
        try:
            samples = camm.gps_samples(data)
        except ValueError:
            rejected += 1
            continue
        for s in samples:
            if s.gps_time_s is None:
                untimed.append((s, start))
                continue
            fix = camm.to_fix(s, start, camm.utc_ms(s.gps_time_s, creation_ms))
            if fix is None:
                rejected += 1
            else:
                timed.append(fix)
    # type 5 has no time: put it on the clock of the timed samples, else the container's
    base = (
        timed[len(timed) // 2].timestamp_ms - (timed[len(timed) // 2].video_ms or 0)
        if timed
        else creation_ms
    )
    for s, video_ms in untimed:
        fix = None if base is None else camm.to_fix(s, video_ms, base + video_ms)
        if fix is None:
            rejected += 1
        else:
            timed.append(fix)
    return EmbeddedTrack(EmbeddedSource.CAMM, tuple(timed), rejected)


def _from_boxes(fh: BinaryIO, boxes: list[Box]) -> EmbeddedTrack | None:
    for b in boxes:
        if b.kind == "free" and 8 <= b.payload_size <= _MAX_FREE_BOX:
            data = blackvue.parse_free(read_payload(fh, b))
            if data is not None and data.nmea:
                fixes, rejected = blackvue.fixes(data)
                return EmbeddedTrack(EmbeddedSource.BLACKVUE, tuple(fixes), rejected, data.accel)
    moov = next((b for b in boxes if b.kind == "moov"), None)
    table_box = find(fh, moov, ["gps "]) if moov is not None else None
    if table_box is None:
        return None
    fixes = []
    rejected = 0
    for k, (offset, size) in enumerate(freegps.gps_table(read_payload(fh, table_box))):
        fh.seek(offset)
        fix = freegps.block_fix(fh.read(min(size, _MAX_BLOCK)), k * freegps.BLOCK_INTERVAL_MS)
        if fix is None:
            rejected += 1
        else:
            fixes.append(fix)
    return EmbeddedTrack(EmbeddedSource.FREEGPS, tuple(fixes), rejected)


def read_embedded(path: Path) -> EmbeddedTrack | None:
    """The GPS track inside ``path`` from the first source that has one, or None when
    the file holds none of these sources. ``GpsError`` when it cannot be read."""
    path = Path(path)
    try:
        with path.open("rb") as fh:
            if not is_iso_media(fh.read(16)):
                return None
            boxes = top_level(fh)
            from_boxes = _from_boxes(fh, boxes)
            moov = next((b for b in boxes if b.kind == "moov"), None)
            kinds = sample_kinds(fh, moov) if moov is not None else {}
    except OSError as exc:
        raise GpsError(f"{path}: cannot read video") from exc
    if from_boxes is not None and from_boxes.fixes:
        return from_boxes
    from_streams = _from_streams(path, kinds)
    if from_streams is not None and (from_streams.fixes or from_boxes is None):
        return from_streams
    return from_boxes
