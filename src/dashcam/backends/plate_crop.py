"""Plate crop preparation for OCR: find the registration's text rows and cut variants.

US plates carry a state name above and a slogan below the registration; an OCR line
recogniser reads those too. Characters of the registration are the tallest row of
similar-height blobs on the plate, so we binarise (both polarities), take connected
components that are shaped like characters, and keep the biggest row of them. A second
row about as tall just above or below it makes a two-line plate (square plates,
motorcycles): both rows are read, top first.
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
        if not 0.15 * height <= h <= 0.95 * height or w > 0.35 * width:
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


def _line(row: list[tuple[int, int, int, int]]) -> TextLine:
    return TextLine(
        x1=min(b[0] for b in row),
        y1=min(b[1] for b in row),
        x2=max(b[0] + b[2] for b in row),
        y2=max(b[1] + b[3] for b in row),
        n_chars=len(row),
    )


def _second_row(boxes: list[tuple[int, int, int, int]], main: TextLine) -> TextLine | None:
    """The other line of a two-line plate: a row of characters at least ~0.55 as tall as
    the main row, just above or below it and under it (not a state name or slogan)."""
    rest = [b for b in boxes if b[1] >= main.y2 - 2 or b[1] + b[3] <= main.y1 + 2]
    row = _best_row(rest)
    if len(row) < 2:
        return None
    other = _line(row)
    gap = max(other.y1 - main.y2, main.y1 - other.y2)
    centre, main_centre = (other.x1 + other.x2) / 2, (main.x1 + main.x2) / 2
    if (
        other.height < 0.55 * main.height
        or gap > 0.9 * main.height
        or abs(centre - main_centre) > 0.5 * (main.x2 - main.x1)
    ):
        return None
    return other


def text_rows(crop: ImageBGR) -> list[TextLine]:
    """The registration's rows of characters on a plate crop, top first: one row, two
    for a two-line plate, none when no row of characters shows.

    >>> import numpy as np
    >>> text_rows(np.full((40, 120, 3), 255, np.uint8))
    []
    """
    if crop.ndim != 3 or crop.shape[0] < 8 or crop.shape[1] < 8:
        return []
    gray = cv2.cvtColor(crop, cv2.COLOR_BGR2GRAY)
    gray = cv2.GaussianBlur(gray, (3, 3), 0)
    found = [
        (boxes, _best_row(boxes))
        for dark in (True, False)
        for binary in _binary_maps(gray, dark)
        for boxes in [_char_boxes(binary)]
    ]
    boxes, row = max(found, key=lambda pair: sum(b[3] for b in pair[1]))
    if not row:
        return []
    main = _line(row)
    other = _second_row(boxes, main)
    if other is None:
        return [main]
    return sorted([main, other], key=lambda line: line.y1)


def main_text_line(crop: ImageBGR) -> TextLine | None:
    """The registration's (tallest) row of characters on a plate crop, or None.

    >>> import numpy as np
    >>> main_text_line(np.full((40, 120, 3), 255, np.uint8)) is None
    True
    """
    rows = text_rows(crop)
    return max(rows, key=lambda line: line.height * line.n_chars) if rows else None


def _clahe(image: ImageBGR) -> ImageBGR:
    gray = cv2.cvtColor(image, cv2.COLOR_BGR2GRAY)
    equalised = cv2.createCLAHE(clipLimit=2.0, tileGridSize=(4, 4)).apply(gray)
    return np.asarray(cv2.cvtColor(equalised, cv2.COLOR_GRAY2BGR), dtype=np.uint8)


def reading_variants(crop: ImageBGR) -> list[tuple[ImageBGR, ...]]:
    """Versions of a plate crop worth reading, most useful first; each is the tuple of its
    text lines, top first (one line, or two for a two-line plate); the reader votes.

    With one row of characters found: the row's band across the full width (a little
    vertical margin), the same band with more margin after local contrast equalisation
    (CLAHE), and the row cut tight around its characters with a wider margin (drops
    stickers and logos beside the registration). With two rows: each of those cut per
    row. Without a row: the whole crop. All BGR uint8.
    """
    rows = text_rows(crop)
    if not rows:
        return [(crop,)]
    height, width = crop.shape[:2]

    def band(line: TextLine, share: float, tight: bool = False) -> ImageBGR:
        pad = int(share * line.height) + 2
        y1, y2 = max(0, line.y1 - pad), min(height, line.y2 + pad)
        if not tight:
            return crop[y1:y2, :]
        return crop[y1:y2, max(0, line.x1 - pad) : min(width, line.x2 + pad)]

    return [
        tuple(band(line, 0.05) for line in rows),
        tuple(_clahe(band(line, 0.15)) for line in rows),
        tuple(band(line, 0.3, tight=True) for line in rows),
    ]
