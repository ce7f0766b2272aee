"""Embedded GPS formats on bytes: GPMF, CAMM, freeGPS, BlackVue, ExifTool JSON; units by source."""

from __future__ import annotations

import json
import math
import struct

import pytest

from dashcam.media import blackvue, camm, freegps, gpmf
from dashcam.media.blackvue import AccelSample
from dashcam.media.exiftool import fixes_from_exiftool_json
from dashcam.media.mp4_boxes import box
from dashcam.media.nmea import KNOT_MPS, checksum

T0 = 1_700_000_000_000  # 2023-11-14T22:13:20Z


# --- GoPro GPMF -------------------------------------------------------------------------


def test_gps5_is_metres_per_second_and_spread_over_the_payload() -> None:
    samples = [(52.1 + i * 1e-5, 4.3, 10.0 + i, 5.0 + i) for i in range(4)]
    payload = gpmf.gps5_payload(samples, T0 + 250)
    fixes, rejected = gpmf.fixes_from_payload(payload, 1000, 2001)
    assert rejected == 0
    # 4 samples over a 1001 ms payload: one every 250.25 ms, on both clocks
    assert [f.video_ms for f in fixes] == [1000, 1250, 1500, 1751]
    assert [f.timestamp_ms for f in fixes] == [T0 + 250, T0 + 500, T0 + 750, T0 + 1001]
    assert [f.speed_mps for f in fixes] == [5.0, 6.0, 7.0, 8.0]  # GPS5 2D speed is m/s
    assert [f.altitude_m for f in fixes] == [10.0, 11.0, 12.0, 13.0]
    assert fixes[3].lat == pytest.approx(52.10003, abs=1e-7) and fixes[0].lon == 4.3
    assert all(f.bearing_deg is None for f in fixes)  # GPS5 records no course


def test_gps5_without_a_fix_is_rejected() -> None:
    payload = gpmf.gps5_payload([(0.0, 0.0, 0.0, 0.0)] * 3, T0, fix_type=0)
    assert gpmf.fixes_from_payload(payload, 0, 1000) == ([], 3)


def test_gps9_samples_carry_their_own_time() -> None:
    days, secs = divmod((T0 - 946_684_800_000) / 1000, 86_400)
    row = struct.pack(
        ">7i2H", 521_000_000, 43_000_000, 5000, 2500, 250, int(days), round(secs * 1000), 150, 3
    )
    stream = gpmf.nest(
        "STRM",
        gpmf.klv("TYPE", "c", 9, 1, b"lllllllSS"),
        gpmf.klv(
            "SCAL", "l", 4, 9, struct.pack(">9i", 10**7, 10**7, 1000, 1000, 100, 1, 1000, 100, 1)
        ),
        gpmf.klv("GPS9", "?", 32, 2, row + row),
    )
    fixes, rejected = gpmf.fixes_from_payload(gpmf.nest("DEVC", stream), 0, 1000)
    assert rejected == 0
    assert [f.timestamp_ms for f in fixes] == [T0, T0]  # each sample's own time
    assert [f.video_ms for f in fixes] == [0, 500]
    assert (fixes[0].lat, fixes[0].lon, fixes[0].speed_mps, fixes[0].altitude_m) == (
        52.1,
        4.3,
        2.5,
        5.0,
    )


def test_gpsu_and_truncated_klv() -> None:
    assert gpmf.parse_gpsu("231114221320.125") == T0 + 125
    whole = gpmf.klv("GPSU", "U", 16, 1, b"231114221320.125")
    assert [k.key for k in gpmf.iter_klv(whole + whole[:10])] == ["GPSU"]


# --- Google CAMM ------------------------------------------------------------------------


def test_camm_type6_speed_bearing_from_velocity_and_gps_time() -> None:
    packet = camm.type6_packet(T0, 52.1, 4.3, 12.5, (3.0, -4.0))
    (s,) = camm.gps_samples(packet)
    assert s.gps_time_s == pytest.approx((T0 / 1000) - camm.GPS_EPOCH_UNIX_S + 18)
    fix = camm.to_fix(s, 400, camm.utc_ms(s.gps_time_s, None))
    assert fix is not None
    assert (fix.timestamp_ms, fix.video_ms) == (T0, 400)  # GPS time is 18 s ahead of UTC
    assert fix.speed_mps == pytest.approx(5.0)  # m/s, length of the horizontal velocity
    assert fix.bearing_deg == pytest.approx(math.degrees(math.atan2(3, -4)) % 360)  # ~143.13
    assert (fix.lat, fix.lon, fix.altitude_m) == (52.1, 4.3, 12.5)


def test_camm_unix_epoch_times_are_recognised_by_the_creation_time() -> None:
    unix_s = T0 / 1000
    assert camm.utc_ms(unix_s, creation_ms=T0 - 60_000) == T0
    assert camm.utc_ms(unix_s, creation_ms=None) != T0  # per the spec it is GPS time


def test_camm_type5_untimed_and_no_fix() -> None:
    five = struct.pack("<HHddd", 0, 5, 1.5, 2.5, 3.5)
    (s,) = camm.gps_samples(five)
    assert (s.gps_time_s, s.lat, s.lon, s.altitude_m) == (None, 1.5, 2.5, 3.5)
    no_fix = camm.type6_packet(T0, 52.1, 4.3, 0.0, (0.0, 0.0), fix_type=0)
    assert camm.to_fix(camm.gps_samples(no_fix)[0], 0, T0) is None
    with pytest.raises(ValueError, match="bad type"):
        camm.gps_samples(struct.pack("<HH", 0, 99) + bytes(8))


# --- Novatek freeGPS --------------------------------------------------------------------


def test_freegps_block_knots_and_ddmm() -> None:
    raw = freegps.block(T0, -33.85, 151.2, speed_mps=10.0, course_deg=270.0)
    fix = freegps.block_fix(raw, 3000)
    assert fix is not None
    assert (fix.timestamp_ms, fix.video_ms, fix.bearing_deg) == (T0, 3000, 270.0)
    assert fix.speed_mps == pytest.approx(10.0, rel=1e-6)  # stored as knots
    assert (fix.lat, fix.lon) == pytest.approx((-33.85, 151.2), abs=1e-5)  # float32 DDMM


def test_freegps_void_block_and_table() -> None:
    raw = bytearray(freegps.block(T0, 52.1, 4.3, 1.0, 0.0))
    raw[0x28] = ord("V")
    assert freegps.block_fix(bytes(raw), 0) is None
    assert freegps.gps_table(freegps.table([(100, 256), (356, 256)])) == [(100, 256), (356, 256)]
    assert freegps.gps_table(freegps.table([(100, 256)])[:12]) == []  # count capped by length


# --- BlackVue ----------------------------------------------------------------------------


def _rmc(t_ms: int, knots: float) -> str:
    body = f"GPRMC,221320.00,A,5206.00000,N,00418.00000,E,{knots:.2f},90.0,141123,,,A"
    return f"[{t_ms}]${body}*{checksum(body)}"


def test_blackvue_free_box_video_time_knots_and_accel() -> None:
    accel = [AccelSample(0, 1, -2, 100), AccelSample(100, 3, -4, 99)]
    free = blackvue.free_box(T0 - 1500, [_rmc(T0, 20.0)], accel)
    data = blackvue.parse_free(free[8:])
    assert data is not None and data.start_ms == T0 - 1500 and data.accel == tuple(accel)
    (fix,), rejected = blackvue.fixes(data)
    assert rejected == 0 and fix.video_ms == 1500  # prefix minus sttm
    assert fix.speed_mps == pytest.approx(20.0 * KNOT_MPS)  # RMC speed is knots
    # sttm on another clock than the log (hours apart): no video time rather than a wrong one
    far = blackvue.parse_free(blackvue.free_box(T0 - 7_200_000, [_rmc(T0, 1.0)], [])[8:])
    assert far is not None and blackvue.fixes(far)[0][0].video_ms is None
    assert blackvue.parse_free(box("cprt", b"x") + box("abcd", b"")) is not None
    assert blackvue.parse_free(box("Seri", b"kodak")) is None
    assert blackvue.accel_samples(struct.pack(">Ihhh", 0xFFFFFFFF, 0, 0, 0)) == []


# --- ExifTool output (the fallback) -----------------------------------------------------


def _exif(version: str, **docs: dict[str, object]) -> str:
    doc: dict[str, object] = {"SourceFile": "a.mp4", "ExifTool:ExifToolVersion": version}
    for name, tags in docs.items():
        doc.update({f"{name.replace('_', '-')}:{k}": v for k, v in tags.items()})
    return json.dumps([doc])


def _gopro(speed: float) -> dict[str, object]:
    return {
        "QuickTime:SampleTime": 2.0,
        "QuickTime:SampleDuration": 1.0,
        "GoPro:GPSDateTime": "2023:11:14 22:13:20.000",
        "GoPro:GPSLatitude": 52.1,
        "GoPro:GPSLongitude": 4.3,
        "GoPro:GPSSpeed": speed,
    }


@pytest.mark.parametrize(
    ("version", "speed", "expected_mps"),
    [("12.57", 10.0, 10.0), ("13.04", 36.0, 10.0), ("13.33", 36.0, 10.0)],
)
def test_exiftool_gopro_speed_unit_depends_on_its_version(
    version: str, speed: float, expected_mps: float
) -> None:
    (fix,), _ = fixes_from_exiftool_json(_exif(version, Doc1=_gopro(speed)))
    assert fix.speed_mps == pytest.approx(expected_mps)
    assert (fix.timestamp_ms, fix.video_ms) == (T0, 2000)


@pytest.mark.parametrize(
    ("ref", "expected_mps"), [(None, 10.0), ("K", 10.0), ("M", 16.0934), ("N", 18.5200)]
)
def test_exiftool_gps_speed_unit_is_gps_speed_ref(ref: str | None, expected_mps: float) -> None:
    tags: dict[str, object] = {
        "QuickTime:GPSDateTime": "2023:11:14 22:13:20Z",
        "QuickTime:GPSLatitude": 52.1,
        "QuickTime:GPSLongitude": 4.3,
        "QuickTime:GPSSpeed": 36.0,
    }
    if ref is not None:
        tags["QuickTime:GPSSpeedRef"] = ref
    (fix,), _ = fixes_from_exiftool_json(_exif("12.57", Doc1=tags))
    assert fix.speed_mps == pytest.approx(expected_mps, rel=1e-4)
    assert fix.video_ms is None  # no SampleTime


def test_exiftool_gopro_payload_samples_are_spread_and_camm_velocity_is_speed() -> None:
    later = {"GoPro:GPSLatitude": 52.2, "GoPro:GPSLongitude": 4.4, "GoPro:GPSSpeed": 36.0}
    cam = {
        "QuickTime:SampleTime": 0.5,
        "QuickTime:GPSDateTime": "2023:11:14 22:13:21Z",
        "QuickTime:GPSLatitude": 1.0,
        "QuickTime:GPSLongitude": 2.0,
        "QuickTime:GPSVelocityEast": 3.0,
        "QuickTime:GPSVelocityNorth": 4.0,
    }
    text = _exif("13.33", Doc1=_gopro(36.0), Doc1_1=later, Doc1_2=later, Doc2=cam)
    fixes, rejected = fixes_from_exiftool_json(text)
    assert rejected == 0
    gopro = sorted((f for f in fixes if f.lon > 3), key=lambda f: f.timestamp_ms)
    assert [f.timestamp_ms for f in gopro] == [T0, T0 + 333, T0 + 667]
    assert [f.video_ms for f in gopro] == [2000, 2333, 2667]
    assert {f.speed_mps for f in gopro} == {10.0}
    (c,) = (f for f in fixes if f.lon == 2.0)
    assert (c.speed_mps, c.video_ms) == (5.0, 500)
