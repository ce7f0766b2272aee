"""A dashcam's own overlay (date, time, speed, GPS, logo) is not a plate.

Dashcams burn text into every frame at a fixed place. Seen by the plate detector it is
text like any other, and read as a plate it becomes a false sighting (``841112PM``,
``7272018``). It gives itself away by not moving: the camera shakes, turns and drives,
so everything in the scene moves on screen, the overlay stays on the same pixels. A car
driving ahead at your speed stays roughly in place too, but it bobs, sways and changes
size by a few pixels within seconds.

:class:`OverlayMask` learns the overlay's regions per video (or per camera) from the
candidate boxes of the sampled frames: a spot where boxes keep appearing with their top
and bottom edges on the same pixel rows, ``min_looks`` times over at least
``min_span_s`` seconds, becomes an overlay region; boxes inside it are not plates.

Pure: boxes and times in, regions out.

>>> mask = OverlayMask()
>>> for k in range(8):
...     mask.observe(k * 0.5, [(20.0, 690.0, 300.0, 712.0)])
>>> mask.covers((25.0, 689.0, 280.0, 712.0)), mask.covers((500.0, 400.0, 620.0, 430.0))
(True, False)
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass, field

Box = tuple[float, float, float, float]

__all__ = ["OverlayConfig", "OverlayMask", "covered"]


@dataclass(frozen=True)
class OverlayConfig:
    """``max_jitter_px``: how far an overlay box's top and bottom edges may wander (the
    box grows and shrinks sideways as digits change, its rows stay put);
    ``min_looks``/``min_span_s``: how often and how long a spot must be seen."""

    min_looks: int = 6
    min_span_s: float = 3.0
    max_jitter_px: float = 1.5
    min_horizontal_overlap: float = 0.5
    #: Share of a candidate box that must lie inside a region for it to be overlay.
    cover_share: float = 0.6


@dataclass
class _Spot:
    y1: float
    y2: float
    x1: float
    x2: float
    first_s: float
    last_s: float
    looks: int = 1
    top: list[float] = field(default_factory=list)
    bottom: list[float] = field(default_factory=list)

    def accepts(self, box: Box, cfg: OverlayConfig) -> bool:
        tolerance = 2 * cfg.max_jitter_px
        if abs(box[1] - self.y1) > tolerance or abs(box[3] - self.y2) > tolerance:
            return False
        inter = min(box[2], self.x2) - max(box[0], self.x1)
        narrower = min(box[2] - box[0], self.x2 - self.x1)
        return narrower > 0 and inter >= cfg.min_horizontal_overlap * narrower

    def still(self, cfg: OverlayConfig) -> bool:
        """Its rows never moved more than the jitter allows."""
        return (
            max(self.top) - min(self.top) <= cfg.max_jitter_px
            and max(self.bottom) - min(self.bottom) <= cfg.max_jitter_px
        )


class OverlayMask:
    """Overlay regions of one video or camera, learned from the candidate boxes seen.

    Call :meth:`observe` with every sampled frame's candidate boxes, in time order; then
    :meth:`covers` tells whether a box is overlay. Regions are confirmed once and kept.
    """

    def __init__(
        self, config: OverlayConfig | None = None, regions: Sequence[Sequence[float]] = ()
    ) -> None:
        self.config = config or OverlayConfig()
        self._spots: list[_Spot] = []
        #: Confirmed overlay regions (xyxy); ``regions`` seeds them (found beforehand).
        self.regions: list[Box] = [
            (float(r[0]), float(r[1]), float(r[2]), float(r[3])) for r in regions
        ]

    def observe(self, pts_s: float, boxes: Sequence[Box]) -> list[Box]:
        """Learn from one sampled frame's candidate boxes; returns regions confirmed now."""
        cfg = self.config
        new: list[Box] = []
        for raw in boxes:
            box = (float(raw[0]), float(raw[1]), float(raw[2]), float(raw[3]))
            if self.covers(box):
                continue
            spot = next((s for s in self._spots if s.accepts(box, cfg)), None)
            if spot is None:
                self._spots.append(
                    _Spot(box[1], box[3], box[0], box[2], pts_s, pts_s, 1, [box[1]], [box[3]])
                )
                continue
            if pts_s > spot.last_s:
                spot.looks += 1
                spot.last_s = pts_s
            spot.top.append(box[1])
            spot.bottom.append(box[3])
            spot.x1, spot.x2 = min(spot.x1, box[0]), max(spot.x2, box[2])
            if not spot.still(cfg):
                # it moved: a scene object, not an overlay; start over from here
                spot.y1, spot.y2, spot.first_s, spot.looks = box[1], box[3], pts_s, 1
                spot.top, spot.bottom = [box[1]], [box[3]]
                spot.x1, spot.x2 = box[0], box[2]
                continue
            if spot.looks >= cfg.min_looks and spot.last_s - spot.first_s >= cfg.min_span_s:
                region = (spot.x1 - 2.0, min(spot.top) - 2.0, spot.x2 + 2.0, max(spot.bottom) + 2.0)
                self.regions.append(region)
                new.append(region)
                self._spots.remove(spot)
        self._forget(pts_s)
        return new

    def _forget(self, now_s: float) -> None:
        """Drop spots not seen for a while (an overlay is seen on every frame)."""
        horizon = max(2.0, self.config.min_span_s)
        self._spots = [s for s in self._spots if now_s - s.last_s <= horizon]

    def seed(self, regions: Sequence[Sequence[float]]) -> None:
        """Add regions found beforehand (a survey of the video's first seconds)."""
        for r in regions:
            region = (float(r[0]), float(r[1]), float(r[2]), float(r[3]))
            if region not in self.regions:
                self.regions.append(region)

    def covers(self, box: Sequence[float]) -> bool:
        """Whether most of ``box`` lies inside a confirmed overlay region."""
        return covered(box, self.regions, self.config.cover_share)


def covered(box: Sequence[float], regions: Sequence[Sequence[float]], share: float = 0.6) -> bool:
    """Whether at least ``share`` of ``box`` (xyxy) lies inside one of ``regions``."""
    area = max(box[2] - box[0], 0.0) * max(box[3] - box[1], 0.0)
    if area <= 0:
        return False
    for r in regions:
        ix = max(0.0, min(box[2], r[2]) - max(box[0], r[0]))
        iy = max(0.0, min(box[3], r[3]) - max(box[1], r[1]))
        if ix * iy >= share * area:
            return True
    return False
