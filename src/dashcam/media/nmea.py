"""NMEA 0183 logs: parse RMC/GGA (plain or dashcam ``[unix_ms]$GPRMC,...``) and write them.

RMC carries date, speed and course; GGA carries altitude but only a time of day, so
GGA sentences take the date of the nearest RMC and the two merge per timestamp. When
no date is known the ``[unix_ms]`` line prefix is the time. Lines with a bad checksum,
void fixes (RMC status ``V``, GGA quality 0), out-of-range positions and garbage are
counted as rejected; other sentence types (GSV, GSA, VTG, proprietary) are ignored.

This reader is hand-written on purpose: NMEA libraries (pynmea2) parse one sentence
at a time and know neither the dashcam ``[unix_ms]`` prefix (the camera's clock, which
also puts a BlackVue MP4's embedded log on its video timeline) nor how to keep going
through the garbage, torn lines and bad checksums real dashcam logs hold.
"""

from __future__ import annotations

import calendar
import math
import re
from collections.abc import Iterator
from dataclasses import dataclass
from datetime import UTC, datetime

from dashcam.domain.gps import GpsFix, GpsTrack, valid_lat_lon

KNOT_MPS = 1852 / 3600
_DAY_MS = 86_400_000
_LINE = re.compile(r"^\s*(?:\[(?P<prefix>\d{9,16})\]\s*,?\s*)?\$(?P<body>[^*$]*)(?:\*(?P<cs>\S*))?")


def checksum(body: str) -> str:
    """XOR of the characters between ``$`` and ``*``, as two upper-case hex digits."""
    cs = 0
    for ch in body:
        cs ^= ord(ch)
    return f"{cs:02X}"


@dataclass
class _Sentence:
    kind: str  # "RMC" | "GGA"
    tod_ms: int | None
    day_ms: int | None  # UTC midnight of the RMC date
    prefix_ms: int | None
    lat: float
    lon: float
    speed_mps: float | None = None
    bearing_deg: float | None = None
    altitude_m: float | None = None


def _coord(value: str, hemi: str, width: int) -> float:
    if not value or hemi not in ("N", "S", "E", "W"):
        raise ValueError("empty coordinate")
    raw = float(value)
    deg = int(raw // 100)
    minutes = raw - deg * 100
    if minutes >= 60 or raw < 0 or len(value.split(".")[0]) > width + 2:
        raise ValueError(f"bad coordinate {value}")
    out = deg + minutes / 60
    return -out if hemi in ("S", "W") else out


def _tod_ms(value: str) -> int | None:
    if not value:
        return None
    if not re.fullmatch(r"\d{6}(\.\d+)?", value):
        raise ValueError(f"bad time {value}")
    h, m, s = int(value[:2]), int(value[2:4]), float(value[4:])
    if h > 23 or m > 59 or s >= 61:
        raise ValueError(f"bad time {value}")
    return round(((h * 60 + m) * 60 + s) * 1000)


def _day_ms(value: str) -> int | None:
    if not re.fullmatch(r"\d{6}", value):
        return None
    dd, mm, yy = int(value[:2]), int(value[2:4]), int(value[4:])
    year = 1900 + yy if yy >= 80 else 2000 + yy
    return calendar.timegm((year, mm, dd, 0, 0, 0)) * 1000 if 1 <= mm <= 12 and dd else None


def _opt(value: str) -> float | None:
    if not value:
        return None
    out = float(value)
    return out if math.isfinite(out) else None


def _parse_line(line: str) -> _Sentence | None:
    """A sentence, None for a type we ignore; ValueError for a line to reject."""
    m = _LINE.match(line)
    if not m:
        raise ValueError("not NMEA")
    body, cs = m["body"], m["cs"]
    if cs is not None and cs[:2].upper() != checksum(body):
        raise ValueError("bad checksum")
    f = body.split(",")
    addr = f[0]
    if addr.startswith("P"):
        return None  # proprietary
    if len(addr) != 5 or not addr.isalpha():
        raise ValueError("bad address field")
    prefix = int(m["prefix"]) if m["prefix"] else None
    if prefix is not None and prefix < 10**11:
        prefix *= 1000  # seconds, not milliseconds
    kind = addr[2:]
    if kind == "RMC":
        if len(f) < 10 or f[2] != "A":
            raise ValueError("void or short RMC")
        lat, lon = _coord(f[3], f[4], 2), _coord(f[5], f[6], 3)
        speed = _opt(f[7])
        return _Sentence(
            "RMC",
            _tod_ms(f[1]),
            _day_ms(f[9]),
            prefix,
            lat,
            lon,
            speed_mps=None if speed is None else speed * KNOT_MPS,
            bearing_deg=_opt(f[8]),
        )
    if kind == "GGA":
        if len(f) < 10 or f[6] in ("", "0"):
            raise ValueError("void or short GGA")
        lat, lon = _coord(f[2], f[3], 2), _coord(f[4], f[5], 3)
        return _Sentence("GGA", _tod_ms(f[1]), None, prefix, lat, lon, altitude_m=_opt(f[9]))
    return None


def _timestamp(s: _Sentence, day_ms: int | None, near_ms: int | None) -> int | None:
    if s.tod_ms is not None and day_ms is not None:
        t = day_ms + s.tod_ms
        if near_ms is not None:  # a GGA dated by an RMC on the other side of midnight
            if t - near_ms > _DAY_MS / 2:
                t -= _DAY_MS
            elif near_ms - t > _DAY_MS / 2:
                t += _DAY_MS
        return t
    return s.prefix_ms


def _video_ms(s: _Sentence, origin_ms: int | None) -> int | None:
    if origin_ms is None or s.prefix_ms is None:
        return None
    return s.prefix_ms - origin_ms


def parse_nmea(text: str, *, video_origin_ms: int | None = None) -> tuple[list[GpsFix], int]:
    """Fixes (RMC and GGA merged per timestamp) and the number of rejected lines.

    With ``video_origin_ms`` (the camera-clock time of the first frame, e.g. a
    BlackVue ``sttm``), each fix whose line has a ``[unix_ms]`` prefix also gets
    ``video_ms = prefix - video_origin_ms``. Speeds are read as knots (RMC).

    >>> fixes, rejected = parse_nmea(
    ...     "$GPRMC,221320.000,A,5206.0000,N,00418.0000,E,10.0,90.0,141123,,,A*6E\\n")
    >>> fixes[0].timestamp_ms, round(fixes[0].lat, 4), rejected
    (1700000000000, 52.1, 0)
    """
    sentences: list[_Sentence] = []
    rejected = 0
    for line in text.splitlines():
        if not line.strip():
            continue
        try:
            s = _parse_line(line)
        except (ValueError, IndexError):
            rejected += 1
            continue
        if s is not None and valid_lat_lon(s.lat, s.lon):
            sentences.append(s)
        elif s is not None:
            rejected += 1

    # Date each GGA by the nearest RMC before it, else the first one after it.
    dated = [
        (i, s.day_ms + s.tod_ms)
        for i, s in enumerate(sentences)
        if s.kind == "RMC" and s.day_ms is not None and s.tod_ms is not None
    ]
    merged: dict[int, GpsFix] = {}
    j = -1
    for i, s in enumerate(sentences):
        while j + 1 < len(dated) and dated[j + 1][0] <= i:
            j += 1
        ref = dated[j] if j >= 0 else (dated[0] if dated else None)
        if s.kind == "RMC":
            t = _timestamp(s, s.day_ms, None)
        else:
            ref_ms = ref[1] if ref else None
            day = None if ref_ms is None else ref_ms - ref_ms % _DAY_MS
            t = _timestamp(s, day, ref_ms)
        if t is None:
            rejected += 1
            continue
        old = merged.get(t)
        if s.kind == "RMC" or old is None:
            merged[t] = GpsFix(
                t,
                s.lat,
                s.lon,
                s.speed_mps,
                s.bearing_deg,
                s.altitude_m if old is None else old.altitude_m,
                _video_ms(s, video_origin_ms),
            )
        else:  # a GGA joining an RMC: keep RMC's position, add altitude
            merged[t] = GpsFix(
                t,
                old.lat,
                old.lon,
                old.speed_mps,
                old.bearing_deg,
                s.altitude_m if s.altitude_m is not None else old.altitude_m,
                old.video_ms,
            )
    return list(merged.values()), rejected


# --- writing ----------------------------------------------------------------------------


def _fmt_coord(value: float, width: int, pos: str, neg: str) -> tuple[str, str]:
    a = abs(value)
    deg = int(a)
    minutes = round((a - deg) * 60, 6)
    if minutes >= 60:
        deg, minutes = deg + 1, 0.0
    return f"{deg:0{width}d}{minutes:09.6f}", pos if value >= 0 else neg


def _sentence(body: str) -> str:
    return f"${body}*{checksum(body)}"


def nmea_sentences(track: GpsTrack) -> Iterator[str]:
    """``$GPRMC`` then ``$GPGGA`` per fix, with valid checksums (no line endings)."""
    for f in track:
        dt = datetime.fromtimestamp(f.timestamp_ms // 1000, tz=UTC)
        hms = dt.strftime("%H%M%S") + f".{f.timestamp_ms % 1000:03d}"
        lat, ns = _fmt_coord(f.lat, 2, "N", "S")
        lon, ew = _fmt_coord(f.lon, 3, "E", "W")
        knots = "" if f.speed_mps is None else f"{f.speed_mps / KNOT_MPS:.4f}"
        course = "" if f.bearing_deg is None else f"{f.bearing_deg:.3f}"
        yield _sentence(f"GPRMC,{hms},A,{lat},{ns},{lon},{ew},{knots},{course},{dt:%d%m%y},,,A")
        alt = "" if f.altitude_m is None else f"{f.altitude_m:.2f}"
        yield _sentence(f"GPGGA,{hms},{lat},{ns},{lon},{ew},1,08,1.0,{alt},M,0.0,M,,")
