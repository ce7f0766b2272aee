"""Track parsers on text: NMEA (plain and dashcam-prefixed), GPX, JSON/GeoJSON, CSV, exiftool."""

from __future__ import annotations

import json

import pytest

from dashcam.media.nmea import checksum, parse_nmea
from dashcam.media.telemetry import (
    detect_format,
    fixes_from_exiftool_json,
    parse_csv,
    parse_gpx,
    parse_json,
    parse_time_ms,
)

T0 = 1_700_000_000_000  # 2023-11-14T22:13:20Z


def nmea(body: str, prefix_ms: int | None = None) -> str:
    line = f"${body}*{checksum(body)}"
    return line if prefix_ms is None else f"[{prefix_ms}]{line}"


RMC = "GPRMC,221320.000,A,5206.0000,N,00418.0000,E,10.0,90.0,141123,,,A"
GGA = "GPGGA,221320.000,5206.0000,N,00418.0000,E,1,08,1.0,12.5,M,0.0,M,,"


@pytest.mark.parametrize(
    ("lines", "kept", "rejected"),
    [
        ([nmea(RMC)], 1, 0),
        ([nmea(RMC.replace("GPRMC", "GNRMC")), nmea(GGA.replace("GPGGA", "GLGGA"))], 1, 0),
        ([nmea(RMC)[:-2] + "00"], 0, 1),  # bad checksum
        ([nmea(RMC.replace(",A,5206", ",V,5206"))], 0, 1),  # void RMC
        ([nmea(GGA.replace(",E,1,08", ",E,0,08"))], 0, 1),  # GGA quality 0
        ([nmea(RMC.replace("5206.0000,N", "9206.0000,N"))], 0, 1),  # latitude 92°
        (["hello world", "$$$", "", "[123]"], 0, 3),  # garbage; blank lines are not counted
        ([nmea("GPGSV,3,1,11,03,03,111,00"), nmea(RMC)], 1, 0),  # other sentences ignored
        ([nmea(RMC), nmea(RMC)], 1, 0),  # exact duplicate dropped
    ],
)
def test_nmea_keeps_and_rejects(lines: list[str], kept: int, rejected: int) -> None:
    fixes, n_rejected = parse_nmea("\n".join(lines))
    assert (len(set(fixes)), n_rejected) == (kept, rejected)


def test_nmea_merges_rmc_and_gga_per_timestamp() -> None:
    fixes, rejected = parse_nmea("\n".join([nmea(GGA), nmea(RMC)]))
    assert rejected == 0 and len(fixes) == 1
    f = fixes[0]
    assert f.timestamp_ms == T0
    assert (f.lat, f.lon) == pytest.approx((52.1, 4.3))
    assert f.speed_mps == pytest.approx(10 * 1852 / 3600)
    assert f.bearing_deg == 90.0 and f.altitude_m == 12.5


def test_nmea_south_west_hemispheres() -> None:
    body = RMC.replace("5206.0000,N,00418.0000,E", "3351.5000,S,15112.7500,W")
    (f,), _ = parse_nmea(nmea(body))
    assert (f.lat, f.lon) == pytest.approx((-33.858333, -151.2125))


def test_dashcam_prefix_prefers_nmea_date_and_time() -> None:
    (f,), _ = parse_nmea(nmea(RMC, prefix_ms=T0 + 3_600_000))  # camera clock on UTC+1
    assert f.timestamp_ms == T0


def test_dashcam_prefix_used_when_no_date_is_known() -> None:
    text = "\n".join([nmea(GGA, prefix_ms=T0 + 5), nmea(RMC.replace("141123", ""), T0 + 1005)])
    fixes, rejected = parse_nmea(text)
    assert rejected == 0
    assert sorted(f.timestamp_ms for f in fixes) == [T0 + 5, T0 + 1005]


def test_gga_without_any_date_or_prefix_is_rejected() -> None:
    assert parse_nmea(nmea(GGA)) == ([], 1)


def test_gga_dated_across_midnight() -> None:
    rmc = RMC.replace("221320.000", "235959.000")
    gga = GGA.replace("221320.000", "000001.000")
    fixes, _ = parse_nmea("\n".join([nmea(rmc), nmea(gga)]))
    times = sorted(f.timestamp_ms for f in fixes)
    assert times[1] - times[0] == 2000


GPX_10 = """<?xml version="1.0"?>
<gpx version="1.0" xmlns="http://www.topografix.com/GPX/1/0">
 <trk><trkseg>
  <trkpt lat="52.1" lon="4.3"><ele>3.5</ele><time>2023-11-14T22:13:20Z</time>
   <speed>4.5</speed><course>45</course></trkpt>
  <trkpt lat="52.2" lon="4.4"><time>2023-11-14T22:13:21.500Z</time></trkpt>
  <trkpt lat="52.2" lon="4.4"></trkpt>
  <trkpt lat="95" lon="4.4"><time>2023-11-14T22:13:22Z</time></trkpt>
 </trkseg></trk>
</gpx>"""

GPX_11_RTE = """<gpx version="1.1" xmlns="http://www.topografix.com/GPX/1/1"><rte>
<rtept lat="1" lon="2"><time>2023-11-14T23:13:20+01:00</time></rtept></rte></gpx>"""


def test_gpx_10_points_speed_and_rejects() -> None:
    fixes, rejected = parse_gpx(GPX_10)
    assert rejected == 2  # no time, latitude 95
    assert [f.timestamp_ms for f in fixes] == [T0, T0 + 1500]
    assert (fixes[0].altitude_m, fixes[0].speed_mps, fixes[0].bearing_deg) == (3.5, 4.5, 45.0)


def test_gpx_11_route_points_and_time_zones() -> None:
    ((f,), rejected) = parse_gpx(GPX_11_RTE)
    assert (f.timestamp_ms, f.lat, f.lon, rejected) == (T0, 1.0, 2.0, 0)


def test_gpx_rejects_other_xml() -> None:
    with pytest.raises(ValueError, match="not <gpx>"):
        parse_gpx("<kml></kml>")


@pytest.mark.parametrize(
    "doc",
    [
        [{"timestamp_ms": T0, "lat": 1, "lon": 2}],
        {"fixes": [{"time": "2023-11-14T22:13:20Z", "latitude": 1, "longitude": 2}]},
        {"points": [{"timestamp": T0 / 1000, "lat": 1, "lng": 2}]},
        {"points": [{"Timestamp": "2023-11-14T22:13:20", "LAT": "1", "Lon": "2"}]},
    ],
)
def test_json_shapes(doc: object) -> None:
    fixes, rejected = parse_json(json.dumps(doc))
    assert [(f.timestamp_ms, f.lat, f.lon) for f in fixes] == [(T0, 1.0, 2.0)]
    assert rejected == 0


def test_json_bad_points_counted() -> None:
    doc = [{"timestamp_ms": T0, "lat": 1, "lon": 2}, {"lat": 1}, 7, {"time": "x", "lat": 1}]
    assert parse_json(json.dumps(doc))[1] == 3


def test_json_without_a_list_is_an_error() -> None:
    with pytest.raises(ValueError, match="fixes"):
        parse_json('{"hello": 1}')


@pytest.mark.parametrize(
    "text",
    [
        "timestamp_ms,lat,lon,speed,bearing\n1700000000000,1,2,3,4\n",
        "time;latitude;longitude\n2023-11-14T22:13:20Z;1;2\n",
        "Timestamp,Lat,Lng\n2023-11-14 22:13:20,1,2\n",
    ],
)
def test_csv_headers_and_time_columns(text: str) -> None:
    fixes, rejected = parse_csv(text)
    assert [(f.timestamp_ms, f.lat, f.lon) for f in fixes] == [(T0, 1.0, 2.0)]
    assert rejected == 0


def test_csv_bad_rows_counted() -> None:
    text = "timestamp_ms,lat,lon\n1700000000000,1,2\nnope,1,2\n1700000001000,1,\n1,200,2\n"
    fixes, rejected = parse_csv(text)
    assert (len(fixes), rejected) == (1, 3)


def test_exiftool_documents_become_fixes() -> None:
    out = [
        {
            "SourceFile": "a.mp4",
            "Main:Duration": 2,
            "Doc1:GPSDateTime": "2023:11:14 22:13:20.000Z",
            "Doc1:GPSLatitude": 52.1,
            "Doc1:GPSLongitude": 4.3,
            "Doc1:GPSSpeed": 36.0,
            "Doc1:GPSTrack": 180,
            "Doc1:GPSAltitude": 5,
            "Doc2:GPSDateTime": "2023:11:14 22:13:21Z",
            "Doc2:GPSLatitude": 52.2,
            "Doc2:GPSLongitude": 4.4,
            "Doc2:GPSSpeed": 10,
            "Doc2:GPSSpeedRef": "N",
            "Doc3:GPSLatitude": 52.3,
            "Doc3:GPSLongitude": 4.5,
        }
    ]
    fixes, rejected = fixes_from_exiftool_json(json.dumps(out))
    assert rejected == 1  # Doc3 has no time
    a, b = sorted(fixes, key=lambda f: f.timestamp_ms)
    assert (a.timestamp_ms, a.speed_mps, a.bearing_deg, a.altitude_m) == (T0, 10.0, 180.0, 5.0)
    assert b.timestamp_ms == T0 + 1000 and b.speed_mps == pytest.approx(5.14444, rel=1e-4)


@pytest.mark.parametrize(
    ("value", "expected"),
    [
        (T0, T0),
        (T0 / 1000, T0),
        ("1700000000", T0),
        ("2023-11-14T22:13:20.000Z", T0),
        ("2023-11-14T23:13:20+01:00", T0),
        ("2023:11:14 22:13:20Z", T0),
    ],
)
def test_parse_time_ms(value: object, expected: int) -> None:
    assert parse_time_ms(value) == expected


@pytest.mark.parametrize("value", [None, True, "yesterday", float("nan")])
def test_parse_time_ms_rejects(value: object) -> None:
    with pytest.raises(ValueError):
        parse_time_ms(value)


@pytest.mark.parametrize(
    ("head", "suffix", "expected"),
    [
        (b"[1700000000000]$GPRMC,221320", ".txt", "nmea"),
        (b"$GNGGA,221320.000,", ".log", "nmea"),
        (b"\xef\xbb\xbf<?xml version='1.0'?><gpx", ".xml", "gpx"),
        (b'[{"lat": 1}]', ".gps", "json"),
        (b'{"type": "FeatureCollection"}', ".txt", "json"),
        (b"time,latitude,longitude\n", ".txt", "csv"),
        (b"\x00\x00\x00\x18ftypmp42", ".bin", "video"),
        (b"just some notes\n", ".txt", "unknown"),
    ],
)
def test_detect_format_by_content(head: bytes, suffix: str, expected: str) -> None:
    assert detect_format(head, suffix) == expected
