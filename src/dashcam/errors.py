"""One exception tree for the whole project.

Boundary code raises these (``raise StoreError(...) from exc``); the CLI prints the
cause chain in a line or two and exits non-zero, the HTTP layer maps them to status codes.
"""

from __future__ import annotations

from collections.abc import Iterable, Mapping
from typing import Any


class DashcamError(Exception):
    """Base of every error dashcam raises on purpose."""

    exit_code = 1


class ConfigError(DashcamError):
    """A setting or config file is invalid (names the key and what is allowed)."""

    exit_code = 2


class InputError(DashcamError):
    """A user-supplied input (file, id, argument) cannot be used."""

    exit_code = 2


class DecodeError(InputError):
    """A video or image could not be decoded (missing, not media, corrupt)."""


class GpsError(InputError):
    """A GPS track could not be read or does not fit the video."""


class BackendUnavailable(DashcamError):
    """A model backend cannot run: a package or weights file is missing."""

    exit_code = 3


class ModelDownloadError(DashcamError):
    """``dashcam models get`` could not fetch or install a model (offline, HTTP error,
    a file that is not what it claims to be). Nothing half-written is installed."""

    exit_code = 4


class StoreError(DashcamError):
    """The database or a storage root failed; raised ``from`` the driver error."""


class TaskNotFound(StoreError):
    """No task has that id."""


class LeaseLost(DashcamError):
    """A lease token is stale: the task was reclaimed, completed or cancelled."""


class PathEscapeError(InputError):
    """An id or relative path would leave its storage root."""


def describe_fields(errors: Iterable[Mapping[str, Any]]) -> str:
    """Validation errors (pydantic's ``errors()``) as one line: ``"a.b: msg; c: msg"``."""
    parts = []
    for err in errors:
        loc = ".".join(str(p) for p in err.get("loc", ()) if p != "body")
        parts.append(f"{loc}: {err.get('msg')}" if loc else str(err.get("msg")))
    return "; ".join(parts)


def describe(exc: BaseException) -> str:
    """One line per link of the cause chain: ``"outer: inner"``."""
    parts: list[str] = []
    seen: set[int] = set()
    cur: BaseException | None = exc
    while cur is not None and id(cur) not in seen:
        seen.add(id(cur))
        text = str(cur).strip() or type(cur).__name__
        if not parts or text not in parts[-1]:
            parts.append(text)
        cur = cur.__cause__ or (None if cur.__suppress_context__ else cur.__context__)
    return " <- ".join(parts)
