"""A dashcam's burned-in date and time (and speed, position) read as a clock.

Dashcams print their clock into every frame: ``2024/05/17 08:30:12``,
``7/27/2018 4:11:12 PM``, ``17.05.2024 08:30:12 56 km/h N52.52000 E13.40500``. Read by
OCR the separators and spaces often go missing (``7272018 41112PM``); the digits and
their order survive. :func:`parse_overlay` turns one frame's overlay text into an
:class:`OverlayReading`; :func:`overlay_clock` turns a few frames' readings into the
video's clock: the shown time at the first frame (median over frames of shown time
minus frame time, outliers dropped).

The shown time is a wall clock without a zone: it is returned as if it were UTC (the
camera's setting decides; ``pipeline/prepare`` lines it up with a GPS log when one exists).

Pure: text and times in, readings and a clock out.

>>> r = parse_overlay("7/27/2018 4:11:12 PM")
>>> datetime.fromtimestamp(r.shown_ms / 1000, UTC).isoformat()
'2018-07-27T16:11:12+00:00'
"""

from __future__ import annotations

import re
from collections.abc import Sequence
from dataclasses import dataclass
from datetime import UTC, datetime
from enum import StrEnum

import numpy as np

__all__ = ["DateOrder", "OverlayClock", "OverlayReading", "overlay_clock", "parse_overlay"]

MPH_TO_KMH = 1.609344


class DateOrder(StrEnum):
    """Order of day, month and year in a date without a four-digit year first."""

    YMD = "ymd"
    MDY = "mdy"
    DMY = "dmy"


@dataclass(frozen=True)
class OverlayReading:
    """What one frame's overlay says. ``shown_ms``: the shown date/time as if UTC (ms since
    the epoch); ``resolution_ms``: 1000 with seconds shown, 60000 without."""

    shown_ms: int | None
    resolution_ms: int = 1000
    speed_kmh: float | None = None
    lat: float | None = None
    lon: float | None = None


@dataclass(frozen=True)
class OverlayClock:
    """The clock a video's overlay shows: ``start_ms`` is the shown time at the first
    frame (pts 0, as if UTC); ``n_used`` of ``n_read`` readings agreed on it."""

    start_ms: int
    n_used: int
    n_read: int
    speed_kmh: float | None = None
    lat: float | None = None
    lon: float | None = None


# OCR confusions inside digit runs (the overlay font is not a plate font, same mistakes)
_DIGIT_LOOKALIKES = str.maketrans({"O": "0", "Q": "0", "D": "0", "I": "1", "L": "1", "|": "1"})
_LOOKALIKE_RUN = re.compile(r"(?<=\d)[OQDIL|]+(?=\d)")
_SPEED = re.compile(r"(\d{1,3})\s*(KM\s*/?\s*H|KPH|MPH)")
_HEMI_FIRST = re.compile(r"([NS])\s*(\d{1,2}\.\d+)\W{0,3}([EW])\s*(\d{1,3}\.\d+)")
_HEMI_AFTER = re.compile(r"(\d{1,2}\.\d+)\s*([NS])\W{0,3}(\d{1,3}\.\d+)\s*([EW])")
_SIGNED = re.compile(r"(-?\d{1,2}\.\d{4,})\s*[,;]?\s*(-?\d{1,3}\.\d{4,})")
_AMPM = re.compile(r"([AP])\s*\.?\s*M\b\.?")
_YMD = re.compile(r"(?<!\d)(\d{4})\s*([/\-.])\s*(\d{1,2})\s*\2\s*(\d{1,2})(?!\d)")
_XXY = re.compile(r"(?<!\d)(\d{1,2})\s*([/\-.])\s*(\d{1,2})\s*\2\s*(\d{4}|\d{2})(?!\d)")
_HMS = re.compile(r"(?<!\d)(\d{1,2})\s*:\s*(\d{2})(?:\s*:\s*(\d{2}))?(?!\d)")
_HMS_DOTS = re.compile(r"(?<!\d)(\d{1,2})\.(\d{2})\.(\d{2})(?!\d)")


def _digits_fixed(text: str) -> str:
    return _LOOKALIKE_RUN.sub(lambda m: m.group(0).translate(_DIGIT_LOOKALIKES), text.upper())


def _take(pattern: re.Pattern[str], text: str) -> tuple[re.Match[str] | None, str]:
    """The first match of ``pattern`` and ``text`` with it blanked out."""
    m = pattern.search(text)
    if m is None:
        return None, text
    return m, text[: m.start()] + " " + text[m.end() :]


def _position(text: str) -> tuple[float | None, float | None, str]:
    m, rest = _take(_HEMI_FIRST, text)
    if m is not None:
        lat = float(m.group(2)) * (-1 if m.group(1) == "S" else 1)
        lon = float(m.group(4)) * (-1 if m.group(3) == "W" else 1)
        return lat, lon, rest
    m, rest = _take(_HEMI_AFTER, text)
    if m is not None:
        lat = float(m.group(1)) * (-1 if m.group(2) == "S" else 1)
        lon = float(m.group(3)) * (-1 if m.group(4) == "W" else 1)
        return lat, lon, rest
    m, rest = _take(_SIGNED, text)
    if m is not None and abs(float(m.group(1))) <= 90 and abs(float(m.group(2))) <= 180:
        return float(m.group(1)), float(m.group(2)), rest
    return None, None, text


def _valid_date(y: int, mo: int, d: int) -> bool:
    if not (1990 <= y <= 2099 and 1 <= mo <= 12 and 1 <= d <= 31):
        return False
    try:
        datetime(y, mo, d)
    except ValueError:
        return False
    return True


def _year(v: str) -> int:
    return int(v) + 2000 if len(v) == 2 else int(v)


def _date_with_separators(
    text: str, order: DateOrder | None, twelve_hour: bool
) -> tuple[tuple[int, int, int] | None, str]:
    m, rest = _take(_YMD, text)
    if m is not None:
        y, mo, d = int(m.group(1)), int(m.group(3)), int(m.group(4))
        return ((y, mo, d) if _valid_date(y, mo, d) else None), rest
    m, rest = _take(_XXY, text)
    if m is None:
        return None, text
    a, b, y = int(m.group(1)), int(m.group(3)), _year(m.group(4))
    if order is None:
        # '.' dates are day first everywhere; '/' is month first where clocks say AM/PM
        order = DateOrder.MDY if m.group(2) == "/" and (twelve_hour or a <= 12) else DateOrder.DMY
    tries = [(y, a, b), (y, b, a)] if order is DateOrder.MDY else [(y, b, a), (y, a, b)]
    return next((t for t in tries if _valid_date(*t)), None), rest


def _dates_in_digits(
    digits: str, order: DateOrder | None, twelve_hour: bool
) -> list[tuple[tuple[int, int, int], str]]:
    """Every (date, time digits) a separator-less digit string can be, likeliest first."""
    out: list[tuple[tuple[int, int, int], str, int]] = []
    prefer = order or (DateOrder.MDY if twelve_hour else DateOrder.DMY)
    for i in range(len(digits) - 3):
        y = int(digits[i : i + 4])
        if not 1990 <= y <= 2099:
            continue
        head, tail = digits[:i], digits[i + 4 :]
        if not head:  # year first: MMDD follows
            if len(tail) >= 4 and _valid_date(y, int(tail[:2]), int(tail[2:4])):
                rank = 0 if prefer is DateOrder.YMD or order is None else 1
                out.append(((y, int(tail[:2]), int(tail[2:4])), tail[4:], rank))
            continue
        splits = {2: [(1, 1)], 3: [(1, 2), (2, 1)], 4: [(2, 2)]}.get(len(head), [])
        for k, _ in splits:
            a, b = int(head[:k]), int(head[k:])
            for (mo, d), o in (((a, b), DateOrder.MDY), ((b, a), DateOrder.DMY)):
                if _valid_date(y, mo, d):
                    out.append(((y, mo, d), tail, 0 if o is prefer else 1))
    out.sort(key=lambda c: c[2])
    seen: list[tuple[tuple[int, int, int], str]] = []
    for date, tail, _ in out:
        if (date, tail) not in seen:
            seen.append((date, tail))
    return seen


def _time_from_digits(digits: str) -> tuple[int, int, int | None] | None:
    if len(digits) in (5, 6):
        h, m, s = int(digits[:-4]), int(digits[-4:-2]), int(digits[-2:])
        return h, m, s
    if len(digits) in (3, 4):
        return int(digits[:-2]), int(digits[-2:]), None
    return None


def _clock_ms(
    date: tuple[int, int, int], hms: tuple[int, int, int | None], ampm: str | None
) -> tuple[int, int] | None:
    h, m, s = hms
    if ampm is not None:
        if not 1 <= h <= 12:
            return None
        h = h % 12 + (12 if ampm == "P" else 0)
    if not (0 <= h <= 23 and 0 <= m <= 59 and (s is None or 0 <= s <= 59)):
        return None
    t = datetime(date[0], date[1], date[2], h, m, s or 0, tzinfo=UTC)
    return round(t.timestamp() * 1000), 1000 if s is not None else 60_000


def parse_overlay(text: str, order: DateOrder | None = None) -> OverlayReading | None:
    """What a dashcam overlay's text says, or None when it shows neither a date and time
    nor a speed nor a position.

    Formats: ``YYYY/MM/DD HH:MM:SS``, ``YYYY-MM-DD ...``, ``MM/DD/YYYY h:mm:ss AM``,
    ``DD.MM.YYYY HH:MM:SS``, 24 h and 12 h, seconds optional, with or without the
    separators (OCR drops them). ``order`` settles dates like ``05/06/2024``; without it
    ``/`` dates are month first (day first when that cannot be), ``.`` and ``-`` day
    first. Speed: ``56 km/h``, ``35 MPH`` (``speed_kmh``); position: ``N52.52 E13.40``,
    ``52.52N 13.40E`` or ``52.52, 13.40``.

    >>> r = parse_overlay("2024/05/17 08:30:12 56km/h")
    >>> r.shown_ms, r.speed_kmh
    (1715934612000, 56.0)
    >>> parse_overlay("7272018 41112PM").shown_ms == parse_overlay("7/27/2018 4:11:12 PM").shown_ms
    True
    """
    s = _digits_fixed(text)
    speed: float | None = None
    m, s = _take(_SPEED, s)
    if m is not None:
        speed = float(m.group(1)) * (MPH_TO_KMH if m.group(2) == "MPH" else 1.0)
    lat, lon, s = _position(s)
    m, s = _take(_AMPM, s)
    ampm = m.group(1) if m is not None else None
    shown = _shown(s, order, ampm)
    if shown is None and speed is None and lat is None:
        return None
    return OverlayReading(
        shown_ms=shown[0] if shown else None,
        resolution_ms=shown[1] if shown else 1000,
        speed_kmh=speed,
        lat=lat,
        lon=lon,
    )


def _shown(text: str, order: DateOrder | None, ampm: str | None) -> tuple[int, int] | None:
    date, rest = _date_with_separators(text, order, ampm is not None)
    if date is not None:
        m, _ = _take(_HMS, rest)
        if m is None:
            m, _ = _take(_HMS_DOTS, rest)
        if m is not None:
            hms = (int(m.group(1)), int(m.group(2)), int(m.group(3)) if m.group(3) else None)
            return _clock_ms(date, hms, ampm)
        hms_digits = _time_from_digits("".join(re.findall(r"\d", rest)))
        return None if hms_digits is None else _clock_ms(date, hms_digits, ampm)
    # separators lost: one digit string, date first then time
    digits = "".join(re.findall(r"\d", text))
    for date_found, tail in _dates_in_digits(digits, order, ampm is not None):
        hms_found = _time_from_digits(tail)
        if hms_found is not None and (got := _clock_ms(date_found, hms_found, ampm)):
            return got
    return None


def overlay_clock(
    readings: Sequence[tuple[float, OverlayReading | None]],
    *,
    max_outlier_ms: int = 2_000,
    min_used: int = 2,
) -> OverlayClock | None:
    """The overlay's time at the first frame from ``(pts_s, reading)`` pairs, or None.

    Each reading says the clock at its frame lies in [shown, shown + resolution) (a
    clock shows the second that has begun). Readings more than ``max_outlier_ms`` from
    the median of (shown - pts) are misreads and dropped; at least ``min_used`` and half
    of the readings must agree. The start is the middle of the interval every kept
    reading allows (sub-second when the frames fall at different phases of the second),
    else the median plus half a tick.

    >>> start_s = 999.7  # the clock at the first frame; a frame shows the begun second
    >>> rs = [(t, OverlayReading(int(start_s + t) * 1000)) for t in (0.0, 0.7, 1.4, 2.1)]
    >>> overlay_clock(rs).start_ms
    999750
    """
    timed = [(pts, r) for pts, r in readings if r is not None and r.shown_ms is not None]
    if not timed:
        return None
    deltas = np.array([(r.shown_ms or 0) - round(pts * 1000) for pts, r in timed], np.int64)
    med = float(np.median(deltas))
    keep = [i for i, d in enumerate(deltas.tolist()) if abs(d - med) <= max_outlier_ms]
    if len(keep) < max(min_used, -(-len(timed) // 2)):
        return None
    res = np.array([timed[i][1].resolution_ms for i in keep], dtype=np.int64)
    kept = deltas[keep]
    lo, hi = int(kept.max()), int((kept + res).min())
    start = (lo + hi) // 2 if lo < hi else int(np.median(kept + res // 2))
    speeds = [r.speed_kmh for _, r in readings if r is not None and r.speed_kmh is not None]
    spots = [(r.lat, r.lon) for _, r in readings if r is not None and r.lat is not None]
    return OverlayClock(
        start_ms=start,
        n_used=len(keep),
        n_read=len(timed),
        speed_kmh=float(np.median(speeds)) if speeds else None,
        lat=spots[0][0] if spots else None,
        lon=spots[0][1] if spots else None,
    )
