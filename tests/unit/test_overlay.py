"""Learning a dashcam's burned-in overlay: static text is overlay, a car ahead is not."""

from __future__ import annotations

import numpy as np

from dashcam.domain.overlay import OverlayConfig, OverlayMask

CLOCK = (20.0, 690.0, 300.0, 712.0)


def _feed(mask: OverlayMask, boxes_at: list[list[tuple[float, float, float, float]]]) -> None:
    for k, boxes in enumerate(boxes_at):
        mask.observe(k / 3, boxes)  # every 10th frame at 30 fps


def test_text_on_the_same_rows_for_seconds_is_overlay_even_as_its_digits_change() -> None:
    mask = OverlayMask()
    # the box grows and shrinks sideways as digits change; its rows stay put
    widths = [0, 6, -4, 9, 2, -7, 5, 0, 3, -2, 8]
    _feed(mask, [[(CLOCK[0], CLOCK[1], CLOCK[2] + w, CLOCK[3])] for w in widths])
    assert len(mask.regions) == 1
    assert mask.covers((22.0, 690.5, 260.0, 711.0))
    assert not mask.covers((500.0, 300.0, 640.0, 340.0))


def test_a_car_ahead_at_our_speed_is_not_overlay() -> None:
    rng = np.random.default_rng(3)
    mask = OverlayMask()
    frames = []
    for _ in range(60):  # 20 s behind the same car: it bobs and sways a few pixels
        dy, dx = rng.normal(0, 2.5), rng.normal(0, 3.0)
        frames.append([(600 + dx, 420 + dy, 700 + dx, 445 + dy), CLOCK])
    _feed(mask, frames)
    assert mask.covers(CLOCK)
    assert not mask.covers((600.0, 420.0, 700.0, 445.0))


def test_a_short_still_moment_is_not_enough() -> None:
    mask = OverlayMask(OverlayConfig(min_looks=6, min_span_s=3.0))
    _feed(mask, [[(600.0, 420.0, 700.0, 445.0)]] * 5)  # 1.3 s, 5 looks
    assert mask.regions == []


def test_seeded_regions_cover_from_the_first_frame() -> None:
    mask = OverlayMask(regions=[CLOCK])
    assert mask.covers(CLOCK)
