"""Shared CLI helpers: settings from options, the store, sighting tables."""

from __future__ import annotations

import os
import sys
from collections.abc import Sequence
from datetime import UTC, datetime
from typing import Any

from rich import box
from rich.console import Console
from rich.table import Table

from dashcam.config import Settings, load_settings
from dashcam.domain.sighting import Sighting
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


def fmt_time(s: float) -> str:
    m, sec = divmod(s, 60)
    return f"{int(m):d}:{sec:04.1f}"


def fmt_utc(ms: int | None) -> str:
    if ms is None:
        return "—"
    return datetime.fromtimestamp(ms / 1000, UTC).strftime("%H:%M:%S")


def sightings_table(
    sightings: Sequence[Sighting],
    title: str = "Sightings",
    distances: Sequence[float] | None = None,
    show_video: bool = True,
) -> Table:
    """Plate, time span, UTC, position, confidence, reads (and video, distance).

    On a narrow terminal the plate column keeps its full text; others shrink with an
    ellipsis.
    """
    plate_w = max([5, *(len(s.plate_text or "(not read)") for s in sightings)])
    table = Table(title=title, box=box.SIMPLE_HEAD, pad_edge=False)
    table.add_column("plate", style="bold", no_wrap=True, min_width=plate_w)
    if distances is not None:
        table.add_column("dist", justify="right", no_wrap=True)
    if show_video:
        table.add_column("video", no_wrap=True, overflow="ellipsis", max_width=22)
    for name in ("first", "last", "UTC", "lat", "lon", "conf", "reads"):
        table.add_column(name, justify="right", no_wrap=True)
    for i, s in enumerate(sightings):
        row = [s.plate_text or "(not read)"]
        if distances is not None:
            row.append(f"{distances[i]:.1f}")
        if show_video:
            row.append(s.video_id)
        row += [
            fmt_time(s.first_s),
            fmt_time(s.last_s),
            fmt_utc(s.first_utc_ms),
            f"{s.position.lat:.5f}" if s.position else "—",
            f"{s.position.lon:.5f}" if s.position else "—",
            f"{s.confidence:.2f}",
            str(s.n_reads),
        ]
        table.add_row(*row)
    return table
