"""Licence plates for synthetic scenes: random texts and rendered plate images.

``plate_texts`` gives unambiguous texts for the demo and tests; ``sample_plate`` draws a
plate of any layout of the formats book, and ``render_plate`` prints it in its country's
colours (EU band, yellow rear plates, Mercosur top band), one or two lines.
"""

from __future__ import annotations

from dataclasses import dataclass

import cv2
import numpy as np
from numpy.typing import NDArray

from dashcam.domain.plate_formats import Layout

__all__ = [
    "DIGITS",
    "LETTERS",
    "PLATE_ASPECT",
    "PlateStyle",
    "plate_texts",
    "render_plate",
    "sample_plate",
]

# Ground truth is unambiguous: no O/0, I/1 (and no Q, which reads as O).
LETTERS = "ABCDEFGHJKLMNPRSTUVWXYZ"
DIGITS = "23456789"
_FORMATS = ("LLLDDDD", "DLLLDDD", "LLDDLLL", "LLDDDLL")

PLATE_ASPECT = 4.2
#: Width / height of a two-line plate.
TWO_LINE_ASPECT = 1.6


@dataclass(frozen=True)
class PlateStyle:
    """Colours of a plate (BGR) and where its coloured band is (``left``, ``top``)."""

    background: tuple[int, int, int] = (235, 240, 240)
    text: tuple[int, int, int] = (25, 25, 25)
    band: str | None = None
    band_colour: tuple[int, int, int] = (150, 60, 20)


_EU = PlateStyle(band="left")
_YELLOW = PlateStyle(background=(40, 200, 245))
#: Countries whose plates carry the blue band on the left (EU style).
_EU_BAND = (
    "at", "be", "bg", "hr", "cy", "cz", "dk", "ee", "fi", "fr", "de", "gr", "hu", "ie", "it",
    "lv", "lt", "lu", "mt", "pl", "pt", "ro", "sk", "si", "es", "se", "ua", "rs", "ba", "mk",
    "al", "me", "md", "tr",
)  # fmt: skip
STYLES: dict[str, PlateStyle] = {
    **dict.fromkeys(_EU_BAND, _EU),
    "nl": PlateStyle(background=(40, 200, 245), band="left"),
    "gb": _YELLOW,
    "il": _YELLOW,
    "br": PlateStyle(band="top"),
    "ar": PlateStyle(band="top"),
    "us": PlateStyle(text=(90, 30, 20)),
    "ca": PlateStyle(text=(110, 40, 20)),
}


def sample_plate(layout: Layout, rng: np.random.Generator) -> tuple[str, str]:
    """A random plate of ``layout``: its text and the text as printed (separators,
    a newline between the lines of a two-line plate)."""
    text = layout.sample(lambda n: int(rng.integers(n)))
    return text, layout.printed(text)


def plate_texts(n: int, rng: np.random.Generator) -> list[str]:
    """``n`` distinct realistic plate strings such as ``ABC2345``, ``7XYZ234``, ``KX52ABC``."""
    out: list[str] = []
    while len(out) < n:
        fmt = _FORMATS[int(rng.integers(len(_FORMATS)))]
        text = "".join(
            LETTERS[int(rng.integers(len(LETTERS)))]
            if c == "L"
            else DIGITS[int(rng.integers(len(DIGITS)))]
            for c in fmt
        )
        if text not in out:
            out.append(text)
    return out


def _glyphs(line: str, big_h: int, fill: float, style: PlateStyle) -> NDArray[np.uint8]:
    font = cv2.FONT_HERSHEY_DUPLEX
    (_, th1), _ = cv2.getTextSize(line, font, 1.0, 1)
    scale = fill * big_h / th1
    thick = max(2, round(scale * 2.4))
    (tw, th), base = cv2.getTextSize(line, font, scale, thick)
    canvas = np.full((th + base + 2 * thick, tw + 2 * thick, 3), style.background, np.uint8)
    cv2.putText(canvas, line, (thick, th + thick), font, scale, style.text, thick, cv2.LINE_AA)
    return canvas[: th + 2 * thick]


def render_plate(
    text: str, height_px: int = 60, style: PlateStyle | str | None = None
) -> NDArray[np.uint8]:
    """A BGR plate image (``height_px`` x ~4.2 * ``height_px``, or ~1.6 * ``height_px``
    for a two-line text ``"12345\\nAB"``): thin dark border, bold Hershey characters
    filling ~65 % of the height (~38 % per line), in ``style`` (a :class:`PlateStyle`, or
    a country code of :data:`STYLES`; default white with dark text).

    Rendered at 4x and area-downsampled so small plates stay crisp. Example::

        render_plate("ABC2345", 60).shape  # (60, 252, 3)
    """
    if height_px < 8:
        raise ValueError(f"height_px must be >= 8, got {height_px}")
    lines = [line for line in text.split("\n") if line.strip()]
    if not lines:
        raise ValueError("plate text is empty")
    if isinstance(style, str) or style is None:
        style = STYLES.get((style or "").split("-")[0], PlateStyle())
    aspect = PLATE_ASPECT if len(lines) == 1 else TWO_LINE_ASPECT
    big_h = max(4 * height_px, 160)
    big_w = round(big_h * aspect)
    plate = np.full((big_h, big_w, 3), style.background, np.uint8)
    left = 0
    if style.band == "left":
        left = big_w // 12
        plate[:, :left] = style.band_colour
    elif style.band == "top":
        plate[: big_h // 6] = style.band_colour
    border = max(2, big_h // 30)
    cv2.rectangle(plate, (0, 0), (big_w - 1, big_h - 1), (30, 30, 30), border)
    fill = 0.65 if len(lines) == 1 else 0.38
    top_margin = big_h // 6 if style.band == "top" else 0
    avail_h = big_h - top_margin
    for k, line in enumerate(lines):
        glyphs = _glyphs(line, big_h, fill, style)
        # squeeze horizontally if the text is wider than the plate allows
        avail_w = int((big_w - left) * 0.9)
        gw, gh = min(glyphs.shape[1], avail_w), glyphs.shape[0]
        glyphs = np.asarray(cv2.resize(glyphs, (gw, gh), interpolation=cv2.INTER_AREA), np.uint8)
        centre = top_margin + avail_h * (2 * k + 1) / (2 * len(lines))
        y0 = max(0, min(big_h - gh, round(centre - gh / 2)))
        x0 = left + (big_w - left - gw) // 2
        plate[y0 : y0 + gh, x0 : x0 + gw] = glyphs
    width_px = round(height_px * aspect)
    small = cv2.resize(plate, (width_px, height_px), interpolation=cv2.INTER_AREA)
    return np.ascontiguousarray(small, dtype=np.uint8)
