"""The results repository: videos, sightings and plate reads, on SQLite or PostgreSQL."""

from __future__ import annotations

import contextlib
from collections.abc import Iterator, Sequence
from dataclasses import dataclass
from datetime import UTC, datetime
from typing import Any, cast

from sqlalchemy import Connection, Engine, Table, delete, func, insert, select, update
from sqlalchemy.exc import IntegrityError, SQLAlchemyError
from sqlalchemy.orm import Session, selectinload

from dashcam.domain.gps import GpsClock, TrackTimeBase, recorded_clock
from dashcam.domain.plate_text import search_matches
from dashcam.domain.sighting import PlateObservation, Position, Sighting
from dashcam.domain.video_clock import ClockSource, VideoClock
from dashcam.errors import InputError, StoreError
from dashcam.store.schema import PlateReadRow, SightingRow, VideoRow, VideoStatus

V = cast(Table, VideoRow.__table__)
S = cast(Table, SightingRow.__table__)
R = cast(Table, PlateReadRow.__table__)


@dataclass(frozen=True)
class VideoRecord:
    """A video as stored (what list/detail views and exports show)."""

    id: str
    path: str
    status: VideoStatus
    content_hash: str | None = None
    width: int | None = None
    height: int | None = None
    fps: float | None = None
    duration_s: float | None = None
    recorded_at: datetime | None = None  # the start, on the clock ``recorded_clock`` names
    gps_path: str | None = None
    gps_clock: GpsClock | None = None
    clock: VideoClock | None = None  # which clock placed it (None: stored before it was kept)
    output_dir: str | None = None
    archive_dir: str | None = None
    frames_processed: int | None = None
    progress: float | None = None
    error: str | None = None
    registered_at: datetime | None = None
    processed_at: datetime | None = None
    n_sightings: int = 0

    @property
    def recorded_clock(self) -> ClockSource | None:
        """The clock ``recorded_at`` is on (for older rows it follows from ``gps_clock``)."""
        if self.recorded_at is None:
            return None
        return self.clock.source if self.clock is not None else recorded_clock(self.gps_clock)


@dataclass(frozen=True)
class StoredSighting:
    """A sighting with its database id (``sighting`` holds the domain record)."""

    id: int
    sighting: Sighting


def gps_clock_columns(clock: GpsClock | None) -> dict[str, Any]:
    """The ``VideoRow`` columns that hold ``clock`` (all None without one)."""
    return {
        "gps_source": None if clock is None else clock.source,
        "gps_time_base": None if clock is None else clock.time_base.value,
        "gps_start_utc_ms": None if clock is None else clock.start_utc_ms,
        "gps_minus_creation_ms": None if clock is None else clock.gps_minus_creation_ms,
    }


def video_clock_columns(clock: VideoClock | None) -> dict[str, Any]:
    """The ``VideoRow`` columns that hold ``clock`` (None without one)."""
    return {
        "clock_source": None if clock is None else clock.source.value,
        "clock_offsets": None
        if clock is None
        else {k.value: v / 1000 for k, v in clock.offsets_ms.items()},
    }


def _video_clock(row: Any) -> VideoClock | None:
    if row.clock_source is None or row.recorded_at is None:
        return None
    start = row.recorded_at
    start = start.replace(tzinfo=UTC) if start.tzinfo is None else start
    offsets = row.clock_offsets or {}
    return VideoClock(
        ClockSource(row.clock_source),
        round(start.timestamp() * 1000),
        {ClockSource(k): round(float(v) * 1000) for k, v in offsets.items()},
    )


def _gps_clock(row: Any) -> GpsClock | None:
    if row.gps_time_base is None or row.gps_start_utc_ms is None:
        return None
    return GpsClock(
        TrackTimeBase(row.gps_time_base),
        row.gps_source or "",
        row.gps_start_utc_ms,
        row.gps_minus_creation_ms,
    )


def _video_record(row: Any, n_sightings: int = 0) -> VideoRecord:
    """A :class:`VideoRecord` from an ORM ``VideoRow`` or a Core row of its table."""
    return VideoRecord(
        id=row.id,
        path=row.path,
        status=VideoStatus(row.status),
        content_hash=row.content_hash,
        width=row.width,
        height=row.height,
        fps=row.fps,
        duration_s=row.duration_s,
        recorded_at=row.recorded_at,
        gps_path=row.gps_path,
        gps_clock=_gps_clock(row),
        clock=_video_clock(row),
        output_dir=row.output_dir,
        archive_dir=row.archive_dir,
        frames_processed=row.frames_processed,
        progress=row.progress,
        error=row.error,
        registered_at=row.registered_at,
        processed_at=row.processed_at,
        n_sightings=n_sightings,
    )


def _xyxy(values: Sequence[float]) -> tuple[float, float, float, float]:
    a, b, c, d = (float(v) for v in values)
    return (a, b, c, d)


def _position(
    lat: float | None,
    lon: float | None,
    utc_ms: int | None,
    speed_mps: float | None = None,
    bearing_deg: float | None = None,
) -> Position | None:
    if lat is None or lon is None:
        return None
    return Position(lat, lon, speed_mps, bearing_deg, utc_ms)


def _sighting(row: SightingRow, with_reads: bool) -> StoredSighting:
    pos = _position(row.lat, row.lon, row.best_utc_ms, row.speed_mps, row.bearing_deg)
    reads = (
        tuple(
            PlateObservation(
                frame_index=r.frame_index,
                pts_s=r.pts_s,
                text=r.text,
                confidence=r.confidence,
                xyxy=_xyxy(r.xyxy),
                track_id=row.track_id,
            )
            for r in sorted(row.reads, key=lambda r: r.frame_index)
        )
        if with_reads
        else ()
    )
    return StoredSighting(
        id=row.id,
        sighting=Sighting(
            video_id=row.video_id,
            track_id=row.track_id,
            plate_text=row.plate_text,
            confidence=row.confidence,
            first_s=row.first_s,
            last_s=row.last_s,
            best_frame_index=row.best_frame_index,
            best_xyxy=_xyxy(row.best_xyxy),
            n_reads=row.n_reads,
            first_utc_ms=row.first_utc_ms,
            last_utc_ms=row.last_utc_ms,
            position=pos,
            best_crop_path=row.best_crop_path,
            vehicle_class=row.vehicle_class,
            vehicle_xyxy=_xyxy(row.vehicle_xyxy) if row.vehicle_xyxy else None,
            reads=reads,
            best_s=row.best_s,
            best_utc_ms=row.best_utc_ms,
            first_position=_position(row.first_lat, row.first_lon, row.first_utc_ms),
            last_position=_position(row.last_lat, row.last_lon, row.last_utc_ms),
        ),
    )


def _sighting_values(video_id: str, sg: Sighting) -> dict[str, Any]:
    pos, first, last = sg.position, sg.first_position, sg.last_position
    return {
        "video_id": video_id,
        "track_id": sg.track_id,
        "plate_text": sg.plate_text,
        "confidence": float(sg.confidence),
        "first_s": float(sg.first_s),
        "last_s": float(sg.last_s),
        "first_utc_ms": sg.first_utc_ms,
        "last_utc_ms": sg.last_utc_ms,
        "lat": pos.lat if pos else None,
        "lon": pos.lon if pos else None,
        "speed_mps": pos.speed_mps if pos else None,
        "bearing_deg": pos.bearing_deg if pos else None,
        "best_s": sg.best_s,
        "best_utc_ms": sg.best_utc_ms,
        "first_lat": first.lat if first else None,
        "first_lon": first.lon if first else None,
        "last_lat": last.lat if last else None,
        "last_lon": last.lon if last else None,
        "best_frame_index": sg.best_frame_index,
        "best_xyxy": [float(v) for v in sg.best_xyxy],
        "best_crop_path": sg.best_crop_path,
        "n_reads": sg.n_reads,
        "vehicle_class": sg.vehicle_class,
        "vehicle_xyxy": [float(v) for v in sg.vehicle_xyxy] if sg.vehicle_xyxy else None,
    }


def _read_values(sighting_id: int, r: PlateObservation) -> dict[str, Any]:
    return {
        "sighting_id": sighting_id,
        "frame_index": r.frame_index,
        "pts_s": float(r.pts_s),
        "text": r.text,
        "confidence": float(r.confidence),
        "xyxy": [float(v) for v in r.xyxy],
    }


def _insert_sightings(c: Connection, video_id: str, sightings: Sequence[Sighting]) -> list[int]:
    ids = []
    for sg in sightings:
        row = c.execute(insert(S).values(_sighting_values(video_id, sg)).returning(S.c.id))
        sid = int(row.scalar_one())
        if sg.reads:
            c.execute(insert(R), [_read_values(sid, r) for r in sg.reads])
        ids.append(sid)
    return ids


class ResultsRepository:
    """Reads and writes results. Every method is one transaction."""

    def __init__(self, engine: Engine) -> None:
        self.engine = engine

    def _session(self) -> Session:
        return Session(self.engine, expire_on_commit=False)

    @contextlib.contextmanager
    def transaction(self) -> Iterator[Connection]:
        """One transaction for several writes (``conn=`` of the methods below)."""
        try:
            with self.engine.begin() as c:
                yield c
        except SQLAlchemyError as exc:
            raise StoreError(f"results store: database error ({type(exc).__name__})") from exc

    @contextlib.contextmanager
    def _writing(self, conn: Connection | None) -> Iterator[Connection]:
        """``conn`` as it is (its owner commits), else a transaction of our own."""
        if conn is not None:
            yield conn
            return
        with self.engine.begin() as c:
            yield c

    # --- videos ---------------------------------------------------------------------
    def upsert_video(self, video_id: str, path: str, **fields: Any) -> VideoRecord:
        """Create or update a video row; ``fields`` are column names of :class:`VideoRow`."""
        try:
            with self._session() as s, s.begin():
                row = s.get(VideoRow, video_id)
                if row is None:
                    row = VideoRow(id=video_id, path=path, status=VideoStatus.REGISTERED)
                    s.add(row)
                row.path = path
                for key, value in fields.items():
                    if not hasattr(VideoRow, key):
                        raise InputError(f"unknown video field {key!r}")
                    setattr(row, key, value)
                s.flush()
                return _video_record(row)
        except IntegrityError as exc:
            raise StoreError(f"video {video_id}: conflicts with a stored video") from exc
        except SQLAlchemyError as exc:
            raise StoreError(f"cannot store video {video_id}") from exc

    def update_video(self, video_id: str, conn: Connection | None = None, **fields: Any) -> bool:
        """Set columns of a stored video in one statement; False when there is no such video.
        ``conn``: inside that transaction, else in one of its own."""
        unknown = [k for k in fields if k not in V.c]
        if unknown:
            raise InputError(f"unknown video field(s): {', '.join(unknown)}")
        try:
            with self._writing(conn) as c:
                res = c.execute(update(V).where(V.c.id == video_id).values(**fields))
        except SQLAlchemyError as exc:
            raise StoreError(f"cannot update video {video_id}") from exc
        return bool(res.rowcount)

    def ensure_video(self, conn: Connection, video_id: str, path: str) -> None:
        """Register ``video_id`` (status registered) inside ``conn``'s transaction unless known."""
        if conn.execute(select(V.c.id).where(V.c.id == video_id)).first() is None:
            conn.execute(insert(V).values(id=video_id, path=path, status=VideoStatus.REGISTERED))

    def get_video(self, video_id: str, conn: Connection | None = None) -> VideoRecord | None:
        if conn is not None:
            found = conn.execute(select(V).where(V.c.id == video_id)).first()
            return None if found is None else _video_record(found)
        with self._session() as s, s.begin():
            row = s.get(VideoRow, video_id)
            if row is None:
                return None
            n = s.scalar(
                select(func.count())
                .select_from(SightingRow)
                .where(SightingRow.video_id == video_id)
            )
            return _video_record(row, int(n or 0))

    def get_track(self, video_id: str) -> list[Any] | None:
        with self._session() as s, s.begin():
            row = s.get(VideoRow, video_id)
            return None if row is None else row.track

    def find_video_by_hash(self, content_hash: str) -> VideoRecord | None:
        with self._session() as s, s.begin():
            row = s.scalar(select(VideoRow).where(VideoRow.content_hash == content_hash))
            return None if row is None else _video_record(row)

    def list_videos(
        self, status: VideoStatus | None = None, limit: int = 1000, offset: int = 0
    ) -> list[VideoRecord]:
        counts = (
            select(SightingRow.video_id, func.count().label("n"))
            .group_by(SightingRow.video_id)
            .subquery()
        )
        q = (
            select(VideoRow, func.coalesce(counts.c.n, 0))
            .outerjoin(counts, counts.c.video_id == VideoRow.id)
            .order_by(VideoRow.registered_at.desc(), VideoRow.id)
            .limit(limit)
            .offset(offset)
        )
        if status is not None:
            q = q.where(VideoRow.status == status)
        with self._session() as s, s.begin():
            return [_video_record(row, int(n)) for row, n in s.execute(q)]

    # --- sightings ---------------------------------------------------------------------
    def replace_sightings(
        self, video_id: str, sightings: Sequence[Sighting], conn: Connection | None = None
    ) -> list[int]:
        """Store ``sightings`` as the only results of ``video_id`` (re-runs replace, never add).

        ``conn``: write inside that transaction (a completion's), else in one of its own.
        """
        try:
            with self._writing(conn) as c:
                if c.execute(select(V.c.id).where(V.c.id == video_id)).first() is None:
                    raise InputError(f"unknown video {video_id!r}")
                c.execute(delete(S).where(S.c.video_id == video_id))
                return _insert_sightings(c, video_id, sightings)
        except SQLAlchemyError as exc:
            raise StoreError(f"cannot store sightings of video {video_id}") from exc

    def add_sightings(
        self, video_id: str, sightings: Sequence[Sighting], conn: Connection | None = None
    ) -> list[int]:
        """Store ``sightings`` next to the ones ``video_id`` has (a live camera's, one
        closed track at a time); their ids. ``conn`` as in :meth:`replace_sightings`."""
        try:
            with self._writing(conn) as c:
                if c.execute(select(V.c.id).where(V.c.id == video_id)).first() is None:
                    raise InputError(f"unknown video {video_id!r}")
                return _insert_sightings(c, video_id, sightings)
        except SQLAlchemyError as exc:
            raise StoreError(f"cannot store sightings of {video_id}") from exc

    def list_sightings(
        self,
        *,
        video_id: str | None = None,
        plate: str | None = None,
        since_ms: int | None = None,
        until_ms: int | None = None,
        min_confidence: float | None = None,
        with_reads: bool = False,
        limit: int = 10_000,
        offset: int = 0,
        newest_first: bool = False,
    ) -> list[StoredSighting]:
        """Sightings in (video, first seen, id) order, or the newest stored first."""
        order = (
            (SightingRow.id.desc(),)
            if newest_first
            else (SightingRow.video_id, SightingRow.first_s, SightingRow.id)
        )
        q = select(SightingRow).order_by(*order)
        if video_id is not None:
            q = q.where(SightingRow.video_id == video_id)
        if plate is not None:
            q = q.where(SightingRow.plate_text == plate)
        if since_ms is not None:
            q = q.where(SightingRow.last_utc_ms >= since_ms)
        if until_ms is not None:
            q = q.where(SightingRow.first_utc_ms <= until_ms)
        if min_confidence is not None:
            q = q.where(SightingRow.confidence >= min_confidence)
        if with_reads:
            q = q.options(selectinload(SightingRow.reads))
        q = q.limit(limit).offset(offset)
        with self._session() as s, s.begin():
            return [_sighting(row, with_reads) for row in s.scalars(q)]

    def get_sighting(self, sighting_id: int) -> StoredSighting | None:
        with self._session() as s, s.begin():
            row = s.get(SightingRow, sighting_id)
            return None if row is None else _sighting(row, with_reads=True)

    def search_plates(
        self, query: str, max_distance: float = 1.0, limit: int = 500
    ) -> list[tuple[StoredSighting, float]]:
        """Fuzzy search: sightings whose plate is within ``max_distance`` of ``query``.

        Distance is the confusion-aware edit distance of ``domain.plate_text``; closest first.
        """
        with self._session() as s, s.begin():
            texts = list(s.scalars(select(SightingRow.plate_text).distinct()))
        matches = dict(search_matches(query, texts, max_distance))
        if not matches:
            return []
        with self._session() as s, s.begin():
            rows = s.scalars(
                select(SightingRow)
                .where(SightingRow.plate_text.in_(list(matches)))
                .order_by(SightingRow.first_utc_ms, SightingRow.id)
            )
            found = [(_sighting(r, False), matches[r.plate_text]) for r in rows]
        found.sort(key=lambda pair: (pair[1], pair[0].sighting.plate_text))
        return found[:limit]

    def count_sightings(self) -> int:
        with self._session() as s, s.begin():
            return int(s.scalar(select(func.count()).select_from(SightingRow)) or 0)


def utcnow() -> datetime:
    return datetime.now(UTC)
