"""read_track/write_track/find_track_for_video on real files."""

from __future__ import annotations

import io
import os
from pathlib import Path

import pytest

from dashcam.domain.gps import GpsFix, GpsTrack
from dashcam.errors import GpsError
from dashcam.media.nmea import checksum
from dashcam.media.telemetry import (
    TRACK_FORMATS,
    TrackFormat,
    find_track_for_video,
    read_track,
    render_track,
    write_track,
)

T0 = 1_700_000_000_000

TRACK = GpsTrack(
    [
        GpsFix(T0, 52.1, 4.3, speed_mps=12.5, bearing_deg=359.5, altitude_m=10.25),
        GpsFix(T0 + 1000, 52.10011, 4.30002, speed_mps=13.0, bearing_deg=0.5, altitude_m=11.0),
        GpsFix(T0 + 2000, -33.85, -151.2, speed_mps=None, bearing_deg=None, altitude_m=None),
        GpsFix(T0 + 3250, -33.8501, -151.2001, speed_mps=0.0, bearing_deg=90.0),
    ]
)


def same_track(a: GpsTrack, b: GpsTrack, *, exact: bool) -> None:
    assert len(a) == len(b)
    for x, y in zip(a, b, strict=True):
        assert x.timestamp_ms == y.timestamp_ms
        if exact:
            assert x == y
            continue
        assert (y.lat, y.lon) == pytest.approx((x.lat, x.lon), abs=1e-7)
        for field in ("speed_mps", "bearing_deg", "altitude_m"):
            xv, yv = getattr(x, field), getattr(y, field)
            assert (xv is None) == (yv is None), field
            if xv is not None:
                assert yv == pytest.approx(xv, abs=1e-3), field


@pytest.mark.parametrize("fmt", TRACK_FORMATS)
def test_round_trip_each_format(tmp_path: Path, fmt: TrackFormat) -> None:
    out = tmp_path / f"track.{fmt}"
    write_track(TRACK, out, fmt)
    result = read_track(out)
    assert (result.kept, result.rejected, result.source_format) == (4, 0, fmt)
    # text formats carry full float precision; NMEA is ddmm.mmmmmm, knots .4f, course .3f
    same_track(TRACK, result.track, exact=fmt != "nmea")
    # and a second generation is identical to the first
    assert render_track(read_track(out).track, fmt) == out.read_bytes().decode()


def test_write_to_stream_and_no_temp_files_left(tmp_path: Path) -> None:
    buf = io.StringIO()
    write_track(TRACK, buf, "csv")
    assert buf.getvalue().splitlines()[0] == (
        "timestamp_ms,time_utc,lat,lon,speed_mps,bearing_deg,altitude_m"
    )
    assert buf.getvalue().splitlines()[1].startswith("1700000000000,2023-11-14T22:13:20.000Z,")
    write_track(TRACK, tmp_path / "t.gpx", "gpx")
    assert os.listdir(tmp_path) == ["t.gpx"]


def test_nmea_output_has_valid_checksums() -> None:
    lines = render_track(TRACK, "nmea").splitlines()
    assert len(lines) == 8
    for line in lines:
        body, cs = line[1:].split("*")
        assert line.startswith("$GP") and cs == checksum(body)


def test_geojson_is_a_linestring_with_times() -> None:
    import json

    doc = json.loads(render_track(TRACK, "geojson"))
    (feature,) = doc["features"]
    assert feature["geometry"]["type"] == "LineString"
    assert feature["geometry"]["coordinates"][0] == [4.3, 52.1, 10.25]
    assert feature["properties"]["coordTimes"][0] == "2023-11-14T22:13:20.000Z"


def test_dashcam_log_with_rejects_sorted(tmp_path: Path) -> None:
    def line(t_s: int, lon_min: float, cs_ok: bool = True) -> str:
        hms = f"2213{20 + t_s:02d}.000"
        body = f"GPRMC,{hms},A,5206.0000,N,{418 + lon_min:010.4f},E,10.0,90.0,141123,,,A"
        cs = checksum(body) if cs_ok else "00"
        return f"[{T0 + t_s * 1000}]${body}*{cs}"

    log = tmp_path / "clip.GPS"
    log.write_text("\n".join([line(2, 0.02), line(0, 0.0), line(1, 0.01, cs_ok=False), "junk"]))
    result = read_track(log)
    assert (result.kept, result.rejected, result.source_format) == (2, 2, "nmea")
    assert [f.timestamp_ms for f in result.track] == [T0, T0 + 2000]


@pytest.mark.parametrize(
    ("content", "match"),
    [
        (None, "no such GPS file"),
        (b"", "empty"),
        (b"  \n\n", "empty"),
        (b"$GPRMC,bad*00\n", "no valid GPS fixes"),
        (b"dear diary\n", "not a recognised GPS format"),
        (b'{"broken": ', "unreadable JSON"),
        (b"<gpx><trkpt", "unreadable GPX"),
    ],
)
def test_read_errors_name_the_file(tmp_path: Path, content: bytes | None, match: str) -> None:
    path = tmp_path / "trip.gps"
    if content is not None:
        path.write_bytes(content)
    with pytest.raises(GpsError, match=match) as info:
        read_track(path)
    assert str(path) in str(info.value)


def test_video_without_exiftool_names_the_install(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    video = tmp_path / "clip.mp4"
    video.write_bytes(b"\x00\x00\x00\x18ftypmp42" + bytes(64))
    monkeypatch.setenv("PATH", str(tmp_path / "empty-bin"))
    with pytest.raises(GpsError, match="apt-get install libimage-exiftool-perl") as info:
        read_track(video)
    assert str(video) in str(info.value)


@pytest.mark.parametrize(
    ("names", "expected"),
    [
        (["trip.mp4", "trip.gps", "trip.gpx"], "trip.gps"),
        (["trip.mp4", "trip.GPX", "trip.csv"], "trip.GPX"),
        (["trip.mp4", "trip.NMEA"], "trip.NMEA"),
        (["trip.mp4", "trip.geojson", "trip.json"], "trip.geojson"),
        (["trip.mp4", "other.gps", "trip.txt"], None),
        (["trip.mp4"], None),
    ],
)
def test_find_track_for_video(tmp_path: Path, names: list[str], expected: str | None) -> None:
    for name in names:
        (tmp_path / name).write_text("x")
    found = find_track_for_video(tmp_path / "trip.mp4")
    assert (found.name if found else None) == expected
