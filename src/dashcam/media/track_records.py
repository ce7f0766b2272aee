"""GPS tracks as records: JSON, GeoJSON and CSV in and out, and the time helpers.

Readers take text (pure) and return fixes plus a count of rejected points. A fix
with a time on its video's timeline (a track read from inside a video) keeps it as
``video_ms``: a ``video_ms`` column/key/property is written when the track has one.
"""

from __future__ import annotations

import csv
import io
import json
import math
import re
from collections.abc import Iterable, Mapping
from datetime import UTC, datetime
from typing import Any

from dashcam.domain.gps import GpsFix, GpsTrack, valid_lat_lon

CSV_HEADER = ("timestamp_ms", "time_utc", "lat", "lon", "speed_mps", "bearing_deg", "altitude_m")

# --- time helpers ------------------------------------------------------------


def iso_utc(t_ms: int) -> str:
    """``1700000000123`` -> ``"2023-11-14T22:13:20.123Z"``."""
    dt = datetime.fromtimestamp(t_ms / 1000, tz=UTC)
    return dt.strftime("%Y-%m-%dT%H:%M:%S.") + f"{t_ms % 1000:03d}Z"


def parse_time_ms(value: object) -> int:
    """ISO-8601 text (naive means UTC), exiftool ``2023:11:14 22:13:20Z``, or epoch
    seconds/milliseconds (numbers above 1e11 are taken as milliseconds). ValueError
    when it is none of these."""
    if isinstance(value, bool) or value is None:
        raise ValueError(f"not a time: {value!r}")
    if isinstance(value, int | float):
        num = float(value)
    else:
        text = str(value).strip()
        try:
            num = float(text)
        except ValueError:
            exif = re.fullmatch(r"(\d{4}):(\d\d):(\d\d)[ T](.*)", text)
            if exif:
                text = f"{exif[1]}-{exif[2]}-{exif[3]}T{exif[4]}"
            dt = datetime.fromisoformat(text.replace("z", "Z"))
            if dt.tzinfo is None:
                dt = dt.replace(tzinfo=UTC)
            return round(dt.timestamp() * 1000)
    if not math.isfinite(num):
        raise ValueError(f"not a time: {value!r}")
    return round(num if abs(num) >= 1e11 else num * 1000)


def _float_or_none(value: object) -> float | None:
    if value is None or (isinstance(value, str) and not value.strip()):
        return None
    out = float(value)  # type: ignore[arg-type]
    return out if math.isfinite(out) else None


# --- records (JSON, GeoJSON, CSV) --------------------------------------------------

_TIME_MS_KEYS = ("timestamp_ms", "time_ms", "unix_ms", "t_ms", "ts_ms")
_TIME_KEYS = ("time", "timestamp", "time_utc", "datetime", "date_time", "utc", "ts", "t")
_LAT_KEYS = ("lat", "latitude")
_LON_KEYS = ("lon", "lng", "long", "longitude")
_SPEED_KEYS = ("speed_mps", "speed")
_BEARING_KEYS = ("bearing_deg", "bearing", "course", "heading", "track")
_ALT_KEYS = ("altitude_m", "altitude", "alt", "ele", "elevation")
_VIDEO_KEYS = ("video_ms",)


def _pick(rec: Mapping[str, object], keys: Iterable[str]) -> object:
    for k in keys:
        v = rec.get(k)
        if v is not None and v != "":
            return v
    return None


def fix_from_record(record: Mapping[str, object]) -> GpsFix:
    """One fix from a flat record with aliased keys (case-insensitive), e.g.
    ``{"time": "2023-11-14T22:13:20Z", "latitude": 52.1, "lng": 4.3}``.
    ValueError when time or position is missing or out of range."""
    rec = {str(k).strip().lower(): v for k, v in record.items()}
    t_ms_raw = _pick(rec, _TIME_MS_KEYS)
    if t_ms_raw is not None:
        t_ms = round(float(t_ms_raw))  # type: ignore[arg-type]
    else:
        t_raw = _pick(rec, _TIME_KEYS)
        if t_raw is None:
            raise ValueError("no time")
        t_ms = parse_time_ms(t_raw)
    lat, lon = _float_or_none(_pick(rec, _LAT_KEYS)), _float_or_none(_pick(rec, _LON_KEYS))
    if lat is None or lon is None or not valid_lat_lon(lat, lon):
        raise ValueError(f"bad position {lat!r}, {lon!r}")
    video = _float_or_none(_pick(rec, _VIDEO_KEYS))
    return GpsFix(
        timestamp_ms=t_ms,
        lat=lat,
        lon=lon,
        speed_mps=_float_or_none(_pick(rec, _SPEED_KEYS)),
        bearing_deg=_float_or_none(_pick(rec, _BEARING_KEYS)),
        altitude_m=_float_or_none(_pick(rec, _ALT_KEYS)),
        video_ms=None if video is None else round(video),
    )


def _fixes_from_records(records: Iterable[object]) -> tuple[list[GpsFix], int]:
    fixes: list[GpsFix] = []
    rejected = 0
    for rec in records:
        try:
            if not isinstance(rec, Mapping):
                raise ValueError("not an object")
            fixes.append(fix_from_record(rec))
        except (ValueError, TypeError, OverflowError):
            rejected += 1
    return fixes, rejected


_GEOJSON_LISTS = {
    "speeds_mps": "speed_mps",
    "bearings_deg": "bearing_deg",
    "speed_mps": "speed_mps",
    "bearing_deg": "bearing_deg",
    "video_ms": "video_ms",
}


def _fixes_from_geojson(doc: Mapping[str, Any]) -> tuple[list[GpsFix], int]:
    features = doc["features"] if doc.get("type") == "FeatureCollection" else [doc]
    fixes: list[GpsFix] = []
    rejected = 0
    for feat in features:
        geom = (feat or {}).get("geometry") or {}
        props = (feat or {}).get("properties") or {}
        coords = geom.get("coordinates")
        if geom.get("type") == "Point":
            coords, props = [coords], {k: [v] for k, v in props.items()}
        elif geom.get("type") != "LineString" or not isinstance(coords, list):
            rejected += 1
            continue
        times = props.get("timestamps_ms") or props.get("coordTimes") or props.get("times")
        if times is None and "time" in props:
            times = props["time"]
        for i, c in enumerate(coords):
            try:
                rec: dict[str, object] = {"lon": c[0], "lat": c[1]}
                if len(c) > 2:
                    rec["altitude_m"] = c[2]
                rec["timestamp"] = times[i] if times is not None else None
                for key, name in _GEOJSON_LISTS.items():
                    if isinstance(props.get(key), list) and i < len(props[key]):
                        rec[name] = props[key][i]
                fixes.append(fix_from_record(rec))
            except (ValueError, TypeError, IndexError, KeyError):
                rejected += 1
    return fixes, rejected


def parse_json(text: str) -> tuple[list[GpsFix], int]:
    """A list of fix objects, ``{"fixes"|"points"|"track": [...]}`` or GeoJSON."""
    doc = json.loads(text)
    if isinstance(doc, dict):
        if doc.get("type") in ("FeatureCollection", "Feature"):
            return _fixes_from_geojson(doc)
        for key in ("fixes", "points", "track", "trackpoints", "data"):
            if isinstance(doc.get(key), list):
                doc = doc[key]
                break
        else:
            raise ValueError("JSON object has no 'fixes' or 'points' list")
    if not isinstance(doc, list):
        raise ValueError("JSON is neither a list of fixes nor an object holding one")
    return _fixes_from_records(doc)


def parse_csv(text: str) -> tuple[list[GpsFix], int]:
    """CSV with a header naming a time column and lat/lon columns (aliases accepted)."""
    sample = text[:4096]
    try:
        dialect: type[csv.Dialect] | csv.Dialect = csv.Sniffer().sniff(sample, ",;\t")
    except csv.Error:
        dialect = csv.excel
    rows = csv.DictReader(io.StringIO(text), dialect=dialect)
    header = {str(h).strip().lower() for h in rows.fieldnames or ()}
    if not header & set(_LAT_KEYS) or not header & set(_LON_KEYS):
        raise ValueError(f"CSV header has no lat/lon columns: {sorted(header)}")
    records = ({k: v for k, v in row.items() if k is not None} for row in rows)
    return _fixes_from_records(records)


# --- writing ------------------------------------------------------------


def _num(v: float | None) -> str:
    return "" if v is None else repr(float(v))


def _has_video_times(track: GpsTrack) -> bool:
    return any(f.video_ms is not None for f in track)


def render_csv(track: GpsTrack) -> str:
    """``CSV_HEADER`` columns, plus ``video_ms`` when the track has video times."""
    video = _has_video_times(track)
    buf = io.StringIO()
    w = csv.writer(buf, lineterminator="\n")
    w.writerow(CSV_HEADER + (("video_ms",) if video else ()))
    for f in track:
        row = [
            f.timestamp_ms,
            iso_utc(f.timestamp_ms),
            repr(f.lat),
            repr(f.lon),
            _num(f.speed_mps),
            _num(f.bearing_deg),
            _num(f.altitude_m),
        ]
        w.writerow(row + (["" if f.video_ms is None else f.video_ms] if video else []))
    return buf.getvalue()


def render_json(track: GpsTrack) -> str:
    video = _has_video_times(track)
    fixes = [
        {
            "timestamp_ms": f.timestamp_ms,
            "lat": f.lat,
            "lon": f.lon,
            "speed_mps": f.speed_mps,
            "bearing_deg": f.bearing_deg,
            "altitude_m": f.altitude_m,
        }
        | ({"video_ms": f.video_ms} if video else {})
        for f in track
    ]
    return json.dumps({"fixes": fixes}, indent=1) + "\n"


def render_geojson(track: GpsTrack) -> str:
    coords = [
        [f.lon, f.lat] if f.altitude_m is None else [f.lon, f.lat, f.altitude_m] for f in track
    ]
    props = {
        "coordTimes": [iso_utc(f.timestamp_ms) for f in track],
        "timestamps_ms": [f.timestamp_ms for f in track],
        "speeds_mps": [f.speed_mps for f in track],
        "bearings_deg": [f.bearing_deg for f in track],
    }
    if _has_video_times(track):
        props["video_ms"] = [f.video_ms for f in track]
    geometry: dict[str, object] = {"type": "LineString", "coordinates": coords}
    if len(coords) == 1:  # a LineString needs two positions
        geometry = {"type": "Point", "coordinates": coords[0]}
        props = {k: v[0] for k, v in props.items()}  # type: ignore[index]
    doc = {
        "type": "FeatureCollection",
        "features": [{"type": "Feature", "geometry": geometry, "properties": props}],
    }
    return json.dumps(doc) + "\n"
