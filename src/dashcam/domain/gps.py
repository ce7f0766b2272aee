"""GPS fixes and tracks: pure types and logic (interpolation, distance, clocks).

Times are UTC milliseconds since the Unix epoch (``*_ms``), distances metres,
speeds metres per second, bearings degrees clockwise from true north in [0, 360).
A fix read from a track embedded in a video also has ``video_ms``: its time on that
video's own timeline (milliseconds from the first frame, the frames' ``pts_s`` clock).
"""

from __future__ import annotations

import math
from collections.abc import Iterable, Iterator
from dataclasses import dataclass, replace
from enum import StrEnum
from functools import cached_property
from typing import overload

import numpy as np
import numpy.typing as npt

from dashcam.domain.video_clock import ClockSource, camera_start

EARTH_RADIUS_M = 6_371_008.8  # mean Earth radius (IUGG)

FloatArray = npt.NDArray[np.float64]
IntArray = npt.NDArray[np.int64]


@dataclass(frozen=True)
class GpsFix:
    """One position. ``timestamp_ms`` is UTC milliseconds since the Unix epoch;
    ``video_ms`` the time on the video's own timeline when the fix came from a track
    embedded in that video (None for side-car files)."""

    timestamp_ms: int
    lat: float
    lon: float
    speed_mps: float | None = None
    bearing_deg: float | None = None
    altitude_m: float | None = None
    video_ms: int | None = None


def valid_lat_lon(lat: float, lon: float) -> bool:
    """True when ``lat`` is in [-90, 90] and ``lon`` in [-180, 180] (and both finite)."""
    return math.isfinite(lat) and math.isfinite(lon) and -90 <= lat <= 90 and -180 <= lon <= 180


def haversine_m(a: GpsFix, b: GpsFix) -> float:
    """Great-circle distance in metres, e.g. one degree of latitude ≈ 111_195 m."""
    p1, p2 = math.radians(a.lat), math.radians(b.lat)
    dp = p2 - p1
    dl = math.radians(b.lon - a.lon)
    h = math.sin(dp / 2) ** 2 + math.cos(p1) * math.cos(p2) * math.sin(dl / 2) ** 2
    return 2 * EARTH_RADIUS_M * math.asin(min(1.0, math.sqrt(h)))


def bearing_deg(a: GpsFix, b: GpsFix) -> float:
    """Initial great-circle bearing from ``a`` to ``b`` in [0, 360); due east is 90."""
    p1, p2 = math.radians(a.lat), math.radians(b.lat)
    dl = math.radians(b.lon - a.lon)
    y = math.sin(dl) * math.cos(p2)
    x = math.cos(p1) * math.sin(p2) - math.sin(p1) * math.cos(p2) * math.cos(dl)
    return math.degrees(math.atan2(y, x)) % 360.0


def _opt(values: Iterable[float | None]) -> FloatArray:
    return np.array([np.nan if v is None else v for v in values], dtype=np.float64)


class GpsTrack:
    """Fixes sorted by time, exact duplicates dropped (fixes sharing a time are kept).

    >>> t = GpsTrack([GpsFix(2000, 0.0, 0.001), GpsFix(1000, 0.0, 0.0)])
    >>> t.start_ms, t.end_ms, t.duration_s
    (1000, 2000, 1.0)
    """

    def __init__(self, fixes: Iterable[GpsFix] = ()) -> None:
        unique = dict.fromkeys(fixes)  # keeps first occurrence order, drops exact dups
        self.fixes: tuple[GpsFix, ...] = tuple(sorted(unique, key=lambda f: f.timestamp_ms))

    def __len__(self) -> int:
        return len(self.fixes)

    def __iter__(self) -> Iterator[GpsFix]:
        return iter(self.fixes)

    @overload
    def __getitem__(self, index: int) -> GpsFix: ...
    @overload
    def __getitem__(self, index: slice) -> GpsTrack: ...
    def __getitem__(self, index: int | slice) -> GpsFix | GpsTrack:
        if isinstance(index, slice):
            return GpsTrack(self.fixes[index])
        return self.fixes[index]

    def __eq__(self, other: object) -> bool:
        return isinstance(other, GpsTrack) and self.fixes == other.fixes

    def __hash__(self) -> int:
        return hash(self.fixes)

    def __repr__(self) -> str:
        if not self.fixes:
            return "GpsTrack([])"
        return f"GpsTrack({len(self)} fixes, {self.start_ms}..{self.end_ms} ms)"

    @property
    def start_ms(self) -> int:
        """Time of the first fix; ValueError on an empty track."""
        if not self.fixes:
            raise ValueError("empty GPS track has no start time")
        return self.fixes[0].timestamp_ms

    @property
    def end_ms(self) -> int:
        """Time of the last fix; ValueError on an empty track."""
        if not self.fixes:
            raise ValueError("empty GPS track has no end time")
        return self.fixes[-1].timestamp_ms

    @property
    def duration_s(self) -> float:
        """Seconds from first to last fix (0.0 for fewer than two fixes)."""
        return (self.end_ms - self.start_ms) / 1000.0 if self.fixes else 0.0

    @cached_property
    def distance_m(self) -> float:
        """Sum of great-circle distances between consecutive fixes, in metres."""
        if len(self.fixes) < 2:
            return 0.0
        lat = np.radians(self.lat)
        lon = np.radians(self.lon)
        dp = np.diff(lat)
        dl = np.diff(lon)
        h = np.sin(dp / 2) ** 2 + np.cos(lat[:-1]) * np.cos(lat[1:]) * np.sin(dl / 2) ** 2
        return float(np.sum(2 * EARTH_RADIUS_M * np.arcsin(np.minimum(1.0, np.sqrt(h)))))

    # Column views, shape (n,); missing optional values are NaN.
    @cached_property
    def timestamps_ms(self) -> IntArray:
        return np.array([f.timestamp_ms for f in self.fixes], dtype=np.int64)

    @cached_property
    def lat(self) -> FloatArray:
        return np.array([f.lat for f in self.fixes], dtype=np.float64)

    @cached_property
    def lon(self) -> FloatArray:
        return np.array([f.lon for f in self.fixes], dtype=np.float64)

    @cached_property
    def speed_mps(self) -> FloatArray:
        return _opt(f.speed_mps for f in self.fixes)

    @cached_property
    def bearing_deg(self) -> FloatArray:
        return _opt(f.bearing_deg for f in self.fixes)

    @cached_property
    def altitude_m(self) -> FloatArray:
        return _opt(f.altitude_m for f in self.fixes)

    @property
    def on_video_timeline(self) -> bool:
        """True when every fix has a ``video_ms`` (a track read from inside its video)."""
        return bool(self.fixes) and all(f.video_ms is not None for f in self.fixes)


@dataclass(frozen=True)
class TrackPositions:
    """Interpolated positions for many times; every array has the shape of ``timestamps_ms``.

    Unknown values (outside the track, across a gap, field never recorded) are NaN.
    """

    timestamps_ms: IntArray
    lat: FloatArray
    lon: FloatArray
    speed_mps: FloatArray
    bearing_deg: FloatArray
    altitude_m: FloatArray

    @property
    def known(self) -> npt.NDArray[np.bool_]:
        """True where a position could be interpolated."""
        return ~np.isnan(self.lat)


def _circular_lerp(a: FloatArray, b: FloatArray, w: FloatArray, period: float) -> FloatArray:
    half = period / 2
    d = np.mod(b - a + half, period) - half  # shortest signed difference
    return np.asarray(a + w * d, dtype=np.float64)


def _interpolate(
    track: GpsTrack, keys: IntArray, order: IntArray, t: IntArray, max_gap_s: float
) -> TrackPositions:
    """Interpolate every column at times ``t`` on the clock ``keys`` (one key per fix,
    ``order`` sorts them); the result's ``timestamps_ms`` is UTC, interpolated too."""
    shape = t.shape
    flat = t.reshape(-1)
    nan = np.full(flat.shape, np.nan, dtype=np.float64)
    n = len(track)
    if n == 0:
        return TrackPositions(t, *(nan.reshape(shape) for _ in range(5)))
    ts = keys[order]
    i1 = np.searchsorted(ts, flat, side="right")
    i0 = i1 - 1
    i0c = np.clip(i0, 0, n - 1)
    i1c = np.clip(i1, 0, n - 1)
    exact = (i0 >= 0) & (ts[i0c] == flat)
    gap_ms = ts[i1c] - ts[i0c]
    inner = (i0 >= 0) & (i1 < n) & (gap_ms <= max_gap_s * 1000.0)
    ok = exact | inner
    i1c = np.where(exact, i0c, i1c)
    span = (ts[i1c] - ts[i0c]).astype(np.float64)
    w = np.where(span > 0, (flat - ts[i0c]) / np.where(span > 0, span, 1.0), 0.0)

    def lerp(col: FloatArray) -> FloatArray:
        c = col[order]
        out = c[i0c] + w * (c[i1c] - c[i0c])
        return np.where(ok, out, np.nan).reshape(shape)

    def clerp(col: FloatArray, period: float, low: float) -> FloatArray:
        c = col[order]
        out = _circular_lerp(c[i0c], c[i1c], w, period)
        # wrap only what left the range, so exact fixes keep their exact value
        out = np.where(out < low, out + period, np.where(out >= low + period, out - period, out))
        return np.where(ok, out, np.nan).reshape(shape)

    utc = np.rint(lerp(track.timestamps_ms.astype(np.float64)))
    return TrackPositions(
        timestamps_ms=np.where(ok.reshape(shape), utc, 0).astype(np.int64),
        lat=lerp(track.lat),
        lon=clerp(track.lon, 360.0, -180.0),
        speed_mps=lerp(track.speed_mps),
        bearing_deg=clerp(track.bearing_deg, 360.0, 0.0),
        altitude_m=lerp(track.altitude_m),
    )


def positions_at(track: GpsTrack, t_ms: npt.ArrayLike, max_gap_s: float) -> TrackPositions:
    """Interpolate the track at each time in ``t_ms`` (any shape of ints, UTC ms).

    Linear between the two fixes around each time; bearing and longitude go the short
    way round the circle. NaN outside [start_ms, end_ms] and where the surrounding
    fixes are more than ``max_gap_s`` apart; a time equal to a fix's time is that fix.
    """
    t = np.asarray(t_ms, dtype=np.int64)
    order = np.arange(len(track), dtype=np.int64)
    out = _interpolate(track, track.timestamps_ms, order, t, max_gap_s)
    return replace(out, timestamps_ms=t)


def positions_at_video_ms(
    track: GpsTrack, video_ms: npt.ArrayLike, max_gap_s: float
) -> TrackPositions:
    """Like ``positions_at`` but on the video's own timeline: ``video_ms`` are frame
    times (ms from the first frame) and the track must be ``on_video_timeline``. The
    result's ``timestamps_ms`` are the UTC times interpolated between the same fixes.
    ValueError for a track without video times."""
    if not track.on_video_timeline:
        raise ValueError("track has no video times: it was not read from inside a video")
    keys = np.array([f.video_ms for f in track.fixes], dtype=np.int64)
    order = np.argsort(keys, kind="stable").astype(np.int64)
    return _interpolate(track, keys, order, np.asarray(video_ms, dtype=np.int64), max_gap_s)


def _first_fix(p: TrackPositions, video_ms: int | None) -> GpsFix | None:
    if not p.known[0]:
        return None

    def opt(col: FloatArray) -> float | None:
        v = float(col[0])
        return None if math.isnan(v) else v

    return GpsFix(
        timestamp_ms=int(p.timestamps_ms[0]),
        lat=float(p.lat[0]),
        lon=float(p.lon[0]),
        speed_mps=opt(p.speed_mps),
        bearing_deg=opt(p.bearing_deg),
        altitude_m=opt(p.altitude_m),
        video_ms=video_ms,
    )


def position_at(track: GpsTrack, t_ms: int, *, max_gap_s: float) -> GpsFix | None:
    """The interpolated fix at ``t_ms``, or None outside the track or across a gap.

    >>> tr = GpsTrack([GpsFix(0, 0.0, 0.0, bearing_deg=350.0), GpsFix(2000, 2.0, 0.0,
    ...     bearing_deg=10.0)])
    >>> p = position_at(tr, 1000, max_gap_s=5)
    >>> (p.lat, p.bearing_deg)
    (1.0, 0.0)
    """
    return _first_fix(positions_at(track, np.array([t_ms], dtype=np.int64), max_gap_s), None)


def position_at_frame(
    track: GpsTrack, pts_s: float, *, start_utc_ms: int | None, max_gap_s: float
) -> GpsFix | None:
    """Where the camera was ``pts_s`` seconds into the video, or None when unknown.

    A track read from inside the video is ``on_video_timeline``: the frame meets it by
    video time (no clock to trust). Any other track is looked up at the UTC time
    ``start_utc_ms + pts_s`` (None when that start is unknown). The fix's
    ``timestamp_ms`` is UTC either way.
    """
    frame_ms = round(pts_s * 1000)
    if track.on_video_timeline:
        p = positions_at_video_ms(track, np.array([frame_ms], dtype=np.int64), max_gap_s)
        return _first_fix(p, frame_ms)
    if start_utc_ms is None:
        return None
    return position_at(track, start_utc_ms + frame_ms, max_gap_s=max_gap_s)


class TrackTimeBase(StrEnum):
    """How a video's frames are put on its GPS track."""

    VIDEO = "video"  # track embedded in the video: frames meet fixes by video time
    CREATION_TIME = "creation_time"  # side-car: first frame at the container's creation time
    OVERLAY = "overlay"  # side-car: first frame at the time burned into the frames
    FIRST_FIX = "first_fix"  # side-car and no camera clock: first frame at the first fix


@dataclass(frozen=True)
class GpsClock:
    """How one video's frames meet its GPS track, as recorded with the video.

    ``start_utc_ms`` is the UTC time of the first frame. ``gps_minus_creation_ms`` is
    the GPS clock minus the container's creation time (e.g. -3_600_000 for a camera
    that writes UTC+1 local time as its creation time); None unless the track is on
    the video's timeline and the container has a creation time.
    """

    time_base: TrackTimeBase
    source: str
    start_utc_ms: int
    gps_minus_creation_ms: int | None = None


def recorded_clock(clock: GpsClock | None) -> ClockSource:
    """The clock of the start of a video whose frames met its track by ``clock`` (None:
    no track, so a start, if any, is the container's creation time). For videos stored
    before their clock's source was (``VideoClock``)."""
    if clock is None or clock.time_base is TrackTimeBase.CREATION_TIME:
        return ClockSource.CONTAINER
    if clock.time_base is TrackTimeBase.OVERLAY:
        return ClockSource.OVERLAY
    return ClockSource.GPS


def gps_clock(
    track: GpsTrack, *, source: str, creation_ms: int | None, overlay_ms: int | None = None
) -> GpsClock:
    """The clock of a video whose track is ``track`` (read from ``source``, e.g. ``"gpmf"``
    or ``"nmea"``), whose container says it was created at ``creation_ms`` (UTC ms) and
    whose overlay shows ``overlay_ms`` at its first frame. A side-car track meets the
    frames at the camera's start (:func:`~dashcam.domain.video_clock.camera_start`).

    >>> t = GpsTrack([GpsFix(10_500, 0.0, 0.0, video_ms=500), GpsFix(11_500, 0.0, 0.0,
    ...     video_ms=1500)])
    >>> c = gps_clock(t, source="gpmf", creation_ms=7_000)
    >>> (c.time_base.value, c.start_utc_ms, c.gps_minus_creation_ms)
    ('video', 10000, 3000)
    """
    if not track.fixes:
        raise ValueError("empty GPS track has no clock")
    if track.on_video_timeline:
        # the median of (GPS time - video time) shrugs off a fix with a late time stamp
        deltas = [f.timestamp_ms - (f.video_ms or 0) for f in track.fixes]
        start = int(np.median(np.array(deltas, dtype=np.int64)))
        diff = None if creation_ms is None else start - creation_ms
        return GpsClock(TrackTimeBase.VIDEO, source, start, diff)
    camera = camera_start(creation_ms, overlay_ms)
    if camera is not None:
        base = (
            TrackTimeBase.OVERLAY
            if camera[0] is ClockSource.OVERLAY
            else TrackTimeBase.CREATION_TIME
        )
        return GpsClock(base, source, camera[1])
    return GpsClock(TrackTimeBase.FIRST_FIX, source, track.start_ms)


def with_clock_offset(track: GpsTrack, offset_s: float) -> GpsTrack:
    """A copy with ``offset_s`` added to every time (e.g. -3600 for a UTC+1 dashcam clock)."""
    delta = round(offset_s * 1000)
    if delta == 0:
        return track
    return GpsTrack(replace(f, timestamp_ms=f.timestamp_ms + delta) for f in track)


def without_video_times(track: GpsTrack) -> GpsTrack:
    """A copy whose fixes have no ``video_ms`` (a track embedded in another video)."""
    if not any(f.video_ms is not None for f in track):
        return track
    return GpsTrack(replace(f, video_ms=None) for f in track)


def overlaps(track: GpsTrack, start_ms: int, end_ms: int) -> bool:
    """True when [start_ms, end_ms] and the track's time range share at least one instant."""
    if not track.fixes:
        return False
    return start_ms <= track.end_ms and track.start_ms <= end_ms
