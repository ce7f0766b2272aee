"""Plate detectors that need no user weights: text lines, a Haar cascade, contours.

All over-propose on purpose; the recogniser reads every candidate and keeps those whose
text fits a plate format with enough confidence. ``TextPlateDetector`` takes the text
lines of the shipped PP-OCR text detector (any angle, small and far plates) and stacked
pairs of lines (two-line plates); ``ClassicPlateDetector`` runs the Haar cascade and the
contour search and merges overlapping boxes (NMS). With vehicle ``regions`` each keeps
only what is inside the vehicle boxes (expanded a little).
"""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

import cv2
import numpy as np
from numpy.typing import NDArray

from dashcam.backends.plate_crop import main_text_line
from dashcam.backends.protocols import ImageBGR
from dashcam.backends.text_lines import TextLine
from dashcam.domain.detections import Detections, box_iou
from dashcam.errors import BackendUnavailable

Box = tuple[float, float, float, float]
_REGION_MARGIN = 0.1
_MIN_ASPECT, _MAX_ASPECT = 1.5, 6.0


def nms(boxes: NDArray[np.float32], scores: NDArray[np.float32], iou: float = 0.3) -> list[int]:
    """Indices of the boxes kept by greedy non-maximum suppression, best first."""
    order = np.argsort(-scores, kind="stable")
    keep: list[int] = []
    for i in order.tolist():
        if keep and float(box_iou(boxes[i : i + 1], boxes[keep]).max()) > iou:
            continue
        keep.append(i)
    return keep


def _merge(boxes: list[Box], scores: list[float], iou: float = 0.3) -> Detections:
    if not boxes:
        return Detections.empty()
    xyxy = np.asarray(boxes, dtype=np.float32).reshape(-1, 4)
    conf = np.asarray(scores, dtype=np.float32)
    keep = nms(xyxy, conf, iou)
    return Detections.from_boxes(xyxy[keep], conf[keep])


def _windows(image: ImageBGR, regions: Detections | None) -> list[tuple[int, int, ImageBGR]]:
    """``(x0, y0, sub_image)`` to search: the whole frame, or each expanded region."""
    if regions is None:
        return [(0, 0, image)]
    h, w = image.shape[:2]
    out: list[tuple[int, int, ImageBGR]] = []
    for x1, y1, x2, y2 in regions.xyxy.tolist():
        mx, my = (x2 - x1) * _REGION_MARGIN, (y2 - y1) * _REGION_MARGIN
        a, b = max(int(x1 - mx), 0), max(int(y1 - my), 0)
        c, d = min(int(x2 + mx + 1), w), min(int(y2 + my + 1), h)
        if c - a >= 16 and d - b >= 8:
            out.append((a, b, image[b:d, a:c]))
    return out


def _search(
    image: ImageBGR,
    regions: Detections | None,
    find: Callable[[ImageBGR], tuple[list[Box], list[float]]],
) -> Detections:
    boxes: list[Box] = []
    scores: list[float] = []
    for x0, y0, window in _windows(image, regions):
        found, conf = find(window)
        boxes.extend((x1 + x0, y1 + y0, x2 + x0, y2 + y0) for x1, y1, x2, y2 in found)
        scores.extend(conf)
    return _merge(boxes, scores)


def plate_likeness(crop: ImageBGR) -> float:
    """0..1: how much a crop looks like a plate (a row of >= 3 tall character blobs)."""
    line = main_text_line(crop)
    if line is None or line.n_chars < 3:
        return 0.0
    height = crop.shape[0]
    fill = min(1.0, line.height / (0.45 * height))
    return float(min(1.0, line.n_chars / 6.0) * 0.6 + fill * 0.4)


class HaarPlateDetector:
    """OpenCV's ``haarcascade_russian_plate_number.xml`` (works on clean, frontal plates)."""

    name = "haar"
    CASCADE = "haarcascade_russian_plate_number.xml"

    def __init__(
        self,
        *,
        min_size_wh: tuple[int, int] = (40, 12),
        scale_factor: float = 1.1,
        max_side_px: int = 1280,
    ):
        path = str(getattr(cv2, "data").haarcascades) + self.CASCADE  # noqa: B009
        self._cascade: Any = cv2.CascadeClassifier(path)
        if self._cascade.empty():
            raise BackendUnavailable(f"plate detector 'haar': cascade file not found: {path}")
        self._min_size = min_size_wh
        self._scale = scale_factor
        self._max_side = max_side_px

    def _find(self, image: ImageBGR) -> tuple[list[Box], list[float]]:
        gray = cv2.cvtColor(image, cv2.COLOR_BGR2GRAY)
        # The cascade's cost grows with the pixel count: search large frames (1080p, 4K)
        # at 1280 px wide; their plates are large enough to stay above the minimum size.
        k = min(1.0, self._max_side / max(gray.shape[:2]))
        if k < 1.0:
            gray = cv2.resize(gray, None, fx=k, fy=k, interpolation=cv2.INTER_AREA)
        rects, _, weights = self._cascade.detectMultiScale3(
            gray,
            scaleFactor=self._scale,
            minNeighbors=3,
            minSize=self._min_size,
            outputRejectLevels=True,
        )
        boxes: list[Box] = []
        scores: list[float] = []
        for (x, y, w, h), weight in zip(
            np.reshape(rects, (-1, 4)).tolist(), np.ravel(weights), strict=True
        ):
            boxes.append((x / k, y / k, (x + w) / k, (y + h) / k))
            scores.append(float(1.0 / (1.0 + np.exp(-float(weight)))))
        return boxes, scores

    def detect(self, image: ImageBGR, regions: Detections | None = None) -> Detections:
        return _search(image, regions, self._find)


class ContourPlateDetector:
    """Plate-shaped regions (aspect 1.5-6) holding a row of dark character blobs.

    Two proposal maps: bright rectangles (Otsu and adaptive thresholds) and dense vertical
    edges of dark-on-light text (black-hat + Sobel, closed horizontally). Each proposal is
    kept only when a row of >= 3 character blobs is found inside it.
    """

    name = "contour"

    def __init__(self, *, min_width_px: int = 40, max_candidates: int = 12) -> None:
        self._min_w = min_width_px
        self._max = max_candidates

    def _proposals(self, gray: NDArray[Any]) -> list[tuple[int, int, int, int]]:
        h, w = gray.shape
        maps: list[NDArray[Any]] = []
        _, bright = cv2.threshold(gray, 0, 255, cv2.THRESH_BINARY | cv2.THRESH_OTSU)
        maps.append(cv2.morphologyEx(bright, cv2.MORPH_CLOSE, np.ones((3, 3), np.uint8)))
        block = max(15, (min(h, w) // 8) | 1)
        adaptive = cv2.adaptiveThreshold(
            gray, 255, cv2.ADAPTIVE_THRESH_MEAN_C, cv2.THRESH_BINARY, block, -5
        )
        maps.append(cv2.morphologyEx(adaptive, cv2.MORPH_CLOSE, np.ones((5, 5), np.uint8)))
        blackhat = cv2.morphologyEx(
            gray, cv2.MORPH_BLACKHAT, cv2.getStructuringElement(cv2.MORPH_RECT, (17, 7))
        )
        grad = np.abs(cv2.Sobel(blackhat, cv2.CV_32F, 1, 0, ksize=3))
        grad8: NDArray[Any] = (grad * (255.0 / max(float(grad.max()), 1e-6))).astype(np.uint8)
        grad8 = cv2.GaussianBlur(grad8, (5, 5), 0)
        grad8 = cv2.morphologyEx(
            grad8, cv2.MORPH_CLOSE, cv2.getStructuringElement(cv2.MORPH_RECT, (17, 5))
        )
        _, edges = cv2.threshold(grad8, 0, 255, cv2.THRESH_BINARY | cv2.THRESH_OTSU)
        edges = cv2.morphologyEx(edges, cv2.MORPH_OPEN, np.ones((3, 3), np.uint8))
        maps.append(edges)
        rects: list[tuple[int, int, int, int]] = []
        for binary in maps:
            contours, _ = cv2.findContours(binary, cv2.RETR_LIST, cv2.CHAIN_APPROX_SIMPLE)
            for contour in contours:
                x, y, cw, ch = cv2.boundingRect(contour)
                if cw < self._min_w or ch < 10 or cw > 0.9 * w or ch > 0.6 * h:
                    continue
                aspect = cw / ch
                if not _MIN_ASPECT <= aspect <= _MAX_ASPECT:
                    continue
                if cv2.contourArea(contour) < 0.45 * cw * ch:
                    continue
                rects.append((x, y, cw, ch))
        return rects

    def _find(self, image: ImageBGR) -> tuple[list[Box], list[float]]:
        gray = cv2.cvtColor(image, cv2.COLOR_BGR2GRAY)
        boxes: list[Box] = []
        scores: list[float] = []
        for x, y, cw, ch in self._proposals(gray):
            score = plate_likeness(image[y : y + ch, x : x + cw])
            if score > 0:
                boxes.append((float(x), float(y), float(x + cw), float(y + ch)))
                scores.append(score)
        merged = _merge(boxes, scores)
        top = np.argsort(-merged.confidence, kind="stable")[: self._max]
        return [tuple(b) for b in merged.xyxy[top].tolist()], merged.confidence[top].tolist()

    def detect(self, image: ImageBGR, regions: Detections | None = None) -> Detections:
        return _search(image, regions, self._find)


class MergedPlateDetector:
    """Several detectors' candidates together, overlapping boxes merged (the better
    scoring box of an overlapping pair stays, turned or not)."""

    def __init__(self, name: str, parts: list[Any]) -> None:
        self.name = name
        self._parts = parts

    def detect(self, image: ImageBGR, regions: Detections | None = None) -> Detections:
        found = Detections.concat([part.detect(image, regions) for part in self._parts])
        if len(found) == 0:
            return found
        return found[np.asarray(nms(found.xyxy, found.confidence), dtype=np.int64)]


class ClassicPlateDetector(MergedPlateDetector):
    """Haar cascade and contour candidates together, overlapping boxes merged."""

    def __init__(self) -> None:
        super().__init__("classic", [HaarPlateDetector(), ContourPlateDetector()])


#: A text line counts as a plate candidate within these limits.
_MIN_LINE_H_PX = 7.0
_MAX_LINE_TILT_DEG = 40.0
_MAX_LINE_ASPECT = 14.0
#: Margin added around a text line to cut its plate candidate (share of the line height).
_LINE_MARGIN_H = 0.25
_LINE_MARGIN_W = 0.35


def _stacked(a: TextLine, b: TextLine) -> TextLine | None:
    """The two-line plate ``a`` over ``b`` make, when they are stacked like one."""
    if abs(a.angle_deg - b.angle_deg) > 8 or b.cy <= a.cy:
        return None
    gap = (b.cy - b.h / 2) - (a.cy + a.h / 2)
    if gap > 0.8 * max(a.h, b.h) or abs(a.h - b.h) > 0.5 * max(a.h, b.h) + 0.5 * min(a.h, b.h):
        return None
    left, right = max(a.cx - a.w / 2, b.cx - b.w / 2), min(a.cx + a.w / 2, b.cx + b.w / 2)
    if right - left < 0.5 * min(a.w, b.w):
        return None
    x1, x2 = min(a.cx - a.w / 2, b.cx - b.w / 2), max(a.cx + a.w / 2, b.cx + b.w / 2)
    y1, y2 = a.cy - a.h / 2, b.cy + b.h / 2
    return TextLine(
        (x1 + x2) / 2, (y1 + y2) / 2, x2 - x1, y2 - y1, (a.angle_deg + b.angle_deg) / 2,
        min(a.score, b.score),
    )  # fmt: skip


class TextPlateDetector:
    """Text lines (PP-OCR text detector) shaped like a plate's, and stacked pairs of them.

    Each line becomes a turned box around it (``Detections.angle_deg``), so a tilted plate
    is cut upright; its score is the detector's line score. Lines too small to read, too
    tilted or too long are left out.
    """

    name = "text"

    def __init__(self, *, max_side_px: int = 960, threads: int = 0) -> None:
        from dashcam.backends.text_lines import TextLineDetector

        self._lines = TextLineDetector(max_side_px=max_side_px, threads=threads)

    def candidates(self, lines: list[TextLine]) -> list[TextLine]:
        keep = [
            line
            for line in lines
            if line.h >= _MIN_LINE_H_PX
            and abs(line.angle_deg) <= _MAX_LINE_TILT_DEG
            and line.w / line.h <= _MAX_LINE_ASPECT
        ]
        pairs = [p for a in keep for b in keep if a is not b and (p := _stacked(a, b))]
        return keep + pairs

    def detect(self, image: ImageBGR, regions: Detections | None = None) -> Detections:
        found = self.candidates(self._lines.detect(image))
        if regions is not None and len(regions):
            found = [line for line in found if _inside_any(line.cx, line.cy, regions)]
        if not found:
            return Detections.empty()
        rot = [
            (
                line.cx,
                line.cy,
                line.w + 2 * _LINE_MARGIN_W * line.h,
                line.h * (1 + 2 * _LINE_MARGIN_H),
                line.angle_deg,
            )
            for line in found
        ]
        return Detections.from_rotated(rot, [line.score for line in found])


def _inside_any(x: float, y: float, regions: Detections) -> bool:
    v = regions.xyxy
    mx = (v[:, 2] - v[:, 0]) * _REGION_MARGIN
    my = (v[:, 3] - v[:, 1]) * _REGION_MARGIN
    inside = (v[:, 0] - mx <= x) & (x <= v[:, 2] + mx) & (v[:, 1] - my <= y) & (y <= v[:, 3] + my)
    return bool(inside.any())
