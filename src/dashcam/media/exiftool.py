"""ExifTool, the fallback for embedded tracks the Python readers do not know.

``exiftool -ee -n -j -G3:0 FILE`` gives one ``DocN`` group per GPS sample (``DocN-k``
for the further samples of a GoPro payload, ExifTool 13.33+), with the sample's
``SampleTime``/``SampleDuration`` on the video timeline. Units follow the source:
``GPSSpeed`` is km/h unless ``GPSSpeedRef`` says ``M`` (mph) or ``N`` (knots), except
GoPro's, which ExifTool before 13.04 reports in m/s as stored; CAMM gives velocities
(m/s) instead of a speed.
"""

from __future__ import annotations

import json
import math
import re
import shutil
import subprocess
from collections.abc import Mapping
from dataclasses import dataclass, field
from pathlib import Path

from dashcam.domain.gps import GpsFix, valid_lat_lon
from dashcam.errors import GpsError
from dashcam.media.nmea import KNOT_MPS
from dashcam.media.track_records import parse_time_ms

EXIFTOOL_INSTALL = "apt-get install libimage-exiftool-perl (or https://exiftool.org)"
_SPEED_UNITS = {"K": 1 / 3.6, "M": 0.44704, "N": KNOT_MPS}
_GOPRO_KMH_SINCE = (13, 4)  # ExifTool 13.04 converts GoPro speeds to km/h
_DOC = re.compile(r"^Doc(\d+)(?:-(\d+))?$")


@dataclass
class _Doc:
    tags: dict[str, object] = field(default_factory=dict)
    groups: dict[str, str] = field(default_factory=dict)  # tag -> family-0 group
    subdocs: dict[int, dict[str, object]] = field(default_factory=dict)


def _num(value: object) -> float | None:
    if value is None or isinstance(value, bool) or value == "":
        return None
    try:
        out = float(value)  # type: ignore[arg-type]
    except (TypeError, ValueError):
        return None
    return out if math.isfinite(out) else None


def _utc_ms(text: object) -> int:
    """``2023:11:14 22:13:20.5Z`` (or ``...+01:00``, or naive = UTC) -> Unix ms."""
    return parse_time_ms(str(text))


def _version(value: object) -> tuple[int, int]:
    m = re.match(r"(\d+)\.(\d+)", str(value or ""))
    return (int(m[1]), int(m[2])) if m else (0, 0)


def _speed_mps(tags: Mapping[str, object], gopro: bool, version: tuple[int, int]) -> float | None:
    speed = _num(tags.get("GPSSpeed"))
    if speed is None:
        ve, vn = _num(tags.get("GPSVelocityEast")), _num(tags.get("GPSVelocityNorth"))
        return None if ve is None or vn is None else math.hypot(ve, vn)
    if gopro and version < _GOPRO_KMH_SINCE:
        return speed
    return speed * _SPEED_UNITS.get(str(tags.get("GPSSpeedRef", "K")), 1 / 3.6)


def _altitude(tags: Mapping[str, object]) -> float | None:
    alt = _num(tags.get("GPSAltitude"))
    if alt is not None and str(tags.get("GPSAltitudeRef", "0")) == "1" and alt > 0:
        return -alt  # below sea level
    return alt


def fixes_from_exiftool_json(text: str) -> tuple[list[GpsFix], int]:
    """Fixes from ``exiftool -ee -n -j -G3[:0]`` output, and the samples rejected.

    A fix has ``video_ms`` when its document has a ``SampleTime``; a GoPro payload's
    later samples (``DocN-k``) are spread over the payload's ``SampleDuration``.
    """
    docs = json.loads(text)
    version = (0, 0)
    by_doc: dict[int, _Doc] = {}
    for doc in docs if isinstance(docs, list) else [docs]:
        for key, value in doc.items():
            parts = key.split(":")
            if parts[-1] == "ExifToolVersion":
                version = _version(value)
            m = _DOC.match(parts[0]) if len(parts) > 1 else None
            if m is None:
                continue
            entry = by_doc.setdefault(int(m[1]), _Doc())
            if m[2] is None:
                entry.tags[parts[-1]] = value
                entry.groups[parts[-1]] = parts[1] if len(parts) > 2 else ""
            else:
                entry.subdocs.setdefault(int(m[2]), {})[parts[-1]] = value
    fixes: list[GpsFix] = []
    rejected = 0
    for entry in by_doc.values():
        samples = [entry.tags] + [entry.subdocs[k] for k in sorted(entry.subdocs)]
        gopro = entry.groups.get("GPSLatitude") == "GoPro"
        start_s = _num(entry.tags.get("SampleTime"))
        span_s = _num(entry.tags.get("SampleDuration")) or 0.0
        for j, tags in enumerate(samples):
            if "GPSLatitude" not in tags:
                continue
            try:
                fixes.append(
                    _fix(tags, entry.tags, j, len(samples), start_s, span_s, gopro, version)
                )
            except (ValueError, TypeError, KeyError):
                rejected += 1
    return fixes, rejected


def _fix(
    tags: Mapping[str, object],
    first: Mapping[str, object],
    j: int,
    n: int,
    start_s: float | None,
    span_s: float,
    gopro: bool,
    version: tuple[int, int],
) -> GpsFix:
    offset_ms = 1000 * span_s * j / n
    when = tags.get("GPSDateTime")
    if when is None and "GPSDateStamp" in tags and "GPSTimeStamp" in tags:
        when = f"{tags['GPSDateStamp']} {tags['GPSTimeStamp']}"
    if when is not None:
        t_ms = _utc_ms(when)
    elif j > 0 and first.get("GPSDateTime") is not None:  # a GoPro payload's later sample
        t_ms = round(_utc_ms(first["GPSDateTime"]) + offset_ms)
    else:
        raise ValueError("no GPS time")
    lat, lon = _num(tags.get("GPSLatitude")), _num(tags.get("GPSLongitude"))
    if lat is None or lon is None or not valid_lat_lon(lat, lon):
        raise ValueError("position out of range")
    return GpsFix(
        t_ms,
        lat,
        lon,
        speed_mps=_speed_mps(tags, gopro, version),
        bearing_deg=_num(tags.get("GPSTrack")),
        altitude_m=_altitude(tags),
        video_ms=None if start_s is None else round(start_s * 1000 + offset_ms),
    )


def read_with_exiftool(path: Path, reason: str) -> tuple[list[GpsFix], int]:
    """Run ExifTool on ``path``; ``GpsError`` saying ``reason`` and how to install it
    when it is not on PATH, or naming the failure when it cannot read the file."""
    exe = shutil.which("exiftool")
    if exe is None:
        raise GpsError(
            f"{path}: {reason}; other cameras need exiftool: install it: {EXIFTOOL_INSTALL}"
        )
    try:
        proc = subprocess.run(
            [exe, "-ee", "-n", "-j", "-G3:0", "-api", "LargeFileSupport=1", str(path)],
            capture_output=True,
            text=True,
            timeout=600,
            check=False,
        )
    except (OSError, subprocess.TimeoutExpired) as exc:
        raise GpsError(f"{path}: exiftool failed") from exc
    if not proc.stdout.strip():
        raise GpsError(f"{path}: exiftool could not read it: {proc.stderr.strip()[:200]}")
    try:
        return fixes_from_exiftool_json(proc.stdout)
    except (ValueError, AttributeError) as exc:
        raise GpsError(f"{path}: unreadable exiftool output") from exc
