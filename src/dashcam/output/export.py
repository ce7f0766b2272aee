"""Export stored sightings as CSV, GeoJSON or GPX, saying what was written and left out.

Every format names which moment a position belongs to. A sighting has three: the first
read, the best read (the crop's; ``position``) and the last read (see
:class:`~dashcam.domain.sighting.Sighting`).

- CSV: one row per sighting, every moment's time and place in ``first_*``, ``best_*``
  and ``last_*`` columns (empty where unknown).
- GeoJSON: one Feature per sighting; the geometry is the best read's Point, or ``null``
  for a sighting without a position (RFC 7946, section 3.2), so nothing is lost.
  ``properties.geometry_at`` says ``"best"``; first and last places are ``[lon, lat]``.
- GPX: one waypoint per sighting with a position, at the best read's place and time
  (a waypoint cannot be without a place: the others are counted in ``left_out``).

``located_only`` leaves out sightings without a position in every format.
"""

from __future__ import annotations

import csv
import io
import json
from collections.abc import Sequence
from dataclasses import dataclass
from datetime import UTC, datetime
from enum import StrEnum
from typing import Any
from xml.sax.saxutils import escape

from dashcam.domain.sighting import Position, Sighting


class ExportFormat(StrEnum):
    CSV = "csv"
    GEOJSON = "geojson"
    GPX = "gpx"


@dataclass(frozen=True)
class ExportResult:
    """The exported text and its counts: ``written`` rows/features/waypoints, and
    ``left_out`` sightings without a position that the file does not hold."""

    text: str
    written: int
    left_out: int
    unit: str  # "row", "feature" or "waypoint"


CSV_FIELDS = (
    "video_id",
    "track_id",
    "plate_text",
    "confidence",
    "first_s",
    "best_s",
    "last_s",
    "first_utc",
    "best_utc",
    "last_utc",
    "first_lat",
    "first_lon",
    "best_lat",
    "best_lon",
    "best_speed_mps",
    "best_bearing_deg",
    "last_lat",
    "last_lon",
    "n_reads",
    "vehicle_class",
    "best_crop_path",
)


def _iso(ms: int | None) -> str:
    if ms is None:
        return ""
    return datetime.fromtimestamp(ms / 1000, UTC).isoformat().replace("+00:00", "Z")


def _num(v: float | None, digits: int) -> str:
    return "" if v is None else f"{v:.{digits}f}"


def _lat_lon(p: Position | None) -> list[str]:
    return ["", ""] if p is None else [f"{p.lat:.7f}", f"{p.lon:.7f}"]


def _lon_lat(p: Position | None) -> list[float] | None:
    return None if p is None else [p.lon, p.lat]


def to_csv(sightings: Sequence[Sighting]) -> str:
    buf = io.StringIO()
    w = csv.writer(buf, lineterminator="\n")
    w.writerow(CSV_FIELDS)
    for s in sightings:
        p = s.position
        w.writerow(
            [
                s.video_id,
                s.track_id,
                s.plate_text,
                f"{s.confidence:.4f}",
                f"{s.first_s:.3f}",
                _num(s.best_s, 3),
                f"{s.last_s:.3f}",
                _iso(s.first_utc_ms),
                _iso(s.best_utc_ms),
                _iso(s.last_utc_ms),
                *_lat_lon(s.first_position),
                *_lat_lon(p),
                _num(p.speed_mps if p else None, 2),
                _num(p.bearing_deg if p else None, 1),
                *_lat_lon(s.last_position),
                s.n_reads,
                s.vehicle_class or "",
                s.best_crop_path or "",
            ]
        )
    return buf.getvalue()


def geojson_feature(s: Sighting) -> dict[str, Any]:
    """One sighting as a GeoJSON Feature (``geometry`` null without a position)."""
    return {
        "type": "Feature",
        "geometry": None
        if s.position is None
        else {"type": "Point", "coordinates": [s.position.lon, s.position.lat]},
        "properties": {
            "plate": s.plate_text,
            "confidence": round(s.confidence, 4),
            "video_id": s.video_id,
            "track_id": s.track_id,
            "geometry_at": "best",
            "first_s": round(s.first_s, 3),
            "best_s": None if s.best_s is None else round(s.best_s, 3),
            "last_s": round(s.last_s, 3),
            "first_utc": _iso(s.first_utc_ms) or None,
            "best_utc": _iso(s.best_utc_ms) or None,
            "last_utc": _iso(s.last_utc_ms) or None,
            "first_position": _lon_lat(s.first_position),
            "last_position": _lon_lat(s.last_position),
            "n_reads": s.n_reads,
        },
    }


def to_geojson(sightings: Sequence[Sighting]) -> str:
    features = [geojson_feature(s) for s in sightings]
    return json.dumps({"type": "FeatureCollection", "features": features}, indent=1)


def to_gpx(sightings: Sequence[Sighting]) -> str:
    lines = [
        '<?xml version="1.0" encoding="UTF-8"?>',
        '<gpx version="1.1" creator="dashcam" xmlns="http://www.topografix.com/GPX/1/1">',
    ]
    for s in sightings:
        if s.position is None:
            continue
        lines.append(f'  <wpt lat="{s.position.lat:.7f}" lon="{s.position.lon:.7f}">')
        when = s.best_utc_ms if s.best_utc_ms is not None else s.first_utc_ms
        if when is not None:
            lines.append(f"    <time>{_iso(when)}</time>")
        lines.append(f"    <name>{escape(s.plate_text)}</name>")
        best = f" best {s.best_s:.1f}s" if s.best_s is not None else ""
        lines.append(
            f"    <desc>{escape(s.video_id)} {s.first_s:.1f}-{s.last_s:.1f}s{best} "
            f"conf {s.confidence:.2f}; place and time of the best read</desc>"
        )
        lines.append("  </wpt>")
    lines.append("</gpx>")
    return "\n".join(lines) + "\n"


def export(
    sightings: Sequence[Sighting], fmt: ExportFormat, *, located_only: bool = False
) -> ExportResult:
    """``sightings`` in ``fmt``, with how many went in and how many were left out."""
    located = [s for s in sightings if s.position is not None]
    unplaced = len(sightings) - len(located)
    if fmt is ExportFormat.GPX:
        return ExportResult(to_gpx(located), len(located), unplaced, "waypoint")
    chosen = located if located_only else list(sightings)
    left_out = unplaced if located_only else 0
    if fmt is ExportFormat.GEOJSON:
        return ExportResult(to_geojson(chosen), len(chosen), left_out, "feature")
    return ExportResult(to_csv(chosen), len(chosen), left_out, "row")
