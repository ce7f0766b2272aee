"""Classic plate detectors that need only OpenCV: a Haar cascade and contour candidates.

Both over-propose on purpose; the recogniser reads every candidate and keeps those whose
text fits a plate format with enough confidence. ``ClassicPlateDetector`` runs both and
merges overlapping boxes (NMS). With vehicle ``regions`` each searches only inside the
vehicle boxes (expanded a little), which is faster and avoids signs and shop fronts.
"""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

import cv2
import numpy as np
from numpy.typing import NDArray

from dashcam.backends.plate_crop import main_text_line
from dashcam.backends.protocols import ImageBGR
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


class ClassicPlateDetector:
    """Haar cascade and contour candidates together, overlapping boxes merged."""

    name = "classic"

    def __init__(self) -> None:
        self._haar = HaarPlateDetector()
        self._contour = ContourPlateDetector()

    def detect(self, image: ImageBGR, regions: Detections | None = None) -> Detections:
        parts = [self._haar.detect(image, regions), self._contour.detect(image, regions)]
        boxes: list[Box] = []
        scores: list[float] = []
        for part in parts:
            boxes.extend(tuple(b) for b in part.xyxy.tolist())
            scores.extend(part.confidence.tolist())
        return _merge(boxes, scores)
