"""GPS tracks: read any supported file or video, write GPX/GeoJSON/CSV/JSON/NMEA.

``read_track`` does the file I/O, detects the format by content and raises
``GpsError`` naming the file. Supported sources: NMEA 0183 RMC/GGA logs (also the
dashcam style ``[unix_ms]$GPRMC,...``, ``media/nmea.py``), GPX 1.0/1.1 (``media/gpx.py``),
JSON/GeoJSON and CSV (``media/track_records.py``), and videos with an embedded track:
GoPro GPMF, Google CAMM, Novatek freeGPS and BlackVue in Python (``media/embedded.py``),
anything else through ExifTool when it is installed (``media/exiftool.py``).
"""

from __future__ import annotations

import os
import re
import tempfile
import xml.etree.ElementTree as ET
from dataclasses import dataclass
from pathlib import Path
from typing import Literal, TextIO

from dashcam.domain.gps import GpsTrack
from dashcam.errors import GpsError
from dashcam.media.embedded import EmbeddedSource, read_embedded
from dashcam.media.exiftool import EXIFTOOL_INSTALL, fixes_from_exiftool_json, read_with_exiftool
from dashcam.media.gpx import parse_gpx, render_gpx
from dashcam.media.nmea import nmea_sentences, parse_nmea
from dashcam.media.track_records import (
    CSV_HEADER,
    fix_from_record,
    iso_utc,
    parse_csv,
    parse_json,
    parse_time_ms,
    render_csv,
    render_geojson,
    render_json,
)

__all__ = [
    "CSV_HEADER",
    "EXIFTOOL_INSTALL",
    "TRACK_FORMATS",
    "VIDEO_SOURCES",
    "TrackFormat",
    "TrackReadResult",
    "detect_format",
    "find_track_for_video",
    "fix_from_record",
    "fixes_from_exiftool_json",
    "iso_utc",
    "parse_csv",
    "parse_gpx",
    "parse_json",
    "parse_nmea",
    "parse_time_ms",
    "read_embedded_track",
    "read_track",
    "render_track",
    "write_track",
]

TrackFormat = Literal["gpx", "geojson", "csv", "json", "nmea"]
TRACK_FORMATS: tuple[TrackFormat, ...] = ("gpx", "geojson", "csv", "json", "nmea")

# Side-car extensions, in the order find_track_for_video prefers them.
TRACK_SUFFIXES: tuple[str, ...] = (".gps", ".nmea", ".gpx", ".geojson", ".json", ".csv")
VIDEO_SUFFIXES = frozenset(
    {".mp4", ".mov", ".m4v", ".avi", ".mkv", ".ts", ".mts", ".m2ts", ".3gp", ".lrv", ".insv"}
)
# TrackReadResult.source_format of a track read from inside a video
VIDEO_SOURCES = frozenset({*(s.value for s in EmbeddedSource), "exiftool"})
_PYTHON_SOURCES = "no GoPro GPMF, Google CAMM, Novatek freeGPS or BlackVue GPS track inside"


@dataclass
class TrackReadResult:
    """A track read from a file: ``kept`` fixes, ``rejected`` lines/points/samples
    skipped; ``source_format`` is ``nmea``, ``gpx``, ``geojson``, ``json``, ``csv``,
    or for a video ``gpmf``, ``camm``, ``freegps``, ``blackvue`` or ``exiftool``."""

    track: GpsTrack
    kept: int
    rejected: int
    source_format: str


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
        return _read_video(path)
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


def read_embedded_track(path: Path) -> TrackReadResult | None:
    """The track inside a video, read in Python (GPMF, CAMM, freeGPS, BlackVue; never
    ExifTool, so it is cheap to ask of any video); None when it holds none of these.
    ``GpsError`` when one is there but has no valid fix."""
    got = read_embedded(Path(path))
    if got is None:
        return None
    track = GpsTrack(got.fixes)
    if not track.fixes:
        raise GpsError(f"{path}: {got.source} GPS track has no valid fix ({got.rejected} rejected)")
    return TrackReadResult(track, len(track), got.rejected, got.source.value)


def _read_video(path: Path) -> TrackReadResult:
    found = read_embedded_track(path)
    if found is not None:
        return found
    fixes, rejected = read_with_exiftool(path, _PYTHON_SOURCES)
    track = GpsTrack(fixes)
    if not track.fixes:
        raise GpsError(f"{path}: no valid GPS fixes ({rejected} rejected)")
    return TrackReadResult(track, len(track), rejected, "exiftool")


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
