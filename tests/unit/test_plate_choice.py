"""The scored choice among the reads of an image."""

from __future__ import annotations

import math

from dashcam.domain.plate_choice import DETECTOR_ONLY, ReadEvidence, choose, score

PLATE = (500.0, 400.0, 640.0, 440.0)


def read(
    text: str,
    xyxy: tuple[float, float, float, float] = PLATE,
    *,
    conf: float = 0.95,
    fits: bool = True,
    share: float = 0.9,
    det: float = 0.8,
    aspect_fit: float = 0.0,
) -> ReadEvidence:
    return ReadEvidence(text, text, conf, xyxy, det, fits, share, aspect_fit)


def test_the_registration_beats_a_partial_box_on_it() -> None:
    whole = read("T299066")
    part = read("9066", (560.0, 400.0, 640.0, 440.0), conf=0.97, fits=False, share=0.6)
    assert choose([part, whole]) == [1]


def test_a_dealer_line_without_digits_loses_to_the_plate_below_it() -> None:
    plate = read("7ABC123")
    dealer = read("SMITHFORD", (480.0, 440.0, 660.0, 455.0), conf=0.98, fits=False, share=1.0)
    assert choose([dealer, plate]) == [1]


def test_a_text_that_fits_a_layout_beats_a_near_miss_that_does_not() -> None:
    good = read("AB123CD", conf=0.90, share=0.8)
    extra = read("AB123CDX", (495.0, 400.0, 650.0, 440.0), conf=0.92, fits=False, share=0.5)
    assert choose([extra, good]) == [1]


def test_weak_reads_are_dropped_and_plates_are_listed_best_first() -> None:
    sign = read("EXIT", (10.0, 10.0, 90.0, 40.0), conf=0.55, fits=False, share=0.5, det=0.1)
    far = read("KX52ABC", (100.0, 500.0, 164.0, 516.0), conf=0.93, share=0.8, det=0.85)
    near = read("AB12CDE", conf=0.97, share=0.95)
    assert score(sign) < score(far) < score(near)
    kept = choose([sign, far, near])
    assert kept == [2, 1]


def test_without_text_boxes_are_merged_by_overlap_and_ordered_by_detector_score() -> None:
    boxes = [
        read("", PLATE, conf=0.0, fits=False, share=0.0, det=0.6),
        read("", (505.0, 402.0, 645.0, 442.0), conf=0.0, fits=False, share=0.0, det=0.9),
        read("", (100.0, 100.0, 200.0, 130.0), conf=0.0, fits=False, share=0.0, det=0.3),
    ]
    assert choose(boxes, min_score=-math.inf, weights=DETECTOR_ONLY) == [1, 2]
