"""Plate crop preparation for OCR: find the main text line and cut reading variants.

US plates carry a state name above and a slogan below the registration; an OCR line
recogniser reads those too. Characters of the registration are the tallest row of
similar-height blobs on the plate, so we binarise (both polarities), take connected
components that are shaped like characters, and keep the biggest row of them.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

import cv2
import numpy as np
from numpy.typing import NDArray

ImageBGR = NDArray[np.uint8]


@dataclass(frozen=True)
class TextLine:
    """Box of the main text line in crop pixels and how many character blobs it holds."""

    x1: int
    y1: int
    x2: int
    y2: int
    n_chars: int

    @property
    def height(self) -> int:
        return self.y2 - self.y1


def _binary_maps(gray: NDArray[Any], dark_text: bool) -> list[NDArray[Any]]:
    """Text-is-white binarisations: global Otsu, and a local threshold for uneven plates."""
    mode = cv2.THRESH_BINARY_INV if dark_text else cv2.THRESH_BINARY
    _, otsu = cv2.threshold(gray, 0, 255, mode | cv2.THRESH_OTSU)
    block = max(11, (gray.shape[0] // 2) | 1)
    local = cv2.adaptiveThreshold(gray, 255, cv2.ADAPTIVE_THRESH_MEAN_C, mode, block, 7)
    return [otsu, local]


def _char_boxes(binary: NDArray[Any]) -> list[tuple[int, int, int, int]]:
    """Character-shaped connected components ``(x, y, w, h)`` of a text-is-white map."""
    height, width = binary.shape
    n, _, stats, _ = cv2.connectedComponentsWithStats(binary, connectivity=8)
    boxes: list[tuple[int, int, int, int]] = []
    for i in range(1, n):
        x, y, w, h, area = (int(v) for v in stats[i])
        if not 0.2 * height <= h <= 0.95 * height or w > 0.35 * width:
            continue
        if h < 0.8 * w or h > 12 * w or area < 0.1 * w * h:
            continue
        boxes.append((x, y, w, h))
    return boxes


def _best_row(boxes: list[tuple[int, int, int, int]]) -> list[tuple[int, int, int, int]]:
    """The largest group of blobs of similar height on one row (ties: taller wins)."""
    best: list[tuple[int, int, int, int]] = []
    best_key = (0, 0.0)
    for _, y, _, h in boxes:
        cy = y + h / 2
        row = [
            b for b in boxes if abs(b[3] - h) <= 0.25 * h and abs(b[1] + b[3] / 2 - cy) <= 0.25 * h
        ]
        key = (len(row) * h, float(h))
        if len(row) >= 2 and key > best_key:
            best, best_key = row, key
    return best


def main_text_line(crop: ImageBGR) -> TextLine | None:
    """The registration's text line on a plate crop, or None when no row of characters shows.

    >>> import numpy as np
    >>> main_text_line(np.full((40, 120, 3), 255, np.uint8)) is None
    True
    """
    if crop.ndim != 3 or crop.shape[0] < 8 or crop.shape[1] < 8:
        return None
    gray = cv2.cvtColor(crop, cv2.COLOR_BGR2GRAY)
    gray = cv2.GaussianBlur(gray, (3, 3), 0)
    rows = [
        _best_row(_char_boxes(binary))
        for dark in (True, False)
        for binary in _binary_maps(gray, dark)
    ]
    row = max(rows, key=lambda r: sum(b[3] for b in r))
    if not row:
        return None
    return TextLine(
        x1=min(b[0] for b in row),
        y1=min(b[1] for b in row),
        x2=max(b[0] + b[2] for b in row),
        y2=max(b[1] + b[3] for b in row),
        n_chars=len(row),
    )


def _clahe(image: ImageBGR) -> ImageBGR:
    gray = cv2.cvtColor(image, cv2.COLOR_BGR2GRAY)
    equalised = cv2.createCLAHE(clipLimit=2.0, tileGridSize=(4, 4)).apply(gray)
    return np.asarray(cv2.cvtColor(equalised, cv2.COLOR_GRAY2BGR), dtype=np.uint8)


def reading_variants(crop: ImageBGR) -> list[ImageBGR]:
    """Versions of a plate crop worth reading, most useful first; the reader votes.

    With a text line found: the line's band across the full width (a little vertical
    margin), the same band with more margin after local contrast equalisation (CLAHE),
    and the line cut tight around its characters with a wider margin (drops stickers and
    logos beside the registration). Without one: the whole crop. All BGR uint8.
    """
    line = main_text_line(crop)
    if line is None:
        return [crop]
    height, width = crop.shape[:2]

    def band(share: float) -> tuple[int, int, int]:
        pad = int(share * line.height) + 2
        return max(0, line.y1 - pad), min(height, line.y2 + pad), pad

    y1, y2, _ = band(0.05)
    variants = [crop[y1:y2, :]]
    y1, y2, _ = band(0.15)
    variants.append(_clahe(crop[y1:y2, :]))
    y1, y2, pad = band(0.3)
    variants.append(crop[y1:y2, max(0, line.x1 - pad) : min(width, line.x2 + pad)])
    return variants
