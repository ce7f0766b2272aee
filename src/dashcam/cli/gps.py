"""``dashcam gps FILE``: read a GPS track from any supported source, write another format."""

from __future__ import annotations

import sys
from enum import StrEnum
from pathlib import Path

import typer

from dashcam.config import load_settings
from dashcam.domain.gps import GpsTrack, with_clock_offset
from dashcam.errors import GpsError
from dashcam.media.telemetry import (
    VIDEO_SOURCES,
    TrackReadResult,
    iso_utc,
    read_track,
    write_track,
)


class OutputFormat(StrEnum):
    gpx = "gpx"
    geojson = "geojson"
    csv = "csv"
    json = "json"
    nmea = "nmea"


_BY_SUFFIX = {
    ".gpx": OutputFormat.gpx,
    ".geojson": OutputFormat.geojson,
    ".csv": OutputFormat.csv,
    ".json": OutputFormat.json,
    ".nmea": OutputFormat.nmea,
    ".gps": OutputFormat.nmea,
}


def summary_line(path: Path, result: TrackReadResult, track: GpsTrack) -> str:
    """``trip.gps (nmea): 120 fixes kept, 3 lines rejected, <start>..<end> (119.0 s), 1.23 km``;
    a track from inside a video counts samples and adds its span on the video timeline
    (``..., video 0.0..59.9 s``)."""
    unit = "samples" if result.source_format in VIDEO_SOURCES else "lines"
    line = (
        f"{path.name} ({result.source_format}): {result.kept} fixes kept, "
        f"{result.rejected} {unit} rejected, "
        f"{iso_utc(track.start_ms)}..{iso_utc(track.end_ms)} ({track.duration_s:.1f} s), "
        f"{track.distance_m / 1000:.2f} km"
    )
    if track.on_video_timeline:
        video = [f.video_ms or 0 for f in track]
        line += f", video {min(video) / 1000:.1f}..{max(video) / 1000:.1f} s"
    return line


def choose_format(fmt: OutputFormat | None, out: Path | None) -> OutputFormat:
    """The explicit ``--format``, else the one ``-o``'s extension names, else GPX."""
    if fmt is not None:
        return fmt
    if out is not None:
        return _BY_SUFFIX.get(out.suffix.lower(), OutputFormat.gpx)
    return OutputFormat.gpx


def register(app: typer.Typer) -> None:
    @app.command("gps")
    def gps(
        file: Path = typer.Argument(
            ...,
            help="NMEA/.gps log, GPX, JSON/GeoJSON, CSV, or a video with a track inside "
            "(GoPro, CAMM, Novatek freeGPS, BlackVue; others through exiftool).",
        ),
        fmt: OutputFormat | None = typer.Option(
            None, "--format", "-f", help="Output format (default: from -o's extension, else gpx)."
        ),
        output: Path | None = typer.Option(
            None, "--output", "-o", help="Write here (atomically) instead of stdout."
        ),
        clock_offset_s: float | None = typer.Option(
            None,
            "--clock-offset",
            help="Seconds added to every fix time, e.g. -3600 for a camera logging UTC+1 "
            "(default: DASHCAM_GPS_CLOCK_OFFSET_S).",
        ),
    ) -> None:
        """Convert a GPS track; prints a one-line summary (fixes, rejects, span, km) on stderr.

        Example: dashcam gps trip.gps --format geojson -o trip.geojson
        """
        result = read_track(file)
        offset = load_settings().gps_clock_offset_s if clock_offset_s is None else clock_offset_s
        track = with_clock_offset(result.track, offset)
        chosen = choose_format(fmt, output)
        if output is None:
            write_track(track, sys.stdout, chosen.value)
            sys.stdout.flush()
        else:
            if output.is_dir():
                raise GpsError(f"{output}: is a directory; give a file name for -o")
            if not output.parent.exists():
                raise GpsError(f"{output.parent}: no such directory for -o")
            write_track(track, output, chosen.value)
        typer.echo(summary_line(file, result, track), err=True)
