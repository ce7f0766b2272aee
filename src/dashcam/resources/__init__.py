"""Data files shipped inside the package, read once at the edge.

``plate_formats.yaml``: every known jurisdiction's plate layouts (see
:mod:`dashcam.domain.plate_formats` for the pattern language).
"""

from __future__ import annotations

from functools import lru_cache
from importlib import resources

import yaml

from dashcam.domain.plate_formats import FormatBook

__all__ = ["format_book"]


@lru_cache(maxsize=1)
def format_book() -> FormatBook:
    """The plate formats shipped with dashcam (parsed once per process)."""
    text = resources.files(__package__).joinpath("plate_formats.yaml").read_text("utf-8")
    return FormatBook.from_mapping(yaml.safe_load(text))
