"""Which clock places a video in time: GPS, the container, the burned-in overlay or the
file name — and how far the others are from it.

A video's start (the UTC time of its first frame) can come from several clocks that
often disagree: the GPS track inside the video (satellite time), the container's
creation time (the camera's clock, sometimes local time, sometimes years off when the
clock was never set), the date/time burned into the frames (the camera's clock again, as
the driver sees it) and a time in the file name (``20240517_083012_F.MP4``).
:func:`camera_start` picks the camera's clock (container, else overlay when the container
has none or is more than a minute away from it); ``pipeline/prepare`` lets a GPS track
on the video's timeline override it and records every other clock's offset.

Pure: times in, a choice out.
"""

from __future__ import annotations

import re
from collections.abc import Mapping
from dataclasses import dataclass, field
from datetime import UTC, datetime
from enum import StrEnum

__all__ = [
    "ClockSource",
    "VideoClock",
    "camera_start",
    "filename_time_ms",
    "zone_difference_ms",
    "zone_shift_ms",
]

#: The container and the overlay may differ by this much before the overlay wins.
MAX_DISAGREEMENT_MS = 60_000


class ClockSource(StrEnum):
    """Where a video's start came from."""

    GPS = "gps"  # the GPS track: on the video's timeline, or its first fix
    CONTAINER = "container"  # the container's creation time
    OVERLAY = "overlay"  # the date/time burned into the frames
    FILENAME = "filename"  # a date/time in the file name


@dataclass(frozen=True)
class VideoClock:
    """The start of a video (UTC ms of its first frame), the clock it came from, and
    every other clock's start minus it (ms), e.g. ``{CONTAINER: -118_000_000_000}``
    for a camera whose creation time is years behind its overlay."""

    source: ClockSource
    start_utc_ms: int
    offsets_ms: Mapping[ClockSource, int] = field(default_factory=dict)

    @staticmethod
    def of(source: ClockSource, starts: Mapping[ClockSource, int | None]) -> VideoClock:
        """The clock ``source`` of ``starts`` (each clock's start, None when unknown)."""
        start = starts[source]
        if start is None:
            raise ValueError(f"no {source} start to choose")
        offsets = {k: v - start for k, v in starts.items() if v is not None and k is not source}
        return VideoClock(source, start, offsets)


def camera_start(
    container_ms: int | None, overlay_ms: int | None
) -> tuple[ClockSource, int] | None:
    """The camera's start: the container's creation time, unless the overlay's clock
    exists and the container has none or is more than a minute away from it. An overlay
    a whole number of quarter hours (up to 14 h) from the container, give or take a
    minute, shows the same clock in another time zone: the container (UTC) is kept.

    >>> camera_start(1_000_000, 1_030_000)
    (<ClockSource.CONTAINER: 'container'>, 1000000)
    >>> camera_start(1_000_000, 1_000_000 + 7_200_000 + 2_000)  # overlay in UTC+2
    (<ClockSource.CONTAINER: 'container'>, 1000000)
    >>> camera_start(1_000_000, 1_000_000 + 7 * 60_000)  # camera clock 7 min off
    (<ClockSource.OVERLAY: 'overlay'>, 1420000)
    """
    if overlay_ms is not None and (
        container_ms is None or zone_difference_ms(overlay_ms - container_ms) is None
    ):
        return ClockSource.OVERLAY, overlay_ms
    if container_ms is not None:
        return ClockSource.CONTAINER, container_ms
    return None


def zone_difference_ms(diff_ms: int) -> int | None:
    """The time-zone difference (whole quarter hours, within ±14 h) that ``diff_ms`` is,
    give or take :data:`MAX_DISAGREEMENT_MS`; None when it is no such difference.

    >>> zone_difference_ms(-3_600_000 + 20_000), zone_difference_ms(400_000)
    (-3600000, None)
    """
    zone = round(diff_ms / 900_000) * 900_000
    if abs(zone) <= 14 * 3_600_000 and abs(diff_ms - zone) <= MAX_DISAGREEMENT_MS:
        return zone
    return None


def zone_shift_ms(start_ms: int, end_ms: int, track_start_ms: int, track_end_ms: int) -> int | None:
    """The smallest whole quarter hour (within ±14 h) that moves [start_ms, end_ms] onto
    the track's time range, or None. An overlay shows the camera's wall clock, often
    local time; the GPS log is UTC: the zone is the shift that makes them meet.

    >>> h = 3_600_000
    >>> zone_shift_ms(10 * h, 10 * h + 60_000, 8 * h, 8 * h + 90_000)
    -7200000
    """
    quarter = 900_000
    for k in sorted(range(-56, 57), key=abs):
        shift = k * quarter
        if start_ms + shift <= track_end_ms and track_start_ms <= end_ms + shift:
            return shift
    return None


_NAME_TIME = re.compile(
    r"(?<!\d)(20\d{2}|\d{2})[-_]?(\d{2})[-_]?(\d{2})[-_T ]?(\d{2})[-_]?(\d{2})[-_]?(\d{2})(?!\d)"
)


def filename_time_ms(stem: str) -> int | None:
    """A date/time in a dashcam file name (taken as UTC), or None.

    >>> filename_time_ms("20240517_083012_F") == filename_time_ms("FILE240517-083012F")
    True
    >>> filename_time_ms("demo") is None
    True
    """
    m = _NAME_TIME.search(stem)
    if m is None:
        return None
    y, mo, d, h, mi, s = (int(g) for g in m.groups())
    y = y + 2000 if y < 100 else y
    try:
        t = datetime(y, mo, d, h, mi, s, tzinfo=UTC)
    except ValueError:
        return None
    return round(t.timestamp() * 1000)
