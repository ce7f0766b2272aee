from __future__ import annotations

import json
import xml.etree.ElementTree as ET

import pytest

from dashcam.domain.gps import GpsFix, GpsTrack
from dashcam.domain.sighting import PlateObservation, Position, Sighting
from dashcam.output.export import ExportFormat, export
from dashcam.output.report import track_svg
from dashcam.stages.summary import SummaryStage, merge_split_tracks


def _s(text: str, first: float, last: float, track: int = 1, conf: float = 0.9) -> Sighting:
    obs = PlateObservation(
        frame_index=int(first * 30),
        pts_s=first,
        text=text,
        confidence=conf,
        xyxy=(0, 0, 10, 5),
    )
    return Sighting(
        video_id="v",
        track_id=track,
        plate_text=text,
        confidence=conf,
        first_s=first,
        last_s=last,
        best_frame_index=int(first * 30),
        best_xyxy=(0, 0, 10, 5),
        n_reads=3,
        reads=(obs,),
    )


def test_split_track_of_one_plate_is_merged() -> None:
    merged = merge_split_tracks(
        [_s("ABC123", 0, 4, 1), _s("ABC123", 6, 9, 2), _s("XYZ987", 1, 3, 3)]
    )
    assert [(m.plate_text, m.first_s, m.last_s) for m in merged] == [
        ("ABC123", 0, 9),
        ("XYZ987", 1, 3),
    ]
    assert merged[0].n_reads == 6


def test_same_plate_far_apart_in_time_stays_two_sightings() -> None:
    merged = merge_split_tracks([_s("ABC123", 0, 4, 1), _s("ABC123", 60, 64, 2)])
    assert len(merged) == 2


def test_summary_interpolates_position_and_sets_utc() -> None:
    track = GpsTrack([GpsFix(1_000_000, 51.0, 0.0), GpsFix(1_002_000, 51.0, 0.002)])
    (s,) = SummaryStage(max_gap_s=5).run(
        [_s("ABC123", 1.0, 2.0)], start_utc_ms=1_000_000, track=track
    )
    assert s.first_utc_ms == 1_001_000 and s.last_utc_ms == 1_002_000
    assert s.position is not None
    assert abs(s.position.lon - 0.001) < 1e-9  # halfway, not the nearest fix


def test_summary_never_invents_position_across_a_gap() -> None:
    track = GpsTrack([GpsFix(1_000_000, 51.0, 0.0), GpsFix(1_060_000, 51.0, 0.01)])
    (s,) = SummaryStage(max_gap_s=5).run(
        [_s("ABC123", 30, 31)], start_utc_ms=1_000_000, track=track
    )
    assert s.position is None and s.first_utc_ms == 1_030_000


def _placed() -> list[Sighting]:
    from dataclasses import replace

    return [
        replace(_s("ABC123", 1, 2), position=Position(51.5, -0.12), first_utc_ms=1_700_000_000_000),
        _s("NOGPS1", 3, 4),
    ]


def test_export_csv_geojson_gpx() -> None:
    csv_out = export(_placed(), ExportFormat.CSV)
    rows = csv_out.text.splitlines()
    assert rows[0].startswith("video_id,track_id,plate_text")
    assert len(rows) == 3 and "ABC123" in rows[1] and "2023-11-14T22:13:20Z" in rows[1]
    assert (csv_out.written, csv_out.left_out, csv_out.unit) == (2, 0, "row")
    gj_out = export(_placed(), ExportFormat.GEOJSON)
    gj = json.loads(gj_out.text)
    assert [f["geometry"]["coordinates"] for f in gj["features"] if f["geometry"]] == [
        [-0.12, 51.5]
    ]
    gpx = export(_placed(), ExportFormat.GPX)
    root = ET.fromstring(gpx.text)
    wpts = root.findall("{http://www.topografix.com/GPX/1/1}wpt")
    assert len(wpts) == 1 and wpts[0].get("lat") == "51.5000000"
    assert (gpx.written, gpx.left_out, gpx.unit) == (1, 1, "waypoint")


def test_geojson_keeps_a_sighting_without_position_as_null_geometry() -> None:
    # RFC 7946 3.2: a Feature's geometry may be null ("unlocated"); nothing is dropped.
    res = export(_placed(), ExportFormat.GEOJSON)
    doc = json.loads(res.text)
    assert (res.written, res.left_out) == (2, 0)
    by_plate = {f["properties"]["plate"]: f for f in doc["features"]}
    assert by_plate["NOGPS1"]["geometry"] is None
    assert by_plate["ABC123"]["geometry"] == {"type": "Point", "coordinates": [-0.12, 51.5]}
    assert all(f["type"] == "Feature" for f in doc["features"])
    assert by_plate["ABC123"]["properties"]["geometry_at"] == "best"


@pytest.mark.parametrize(
    ("fmt", "written", "left_out"),
    [(ExportFormat.CSV, 1, 1), (ExportFormat.GEOJSON, 1, 1), (ExportFormat.GPX, 1, 1)],
)
def test_located_only_leaves_out_and_counts_sightings_without_position(
    fmt: ExportFormat, written: int, left_out: int
) -> None:
    res = export(_placed(), fmt, located_only=True)
    assert (res.written, res.left_out) == (written, left_out)
    assert "NOGPS1" not in res.text and "ABC123" in res.text


def test_summary_gives_first_best_and_last_time_and_place() -> None:
    # 51.0 N, moving east 0.001 deg per second; reads at 1 s, 2 s (best) and 4 s.
    track = GpsTrack([GpsFix(1_000_000 + 1000 * k, 51.0, 0.001 * k) for k in range(6)])
    reads = tuple(
        PlateObservation(
            frame_index=30 * t, pts_s=float(t), text="ABC123", confidence=c, xyxy=(0, 0, 10, 5)
        )
        for t, c in ((1, 0.7), (2, 0.95), (4, 0.8))
    )
    s = Sighting(
        video_id="v",
        track_id=1,
        plate_text="ABC123",
        confidence=0.9,
        first_s=1.0,
        last_s=4.0,
        best_frame_index=60,
        best_xyxy=(0, 0, 10, 5),
        n_reads=3,
        reads=reads,
    )
    (out,) = SummaryStage(max_gap_s=5).run([s], start_utc_ms=1_000_000, track=track)
    assert (out.first_utc_ms, out.best_utc_ms, out.last_utc_ms) == (1_001_000, 1_002_000, 1_004_000)
    assert out.best_s == 2.0
    assert out.first_position is not None and out.position is not None
    assert out.last_position is not None
    assert [round(p.lon, 6) for p in (out.first_position, out.position, out.last_position)] == [
        0.001,
        0.002,
        0.004,
    ]
    assert out.position.timestamp_ms == out.best_utc_ms


def test_track_svg_draws_line_and_one_marker_per_placed_sighting() -> None:
    svg = track_svg([(51.5, -0.12), (51.501, -0.119)], _placed())
    assert svg.count("<polyline") == 1
    assert svg.count('class="marker"') == 1
    assert track_svg([], []) == ""


def test_partial_read_track_joins_the_full_plate() -> None:
    merged = merge_split_tracks([_s("RM442BA", 0, 8, 1), _s("42BA", 1, 1, 2)])
    assert [m.plate_text for m in merged] == ["RM442BA"]
