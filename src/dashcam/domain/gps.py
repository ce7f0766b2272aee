"""GPS fixes and tracks: pure types and logic (interpolation, distance)."""

from __future__ import annotations

from dataclasses import dataclass


@dataclass(frozen=True)
class GpsFix:
    """One position. ``timestamp_ms`` is UTC milliseconds since the Unix epoch."""

    timestamp_ms: int
    lat: float
    lon: float
    speed_mps: float | None = None
    bearing_deg: float | None = None
    altitude_m: float | None = None
