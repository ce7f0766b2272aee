"""The results repository on SQLite and PostgreSQL (same tests, both stores)."""

from __future__ import annotations

import os
import uuid
from collections.abc import Iterator
from datetime import UTC, datetime
from pathlib import Path

import pytest
from sqlalchemy import create_engine, text

from dashcam.domain.gps import GpsClock, TrackTimeBase
from dashcam.domain.sighting import PlateObservation, Position, Sighting
from dashcam.domain.video_clock import ClockSource
from dashcam.store.database import make_engine
from dashcam.store.results import ResultsRepository, gps_clock_columns
from dashcam.store.schema import VideoStatus

PG_URL = os.environ.get("DASHCAM_TEST_POSTGRES_URL")
POSTGRESQL = pytest.param(
    "postgresql",
    marks=pytest.mark.skipif(
        not PG_URL, reason="PostgreSQL tests need DASHCAM_TEST_POSTGRES_URL (set by .ci/run)"
    ),
)


@pytest.fixture(params=["sqlite", POSTGRESQL])
def repo(request: pytest.FixtureRequest, tmp_path: Path) -> Iterator[ResultsRepository]:
    if request.param == "sqlite":
        engine = make_engine(f"sqlite:///{tmp_path / 'r.db'}")
        yield ResultsRepository(engine)
        engine.dispose()
        return
    schema = f"t_{uuid.uuid4().hex[:12]}"
    admin = create_engine(PG_URL)
    with admin.begin() as conn:
        conn.execute(text(f"CREATE SCHEMA {schema}"))
    sep = "&" if "?" in PG_URL else "?"
    engine = make_engine(f"{PG_URL}{sep}options=-csearch_path%3D{schema}")
    yield ResultsRepository(engine)
    engine.dispose()
    with admin.begin() as conn:
        conn.execute(text(f"DROP SCHEMA {schema} CASCADE"))
    admin.dispose()


def _sighting(video: str, text_: str, track: int, t0: float, lat: float | None = 51.5) -> Sighting:
    reads = tuple(
        PlateObservation(
            frame_index=int((t0 + k) * 30),
            pts_s=t0 + k,
            text=text_,
            confidence=0.9,
            xyxy=(1, 2, 3, 4),
            track_id=track,
        )
        for k in range(3)
    )
    return Sighting(
        video_id=video,
        track_id=track,
        plate_text=text_,
        confidence=0.9,
        first_s=t0,
        last_s=t0 + 2,
        best_frame_index=int(t0 * 30),
        best_xyxy=(1, 2, 3, 4),
        n_reads=3,
        first_utc_ms=1_700_000_000_000 + int(t0 * 1000),
        last_utc_ms=1_700_000_000_000 + int((t0 + 2) * 1000),
        position=Position(lat, -0.1) if lat is not None else None,
        reads=reads,
    )


def test_reprocessing_replaces_results(repo: ResultsRepository) -> None:
    repo.upsert_video("v1", "/videos/a.mp4", content_hash="h1", status=VideoStatus.DONE)
    repo.replace_sightings(
        "v1", [_sighting("v1", "ABC123", 1, 0.0), _sighting("v1", "XYZ789", 2, 5)]
    )
    repo.replace_sightings("v1", [_sighting("v1", "ABC123", 1, 0.0)])
    got = repo.list_sightings(video_id="v1", with_reads=True)
    assert [g.sighting.plate_text for g in got] == ["ABC123"]
    assert len(got[0].sighting.reads) == 3
    assert repo.get_video("v1").n_sightings == 1  # type: ignore[union-attr]
    assert repo.count_sightings() == 1


def test_fuzzy_search_across_videos(repo: ResultsRepository) -> None:
    for vid, plate in (("v1", "ABC1234"), ("v2", "A8C1234"), ("v3", "KX52ABC")):
        repo.upsert_video(vid, f"/videos/{vid}.mp4", content_hash=vid)
        repo.replace_sightings(vid, [_sighting(vid, plate, 1, 1.0)])
    exact = repo.search_plates("ABC1234", max_distance=0)
    assert [s.sighting.video_id for s, _ in exact] == ["v1"]
    near = repo.search_plates("ABC-1234", max_distance=1)
    assert [s.sighting.plate_text for s, _ in near] == ["ABC1234", "A8C1234"]
    assert near[0][1] < near[1][1]
    assert repo.search_plates("ZZZZZZZ", max_distance=1) == []


def test_video_listing_filters_and_hash_lookup(repo: ResultsRepository) -> None:
    repo.upsert_video("v1", "/a.mp4", content_hash="h1", status=VideoStatus.DONE, duration_s=12.5)
    repo.upsert_video("v2", "/b.mp4", content_hash="h2", status=VideoStatus.QUEUED)
    assert [v.id for v in repo.list_videos(status=VideoStatus.QUEUED)] == ["v2"]
    found = repo.find_video_by_hash("h1")
    assert found is not None and found.duration_s == 12.5
    assert repo.get_video("nope") is None


def test_sightings_filter_by_time(repo: ResultsRepository) -> None:
    repo.upsert_video("v1", "/a.mp4")
    repo.replace_sightings(
        "v1", [_sighting("v1", "AAA111", 1, 0.0), _sighting("v1", "BBB222", 2, 60)]
    )
    late = repo.list_sightings(since_ms=1_700_000_000_000 + 30_000)
    assert [s.sighting.plate_text for s in late] == ["BBB222"]


@pytest.mark.parametrize(
    ("clock", "start_clock"),
    [
        (GpsClock(TrackTimeBase.VIDEO, "gpmf", 1_700_000_000_000, -3_600_000), ClockSource.GPS),
        (GpsClock(TrackTimeBase.CREATION_TIME, "nmea", 1_700_000_000_000), ClockSource.CONTAINER),
        (GpsClock(TrackTimeBase.FIRST_FIX, "nmea", 1_700_000_000_000), ClockSource.GPS),
        (None, ClockSource.CONTAINER),
    ],
)
def test_the_gps_clock_is_stored_with_the_video(
    repo: ResultsRepository, clock: GpsClock | None, start_clock: ClockSource
) -> None:
    repo.upsert_video("v1", "/a.mp4", **gps_clock_columns(clock))
    got = repo.get_video("v1")
    assert got is not None and got.gps_clock == clock
    assert got.recorded_clock is None  # no start recorded: no clock to name
    repo.update_video("v1", recorded_at=datetime(2023, 11, 14, 22, 13, 20, tzinfo=UTC))
    got = repo.get_video("v1")
    assert got is not None and got.recorded_clock is start_clock
    assert [v.gps_clock for v in repo.list_videos()] == [clock]


NEW_SIGHTING_COLUMNS = ("best_s", "best_utc_ms", "first_lat", "first_lon", "last_lat", "last_lon")


def test_first_best_and_last_positions_round_trip(repo: ResultsRepository) -> None:
    from dataclasses import replace

    repo.upsert_video("v1", "/a.mp4")
    base = _sighting("v1", "ABC123", 1, 0.0)
    t0 = 1_700_000_000_000
    full = replace(
        base,
        best_s=1.0,
        best_utc_ms=t0 + 1000,
        first_position=Position(51.0, -0.10, timestamp_ms=t0),
        position=Position(51.1, -0.11, 9.5, 90.0, t0 + 1000),
        last_position=Position(51.2, -0.12, timestamp_ms=t0 + 2000),
    )
    repo.replace_sightings("v1", [full])
    (got,) = repo.list_sightings(video_id="v1")
    s = got.sighting
    assert (s.best_s, s.best_utc_ms) == (1.0, t0 + 1000)
    assert s.first_position == Position(51.0, -0.10, timestamp_ms=t0)
    assert s.position == Position(51.1, -0.11, 9.5, 90.0, t0 + 1000)
    assert s.last_position == Position(51.2, -0.12, timestamp_ms=t0 + 2000)


def test_an_older_database_gets_the_new_sighting_columns(repo: ResultsRepository) -> None:
    # A database made before sightings had first/best/last positions: the columns are
    # missing until the schema is prepared again, which adds them and keeps the rows.
    repo.upsert_video("v1", "/a.mp4")
    repo.replace_sightings("v1", [_sighting("v1", "OLD111", 1, 0.0)])
    with repo.engine.begin() as conn:
        for col in NEW_SIGHTING_COLUMNS:
            conn.execute(text(f"ALTER TABLE sightings DROP COLUMN {col}"))
    from sqlalchemy import inspect

    from dashcam.store.database import init_schema

    init_schema(repo.engine)
    have = {c["name"] for c in inspect(repo.engine).get_columns("sightings")}
    assert set(NEW_SIGHTING_COLUMNS) <= have
    (old,) = repo.list_sightings(video_id="v1")
    assert old.sighting.plate_text == "OLD111" and old.sighting.first_position is None
    assert old.sighting.position is not None and old.sighting.best_s is None


@pytest.mark.parametrize("kind", ["sqlite", POSTGRESQL])
def test_opening_an_existing_database_never_creates_one(kind: str, tmp_path: Path) -> None:
    from sqlalchemy import inspect

    from dashcam.errors import InputError
    from dashcam.store.database import existing_engine

    if kind == "sqlite":
        path = tmp_path / "none" / "dashcam.db"
        with pytest.raises(InputError, match=f"no dashcam database at {path}"):
            existing_engine(f"sqlite:///{path}")
        assert not path.parent.exists()
        make_engine(f"sqlite:///{path}").dispose()
        existing_engine(f"sqlite:///{path}").dispose()  # there now: opens
        return
    schema = f"e_{uuid.uuid4().hex[:12]}"
    admin = create_engine(PG_URL)
    with admin.begin() as conn:
        conn.execute(text(f"CREATE SCHEMA {schema}"))
    sep = "&" if "?" in PG_URL else "?"
    url = f"{PG_URL}{sep}options=-csearch_path%3D{schema}"
    try:
        with pytest.raises(InputError, match="no dashcam tables in the database at postgresql"):
            existing_engine(url)
        assert inspect(admin).get_table_names(schema=schema) == []
        make_engine(url).dispose()
        existing_engine(url).dispose()
    finally:
        with admin.begin() as conn:
            conn.execute(text(f"DROP SCHEMA {schema} CASCADE"))
        admin.dispose()
