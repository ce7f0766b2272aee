"""GoPro GPMF (``gpmd`` track): the KLV format, its GPS streams, and a writer for tests.

A ``gpmd`` sample (one "payload", usually one second of video) is a tree of KLV
items: a four-character key, a one-byte type, a one-byte struct size, a two-byte
repeat count, then the data padded to 4 bytes. GPS lives in ``DEVC/STRM`` with
sticky items before the samples: ``SCAL`` (divisors), ``GPSU`` (UTC time of the first
sample, ``yymmddhhmmss.sss``), ``GPSF`` (fix: 0 none, 2 2D, 3 3D), ``GPSP`` (DOP x 100).

- ``GPS5`` (HERO5-HERO10): ``lat, lon`` (deg), ``alt`` (m), ``2D speed``, ``3D speed``
  (m/s), int32 each, divided by ``SCAL``; ~18 Hz; no per-sample time, so the samples
  are spread evenly over their payload's span (times from ``GPSU``).
- ``GPS9`` (HERO11+): the same five plus days since 2000, seconds since midnight,
  DOP and fix per sample, so each sample has its own UTC time.

No bearing is recorded. Layout from GoPro's public GPMF specification
(github.com/gopro/gpmf-parser); ExifTool reads the same items.
"""

from __future__ import annotations

import struct
from collections.abc import Iterator, Sequence
from dataclasses import dataclass
from datetime import UTC, datetime

from dashcam.domain.gps import GpsFix, valid_lat_lon

# type char -> struct format of one value (big-endian)
_FORMATS = {
    "b": "b",
    "B": "B",
    "c": "c",
    "d": "d",
    "f": "f",
    "F": "4s",
    "j": "q",
    "J": "Q",
    "l": "i",
    "L": "I",
    "q": "i",
    "Q": "q",
    "s": "h",
    "S": "H",
}
_GPS2000_MS = 946_684_800_000  # 2000-01-01T00:00:00Z


@dataclass(frozen=True)
class Klv:
    key: str
    type: str  # "\0" for a nested item
    struct_size: int
    repeat: int
    data: bytes

    @property
    def nested(self) -> bool:
        return self.type == "\0"


def iter_klv(buf: bytes) -> Iterator[Klv]:
    """The KLV items laid end to end in ``buf``; stops at a truncated item or padding."""
    pos = 0
    while pos + 8 <= len(buf):
        key = buf[pos : pos + 4]
        if key == b"\0\0\0\0":
            return
        type_code, size, repeat = struct.unpack_from(">cBH", buf, pos + 4)
        n = size * repeat
        if pos + 8 + n > len(buf):
            return
        yield Klv(
            key.decode("latin-1"),
            type_code.decode("latin-1"),
            size,
            repeat,
            buf[pos + 8 : pos + 8 + n],
        )
        pos += 8 + (n + 3) // 4 * 4


def numbers(item: Klv, layout: str | None = None) -> list[tuple[float | int, ...]]:
    """The values of a numeric item, one tuple per repeat. ``layout`` is the ``TYPE``
    string of a complex (``?``) item, e.g. ``"lllllllSS"``."""
    fields = layout if item.type == "?" and layout else item.type
    fmt = ">" + "".join(_FORMATS[c] for c in fields)
    width = struct.calcsize(fmt)
    if item.type != "?" and width < item.struct_size:  # several values per repeat
        count = item.struct_size // width
        fmt = ">" + _FORMATS[item.type] * count
        width = struct.calcsize(fmt)
    if width != item.struct_size:
        raise ValueError(f"{item.key}: struct size {item.struct_size} does not fit {fields!r}")
    return [struct.unpack_from(fmt, item.data, i * width) for i in range(item.repeat)]


def parse_gpsu(text: str) -> int:
    """``"231114221320.000"`` (UTC, two-digit year from 2000) -> Unix milliseconds."""
    when = datetime.strptime(text[:12], "%y%m%d%H%M%S").replace(tzinfo=UTC)
    frac = text[12:].strip().lstrip(".") or "0"
    return round(when.timestamp() * 1000) + round(float("0." + frac) * 1000)


def _text(item: Klv) -> str:
    return item.data.decode("latin-1").rstrip("\0 ")


def _scaled(values: tuple[float | int, ...], scal: Sequence[float]) -> list[float]:
    return [float(v) / (scal[i] if i < len(scal) else 1.0) for i, v in enumerate(values)]


def _fix(
    lat: float, lon: float, alt: float, speed: float, utc_ms: int, video_ms: int
) -> GpsFix | None:
    if not valid_lat_lon(lat, lon):
        return None
    return GpsFix(utc_ms, lat, lon, speed_mps=speed, altitude_m=alt, video_ms=video_ms)


def _stream_fixes(stream: Sequence[Klv], start_ms: int, end_ms: int) -> tuple[list[GpsFix], int]:
    scal: list[float] = []
    gpsu: int | None = None
    fix_type: int | None = None
    layout: str | None = None
    fixes: list[GpsFix] = []
    rejected = 0
    for item in stream:
        if item.key == "SCAL":
            scal = [float(v) for row in numbers(item) for v in row]
        elif item.key == "GPSU":
            gpsu = parse_gpsu(_text(item))
        elif item.key == "GPSF":
            fix_type = int(numbers(item)[0][0])
        elif item.key == "TYPE":
            layout = _text(item)
        elif item.key in ("GPS5", "GPS9"):
            rows = numbers(item, layout)
            n = len(rows)
            for k, row in enumerate(rows):
                v = _scaled(row, scal)
                offset = (end_ms - start_ms) * k / n if n else 0.0
                video_ms = round(start_ms + offset)
                if item.key == "GPS9":
                    utc: int | None = _GPS2000_MS + round(v[5] * 86_400_000 + v[6] * 1000)
                    no_fix = len(v) > 8 and v[8] == 0
                else:
                    utc = None if gpsu is None else round(gpsu + offset)
                    no_fix = fix_type == 0
                fix = None if no_fix or utc is None else _fix(v[0], v[1], v[2], v[3], utc, video_ms)
                if fix is None:
                    rejected += 1
                else:
                    fixes.append(fix)
    return fixes, rejected


def fixes_from_payload(payload: bytes, start_ms: int, end_ms: int) -> tuple[list[GpsFix], int]:
    """GPS fixes of one ``gpmd`` sample that spans ``[start_ms, end_ms)`` of the video,
    and the count of samples rejected (no fix, no time, position out of range).

    Speeds are the 2D ground speed in m/s, altitudes metres; bearing is unknown.
    """
    fixes: list[GpsFix] = []
    rejected = 0
    for devc in iter_klv(payload):
        if devc.key != "DEVC" or not devc.nested:
            continue
        for strm in iter_klv(devc.data):
            if strm.key != "STRM" or not strm.nested:
                continue
            items = list(iter_klv(strm.data))
            if any(i.key in ("GPS5", "GPS9") for i in items):
                got, bad = _stream_fixes(items, start_ms, end_ms)
                fixes.extend(got)
                rejected += bad
    return fixes, rejected


# --- writing (synthetic clips) ----------------------------------------------------------


def klv(key: str, type_code: str, struct_size: int, repeat: int, data: bytes) -> bytes:
    """One KLV item, padded to 4 bytes."""
    head = struct.pack(
        ">4scBH", key.encode("latin-1"), type_code.encode("latin-1"), struct_size, repeat
    )
    return head + data + b"\0" * (-len(data) % 4)


def nest(key: str, *items: bytes) -> bytes:
    body = b"".join(items)
    return klv(key, "\0", 4, len(body) // 4, body)


GPS5_SCAL = (10_000_000, 10_000_000, 1000, 1000, 100)


def gps5_payload(
    samples: Sequence[tuple[float, float, float, float]], first_utc_ms: int, *, fix_type: int = 3
) -> bytes:
    """A ``gpmd`` sample holding one GPS5 stream: ``samples`` are (lat, lon, alt_m,
    speed_mps), stored as GoPro does (1e-7 deg, mm, mm/s; 3D speed = 2D speed)."""
    when = datetime.fromtimestamp(first_utc_ms // 1000, tz=UTC)
    gpsu = when.strftime("%y%m%d%H%M%S") + f".{first_utc_ms % 1000:03d}"
    rows = b"".join(
        struct.pack(
            ">5i",
            round(lat * GPS5_SCAL[0]),
            round(lon * GPS5_SCAL[1]),
            round(alt * GPS5_SCAL[2]),
            round(speed * GPS5_SCAL[3]),
            round(speed * GPS5_SCAL[4]),
        )
        for lat, lon, alt, speed in samples
    )
    stream = nest(
        "STRM",
        klv("STNM", "c", 1, 42, b"GPS (Lat., Long., Alt., 2D speed, 3D speed)"),
        klv("GPSF", "L", 4, 1, struct.pack(">I", fix_type)),
        klv("GPSU", "U", 16, 1, gpsu.encode("ascii")),
        klv("GPSP", "S", 2, 1, struct.pack(">H", 150)),
        klv("UNIT", "c", 3, 5, b"degdegm\0\0m/sm/s"),
        klv("SCAL", "l", 4, 5, struct.pack(">5i", *GPS5_SCAL)),
        klv("GPS5", "l", 20, len(samples), rows),
    )
    return nest(
        "DEVC",
        klv("DVID", "L", 4, 1, struct.pack(">I", 1)),
        klv("DVNM", "c", 6, 1, b"Camera"),
        stream,
    )
