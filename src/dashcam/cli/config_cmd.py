"""``dashcam config show``."""

from __future__ import annotations

import json

import typer
from rich.table import Table

from dashcam.cli.common import out
from dashcam.config import Settings, load_settings, setting_sources


def register(app: typer.Typer) -> None:
    config = typer.Typer(help="Inspect the effective settings.", no_args_is_help=True)
    app.add_typer(config, name="config")

    @config.command("show")
    def show(
        as_json: bool = typer.Option(False, "--json", help="Machine-readable output."),
    ) -> None:
        """Print every setting, its effective value and where it came from."""
        settings = load_settings()
        sources = setting_sources(settings)
        values = settings.model_dump(mode="json")
        if as_json:
            print(
                json.dumps(
                    {k: {"value": values[k], "source": sources[k]} for k in values}, indent=1
                )
            )
            return
        table = Table(title="dashcam settings")
        table.add_column("setting")
        table.add_column("env var")
        table.add_column("value")
        table.add_column("source")
        for name, field in Settings.model_fields.items():
            val = values[name]
            shown = "***" if name == "api_key" and val else str(val)
            src = sources[name]
            style = "green" if src.startswith("env") or src == "file" else None
            table.add_row(name, "DASHCAM_" + name.upper(), shown, src, style=style)
            del field
        out.print(table)
