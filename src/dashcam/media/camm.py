"""Google CAMM (camera motion metadata, a ``camm`` track): GPS packets, and a writer.

Each sample is little-endian: ``uint16 reserved, uint16 type`` then the type's data
(developers.google.com/streetview/publish/camm-spec). GPS comes as

- type 6: ``double time_gps_epoch`` (s), ``int32 gps_fix_type`` (0 none, 2 2D, 3 3D),
  ``double lat, lon`` (deg), ``float altitude`` (m), ``float horizontal_accuracy,
  vertical_accuracy`` (m), ``float velocity_east, velocity_north, velocity_up`` (m/s),
  ``float speed_accuracy``. Speed is the horizontal velocity's length, bearing its
  direction.
- type 5: ``double lat, lon, altitude`` and no time of its own.

A sample's time on the video timeline is its packet's presentation time. GPS time
is seconds since 1980-01-06 without leap seconds, so UTC is 18 s behind it (since
2017); some writers put Unix time there instead, which is recognised by being
nearer the video's creation time (as ExifTool does).
"""

from __future__ import annotations

import math
import struct
from collections.abc import Sequence
from dataclasses import dataclass

from dashcam.domain.gps import GpsFix, valid_lat_lon

GPS_EPOCH_UNIX_S = 315_964_800  # 1980-01-06T00:00:00Z
# (UTC instant the offset took effect, GPS - UTC seconds), newest last
_LEAP_SECONDS = (
    (0, 0),
    (1_136_073_600, 14),  # 2006-01-01
    (1_230_768_000, 15),  # 2009-01-01
    (1_341_100_800, 16),  # 2012-07-01
    (1_435_708_800, 17),  # 2015-07-01
    (1_483_228_800, 18),  # 2017-01-01
)
_TYPE_SIZES = {0: 12, 1: 8, 2: 12, 3: 12, 4: 12, 5: 24, 6: 56, 7: 12}
_TYPE6 = struct.Struct("<dIddfffffff")
_TYPE5 = struct.Struct("<ddd")


@dataclass(frozen=True)
class CammGps:
    """One GPS sample of a CAMM packet; ``gps_time_s`` None for type 5."""

    gps_time_s: float | None
    fix_type: int
    lat: float
    lon: float
    altitude_m: float
    velocity_east_mps: float | None = None
    velocity_north_mps: float | None = None


def gps_leap_seconds(gps_s: float) -> int:
    """GPS minus UTC at GPS time ``gps_s`` (seconds since the GPS epoch)."""
    unix = GPS_EPOCH_UNIX_S + gps_s
    return next(leap for since, leap in reversed(_LEAP_SECONDS) if unix - leap >= since)


def utc_ms(gps_s: float, creation_ms: int | None) -> int:
    """UTC milliseconds of a CAMM time: GPS seconds per the specification, or Unix
    seconds when that reading lies nearer the container's creation time."""
    as_gps = (GPS_EPOCH_UNIX_S + gps_s - gps_leap_seconds(gps_s)) * 1000
    if creation_ms is not None and abs(gps_s * 1000 - creation_ms) < abs(as_gps - creation_ms):
        return round(gps_s * 1000)
    return round(as_gps)


def gps_samples(packet: bytes) -> list[CammGps]:
    """The GPS samples (types 5 and 6) in one packet; other types are skipped.
    ValueError for an unknown type or a packet cut short."""
    out: list[CammGps] = []
    pos = 0
    while pos + 4 <= len(packet):
        _, kind = struct.unpack_from("<HH", packet, pos)
        size = _TYPE_SIZES.get(kind)
        if size is None or pos + 4 + size > len(packet):
            raise ValueError(f"CAMM packet: bad type {kind} or short data at byte {pos}")
        body = pos + 4
        if kind == 6:
            t, fix, lat, lon, alt, _h, _v, ve, vn, _vu, _sa = _TYPE6.unpack_from(packet, body)
            out.append(CammGps(t, fix, lat, lon, alt, ve, vn))
        elif kind == 5:
            lat, lon, alt = _TYPE5.unpack_from(packet, body)
            out.append(CammGps(None, 3, lat, lon, alt))
        pos = body + size
    return out


def to_fix(sample: CammGps, video_ms: int, utc: int) -> GpsFix | None:
    """The fix of one sample at ``video_ms`` / UTC ``utc``; None for no fix or a bad
    position. Speed in m/s from the horizontal velocity, bearing from its direction."""
    if sample.fix_type == 0 or not valid_lat_lon(sample.lat, sample.lon):
        return None
    speed = bearing = None
    if sample.velocity_east_mps is not None and sample.velocity_north_mps is not None:
        ve, vn = sample.velocity_east_mps, sample.velocity_north_mps
        speed = math.hypot(ve, vn)
        bearing = math.degrees(math.atan2(ve, vn)) % 360.0 if speed > 0 else None
    return GpsFix(
        utc,
        sample.lat,
        sample.lon,
        speed_mps=speed,
        bearing_deg=bearing,
        altitude_m=sample.altitude_m,
        video_ms=video_ms,
    )


# --- writing (synthetic clips) ----------------------------------------------------------


def gps_time_s(unix_ms: int) -> float:
    """The CAMM (GPS-epoch) time of a UTC instant."""
    unix = unix_ms / 1000
    leap = next(leap for since, leap in reversed(_LEAP_SECONDS) if unix >= since)
    return unix + leap - GPS_EPOCH_UNIX_S


def type6_packet(
    unix_ms: int,
    lat: float,
    lon: float,
    altitude_m: float,
    velocity_en: Sequence[float],
    *,
    fix_type: int = 3,
) -> bytes:
    """One type-6 sample (float fields stored as float32, as the format does)."""
    ve, vn = velocity_en
    body = _TYPE6.pack(
        gps_time_s(unix_ms), fix_type, lat, lon, altitude_m, 2.5, 4.0, ve, vn, 0.0, 0.3
    )
    return struct.pack("<HH", 0, 6) + body
