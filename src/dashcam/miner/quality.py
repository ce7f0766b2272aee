"""Cheap per-frame quality measures that need no model (pure: arrays in, numbers out).

- sharpness: variance of the Laplacian of the grey image (blurred frames score low);
- brightness: mean grey level, 0..255 (too dark or blown out);
- entropy: Shannon entropy of the grey histogram in bits, 0..8 (flat, low-information frames);
- std: grey standard deviation.
"""

from __future__ import annotations

from dataclasses import dataclass

import cv2
import numpy as np
from numpy.typing import NDArray

from dashcam.miner.config import QualityConfig

# Measures are taken on a copy at most this wide: stable across resolutions, and cheap.
_MEASURE_WIDTH = 640


@dataclass(frozen=True)
class Quality:
    sharpness: float
    brightness: float
    entropy: float
    std: float


def grey(image: NDArray[np.uint8], width: int = _MEASURE_WIDTH) -> NDArray[np.uint8]:
    """(H, W, 3) BGR or (H, W) grey -> grey at most ``width`` px wide."""
    g = cv2.cvtColor(image, cv2.COLOR_BGR2GRAY) if image.ndim == 3 else image
    h, w = g.shape[:2]
    if w > width:
        g = cv2.resize(g, (width, max(1, round(h * width / w))), interpolation=cv2.INTER_AREA)
    return np.ascontiguousarray(g, dtype=np.uint8)


def measure(image: NDArray[np.uint8]) -> Quality:
    """Quality of one BGR frame.

    >>> q = measure(np.zeros((120, 160, 3), np.uint8))
    >>> (q.sharpness, q.brightness, q.entropy)
    (0.0, 0.0, 0.0)
    """
    g = grey(image)
    lap = cv2.Laplacian(g, cv2.CV_64F)
    hist = np.bincount(g.ravel(), minlength=256).astype(np.float64)
    p = hist[hist > 0] / g.size
    return Quality(
        sharpness=float(lap.var()),
        brightness=float(g.mean()),
        entropy=float(-(p * np.log2(p)).sum()) if p.size > 1 else 0.0,
        std=float(g.std()),
    )


def rejection(q: Quality, cfg: QualityConfig) -> str | None:
    """Why the frame fails ``cfg`` ("blurry", "dark", ...), or None when it passes."""
    if q.brightness < cfg.min_brightness:
        return f"dark (brightness {q.brightness:.1f} < {cfg.min_brightness})"
    if q.brightness > cfg.max_brightness:
        return f"bright (brightness {q.brightness:.1f} > {cfg.max_brightness})"
    if q.entropy < cfg.min_entropy or q.std < cfg.min_std:
        return f"low information (entropy {q.entropy:.2f}, std {q.std:.1f})"
    if q.sharpness < cfg.min_sharpness:
        return f"blurry (sharpness {q.sharpness:.1f} < {cfg.min_sharpness})"
    return None
