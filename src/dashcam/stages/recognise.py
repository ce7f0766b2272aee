"""Full-image plate recognition: detect candidates, read them, keep the plate-like reads.

Used by ``dashcam read``, the video pipeline's OCR stage (:meth:`read_crops`) and the
live-relay worker. Models load once, in the constructor (the reader warms up there).
"""

from __future__ import annotations

import logging
import math
from collections.abc import Sequence
from dataclasses import dataclass

import cv2
import numpy as np

from dashcam.backends.protocols import ImageBGR, PlateDetector, PlateRead, PlateReader
from dashcam.config import Settings
from dashcam.domain.detections import Detections
from dashcam.domain.overlay import covered
from dashcam.domain.plate_choice import DETECTOR_ONLY, ReadEvidence, choose
from dashcam.domain.plate_decoding import (
    CtcSteps,
    PlateHints,
    TextCandidate,
    combine,
    decode,
)
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
#: How far (log aspect) a plate's box may stray from its jurisdiction's plate shape: a
#: tight crop says more than a detector's box (see docs/recognition.md).
CROP_SHAPE_SIGMA = 0.25
BOX_SHAPE_SIGMA = 0.4


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
    #: How plate-shaped the box is: log likelihood under the nearest plate shape (<= 0).
    aspect_fit: float = 0.0

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


def turned_crop(
    image: ImageBGR,
    centre: tuple[float, float],
    size_wh: tuple[float, float],
    angle_deg: float,
    pad: float = CROP_PAD,
) -> ImageBGR:
    """The rectangle of ``size_wh`` at ``centre``, turned ``angle_deg`` counter-clockwise,
    cut out upright and grown by ``pad`` of its size (edge pixels repeated outside)."""
    w = max(2, round(size_wh[0] * (1 + 2 * pad)))
    h = max(2, round(size_wh[1] * (1 + 2 * pad)))
    m = cv2.getRotationMatrix2D(centre, -angle_deg, 1.0)
    m[0, 2] += w / 2 - centre[0]
    m[1, 2] += h / 2 - centre[1]
    out = cv2.warpAffine(image, m, (w, h), flags=cv2.INTER_LINEAR, borderMode=cv2.BORDER_REPLICATE)
    return np.ascontiguousarray(out, dtype=np.uint8)


def plate_crops(image: ImageBGR, found: Detections, pad: float = CROP_PAD) -> list[ImageBGR]:
    """One crop per box, upright: turned boxes are cut along their angle."""
    out: list[ImageBGR] = []
    for i in range(len(found)):
        angle = float(found.angle_deg[i])
        if abs(angle) < 1.0:
            out.append(pad_crop(image, found.xyxy[i].tolist(), pad))
            continue
        x1, y1, x2, y2 = found.xyxy[i].tolist()
        sw, sh = found.size_wh[i].tolist()
        out.append(turned_crop(image, ((x1 + x2) / 2, (y1 + y2) / 2), (sw, sh), angle, pad))
    return out


def propose(
    detector: PlateDetector,
    image: ImageBGR,
    regions: Detections | None = None,
    exclude: Sequence[Sequence[float]] = (),
) -> tuple[Detections, list[ImageBGR]]:
    """The detector's :data:`MAX_CANDIDATES` best boxes and their upright crops, leaving
    out boxes mostly inside ``exclude`` (the dashcam's overlay regions, xyxy)."""
    found = detector.detect(image, regions)
    if exclude and len(found):
        keep = [k for k, b in enumerate(found.xyxy.tolist()) if not covered(b, exclude)]
        found = found[np.asarray(keep, dtype=np.int64)]
    found = top_candidates(found)
    return found, plate_crops(image, found)


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
        self._aspects = sorted(
            {a for j in self.selection.jurisdictions for a in (*j.aspects, *j.two_line_aspects)}
        )
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

    def candidates(
        self, read: PlateRead, hints: PlateHints | None = None, top_n: int = 5
    ) -> list[TextCandidate]:
        """The most probable texts of a read under the selected formats, best first."""
        if read.steps:
            return combine([decode(s, self.selection, hints=hints) for s in read.steps], top_n)
        if not read.text:
            return []
        steps = CtcSteps.from_text(read.text, max(min(read.confidence, 0.99), 0.5))
        return decode(steps, self.selection, hints=hints, top_n=top_n)

    def _result(
        self, read: PlateRead, xyxy: Sequence[float], score: float, sigma: float
    ) -> PlateResult:
        box = (float(xyxy[0]), float(xyxy[1]), float(xyxy[2]), float(xyxy[3]))
        w, h = box[2] - box[0], box[3] - box[1]
        aspect = w / h if w > 0 and h > 0 else None
        hints = PlateHints(aspect, sigma, read.countries)
        cands = self.candidates(read, hints)
        best = cands[0] if cands else None
        fit = 0.0
        if aspect is not None and self._aspects:
            fit = max(-0.5 * (math.log(aspect / a) / sigma) ** 2 for a in self._aspects)
        return PlateResult(
            text=best.text if best else "",
            confidence=round(float(best.confidence if best else read.confidence), 4),
            xyxy=box,
            raw_text=read.text,
            detector_score=round(float(score), 4),
            region=best.jurisdiction if best else None,
            candidates=tuple(cands),
            aspect_fit=round(fit, 3),
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
            self._result(read, (0, 0, crop.shape[1], crop.shape[0]), 1.0, CROP_SHAPE_SIGMA)
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
        found, crops = propose(self.detector, image_bgr, regions)
        boxes, scores = found.xyxy.tolist(), found.confidence.tolist()
        return [r for _, r in self.read_candidates(crops, boxes, scores)]

    def read_candidates(
        self,
        crops: Sequence[ImageBGR],
        boxes: Sequence[Sequence[float]],
        scores: Sequence[float],
    ) -> list[tuple[int, PlateResult]]:
        """Read candidate crops and keep one plate per plate-like group of reads.

        Returns ``(candidate index, result)`` pairs, best first: the reads that pass the
        hard rules (:meth:`_accept`), chosen and ordered by one score
        (:func:`dashcam.domain.plate_choice.choose`). This is the OCR half of
        :meth:`recognise`; the video pipeline runs it as its own stage. Without OCR every
        box counts, merged where boxes overlap, best detector score first.
        """
        if self.reader is None:
            results = [
                (i, PlateResult("", round(s, 4), (b[0], b[1], b[2], b[3]), "", round(s, 4)))
                for i, (b, s) in enumerate(zip(boxes, scores, strict=True))
            ]
            found = [evidence(r) for _, r in results]
            return [results[k] for k in choose(found, min_score=-math.inf, weights=DETECTOR_ONLY)]
        results = [
            (i, r) for i, r in enumerate(self.read_all(crops, boxes, scores)) if self._accept(r)
        ]
        return [results[k] for k in choose([evidence(r) for _, r in results])]

    def read_all(
        self,
        crops: Sequence[ImageBGR],
        boxes: Sequence[Sequence[float]],
        scores: Sequence[float],
    ) -> list[PlateResult]:
        """Every candidate crop read and decoded, one result per crop, nothing dropped."""
        if self.reader is None or not crops:
            return []
        reads = self.reader.read(list(crops))
        return [
            self._result(read, box, score, BOX_SHAPE_SIGMA)
            for read, box, score in zip(reads, boxes, scores, strict=True)
        ]

    def _accept(self, result: PlateResult) -> bool:
        text = normalise(result.text)
        if len(text) < MIN_FOUND_CHARS or result.confidence < self.min_confidence:
            return False
        if is_plate_legend(result.raw_text):  # the state name above or below the number
            return False
        return self.selection.fits(text)


def evidence(result: PlateResult) -> ReadEvidence:
    """What the plate choice knows of one read (see :mod:`dashcam.domain.plate_choice`)."""
    shares = result.alternatives(5)
    return ReadEvidence(
        text=result.text,
        raw_text=normalise(result.raw_text),
        confidence=result.confidence,
        xyxy=result.xyxy,
        detector_score=result.detector_score,
        fits_layout=result.region is not None,
        share=shares[0][1] if shares else (1.0 if result.text else 0.0),
        aspect_fit=result.aspect_fit,
    )


def top_candidates(found: Detections) -> Detections:
    """The :data:`MAX_CANDIDATES` best detector boxes, best first."""
    if len(found) == 0:
        return found
    order = np.argsort(-found.confidence, kind="stable")[:MAX_CANDIDATES]
    return found[order]
