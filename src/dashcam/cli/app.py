"""Entry point: builds the typer app from one module per command group."""

from __future__ import annotations

import importlib
import logging
import sys

import typer

from dashcam.errors import DashcamError, describe

app = typer.Typer(
    name="dashcam",
    help="Turn dashcam and camera video into searchable, GPS-aligned plate sightings.",
    no_args_is_help=True,
    pretty_exceptions_enable=False,
    add_completion=False,
)

# Each module exposes ``register(app: typer.Typer) -> None``.
COMMAND_MODULES: tuple[str, ...] = (
    "process",
    "results",
    "config_cmd",
    "gps",
    "read",
    "relay",
    "miner",
    "server",
    "workers",
    "events_cmd",
    "models",
)

_verbose = False


@app.callback()
def _root(
    verbose: bool = typer.Option(False, "--verbose", "-v", help="Show tracebacks and debug logs."),
) -> None:
    global _verbose
    _verbose = verbose
    logging.basicConfig(
        level=logging.DEBUG if verbose else logging.WARNING,
        format="%(asctime)s %(levelname)s %(name)s: %(message)s"
        if verbose
        else "%(levelname)s: %(message)s",
    )


def build() -> typer.Typer:
    for name in COMMAND_MODULES:
        importlib.import_module(f"dashcam.cli.{name}").register(app)
    return app


def main() -> None:
    build()
    try:
        rc = app(standalone_mode=False)
        if isinstance(rc, int) and rc:
            sys.exit(rc)
    except DashcamError as exc:
        if _verbose:
            raise
        typer.echo(f"dashcam: error: {describe(exc)}", err=True)
        sys.exit(exc.exit_code)
    except KeyboardInterrupt:
        typer.echo("dashcam: interrupted", err=True)
        sys.exit(130)
    except SystemExit:
        raise
    except Exception as exc:  # click's usage errors and the like
        import click

        if isinstance(exc, click.exceptions.ClickException):
            exc.show()
            sys.exit(exc.exit_code)
        if isinstance(exc, click.exceptions.Abort):
            sys.exit(130)
        raise
