"""The watchlist: plates to alert on, and the stored sightings that match them."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime

from sqlalchemy import DateTime, Engine, Float, String, Text, delete, func, select
from sqlalchemy.exc import SQLAlchemyError
from sqlalchemy.orm import Mapped, Session, mapped_column

from dashcam.domain.plate_text import normalise, search_matches
from dashcam.errors import InputError, StoreError
from dashcam.store.database import Base
from dashcam.store.schema import SightingRow

MAX_PLATE_LEN = 32
MAX_WATCH_DISTANCE = 2.0


class WatchlistRow(Base):
    __tablename__ = "watchlist"

    plate: Mapped[str] = mapped_column(String(MAX_PLATE_LEN), primary_key=True)
    note: Mapped[str | None] = mapped_column(Text)
    max_distance: Mapped[float] = mapped_column(Float, default=0.0)
    created_at: Mapped[datetime] = mapped_column(DateTime(timezone=True), server_default=func.now())


@dataclass(frozen=True)
class WatchEntry:
    """A watched plate; ``max_distance`` > 0 also matches near reads (``plate_distance``)."""

    plate: str
    note: str | None
    max_distance: float
    created_at: datetime | None


@dataclass(frozen=True)
class WatchMatch:
    """A stored sighting whose plate is on the watchlist (``distance`` 0 = exact)."""

    sighting_id: int
    watched: str
    plate_text: str
    distance: float
    video_id: str
    first_utc_ms: int | None
    lat: float | None
    lon: float | None
    confidence: float
    note: str | None


def _entry(row: WatchlistRow) -> WatchEntry:
    return WatchEntry(row.plate, row.note, float(row.max_distance or 0.0), row.created_at)


def watch_plate(text: str) -> str:
    """The stored form of a watched plate (``normalise``), or :class:`InputError`.

    >>> watch_plate(" ab-12 cde ")
    'AB12CDE'
    """
    plate = normalise(text)
    if not plate or len(plate) > MAX_PLATE_LEN:
        raise InputError(f"plate {text!r}: expected 1-{MAX_PLATE_LEN} letters or digits")
    return plate


class WatchlistRepository:
    """Reads and writes the watchlist. Every method is one transaction."""

    def __init__(self, engine: Engine) -> None:
        self.engine = engine

    def _session(self) -> Session:
        return Session(self.engine, expire_on_commit=False)

    def add(self, plate: str, *, note: str | None = None, max_distance: float = 0.0) -> WatchEntry:
        """Watch ``plate`` (added, or its note/distance updated when already watched)."""
        key = watch_plate(plate)
        if not 0.0 <= max_distance <= MAX_WATCH_DISTANCE:
            raise InputError(f"max_distance {max_distance}: expected 0 to {MAX_WATCH_DISTANCE}")
        try:
            with self._session() as s, s.begin():
                row = s.get(WatchlistRow, key)
                if row is None:
                    row = WatchlistRow(plate=key)
                    s.add(row)
                row.note = note
                row.max_distance = max_distance
                s.flush()
                s.refresh(row)
                return _entry(row)
        except SQLAlchemyError as exc:
            raise StoreError(f"cannot watch plate {key}") from exc

    def remove(self, plate: str) -> bool:
        """Stop watching ``plate``; False when it was not watched."""
        key = watch_plate(plate)
        try:
            with self.engine.begin() as c:
                res = c.execute(delete(WatchlistRow).where(WatchlistRow.plate == key))
        except SQLAlchemyError as exc:
            raise StoreError(f"cannot remove plate {key} from the watchlist") from exc
        return bool(res.rowcount)

    def entries(self) -> list[WatchEntry]:
        try:
            with self._session() as s, s.begin():
                rows = s.scalars(select(WatchlistRow).order_by(WatchlistRow.plate))
                return [_entry(r) for r in rows]
        except SQLAlchemyError as exc:
            raise StoreError("cannot read the watchlist") from exc

    def last_sighting_id(self) -> int:
        """The newest sighting id (0 when none): a cheap "anything new?" check."""
        try:
            with self._session() as s, s.begin():
                return int(s.scalar(select(func.max(SightingRow.id))) or 0)
        except SQLAlchemyError as exc:
            raise StoreError("cannot read sightings") from exc

    def matches(self, *, limit: int = 50) -> list[WatchMatch]:
        """Sightings of watched plates, newest first (at most ``limit``)."""
        entries = self.entries()
        if not entries:
            return []
        try:
            with self._session() as s, s.begin():
                texts = list(s.scalars(select(SightingRow.plate_text).distinct()))
                hit: dict[str, tuple[WatchEntry, float]] = {}
                for e in entries:
                    for text, dist in search_matches(e.plate, texts, e.max_distance):
                        if text not in hit or dist < hit[text][1]:
                            hit[text] = (e, dist)
                if not hit:
                    return []
                rows = s.scalars(
                    select(SightingRow)
                    .where(SightingRow.plate_text.in_(list(hit)))
                    .order_by(SightingRow.id.desc())
                    .limit(limit)
                )
                return [
                    WatchMatch(
                        sighting_id=r.id,
                        watched=hit[r.plate_text][0].plate,
                        plate_text=r.plate_text,
                        distance=hit[r.plate_text][1],
                        video_id=r.video_id,
                        first_utc_ms=r.first_utc_ms,
                        lat=r.lat,
                        lon=r.lon,
                        confidence=r.confidence,
                        note=hit[r.plate_text][0].note,
                    )
                    for r in rows
                ]
        except SQLAlchemyError as exc:
            raise StoreError("cannot match the watchlist") from exc
