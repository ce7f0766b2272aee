"""GPS domain logic: distances, bearings, interpolation, clock offsets."""

from __future__ import annotations

import json
import math

import numpy as np
import pytest

from dashcam.domain.gps import (
    GpsFix,
    GpsTrack,
    TrackTimeBase,
    bearing_deg,
    gps_clock,
    haversine_m,
    overlaps,
    position_at,
    position_at_frame,
    positions_at,
    positions_at_video_ms,
    recorded_clock,
    with_clock_offset,
    without_video_times,
)
from dashcam.domain.video_clock import ClockSource
from dashcam.output.metadata import gps_clock_from_dict, gps_clock_to_dict

T0 = 1_700_000_000_000


def fix(t_s: float, lat: float, lon: float, **kw: float) -> GpsFix:
    return GpsFix(T0 + round(t_s * 1000), lat, lon, **kw)


def test_haversine_one_degree_latitude() -> None:
    assert haversine_m(fix(0, 0, 0), fix(0, 1, 0)) == pytest.approx(111_195, rel=1e-3)
    assert haversine_m(fix(0, 52, 4), fix(0, 52, 4)) == 0.0


@pytest.mark.parametrize(
    ("dest", "expected"),
    [((1, 0), 0.0), ((0, 1), 90.0), ((-1, 0), 180.0), ((0, -1), 270.0)],
)
def test_bearing_cardinal(dest: tuple[float, float], expected: float) -> None:
    assert bearing_deg(fix(0, 0, 0), fix(0, *dest)) == pytest.approx(expected, abs=1e-9)


def test_track_sorts_drops_exact_duplicates_and_measures() -> None:
    a, b, c = fix(0, 0, 0), fix(1, 0, 0.001), fix(2, 0, 0.002)
    track = GpsTrack([c, a, b, a])
    assert track.fixes == (a, b, c)
    assert (track.start_ms, track.end_ms, track.duration_s) == (T0, T0 + 2000, 2.0)
    assert track.distance_m == pytest.approx(2 * haversine_m(a, b))


def test_empty_track() -> None:
    track = GpsTrack()
    assert track.distance_m == 0.0 and track.duration_s == 0.0
    assert position_at(track, T0, max_gap_s=5) is None
    assert not overlaps(track, T0, T0 + 1)
    with pytest.raises(ValueError, match="empty"):
        _ = track.start_ms


TRACK = GpsTrack(
    [
        fix(0, 10.0, 20.0, speed_mps=10.0, bearing_deg=350.0, altitude_m=100.0),
        fix(2, 10.002, 20.004, speed_mps=20.0, bearing_deg=10.0, altitude_m=110.0),
        fix(12, 10.010, 20.010),  # 10 s after the previous fix: a gap
    ]
)


def test_midpoint_is_interpolated_not_nearest() -> None:
    p = position_at(TRACK, T0 + 1000, max_gap_s=5)
    assert p is not None
    assert (p.lat, p.lon) == pytest.approx((10.001, 20.002))
    assert p.speed_mps == pytest.approx(15.0)
    assert p.altitude_m == pytest.approx(105.0)
    assert p.timestamp_ms == T0 + 1000


def test_quarter_point() -> None:
    p = position_at(TRACK, T0 + 500, max_gap_s=5)
    assert p is not None and p.lat == pytest.approx(10.0005)


def test_bearing_wraps_through_north() -> None:
    p = position_at(TRACK, T0 + 1000, max_gap_s=5)
    assert p is not None and p.bearing_deg is not None
    assert min(p.bearing_deg, 360 - p.bearing_deg) == pytest.approx(0.0, abs=1e-9)
    q = position_at(TRACK, T0 + 1500, max_gap_s=5)
    assert q is not None and q.bearing_deg == pytest.approx(5.0)


@pytest.mark.parametrize("t_s", [-0.001, 12.001, -100, 1000])
def test_outside_track_is_none(t_s: float) -> None:
    assert position_at(TRACK, T0 + round(t_s * 1000), max_gap_s=5) is None


def test_gap_is_never_bridged() -> None:
    assert position_at(TRACK, T0 + 7000, max_gap_s=5) is None
    p = position_at(TRACK, T0 + 7000, max_gap_s=30)
    assert p is not None and p.lat == pytest.approx(10.006)
    # missing speed on one side: unknown, not invented
    assert p.speed_mps is None


def test_exact_fix_times_are_known_even_next_to_a_gap() -> None:
    for f in TRACK:
        p = position_at(TRACK, f.timestamp_ms, max_gap_s=1)
        assert p is not None and (p.lat, p.lon) == (f.lat, f.lon)


def test_longitude_interpolates_across_antimeridian() -> None:
    track = GpsTrack([fix(0, 0, 179.9), fix(2, 0, -179.9)])
    p = position_at(track, T0 + 1000, max_gap_s=5)
    assert p is not None and abs(p.lon) == pytest.approx(180.0)


def test_positions_at_vectorised_matches_scalar() -> None:
    times = T0 + np.array([-1000, 0, 500, 1000, 2000, 7000, 12000, 13000])
    pos = positions_at(TRACK, times, max_gap_s=5)
    assert pos.known.tolist() == [False, True, True, True, True, False, True, False]
    for i, t in enumerate(times):
        p = position_at(TRACK, int(t), max_gap_s=5)
        if p is None:
            assert math.isnan(pos.lat[i]) and math.isnan(pos.lon[i])
        else:
            assert (pos.lat[i], pos.lon[i]) == pytest.approx((p.lat, p.lon))
    assert pos.lat.shape == times.shape


def test_clock_offset_shifts_every_fix() -> None:
    shifted = with_clock_offset(TRACK, -3600)
    assert [f.timestamp_ms for f in shifted] == [f.timestamp_ms - 3_600_000 for f in TRACK]
    assert [(f.lat, f.lon) for f in shifted] == [(f.lat, f.lon) for f in TRACK]
    assert position_at(shifted, T0 + 1000, max_gap_s=5) is None
    assert position_at(shifted, T0 - 3_600_000 + 1000, max_gap_s=5) is not None


@pytest.mark.parametrize(
    ("start_s", "end_s", "expected"),
    [
        (-10, -1, False),
        (-10, 0, True),
        (5, 6, True),
        (12, 20, True),
        (12.001, 20, False),
        (-5, 50, True),
    ],
)
def test_overlaps(start_s: float, end_s: float, expected: bool) -> None:
    assert overlaps(TRACK, T0 + round(start_s * 1000), T0 + round(end_s * 1000)) is expected


# A track read from inside a video: video time 0 is T0 + 40_000 on the GPS clock, but
# the GPS times jitter by a few ms around that (as a GoPro's payload times do).
EMBEDDED = GpsTrack(
    [
        GpsFix(T0 + 40_003, 10.0, 20.0, speed_mps=10.0, altitude_m=1.0, video_ms=0),
        GpsFix(T0 + 41_000, 10.001, 20.0, speed_mps=12.0, altitude_m=2.0, video_ms=1000),
        GpsFix(T0 + 41_998, 10.002, 20.0, speed_mps=14.0, altitude_m=3.0, video_ms=2000),
    ]
)


def test_embedded_track_is_interpolated_by_video_time() -> None:
    pos = positions_at_video_ms(EMBEDDED, np.array([500, 1500, 2001, -1]), max_gap_s=5)
    assert pos.known.tolist() == [True, True, False, False]
    assert pos.lat[:2] == pytest.approx([10.0005, 10.0015])
    assert pos.speed_mps[:2] == pytest.approx([11.0, 13.0])
    # UTC comes from the same two fixes: halfway between their GPS times
    assert pos.timestamps_ms[:2].tolist() == [T0 + 40_502, T0 + 41_499]


def test_frames_meet_an_embedded_track_by_video_time_whatever_the_start() -> None:
    a = position_at_frame(EMBEDDED, 1.5, start_utc_ms=None, max_gap_s=5)
    b = position_at_frame(EMBEDDED, 1.5, start_utc_ms=T0 + 99_000, max_gap_s=5)
    assert a == b and a is not None
    assert (a.lat, a.video_ms, a.timestamp_ms) == (pytest.approx(10.0015), 1500, T0 + 41_499)


def test_frames_meet_a_side_car_track_at_start_plus_pts() -> None:
    side_car = without_video_times(EMBEDDED)
    assert not side_car.on_video_timeline and EMBEDDED.on_video_timeline
    p = position_at_frame(side_car, 0.5, start_utc_ms=T0 + 40_500, max_gap_s=5)
    assert p is not None and (p.timestamp_ms, p.lat, p.video_ms) == (T0 + 41_000, 10.001, None)
    assert position_at_frame(side_car, 0.5, start_utc_ms=None, max_gap_s=5) is None
    with pytest.raises(ValueError, match="no video times"):
        positions_at_video_ms(side_car, [0], max_gap_s=5)


@pytest.mark.parametrize(
    ("track", "creation_ms", "expected", "start_clock"),
    [
        (
            EMBEDDED,
            T0 + 43_600_000,
            (TrackTimeBase.VIDEO, T0 + 40_000, -43_560_000),
            ClockSource.GPS,
        ),
        (EMBEDDED, None, (TrackTimeBase.VIDEO, T0 + 40_000, None), ClockSource.GPS),
        (
            without_video_times(EMBEDDED),
            T0 + 5,
            (TrackTimeBase.CREATION_TIME, T0 + 5, None),
            ClockSource.CONTAINER,
        ),
        (
            without_video_times(EMBEDDED),
            None,
            (TrackTimeBase.FIRST_FIX, T0 + 40_003, None),
            ClockSource.GPS,
        ),
    ],
)
def test_gps_clock(
    track: GpsTrack,
    creation_ms: int | None,
    expected: tuple[TrackTimeBase, int, int | None],
    start_clock: ClockSource,
) -> None:
    clock = gps_clock(track, source="x", creation_ms=creation_ms)
    assert (clock.time_base, clock.start_utc_ms, clock.gps_minus_creation_ms) == expected
    assert clock.source == "x"
    # the clock the video's start is on follows from how its frames met the track
    assert recorded_clock(clock) is start_clock
    # metadata.json, a completion and the server's /videos carry it as JSON, losslessly
    assert gps_clock_from_dict(json.loads(json.dumps(gps_clock_to_dict(clock)))) == clock


def test_without_a_track_a_start_is_on_the_video_clock() -> None:
    assert recorded_clock(None) is ClockSource.CONTAINER
    assert gps_clock_to_dict(None) is None and gps_clock_from_dict(None) is None
