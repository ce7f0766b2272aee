"""``dashcam plates search``, ``dashcam export`` and ``dashcam videos``."""

from __future__ import annotations

import sys
from pathlib import Path

import typer
from rich.table import Table

from dashcam.cli.common import console, open_repo, out, settings_from, sightings_table
from dashcam.domain.gps import GpsClock, TrackTimeBase
from dashcam.errors import InputError
from dashcam.output.export import ExportFormat, export
from dashcam.store.paths import atomic_write_text

_TIME_BASES = {
    TrackTimeBase.VIDEO: "video time",
    TrackTimeBase.CREATION_TIME: "creation time",
    TrackTimeBase.FIRST_FIX: "first fix",
}


def gps_clock_cell(clock: GpsClock | None) -> str:
    """``gpmf, video time, GPS -3600.0 s vs creation`` / ``nmea, creation time`` / ``—``."""
    if clock is None:
        return "—"
    cell = f"{clock.source}, {_TIME_BASES[clock.time_base]}"
    if clock.gps_minus_creation_ms is not None:
        cell += f", GPS {clock.gps_minus_creation_ms / 1000:+.1f} s vs creation"
    return cell


def register(app: typer.Typer) -> None:
    plates = typer.Typer(help="Search the stored plate sightings.", no_args_is_help=True)
    app.add_typer(plates, name="plates")

    @plates.command("search")
    def search(
        text: str = typer.Argument(..., help="Plate text; spaces and dashes are ignored."),
        max_distance: float = typer.Option(
            1.0,
            "--max-distance",
            "-k",
            help="Edit distance allowed (confusable pairs like O/0, I/1, B/8, S/5 cost less).",
        ),
        as_json: bool = typer.Option(False, "--json", help="One JSON object per match."),
    ) -> None:
        """Fuzzy search over every stored sighting."""
        if max_distance < 0:
            raise InputError("--max-distance must be >= 0")
        repo = open_repo(settings_from())
        found = repo.search_plates(text, max_distance)
        if as_json:
            import json

            from dashcam.output.metadata import sighting_to_dict

            for stored, dist in found:
                d = sighting_to_dict(stored.sighting)
                d.pop("reads", None)
                d["distance"] = round(dist, 3)
                d["id"] = stored.id
                print(json.dumps(d))
            return
        if not found:
            console.print(f"no sighting within distance {max_distance:g} of {text!r}")
            raise typer.Exit(code=1)
        out.print(
            sightings_table(
                [s.sighting for s, _ in found],
                title=f"matches for {text!r}",
                distances=[d for _, d in found],
            )
        )

    @app.command("export")
    def export_cmd(
        fmt: ExportFormat = typer.Option(ExportFormat.CSV, "--format", "-f"),
        output: Path | None = typer.Option(None, "--output", "-o", help="File (default stdout)."),
        video: str | None = typer.Option(None, "--video", help="Only this video id."),
    ) -> None:
        """Export sightings as CSV, GeoJSON or GPX."""
        repo = open_repo(settings_from())
        sightings = [s.sighting for s in repo.list_sightings(video_id=video)]
        text = export(sightings, fmt)
        if output is None:
            sys.stdout.write(text)
        else:
            atomic_write_text(output, text)
            console.print(f"{len(sightings)} sighting(s) written to {output}")

    @app.command("videos")
    def videos() -> None:
        """List processed and registered videos."""
        repo = open_repo(settings_from())
        table = Table(title="Videos")
        for col in ("id", "status", "duration", "sightings", "GPS clock", "outputs"):
            table.add_column(col)
        for v in repo.list_videos():
            table.add_row(
                v.id,
                v.status.value,
                f"{v.duration_s:.1f} s" if v.duration_s else "—",
                str(v.n_sightings),
                gps_clock_cell(v.gps_clock),
                v.archive_dir or v.output_dir or "—",
            )
        out.print(table)
