"""Export stored sightings as CSV, GeoJSON or GPX."""

from __future__ import annotations

import csv
import io
import json
from collections.abc import Sequence
from datetime import UTC, datetime
from enum import StrEnum
from xml.sax.saxutils import escape

from dashcam.domain.sighting import Sighting


class ExportFormat(StrEnum):
    CSV = "csv"
    GEOJSON = "geojson"
    GPX = "gpx"


_CSV_FIELDS = (
    "video_id",
    "track_id",
    "plate_text",
    "confidence",
    "first_s",
    "last_s",
    "first_utc",
    "last_utc",
    "lat",
    "lon",
    "speed_mps",
    "bearing_deg",
    "n_reads",
    "vehicle_class",
    "best_crop_path",
)


def _iso(ms: int | None) -> str:
    if ms is None:
        return ""
    return datetime.fromtimestamp(ms / 1000, UTC).isoformat().replace("+00:00", "Z")


def to_csv(sightings: Sequence[Sighting]) -> str:
    buf = io.StringIO()
    w = csv.writer(buf, lineterminator="\n")
    w.writerow(_CSV_FIELDS)
    for s in sightings:
        p = s.position
        w.writerow(
            [
                s.video_id,
                s.track_id,
                s.plate_text,
                f"{s.confidence:.4f}",
                f"{s.first_s:.3f}",
                f"{s.last_s:.3f}",
                _iso(s.first_utc_ms),
                _iso(s.last_utc_ms),
                "" if p is None else f"{p.lat:.7f}",
                "" if p is None else f"{p.lon:.7f}",
                "" if p is None or p.speed_mps is None else f"{p.speed_mps:.2f}",
                "" if p is None or p.bearing_deg is None else f"{p.bearing_deg:.1f}",
                s.n_reads,
                s.vehicle_class or "",
                s.best_crop_path or "",
            ]
        )
    return buf.getvalue()


def to_geojson(sightings: Sequence[Sighting]) -> str:
    features = []
    for s in sightings:
        if s.position is None:
            continue
        features.append(
            {
                "type": "Feature",
                "geometry": {"type": "Point", "coordinates": [s.position.lon, s.position.lat]},
                "properties": {
                    "plate": s.plate_text,
                    "confidence": round(s.confidence, 4),
                    "video_id": s.video_id,
                    "first_utc": _iso(s.first_utc_ms),
                    "last_utc": _iso(s.last_utc_ms),
                    "first_s": s.first_s,
                    "last_s": s.last_s,
                    "n_reads": s.n_reads,
                },
            }
        )
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
        if s.first_utc_ms is not None:
            lines.append(f"    <time>{_iso(s.first_utc_ms)}</time>")
        lines.append(f"    <name>{escape(s.plate_text)}</name>")
        lines.append(
            f"    <desc>{escape(s.video_id)} {s.first_s:.1f}-{s.last_s:.1f}s "
            f"conf {s.confidence:.2f}</desc>"
        )
        lines.append("  </wpt>")
    lines.append("</gpx>")
    return "\n".join(lines) + "\n"


def export(sightings: Sequence[Sighting], fmt: ExportFormat) -> str:
    return {ExportFormat.CSV: to_csv, ExportFormat.GEOJSON: to_geojson, ExportFormat.GPX: to_gpx}[
        fmt
    ](sightings)
