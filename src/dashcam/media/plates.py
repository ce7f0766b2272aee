"""Licence plates for synthetic scenes: unambiguous random texts and rendered plate images."""

from __future__ import annotations

import cv2
import numpy as np
from numpy.typing import NDArray

__all__ = ["DIGITS", "LETTERS", "PLATE_ASPECT", "plate_texts", "render_plate"]

# Ground truth is unambiguous: no O/0, I/1 (and no Q, which reads as O).
LETTERS = "ABCDEFGHJKLMNPRSTUVWXYZ"
DIGITS = "23456789"
_FORMATS = ("LLLDDDD", "DLLLDDD", "LLDDLLL", "LLDDDLL")

PLATE_ASPECT = 4.2


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


def render_plate(text: str, height_px: int = 60) -> NDArray[np.uint8]:
    """A BGR plate image (``height_px`` x ~4.2 * ``height_px``): white, thin dark border,
    dark bold Hershey characters filling ~65 % of the height.

    Rendered at 4x and area-downsampled so small plates stay crisp. Example::

        render_plate("ABC2345", 60).shape  # (60, 252, 3)
    """
    if height_px < 8:
        raise ValueError(f"height_px must be >= 8, got {height_px}")
    if not text:
        raise ValueError("plate text is empty")
    big_h = max(4 * height_px, 160)
    big_w = round(big_h * PLATE_ASPECT)
    plate = np.full((big_h, big_w, 3), (235, 240, 240), np.uint8)
    border = max(2, big_h // 30)
    cv2.rectangle(plate, (0, 0), (big_w - 1, big_h - 1), (30, 30, 30), border)
    font = cv2.FONT_HERSHEY_DUPLEX
    (_, th1), _ = cv2.getTextSize(text, font, 1.0, 1)
    scale = 0.65 * big_h / th1
    thick = max(2, round(scale * 2.4))
    (tw, th), base = cv2.getTextSize(text, font, scale, thick)
    canvas = np.full((th + base + 2 * thick, tw + 2 * thick, 3), (235, 240, 240), np.uint8)
    cv2.putText(canvas, text, (thick, th + thick), font, scale, (25, 25, 25), thick, cv2.LINE_AA)
    glyphs = canvas[: th + 2 * thick]
    # squeeze horizontally if the text is wider than the plate allows
    avail_w = int(big_w * 0.9)
    gw = min(glyphs.shape[1], avail_w)
    gh = glyphs.shape[0]
    glyphs = np.asarray(cv2.resize(glyphs, (gw, gh), interpolation=cv2.INTER_AREA), np.uint8)
    y0 = (big_h - gh) // 2
    x0 = (big_w - gw) // 2
    plate[y0 : y0 + gh, x0 : x0 + gw] = glyphs
    width_px = round(height_px * PLATE_ASPECT)
    small = cv2.resize(plate, (width_px, height_px), interpolation=cv2.INTER_AREA)
    return np.ascontiguousarray(small, dtype=np.uint8)
