"""Ids that become file names: validation and derivation (pure)."""

from __future__ import annotations

import re

# Also the OpenAPI pattern of id parameters (``..`` is refused separately).
ID_PATTERN = r"^[A-Za-z0-9][A-Za-z0-9._-]{0,127}$"
_ID_RE = re.compile(ID_PATTERN)


def is_valid_id(value: str) -> bool:
    """True for ids safe to use as one path component.

    >>> is_valid_id("front-2024-01-01_1"), is_valid_id("../etc"), is_valid_id("a\n")
    (True, False, False)
    """
    return bool(_ID_RE.fullmatch(value)) and ".." not in value


def slugify(text: str, max_len: int = 48) -> str:
    """A lowercase id-safe slug of free text ("My Drive.mp4" -> "my-drive-mp4")."""
    slug = re.sub(r"[^a-z0-9]+", "-", text.lower()).strip("-")
    return (slug[:max_len].strip("-")) or "video"


def video_id_for(stem: str, content_hash: str) -> str:
    """Stable video id: slug of the file stem plus 8 hex chars of its content hash."""
    return f"{slugify(stem)}-{content_hash[:8]}"


#: Sightings of a live camera are stored under this source id: ``camera:<name>``. A colon
#: is in no ingested video's id (:data:`ID_PATTERN`), so the two never meet.
CAMERA_PREFIX = "camera:"


def camera_source(name: str) -> str:
    """The source (video) id under which camera ``name``'s sightings are stored.

    >>> camera_source("gate")
    'camera:gate'
    """
    return f"{CAMERA_PREFIX}{name}"


def camera_of(source: str) -> str | None:
    """The camera name of a source id, or None for a recorded video's id.

    >>> camera_of("camera:gate"), camera_of("drive-1a2b3c4d")
    ('gate', None)
    """
    return source.removeprefix(CAMERA_PREFIX) if source.startswith(CAMERA_PREFIX) else None
