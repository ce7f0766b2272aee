"""Which reads of an image are plates, and which one of several reads of one plate to keep.

Detectors propose the plate, boxes around it (bumper, car body), boxes on part of it (the
state name, a slogan, a sticker, half the registration) and things that are no plate at
all (signs, shop fronts, a dealer's frame). Every read gets one score, a logistic model
over a few features (:data:`FEATURES`): how confident the reader is, whether the text
fits a plate layout and how clearly, its length, digits, whether it is a word in no
layout (a badge or a sign), the detector's score, how plate-shaped the box is and how
tall. Reads of the same plate compete and the best
scoring one stays (with the tightest box that read the same text); reads scoring below
:data:`MIN_SCORE` are dropped; plates are listed best first.

The weights were fitted by ``benchmarks/fit_plate_choice.py`` on the even rows of the
dev sets (docs/recognition.md has the figures); they are data, not tuning by hand.

Pure: features in, scores and indices out.
"""

from __future__ import annotations

import math
from collections.abc import Sequence
from dataclasses import dataclass

__all__ = [
    "DETECTOR_ONLY",
    "FEATURES",
    "MIN_SCORE",
    "WEIGHTS",
    "ReadEvidence",
    "choose",
    "features",
    "score",
]

Box = tuple[float, float, float, float]


@dataclass(frozen=True)
class ReadEvidence:
    """What is known of one read on an image.

    ``text`` is the chosen (format-decoded) text, ``raw_text`` the greedy read;
    ``fits_layout`` whether ``text`` fits a layout of the selected formats; ``share`` the
    probability of ``text`` among the read's candidates (0..1); ``aspect_fit`` the log
    likelihood of the box's shape under the nearest plate shape (<= 0).
    """

    text: str
    raw_text: str
    confidence: float
    xyxy: Box
    detector_score: float
    fits_layout: bool
    share: float
    aspect_fit: float


FEATURES = (
    "bias",
    "confidence",
    "fits_layout",
    "share",
    "typical_length",
    "has_digit",
    "has_letter",
    "word_like",
    "detector_score",
    "aspect_fit",
    "log_height_px",
)
#: Logistic weights per feature, fitted by ``benchmarks/fit_plate_choice.py`` on the
#: even rows of the dev sets with the default ``text+contour`` detector (held-out log loss
#: 0.26 against 0.58 for hand-set weights).
WEIGHTS: dict[str, float] = {
    "bias": -21.51,
    "confidence": 8.98,
    "fits_layout": 0.71,
    "share": 1.45,
    "typical_length": 0.55,
    "has_digit": 1.39,
    "has_letter": 0.78,
    "word_like": -1.30,
    "detector_score": 5.43,
    "aspect_fit": 0.08,
    "log_height_px": 1.41,
}
#: Reads below this score (log odds of being a plate read right) are dropped: -1 keeps
#: 95 % of the boxed plates of the held-out real photos with 0.21 reads per photo away
#: from them (0: 93 % and 0.11; many of those reads are plates nobody boxed).
MIN_SCORE = -1.0
#: Boxes without text (OCR off): the detector's score alone orders them.
DETECTOR_ONLY: dict[str, float] = {"detector_score": 1.0}


def features(read: ReadEvidence) -> tuple[float, ...]:
    """The read's :data:`FEATURES`, in order."""
    text, raw = read.text, read.raw_text or read.text
    height = max(read.xyxy[3] - read.xyxy[1], 1.0)
    digits = any(ch.isdigit() for ch in raw)
    return (
        1.0,
        float(read.confidence),
        1.0 if read.fits_layout else 0.0,
        float(read.share),
        1.0 if 5 <= len(text) <= 8 else 0.0,
        1.0 if digits else 0.0,
        1.0 if any(ch.isalpha() for ch in raw) else 0.0,
        # a word in no layout (a badge, a sign, a dealer's name) more than a vanity plate
        1.0 if not digits and not read.fits_layout else 0.0,
        float(read.detector_score),
        max(float(read.aspect_fit), -8.0),
        math.log(height),
    )


def score(read: ReadEvidence, weights: dict[str, float] | None = None) -> float:
    """Log odds that ``read`` is a plate read right."""
    w = WEIGHTS if weights is None else weights
    return sum(w.get(name, 0.0) * v for name, v in zip(FEATURES, features(read), strict=True))


def _area(b: Box) -> float:
    return max(b[2] - b[0], 0.0) * max(b[3] - b[1], 0.0)


def _overlap_of_smaller(a: Box, b: Box) -> float:
    ix = max(0.0, min(a[2], b[2]) - max(a[0], b[0]))
    iy = max(0.0, min(a[3], b[3]) - max(a[1], b[1]))
    return ix * iy / max(min(_area(a), _area(b)), 1e-6)


def _same_plate(a: ReadEvidence, b: ReadEvidence) -> bool:
    """Mostly the same box, or touching boxes where one read holds the other's text."""
    overlap = _overlap_of_smaller(a.xyxy, b.xyxy)
    if overlap > 0.5:
        return True
    ta, tb = a.raw_text, b.raw_text
    holds = (len(ta) > len(tb) > 0 and tb in ta) or (len(tb) > len(ta) > 0 and ta in tb)
    return overlap > 0 and holds


def choose(
    reads: Sequence[ReadEvidence],
    *,
    min_score: float = MIN_SCORE,
    weights: dict[str, float] | None = None,
) -> list[int]:
    """Indices of the reads kept, best first: one per plate, each scoring >= ``min_score``.

    >>> a = ReadEvidence("AB123CD", "AB123CD", 0.95, (0, 0, 100, 22), 0.9, True, 0.9, 0.0)
    >>> b = ReadEvidence("AB123", "AB123", 0.97, (0, 0, 70, 22), 0.9, False, 0.5, -2.0)
    >>> choose([b, a])
    [1]
    """
    scores = [score(r, weights) for r in reads]
    order = sorted(range(len(reads)), key=lambda i: -scores[i])
    kept: list[int] = []
    for i in order:
        if scores[i] < min_score:
            break
        if not any(_same_plate(reads[i], reads[k]) for k in kept):
            kept.append(i)
    # the plate's box: of the reads of the same plate with the winner's text, the tightest
    return [
        min(
            (j for j in range(len(reads)) if j == i or _same_text_box(reads[j], reads[i])),
            key=lambda j: (_area(reads[j].xyxy), -scores[j]),
        )
        for i in kept
    ]


def _same_text_box(a: ReadEvidence, b: ReadEvidence) -> bool:
    return bool(a.text) and a.text == b.text and _overlap_of_smaller(a.xyxy, b.xyxy) > 0.5
