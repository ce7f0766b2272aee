"""A dashcam's burned-in overlay for synthetic clips: its clock, speed and position.

Real dashcams print their date/time (often speed, sometimes position and a model name)
at a fixed place in every frame. :func:`burn_overlay` draws one like that at the bottom
of a frame, white with a dark outline, in a chosen clock format, so the tests and the
demo exercise overlay rejection and the overlay clock.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime, timedelta
from enum import StrEnum

import cv2
import numpy as np
from numpy.typing import NDArray

from dashcam.domain.gps import GpsFix
from dashcam.domain.overlay_clock import MPH_TO_KMH

__all__ = ["ClipOverlay", "ClockFormat", "burn_overlay", "clock_text"]


class ClockFormat(StrEnum):
    """Date/time formats dashcams burn in (the value is an example)."""

    YMD_24 = "2024/05/17 08:30:12"
    YMD_DASH_24 = "2024-05-17 08:30:12"
    MDY_12 = "7/27/2018 4:11:12 PM"
    DMY_24 = "17.05.2024 08:30:12"


def clock_text(fmt: ClockFormat, t: datetime) -> str:
    """``t`` (to the second begun) as ``fmt`` prints it.

    >>> clock_text(ClockFormat.MDY_12, datetime(2018, 7, 27, 16, 11, 12, 900_000))
    '7/27/2018 4:11:12 PM'
    """
    if fmt is ClockFormat.YMD_24:
        return t.strftime("%Y/%m/%d %H:%M:%S")
    if fmt is ClockFormat.YMD_DASH_24:
        return t.strftime("%Y-%m-%d %H:%M:%S")
    if fmt is ClockFormat.DMY_24:
        return t.strftime("%d.%m.%Y %H:%M:%S")
    hour = t.hour % 12 or 12
    return f"{t.month}/{t.day}/{t.year} {hour}:{t:%M:%S} {'PM' if t.hour >= 12 else 'AM'}"


@dataclass(frozen=True)
class ClipOverlay:
    """What the clip's overlay shows. ``speed``: ``"km/h"``, ``"mph"`` or None;
    ``utc_offset_s``: the zone the camera's clock is set to (3600: UTC+1)."""

    clock: ClockFormat = ClockFormat.YMD_24
    speed: str | None = "km/h"
    position: bool = False
    utc_offset_s: float = 0.0


def overlay_line(overlay: ClipOverlay, utc: datetime, fix: GpsFix | None) -> str:
    """The overlay's text at UTC time ``utc`` with the GPS fix of that moment."""
    parts = [clock_text(overlay.clock, utc + timedelta(seconds=overlay.utc_offset_s))]
    speed_kmh = (fix.speed_mps or 0.0) * 3.6 if fix is not None else 0.0
    if overlay.speed == "km/h":
        parts.append(f"{round(speed_kmh)} km/h")
    elif overlay.speed == "mph":
        parts.append(f"{round(speed_kmh / MPH_TO_KMH)} MPH")
    if overlay.position and fix is not None:
        ns, ew = "N" if fix.lat >= 0 else "S", "E" if fix.lon >= 0 else "W"
        parts.append(f"{ns}{abs(fix.lat):.5f} {ew}{abs(fix.lon):.5f}")
    return "   ".join(parts)


def burn_overlay(img: NDArray[np.uint8], text: str) -> None:
    """Draw ``text`` at the bottom left of ``img`` (BGR, in place), ~3 % of its height."""
    h = img.shape[0]
    scale = h / 720 * 0.8
    thickness = max(1, round(h / 720 * 2))
    x, y = round(h / 720 * 16), h - round(h / 720 * 14)
    font = cv2.FONT_HERSHEY_SIMPLEX
    cv2.putText(img, text, (x, y), font, scale, (20, 20, 20), thickness + 3, cv2.LINE_AA)
    cv2.putText(img, text, (x, y), font, scale, (245, 245, 245), thickness, cv2.LINE_AA)
