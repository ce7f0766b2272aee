"""GPS telemetry files: read any supported track, write GPX/GeoJSON/CSV/JSON/NMEA.

Readers take text (pure) and return fixes plus a count of rejected lines/points;
``read_track`` does the file I/O, detects the format by content and raises
``GpsError`` naming the file. Supported sources: NMEA 0183 RMC/GGA logs (also the
dashcam style ``[unix_ms]$GPRMC,...``), GPX 1.0/1.1, JSON/GeoJSON, CSV, and videos
with an embedded track (through ``exiftool``, when installed).
"""

from __future__ import annotations

import csv
import io
import json
import math
import os
import re
import shutil
import subprocess
import tempfile
import xml.etree.ElementTree as ET
from collections.abc import Iterable, Mapping
from dataclasses import dataclass
from datetime import UTC, datetime
from pathlib import Path
from typing import Any, Literal, TextIO

from dashcam.domain.gps import GpsFix, GpsTrack, valid_lat_lon
from dashcam.errors import GpsError
from dashcam.media.nmea import nmea_sentences, parse_nmea

TrackFormat = Literal["gpx", "geojson", "csv", "json", "nmea"]
TRACK_FORMATS: tuple[TrackFormat, ...] = ("gpx", "geojson", "csv", "json", "nmea")

# Side-car extensions, in the order find_track_for_video prefers them.
TRACK_SUFFIXES: tuple[str, ...] = (".gps", ".nmea", ".gpx", ".geojson", ".json", ".csv")
VIDEO_SUFFIXES = frozenset(
    {".mp4", ".mov", ".m4v", ".avi", ".mkv", ".ts", ".mts", ".m2ts", ".3gp", ".lrv", ".insv"}
)
EXIFTOOL_INSTALL = "apt-get install libimage-exiftool-perl (or https://exiftool.org)"
_KMH = 1 / 3.6

CSV_HEADER = ("timestamp_ms", "time_utc", "lat", "lon", "speed_mps", "bearing_deg", "altitude_m")


@dataclass
class TrackReadResult:
    """A track read from a file: ``kept`` fixes, ``rejected`` lines/points skipped."""

    track: GpsTrack
    kept: int
    rejected: int
    source_format: str


# --- time helpers -------------------------------------------------------------------


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


# --- records (JSON, GeoJSON, CSV) -----------------------------------------------------

_TIME_MS_KEYS = ("timestamp_ms", "time_ms", "unix_ms", "t_ms", "ts_ms")
_TIME_KEYS = ("time", "timestamp", "time_utc", "datetime", "date_time", "utc", "ts", "t")
_LAT_KEYS = ("lat", "latitude")
_LON_KEYS = ("lon", "lng", "long", "longitude")
_SPEED_KEYS = ("speed_mps", "speed")
_BEARING_KEYS = ("bearing_deg", "bearing", "course", "heading", "track")
_ALT_KEYS = ("altitude_m", "altitude", "alt", "ele", "elevation")


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
    return GpsFix(
        timestamp_ms=t_ms,
        lat=lat,
        lon=lon,
        speed_mps=_float_or_none(_pick(rec, _SPEED_KEYS)),
        bearing_deg=_float_or_none(_pick(rec, _BEARING_KEYS)),
        altitude_m=_float_or_none(_pick(rec, _ALT_KEYS)),
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
                for key in ("speeds_mps", "bearings_deg", "speed_mps", "bearing_deg"):
                    if isinstance(props.get(key), list) and i < len(props[key]):
                        rec[key.replace("speeds", "speed").replace("bearings", "bearing")] = props[
                            key
                        ][i]
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


# --- GPX ------------------------------------------------------------------------------


def _local(tag: str) -> str:
    return tag.rsplit("}", 1)[-1]


def parse_gpx(text: str) -> tuple[list[GpsFix], int]:
    """``trkpt``/``rtept`` with ``time``, optional ``ele``, ``speed``, ``course`` (GPX 1.0,
    or any extension element of that name in 1.1). Points without time are rejected."""
    root = ET.fromstring(text.encode("utf-8") if text.startswith("<?xml") else text)
    if _local(root.tag) != "gpx":
        raise ValueError(f"XML root is <{_local(root.tag)}>, not <gpx>")
    fixes: list[GpsFix] = []
    rejected = 0
    for el in root.iter():
        if _local(el.tag) not in ("trkpt", "rtept"):
            continue
        rec: dict[str, object] = {"lat": el.get("lat"), "lon": el.get("lon")}
        for child in el.iter():
            name = _local(child.tag)
            if child is not el and child.text and name in ("time", "ele", "speed", "course"):
                rec.setdefault(name, child.text.strip())
        try:
            fixes.append(fix_from_record(rec))
        except (ValueError, TypeError):
            rejected += 1
    return fixes, rejected


# --- exiftool (embedded tracks) ---------------------------------------------------------


def fixes_from_exiftool_json(text: str) -> tuple[list[GpsFix], int]:
    """Parse ``exiftool -ee -n -j -G3`` output: one ``DocN:`` group per GPS sample.

    ``GPSSpeed`` is km/h unless ``GPSSpeedRef`` says ``M`` (mph) or ``N`` (knots).
    """
    docs = json.loads(text)
    groups: dict[str, dict[str, object]] = {}
    for doc in docs if isinstance(docs, list) else [docs]:
        for key, value in doc.items():
            group, _, tag = key.rpartition(":")
            groups.setdefault(group, {})[tag] = value
    fixes: list[GpsFix] = []
    rejected = 0
    for tags in groups.values():
        if "GPSLatitude" not in tags:
            continue
        try:
            when = tags.get("GPSDateTime")
            if when is None and "GPSDateStamp" in tags and "GPSTimeStamp" in tags:
                when = f"{tags['GPSDateStamp']} {tags['GPSTimeStamp']}"
            if when is None:
                raise ValueError("no GPS time")
            t_ms = parse_time_ms(str(when).replace("Z", "+00:00") if " " in str(when) else when)
            lat = float(tags["GPSLatitude"])  # type: ignore[arg-type]
            lon = float(tags["GPSLongitude"])  # type: ignore[arg-type]
            if not valid_lat_lon(lat, lon):
                raise ValueError("position out of range")
            speed = _float_or_none(tags.get("GPSSpeed"))
            unit = {"M": 0.44704, "N": 0.514444}.get(str(tags.get("GPSSpeedRef", "K")), _KMH)
            fixes.append(
                GpsFix(
                    t_ms,
                    lat,
                    lon,
                    speed_mps=None if speed is None else speed * unit,
                    bearing_deg=_float_or_none(tags.get("GPSTrack")),
                    altitude_m=_float_or_none(tags.get("GPSAltitude")),
                )
            )
        except (ValueError, TypeError, KeyError):
            rejected += 1
    return fixes, rejected


def _read_embedded(path: Path) -> tuple[list[GpsFix], int]:
    exe = shutil.which("exiftool")
    if exe is None:
        raise GpsError(
            f"{path}: reading a GPS track embedded in a video needs exiftool; "
            f"install it: {EXIFTOOL_INSTALL}"
        )
    try:
        proc = subprocess.run(
            [exe, "-ee", "-n", "-j", "-G3", str(path)],
            capture_output=True,
            text=True,
            timeout=300,
            check=False,
        )
    except (OSError, subprocess.TimeoutExpired) as exc:
        raise GpsError(f"{path}: exiftool failed") from exc
    if not proc.stdout.strip():
        raise GpsError(f"{path}: exiftool could not read it: {proc.stderr.strip()[:200]}")
    return fixes_from_exiftool_json(proc.stdout)


# --- reading ----------------------------------------------------------------------------


def detect_format(head: bytes, suffix: str = "") -> str:
    """Guess a track format from the first bytes of a file (extension only breaks ties).

    Returns one of ``nmea``, ``gpx``, ``json``, ``csv``, ``video``, or ``unknown``.
    """
    if b"\x00" in head[:4096] or (suffix.lower() in VIDEO_SUFFIXES and not head.isascii()):
        return "video"
    text = head.decode("utf-8", errors="replace").lstrip("\ufeff \t\r\n")
    if re.search(r"\$[A-Z]{2}(RMC|GGA|GSA|GSV|VTG|GLL),", text):
        return "nmea"
    if text.startswith("<"):
        return "gpx"
    if text[:1] in "[{":
        return "json"
    first = text.split("\n", 1)[0].lower()
    if re.search(r"\b(lat|latitude)\b", first) and re.search(r"\b(lon|lng|longitude)\b", first):
        return "csv"
    if suffix.lower() in VIDEO_SUFFIXES:
        return "video"
    return "unknown"


_PARSERS = {"nmea": parse_nmea, "gpx": parse_gpx, "json": parse_json, "csv": parse_csv}


def read_track(path: Path) -> TrackReadResult:
    """Read a GPS track from any supported file; ``GpsError`` naming the file when it is
    missing, unreadable, empty, of unknown format, or holds no valid fix."""
    path = Path(path)
    if not path.exists():
        raise GpsError(f"{path}: no such GPS file")
    if path.is_dir():
        raise GpsError(f"{path}: is a directory, not a GPS file")
    try:
        with path.open("rb") as fh:
            head = fh.read(65536)
    except OSError as exc:
        raise GpsError(f"{path}: cannot read GPS file") from exc
    if not head.strip():
        raise GpsError(f"{path}: GPS file is empty")
    fmt = detect_format(head, path.suffix)
    if fmt == "unknown":
        raise GpsError(f"{path}: not a recognised GPS format (NMEA, GPX, JSON, CSV, video)")
    if fmt == "video":
        fixes, rejected = _read_embedded(path)
    else:
        try:
            text = path.read_bytes().decode("utf-8-sig", errors="replace")
            fixes, rejected = _PARSERS[fmt](text)
        except OSError as exc:
            raise GpsError(f"{path}: cannot read GPS file") from exc
        except (ValueError, ET.ParseError, KeyError, TypeError, AttributeError) as exc:
            raise GpsError(f"{path}: unreadable {fmt.upper()} GPS file: {exc}") from exc
    if fmt == "json" and re.search(rb'"type"\s*:\s*"(FeatureCollection|Feature)"', head):
        fmt = "geojson"
    track = GpsTrack(fixes)
    if not track.fixes:
        raise GpsError(f"{path}: no valid GPS fixes ({rejected} rejected)")
    return TrackReadResult(track=track, kept=len(track), rejected=rejected, source_format=fmt)


def find_track_for_video(video: Path) -> Path | None:
    """A GPS file beside ``video`` with the same stem (``trip.mp4`` -> ``trip.gps``,
    ``trip.GPX``...), preferring ``.gps``, ``.nmea``, ``.gpx``, ``.geojson``, ``.json``,
    ``.csv``; None when there is none."""
    video = Path(video)
    try:
        siblings = [p for p in video.parent.iterdir() if p.stem == video.stem and p.is_file()]
    except OSError:
        return None
    by_suffix = {p.suffix.lower(): p for p in sorted(siblings) if p != video}
    for suffix in TRACK_SUFFIXES:
        if suffix in by_suffix:
            return by_suffix[suffix]
    return None


# --- writing ----------------------------------------------------------------------------


def _num(v: float | None) -> str:
    return "" if v is None else repr(float(v))


def render_csv(track: GpsTrack) -> str:
    buf = io.StringIO()
    w = csv.writer(buf, lineterminator="\n")
    w.writerow(CSV_HEADER)
    for f in track:
        w.writerow(
            [
                f.timestamp_ms,
                iso_utc(f.timestamp_ms),
                repr(f.lat),
                repr(f.lon),
                _num(f.speed_mps),
                _num(f.bearing_deg),
                _num(f.altitude_m),
            ]
        )
    return buf.getvalue()


def render_json(track: GpsTrack) -> str:
    fixes = [
        {
            "timestamp_ms": f.timestamp_ms,
            "lat": f.lat,
            "lon": f.lon,
            "speed_mps": f.speed_mps,
            "bearing_deg": f.bearing_deg,
            "altitude_m": f.altitude_m,
        }
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
    geometry: dict[str, object] = {"type": "LineString", "coordinates": coords}
    if len(coords) == 1:  # a LineString needs two positions
        geometry = {"type": "Point", "coordinates": coords[0]}
        props = {k: v[0] for k, v in props.items()}  # type: ignore[index]
    doc = {
        "type": "FeatureCollection",
        "features": [{"type": "Feature", "geometry": geometry, "properties": props}],
    }
    return json.dumps(doc) + "\n"


def render_gpx(track: GpsTrack) -> str:
    ns = "http://www.topografix.com/GPX/1/1"
    tpx = "http://www.garmin.com/xmlschemas/TrackPointExtension/v2"
    ET.register_namespace("", ns)
    ET.register_namespace("gpxtpx", tpx)
    root = ET.Element(f"{{{ns}}}gpx", {"version": "1.1", "creator": "dashcam"})
    seg = ET.SubElement(ET.SubElement(root, f"{{{ns}}}trk"), f"{{{ns}}}trkseg")
    for f in track:
        pt = ET.SubElement(seg, f"{{{ns}}}trkpt", {"lat": repr(f.lat), "lon": repr(f.lon)})
        if f.altitude_m is not None:
            ET.SubElement(pt, f"{{{ns}}}ele").text = repr(f.altitude_m)
        ET.SubElement(pt, f"{{{ns}}}time").text = iso_utc(f.timestamp_ms)
        if f.speed_mps is not None or f.bearing_deg is not None:
            ext = ET.SubElement(
                ET.SubElement(pt, f"{{{ns}}}extensions"), f"{{{tpx}}}TrackPointExtension"
            )
            if f.speed_mps is not None:
                ET.SubElement(ext, f"{{{tpx}}}speed").text = repr(f.speed_mps)
            if f.bearing_deg is not None:
                ET.SubElement(ext, f"{{{tpx}}}course").text = repr(f.bearing_deg)
    ET.indent(root)
    return '<?xml version="1.0" encoding="UTF-8"?>\n' + ET.tostring(root, "unicode") + "\n"


def render_nmea(track: GpsTrack) -> str:
    return "".join(line + "\r\n" for line in nmea_sentences(track))


_RENDERERS = {
    "gpx": render_gpx,
    "geojson": render_geojson,
    "csv": render_csv,
    "json": render_json,
    "nmea": render_nmea,
}


def render_track(track: GpsTrack, fmt: TrackFormat) -> str:
    """The track as text in ``fmt``; ValueError for an unknown format."""
    if fmt not in _RENDERERS:
        raise ValueError(f"unknown GPS format {fmt!r}; expected one of {', '.join(TRACK_FORMATS)}")
    return _RENDERERS[fmt](track)


def write_track(track: GpsTrack, out: Path | TextIO, fmt: TrackFormat) -> None:
    """Write ``track`` as ``fmt`` to a stream, or atomically (temp + rename) to a path."""
    text = render_track(track, fmt)
    if not isinstance(out, Path | str):
        out.write(text)
        return
    out = Path(out)
    fd, tmp = tempfile.mkstemp(prefix=f".{out.name}.", dir=out.parent or Path("."))
    try:
        with os.fdopen(fd, "w", encoding="utf-8", newline="") as fh:
            fh.write(text)
        os.replace(tmp, out)
    except BaseException:
        Path(tmp).unlink(missing_ok=True)
        raise
