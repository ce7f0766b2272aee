"""The synthetic drive: a 1 Hz GPS track along a gentle curve and its dashcam NMEA log."""

from __future__ import annotations

import itertools
import math
from collections.abc import Sequence
from datetime import UTC, datetime

import numpy as np

from dashcam.domain.gps import GpsFix

__all__ = ["distance_travelled_m", "drive_track", "nmea_coord_exact", "nmea_lines"]


def _nmea_checksum(body: str) -> str:
    cs = 0
    for ch in body:
        cs ^= ord(ch)
    return f"{cs:02X}"


def _nmea_coord(value: float, deg_width: int, pos: str, neg: str) -> tuple[str, float]:
    """``ddmm.mmmmm`` text and the exact value that text encodes."""
    hemi = pos if value >= 0 else neg
    a = abs(value)
    total_min = round(a * 60, 5)
    deg = int(total_min // 60)
    minutes = total_min - deg * 60
    text = f"{deg:0{deg_width}d}{minutes:08.5f}"
    exact = deg + float(f"{minutes:.5f}") / 60
    return f"{text},{hemi}", exact if value >= 0 else -exact


def nmea_coord_exact(value: float, deg_width: int) -> float:
    """The value ``nmea_lines`` writes for a latitude (``deg_width`` 2) or longitude (3)."""
    return _nmea_coord(value, deg_width, "+", "-")[1]


def nmea_lines(fixes: Sequence[GpsFix]) -> list[str]:
    """Dashcam-style NMEA: ``[unix_ms]$GPRMC,...*hh`` then ``[unix_ms]$GPGGA,...*hh`` per fix."""
    lines: list[str] = []
    for f in fixes:
        when = datetime.fromtimestamp(f.timestamp_ms / 1000, UTC)
        hms = when.strftime("%H%M%S") + f".{when.microsecond // 10000:02d}"
        lat, _ = _nmea_coord(f.lat, 2, "N", "S")
        lon, _ = _nmea_coord(f.lon, 3, "E", "W")
        knots = (f.speed_mps or 0.0) / (1852 / 3600)
        course = f.bearing_deg or 0.0
        rmc = f"GPRMC,{hms},A,{lat},{lon},{knots:.2f},{course:.1f},{when:%d%m%y},,,A"
        alt = f.altitude_m or 0.0
        gga = f"GPGGA,{hms},{lat},{lon},1,09,0.9,{alt:.1f},M,47.0,M,,"
        for body in (rmc, gga):
            lines.append(f"[{f.timestamp_ms}]${body}*{_nmea_checksum(body)}")
    return lines


def drive_track(start_utc: datetime, duration_s: float, rng: np.random.Generator) -> list[GpsFix]:
    """1 Hz fixes from 3 s before the clip to 3 s after, along a gentle curve."""
    radius_m = 6_371_000.0
    t_first = math.floor(start_utc.timestamp()) - 3
    t_last = math.ceil(start_utc.timestamp() + duration_s) + 3
    lat, lon = (
        51.5007 + float(rng.uniform(-0.002, 0.002)),
        -0.1246 + float(rng.uniform(-0.002, 0.002)),
    )
    bearing = float(rng.uniform(40.0, 80.0))
    turn = float(rng.uniform(0.8, 1.6)) * float(rng.choice([-1.0, 1.0]))
    base_speed = float(rng.uniform(12.5, 14.5))
    altitude = float(rng.uniform(10.0, 30.0))
    fixes: list[GpsFix] = []
    for i, sec in enumerate(range(t_first, t_last + 1)):
        speed = round(base_speed + 0.8 * math.sin(i / 7.0), 2)
        heading = (bearing + turn * i) % 360.0
        _, lat_exact = _nmea_coord(lat, 2, "N", "S")
        _, lon_exact = _nmea_coord(lon, 3, "E", "W")
        knots = round(speed / (1852 / 3600), 2)
        fixes.append(
            GpsFix(
                timestamp_ms=sec * 1000,
                lat=lat_exact,
                lon=lon_exact,
                speed_mps=knots * (1852 / 3600),
                bearing_deg=round(heading, 1),
                altitude_m=round(altitude + 0.5 * math.sin(i / 5.0), 1),
            )
        )
        rad = math.radians(heading)
        lat += math.degrees(speed * math.cos(rad) / radius_m)
        lon += math.degrees(speed * math.sin(rad) / (radius_m * math.cos(math.radians(lat))))
    return fixes


def distance_travelled_m(fixes: Sequence[GpsFix], start: datetime, t: float) -> float:
    """Metres driven ``t`` seconds into the clip (speed of the fix before each second)."""
    t0_ms = start.timestamp() * 1000 + t * 1000
    dist = 0.0
    start_ms = start.timestamp() * 1000
    for a, b in itertools.pairwise(fixes):
        lo, hi = max(a.timestamp_ms, start_ms), min(b.timestamp_ms, t0_ms)
        if hi > lo:
            dist += (a.speed_mps or 0.0) * (hi - lo) / 1000
    return dist
