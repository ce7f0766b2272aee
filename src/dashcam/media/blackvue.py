"""BlackVue (Pittasoft) MP4s: the ``free`` box with ``sttm``, ``gps `` and ``3gf ``.

A BlackVue recording carries a top-level ``free`` box whose children are

- ``sttm``: uint64 (big-endian), the camera clock in ms when recording started;
- ``gps ``: the NMEA log, each line prefixed by the camera clock ``[unix_ms]``,
  exactly like the ``.gps`` side-car files (RMC speed in knots);
- ``3gf ``: the accelerometer, 10-byte big-endian records ``uint32 ms since the
  start, int16 x, y, z`` (raw counts; ExifTool shows them divided by 10).

A fix's video time is its line's prefix minus ``sttm`` (both the camera's clock, as
ExifTool reads them); without ``sttm``, or when the two plainly disagree (hours
apart), the log has no video time and is aligned by the creation time instead.
"""

from __future__ import annotations

import io
import struct
from collections.abc import Sequence
from dataclasses import dataclass, replace

from dashcam.domain.gps import GpsFix
from dashcam.media.mp4_boxes import box, iter_boxes
from dashcam.media.nmea import parse_nmea

_CHILDREN = frozenset({"cprt", "sttm", "ptnm", "ptrh", "thum", "gps ", "3gf "})
_ACCEL = struct.Struct(">Ihhh")


@dataclass(frozen=True)
class AccelSample:
    """One accelerometer record: ``video_ms`` from the first frame, raw ``x, y, z``."""

    video_ms: int
    x: int
    y: int
    z: int


@dataclass(frozen=True)
class BlackVueData:
    start_ms: int | None
    nmea: str
    accel: tuple[AccelSample, ...]


def parse_free(payload: bytes) -> BlackVueData | None:
    """The BlackVue data in a top-level ``free`` box's payload; None when the box is
    not a Pittasoft one (its first child is none of the known kinds)."""
    fh = io.BytesIO(payload)
    kids = list(iter_boxes(fh, 0, len(payload)))
    if not kids or kids[0].kind not in _CHILDREN:
        return None
    start_ms: int | None = None
    nmea = ""
    accel: list[AccelSample] = []
    for kid in kids:
        data = payload[kid.payload_offset : kid.end]
        if kid.kind == "sttm" and len(data) >= 8:
            start_ms = struct.unpack_from(">Q", data)[0] or None
        elif kid.kind == "gps ":
            nmea = data.rstrip(b"\0").decode("latin-1")
        elif kid.kind == "3gf ":
            accel.extend(accel_samples(data))
    return BlackVueData(start_ms, nmea, tuple(accel))


def accel_samples(data: bytes) -> list[AccelSample]:
    """The 10-byte ``3gf `` records up to the ``0xffffffff`` end marker."""
    out: list[AccelSample] = []
    for pos in range(0, len(data) - _ACCEL.size + 1, _ACCEL.size):
        ms, x, y, z = _ACCEL.unpack_from(data, pos)
        if ms == 0xFFFFFFFF:
            break
        out.append(AccelSample(ms, x, y, z))
    return out


# A recording is minutes long: video times beyond this say ``sttm`` and the prefixes
# are on different clocks (one local time, one UTC), so they are not used.
_MAX_VIDEO_MS = 3_600_000


def fixes(data: BlackVueData) -> tuple[list[GpsFix], int]:
    """The log's fixes (each with ``video_ms`` when ``sttm`` is known and agrees with
    the log's clock) and the count of rejected lines."""
    got, rejected = parse_nmea(data.nmea, video_origin_ms=data.start_ms)
    video = sorted(f.video_ms for f in got if f.video_ms is not None)
    if video and not -60_000 <= video[len(video) // 2] <= _MAX_VIDEO_MS:
        got = [replace(f, video_ms=None) for f in got]
    return got, rejected


# --- writing (synthetic clips) ----------------------------------------------------------


def free_box(start_ms: int, nmea_lines: Sequence[str], accel: Sequence[AccelSample]) -> bytes:
    """A Pittasoft ``free`` box: ``sttm``, the ``gps `` log and the ``3gf `` records."""
    log = ("\n".join(nmea_lines) + "\n").encode("ascii") + b"\0" * 4
    records = b"".join(_ACCEL.pack(a.video_ms, a.x, a.y, a.z) for a in accel)
    return box(
        "free",
        box("sttm", struct.pack(">Q", start_ms)) + box("gps ", log) + box("3gf ", records),
    )
