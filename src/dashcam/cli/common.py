"""Shared CLI helpers: settings from options, the store, the client, the consoles."""

from __future__ import annotations

import contextlib
import os
import sys
from collections.abc import Iterator
from typing import Any

import typer
from rich.console import Console

from dashcam.client.base import DashcamClient
from dashcam.client.connect import open_client
from dashcam.config import Settings, load_settings
from dashcam.store.database import make_engine
from dashcam.store.results import ResultsRepository

console = Console(stderr=True, soft_wrap=True)
# Piped or redirected output has no terminal width; rich would assume 80 columns and cut
# table cells (plate text, video ids) with an ellipsis. Tables only take the width they need.
out = Console(width=None if sys.stdout.isatty() or "COLUMNS" in os.environ else 200)


def settings_from(**overrides: Any) -> Settings:
    return load_settings(**overrides)


def open_repo(settings: Settings) -> ResultsRepository:
    return ResultsRepository(make_engine(settings.db_url))


def server_option() -> Any:
    """``--server URL`` of the read and steer commands."""
    return typer.Option(
        None,
        "--server",
        metavar="URL",
        help="Ask this server (default: DASHCAM_SERVER_URL when set, else the local database).",
    )


@contextlib.contextmanager
def client(server_url: str | None, *, create: bool = False) -> Iterator[DashcamClient]:
    """The server's or the local database's client, closed afterwards. Only ``create``
    (ingest) may make a new local database."""
    c = open_client(settings_from(), server_url, create=create)
    try:
        yield c
    finally:
        c.close()
