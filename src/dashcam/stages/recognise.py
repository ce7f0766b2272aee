"""Full-image plate recognition: detect candidates, read them, keep the plate-like reads.

Used by ``dashcam read``, the video pipeline's OCR stage (:meth:`read_crops`) and the
live-relay worker. Models load once, in the constructor (the reader warms up there).
"""

from __future__ import annotations

import logging
import math
from collections.abc import Sequence
from dataclasses import dataclass

import numpy as np

from dashcam.backends.protocols import ImageBGR, PlateDetector, PlateRead, PlateReader
from dashcam.config import Settings
from dashcam.domain.detections import Detections
from dashcam.domain.plate_decoding import CtcSteps, TextCandidate, combine, decode
from dashcam.domain.plate_text import is_plate_legend, normalise
from dashcam.errors import ConfigError
from dashcam.resources import format_book

log = logging.getLogger(__name__)

#: Candidates read per frame, best detector score first (bounds the OCR time per frame).
MAX_CANDIDATES = 8
#: Share of the box size added around a candidate before reading it.
CROP_PAD = 0.06
#: Fewest characters a read must have to count as a plate found in a full image.
MIN_FOUND_CHARS = 4


@dataclass(frozen=True)
class PlateResult:
    """One recognised plate.

    ``text`` is the most probable text that fits the selected plate formats;
    ``raw_text`` is what OCR read greedily; ``confidence`` is the mean per-character
    probability of ``text`` (the detector score when OCR is disabled); ``xyxy`` is the
    plate box in image pixels; ``region`` the jurisdiction whose layout ``text`` fits
    (None: no layout, or no rules); ``candidates`` the best texts, best first.
    """

    text: str
    confidence: float
    xyxy: tuple[float, float, float, float]
    raw_text: str
    detector_score: float
    region: str | None = None
    candidates: tuple[TextCandidate, ...] = ()

    def alternatives(self, top_n: int = 5) -> tuple[tuple[str, float], ...]:
        """The best texts with their share of probability among them, best first."""
        cands = self.candidates[:top_n]
        if not cands:
            return ()
        peak = max(c.log_score for c in cands)
        weights = [math.exp(c.log_score - peak) for c in cands]
        total = sum(weights)
        return tuple((c.text, round(w / total, 4)) for c, w in zip(cands, weights, strict=True))


def pad_crop(image: ImageBGR, xyxy: Sequence[float], pad: float = CROP_PAD) -> ImageBGR:
    """A contiguous copy of ``xyxy`` grown by ``pad`` of its size, clipped to the image."""
    h, w = image.shape[:2]
    x1, y1, x2, y2 = (float(v) for v in xyxy)
    px, py = (x2 - x1) * pad, (y2 - y1) * pad
    a, b = max(int(x1 - px), 0), max(int(y1 - py), 0)
    c, d = min(int(np.ceil(x2 + px)), w), min(int(np.ceil(y2 + py)), h)
    return np.ascontiguousarray(image[b:d, a:c])


class PlateRecogniser:
    """Plate detector + OCR reader + text rules, all chosen by :class:`Settings`.

    ``detector``/``reader`` override the registry choice (e.g. to share loaded models).
    The detector loads on first :meth:`recognise`, so crop-only use never builds one.
    """

    def __init__(
        self,
        settings: Settings,
        *,
        detector: PlateDetector | None = None,
        reader: PlateReader | None = None,
    ) -> None:
        from dashcam.backends.registry import make_plate_reader

        try:
            self.selection = format_book().select(settings.plate_region)
        except ValueError as exc:
            raise ConfigError(f"plate_region (DASHCAM_PLATE_REGION): {exc}") from None
        self.settings = settings
        self.region = settings.plate_region.lower()
        self.min_confidence = settings.min_plate_confidence
        self.enable_ocr = settings.enable_ocr
        self._detector = detector
        self.reader: PlateReader | None = None
        if self.enable_ocr:
            self.reader = reader or make_plate_reader(settings)

    @property
    def name(self) -> str:
        return self.reader.name if self.reader is not None else "none"

    @property
    def detector(self) -> PlateDetector:
        if self._detector is None:
            from dashcam.backends.registry import make_plate_detector

            self._detector = make_plate_detector(self.settings)
        return self._detector

    def candidates(self, read: PlateRead, top_n: int = 5) -> list[TextCandidate]:
        """The most probable texts of a read under the selected formats, best first."""
        if read.steps:
            return combine([decode(s, self.selection) for s in read.steps], top_n)
        if not read.text:
            return []
        steps = CtcSteps.from_text(read.text, max(min(read.confidence, 0.99), 0.5))
        return decode(steps, self.selection, top_n=top_n)

    def _result(self, read: PlateRead, xyxy: Sequence[float], score: float) -> PlateResult:
        box = (float(xyxy[0]), float(xyxy[1]), float(xyxy[2]), float(xyxy[3]))
        cands = self.candidates(read)
        best = cands[0] if cands else None
        return PlateResult(
            text=best.text if best else "",
            confidence=round(float(best.confidence if best else read.confidence), 4),
            xyxy=box,
            raw_text=read.text,
            detector_score=round(float(score), 4),
            region=best.jurisdiction if best else None,
            candidates=tuple(cands),
        )

    def read_crops(self, crops: Sequence[ImageBGR]) -> list[PlateResult]:
        """Read tight plate crops (BGR); one result per crop, in order, unfiltered.

        ``xyxy`` is the whole crop and ``detector_score`` 1.0. With OCR disabled every
        text is "" and the confidence 1.0.
        """
        if not crops:
            return []
        if self.reader is None:
            return [
                PlateResult("", 1.0, (0.0, 0.0, float(c.shape[1]), float(c.shape[0])), "", 1.0)
                for c in crops
            ]
        reads = self.reader.read(list(crops))
        return [
            self._result(read, (0, 0, crop.shape[1], crop.shape[0]), 1.0)
            for read, crop in zip(reads, crops, strict=True)
        ]

    def recognise(
        self, image_bgr: ImageBGR, regions: Detections | None = None
    ) -> list[PlateResult]:
        """Plates in a full image (or inside the vehicle ``regions``), best first.

        A candidate counts when its corrected text has at least
        :data:`MIN_FOUND_CHARS` characters, fits the region's format and the OCR
        confidence reaches ``min_plate_confidence``. Without OCR every candidate counts,
        with empty text and its detector score as confidence.
        """
        boxes, scores = top_candidates(self.detector.detect(image_bgr, regions))
        crops = [pad_crop(image_bgr, box) for box in boxes]
        return [r for _, r in self.read_candidates(crops, boxes, scores)]

    def read_candidates(
        self,
        crops: Sequence[ImageBGR],
        boxes: Sequence[Sequence[float]],
        scores: Sequence[float],
    ) -> list[tuple[int, PlateResult]]:
        """Read candidate crops and keep one plate-like result per plate.

        Returns ``(candidate index, result)`` pairs, best first. This is the OCR half of
        :meth:`recognise`; the video pipeline runs it as its own stage.
        """
        results: list[tuple[int, PlateResult]] = []
        if self.reader is None:
            results = [
                (i, PlateResult("", round(s, 4), (b[0], b[1], b[2], b[3]), "", round(s, 4)))
                for i, (b, s) in enumerate(zip(boxes, scores, strict=True))
            ]
        elif crops:
            reads = self.reader.read(list(crops))
            for i, (read, box, score) in enumerate(zip(reads, boxes, scores, strict=True)):
                result = self._result(read, box, score)
                if self._accept(result):
                    results.append((i, result))
        kept = {id(r) for r in _dedupe([r for _, r in results])}
        ordered = [(i, r) for i, r in results if id(r) in kept]
        ordered.sort(key=lambda pair: _rank(pair[1]))
        return ordered

    def _accept(self, result: PlateResult) -> bool:
        text = normalise(result.text)
        if len(text) < MIN_FOUND_CHARS or result.confidence < self.min_confidence:
            return False
        if is_plate_legend(result.raw_text):  # the state name above or below the number
            return False
        return self.selection.fits(text)


def top_candidates(found: Detections) -> tuple[list[list[float]], list[float]]:
    """The :data:`MAX_CANDIDATES` best detector boxes (xyxy lists) and their scores."""
    if len(found) == 0:
        return [], []
    order = np.argsort(-found.confidence, kind="stable")[:MAX_CANDIDATES].tolist()
    return [found.xyxy[i].tolist() for i in order], [float(found.confidence[i]) for i in order]


def _dedupe(results: list[PlateResult]) -> list[PlateResult]:
    """One result per plate, chosen among the candidates that read the same plate.

    Detectors propose the plate, larger boxes around it (bumper, car body) and smaller
    ones on it: the state name or slogan line, a sticker, part of the registration.
    Between two reads of one plate (see :func:`_better`): the same text keeps the more
    confident, then tighter, box; a read that contains the other's text wins (it read
    more of the plate); a read with digits beats one without (the registration, not
    a slogan); otherwise the more confident read.
    """
    kept: list[PlateResult] = []
    for r in sorted(results, key=_rank):
        rivals = [k for k in kept if _same_plate(r, k)]
        if not rivals:
            kept.append(r)
        elif all(_better(r, k) for k in rivals):
            kept = [k for k in kept if k not in rivals] + [r]
    return kept


def _same_plate(a: PlateResult, b: PlateResult) -> bool:
    """Mostly the same box, or touching boxes where one read holds the other's text."""
    overlap = _overlap_of_smaller(a.xyxy, b.xyxy)
    return overlap > 0.5 or (overlap > 0 and (_contains_text(a, b) or _contains_text(b, a)))


def _contains_text(a: PlateResult, b: PlateResult) -> bool:
    """``a`` read ``b``'s text and more."""
    ta, tb = normalise(a.raw_text), normalise(b.raw_text)
    return len(ta) > len(tb) > 0 and tb in ta


def _better(a: PlateResult, b: PlateResult) -> bool:
    """Is ``a`` the better result for the plate both read? ``b`` was ranked first (as
    confident or more, and no larger when as confident)."""
    if normalise(a.text) == normalise(b.text) or _contains_text(b, a):
        return False
    if _contains_text(a, b):
        return True
    return _has_digit(a.raw_text) and not _has_digit(b.raw_text)


def _rank(r: PlateResult) -> tuple[float, float]:
    """Best first: the most confident (to 2 decimals), then the tightest box."""
    return -round(r.confidence, 2), _area(r.xyxy)


def _has_digit(text: str) -> bool:
    return any(ch.isdigit() for ch in text)


def _area(xyxy: tuple[float, float, float, float]) -> float:
    return max(xyxy[2] - xyxy[0], 0.0) * max(xyxy[3] - xyxy[1], 0.0)


def _overlap_of_smaller(
    a: tuple[float, float, float, float], b: tuple[float, float, float, float]
) -> float:
    ix = max(0.0, min(a[2], b[2]) - max(a[0], b[0]))
    iy = max(0.0, min(a[3], b[3]) - max(a[1], b[1]))
    return ix * iy / max(min(_area(a), _area(b)), 1e-6)
