"""``dashcam plates search``, ``dashcam export`` and ``dashcam videos``: local database or
server (``--server`` / ``DASHCAM_SERVER_URL``), the same output either way."""

from __future__ import annotations

import json
import sys
from pathlib import Path

import typer

from dashcam.cli.common import client, console, out, server_option
from dashcam.cli.tables import sightings_table, videos_table
from dashcam.errors import InputError
from dashcam.output.export import ExportFormat, export
from dashcam.output.metadata import sighting_to_dict
from dashcam.store.paths import atomic_write_text
from dashcam.store.schema import VideoStatus


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
        server_url: str | None = server_option(),
    ) -> None:
        """Fuzzy search over every stored sighting."""
        if max_distance < 0:
            raise InputError("--max-distance must be >= 0")
        with client(server_url) as c:
            found = c.search_plates(text, max_distance)
            where = c.where
        if as_json:
            for stored, dist in found:
                d = sighting_to_dict(stored.sighting)
                d.pop("reads", None)
                d["distance"] = round(dist, 3)
                d["id"] = stored.id
                print(json.dumps(d))
            return
        if not found:
            console.print(f"no sighting within distance {max_distance:g} of {text!r} in {where}")
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
        located_only: bool = typer.Option(
            False,
            "--located-only",
            help="Leave out sightings without a position (counted on stderr). GeoJSON keeps "
            'them otherwise, with "geometry": null; GPX always leaves them out.',
        ),
        server_url: str | None = server_option(),
    ) -> None:
        """Export sightings as CSV, GeoJSON or GPX; says on stderr how many it wrote.

        Positions are the best read's (where its crop was taken); CSV and GeoJSON also
        carry the first and last read's time and place."""
        with client(server_url) as c:
            sightings = [s.sighting for s in c.sightings(video_id=video)]
            where = c.where
        res = export(sightings, fmt, located_only=located_only)
        if output is None:
            sys.stdout.write(res.text)
        else:
            atomic_write_text(output, res.text)
        target = "stdout" if output is None else str(output)
        console.print(f"{res.written} {res.unit}(s) written to {target} (from {where})")
        if res.left_out:
            console.print(f"{res.left_out} sighting(s) without a position left out")

    @app.command("videos")
    def videos(
        status: VideoStatus | None = typer.Option(None, "--status", help="Only this status."),
        limit: int = typer.Option(1000, "--limit", min=1, max=5000),
        server_url: str | None = server_option(),
    ) -> None:
        """List processed and registered videos (newest first)."""
        with client(server_url) as c:
            found = c.videos(status=status, limit=limit)
            where = c.where
        out.print(videos_table(found))
        if not found:
            console.print(f"no videos in {where}")
