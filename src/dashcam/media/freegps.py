"""Novatek-style ``freeGPS`` blocks (Viofo, Kenwood, most generic dashcams), and a writer.

The camera writes one ``free`` box per second of video into ``mdat`` and lists them
in a ``moov/gps `` table (``uint32 version, uint32 count``, then big-endian
``uint32 offset, uint32 size`` per block). A block (little-endian) reads::

    0x00  uint32 BE size, "free", "GPS ", uint32 data length
    0x10  int32 hour, minute, second, year - 2000, month, day   (UTC)
    0x28  "A" (or "V": no fix), "N"|"S", "E"|"W", 0
    0x2c  float32 latitude, longitude as DDMM.MMMM; speed (knots); course (deg)
    0x3c  int32 x3 accelerometer (1/256 g), optional

Block ``k`` of the table is taken at ``k`` seconds on the video timeline: the blocks
carry no video time of their own (ExifTool gives them none either). This is the
layout ExifTool calls the Viofo A119 V3 / Novatek format.
"""

from __future__ import annotations

import struct
from collections.abc import Sequence
from datetime import UTC, datetime

from dashcam.domain.gps import GpsFix, valid_lat_lon
from dashcam.media.nmea import KNOT_MPS

MAGIC = b"freeGPS "
BLOCK_INTERVAL_MS = 1000
_BODY = struct.Struct("<6i4s4f")


def ddmm_to_deg(value: float, hemi: str) -> float:
    """``5130.5`` ("51 deg 30.5 min") with ``"S"`` -> ``-51.508333...``."""
    deg = int(abs(value) // 100)
    out = deg + (abs(value) - deg * 100) / 60
    return -out if hemi in ("S", "W") else out


def gps_table(payload: bytes) -> list[tuple[int, int]]:
    """(offset, size) of each block from a ``moov/gps `` payload (count capped by length)."""
    if len(payload) < 8:
        return []
    count = struct.unpack_from(">I", payload, 4)[0]
    count = min(count, (len(payload) - 8) // 8)
    return [struct.unpack_from(">II", payload, 8 + 8 * i) for i in range(count)]


def block_fix(block: bytes, video_ms: int) -> GpsFix | None:
    """The fix in one block, or None (no fix, not this layout, position out of range)."""
    if len(block) < 0x3C or block[4:12] != MAGIC:
        return None
    hh, mm, ss, yy, mo, dd, flags, lat, lon, knots, course = _BODY.unpack_from(block, 0x10)
    status, ns, ew = chr(flags[0]), chr(flags[1]), chr(flags[2])
    if status != "A" or ns not in "NS" or ew not in "EW":
        return None
    try:
        when = datetime(yy + 2000 if yy < 100 else yy, mo, dd, hh, mm, ss, tzinfo=UTC)
    except (ValueError, OverflowError):
        return None
    t_ms = round(when.timestamp()) * 1000
    lat_deg, lon_deg = ddmm_to_deg(lat, ns), ddmm_to_deg(lon, ew)
    if not valid_lat_lon(lat_deg, lon_deg):
        return None
    return GpsFix(
        t_ms,
        lat_deg,
        lon_deg,
        speed_mps=knots * KNOT_MPS,
        bearing_deg=course,
        video_ms=video_ms,
    )


# --- writing (synthetic clips) ----------------------------------------------------------


def deg_to_ddmm(value: float) -> float:
    """``-51.5083333`` -> ``5130.5`` (the sign goes to the hemisphere letter)."""
    a = abs(value)
    deg = int(a)
    return deg * 100 + (a - deg) * 60


def block(
    unix_ms: int, lat: float, lon: float, speed_mps: float, course_deg: float, size: int = 256
) -> bytes:
    """One ``free`` box of ``size`` bytes holding a fix (whole seconds; float32 fields)."""
    when = datetime.fromtimestamp(unix_ms // 1000, tz=UTC)
    body = _BODY.pack(
        when.hour,
        when.minute,
        when.second,
        when.year - 2000,
        when.month,
        when.day,
        b"A" + (b"N" if lat >= 0 else b"S") + (b"E" if lon >= 0 else b"W") + b"\0",
        deg_to_ddmm(lat),
        deg_to_ddmm(lon),
        speed_mps / KNOT_MPS,
        course_deg,
    )
    head = struct.pack(">I4s4s", size, b"free", b"GPS ") + struct.pack("<I", size - 16)
    data = head + body + bytes(12)  # accelerometer left at zero (not recorded)
    return data + bytes(size - len(data))


def table(entries: Sequence[tuple[int, int]]) -> bytes:
    """The ``moov/gps `` payload listing ``(offset, size)`` blocks."""
    return struct.pack(">II", 0x101, len(entries)) + b"".join(
        struct.pack(">II", off, size) for off, size in entries
    )
