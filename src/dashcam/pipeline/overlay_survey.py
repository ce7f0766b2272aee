"""Before the first frame is analysed: find the dashcam's burned-in overlay and read its clock.

A few frames of a video's first seconds go through the shipped PP-OCR text detector.
Text that stays on the same pixels while the scene moves is the overlay (the detector's
text map, thresholded, in all but one surveyed frame); its regions are excluded from
plates from the first frame on (``FrameAnalysis.overlay``).
The same regions, read with the shipped recogniser over its whole alphabet, give the
overlay's date/time on each surveyed frame; :func:`~dashcam.domain.overlay_clock.overlay_clock`
turns those into the video's overlay clock.

Runs once per video in ``pipeline/prepare.py``, for both executors and the heavy worker.
"""

from __future__ import annotations

import itertools
import logging
import math
from dataclasses import dataclass
from pathlib import Path

import cv2
import numpy as np
from numpy.typing import NDArray

from dashcam.backends.text_lines import lines_from_map
from dashcam.config import Settings
from dashcam.domain.overlay_clock import OverlayClock, overlay_clock, parse_overlay
from dashcam.errors import DecodeError
from dashcam.media.decode import FrameReader, VideoInfo

__all__ = ["OverlaySurvey", "OverlaySurveyor"]

log = logging.getLogger(__name__)

Box = tuple[float, float, float, float]

#: Frames looked at; spread over the survey so they fall at different phases of a second.
SURVEY_FRAMES = 6
#: The text detector's working size for the survey (plates need 960 px, overlays do not).
SURVEY_SIDE_PX = 640
#: Mean grey-level change between surveyed frames below which the scene is taken as still
#: (a parked car): then only text that reads as a clock or speed is overlay.
STILL_SCENE = 2.0
#: Share of the frame height at the top and bottom where text that stays put is taken as
#: overlay from the survey alone (elsewhere only when it reads as a clock or a speed; the
#: track stage's own learner still catches the rest).
EDGE_BAND = 0.15
#: Overlay text covers, over all surveyed frames, at most this many times the rows it
#: covers on (almost) every frame.
STRAY_ROWS = 1.4
_MAX_TILT_DEG = 3.0
_MIN_LINE_H_PX = 8.0
_PAD_PX = 4


@dataclass(frozen=True)
class OverlaySurvey:
    """What the survey found: overlay regions (xyxy px), the overlay's text on the first
    surveyed frame, and its clock (None when it shows none or it could not be read)."""

    regions: tuple[Box, ...] = ()
    text: str = ""
    clock: OverlayClock | None = None
    frames: int = 0


def _frame_step(seconds: float, fps: float, duration_s: float | None) -> int:
    """Sample rate (in frames) spreading :data:`SURVEY_FRAMES` over ``seconds``."""
    span = min(seconds, duration_s) if duration_s else seconds
    return max(1, round(span * fps / (SURVEY_FRAMES - 1)))


def _in_band(box: Box, height: int) -> bool:
    """In the top or bottom :data:`EDGE_BAND` of the frame, where dashcams print."""
    return box[3] <= EDGE_BAND * height or box[1] >= (1 - EDGE_BAND) * height


def _scene_change(images: list[NDArray[np.uint8]], regions: list[Box]) -> float:
    """Median mean-absolute grey-level change between consecutive frames (at 160x90),
    overlay left out."""
    grays = [cv2.resize(cv2.cvtColor(img, cv2.COLOR_BGR2GRAY), (160, 90)) for img in images]
    if len(grays) < 2:
        return 0.0
    keep = np.ones((90, 160), dtype=bool)
    kx, ky = images[0].shape[1] / 160, images[0].shape[0] / 90
    for r in regions:
        keep[
            int(r[1] / ky) : math.ceil(r[3] / ky) + 1, int(r[0] / kx) : math.ceil(r[2] / kx) + 1
        ] = 0
    diffs = [
        float(np.abs(a.astype(np.int16) - b.astype(np.int16))[keep].mean())
        for a, b in itertools.pairwise(grays)
    ]
    return float(np.median(diffs))


class OverlaySurveyor:
    """The shipped text detector and recogniser, loaded once, surveying one video at a time.

    Example::

        survey = OverlaySurveyor(settings).survey(Path("clip.mp4"))
        survey.regions, survey.clock  # ((10.0, 676.0, 465.0, 719.0),), OverlayClock(...)
    """

    def __init__(self, settings: Settings) -> None:
        from dashcam.backends.rapidocr_reader import RapidOcrReader
        from dashcam.backends.text_lines import TextLineDetector

        self.seconds = settings.overlay_survey_s
        # overlay text is large and sharp: a smaller working size finds it at half the cost
        self._lines = TextLineDetector(max_side_px=SURVEY_SIDE_PX, threads=settings.model_threads)
        self._reader = RapidOcrReader(variants=False, threads=settings.model_threads)

    @staticmethod
    def for_settings(settings: Settings) -> OverlaySurveyor | None:
        """A surveyor, or None when the survey is off (``overlay_survey_s`` 0)."""
        return OverlaySurveyor(settings) if settings.overlay_survey_s > 0 else None

    def survey(self, path: Path, info: VideoInfo) -> OverlaySurvey:
        """Survey the first ``overlay_survey_s`` seconds of ``path`` (probed as ``info``)."""
        step = _frame_step(self.seconds, info.fps, info.duration_s)
        try:
            with FrameReader(path, sample_rate=step, max_frames=SURVEY_FRAMES) as reader:
                images = [(f.pts_s, f.image) for f in reader]
        except DecodeError as exc:
            log.warning("%s: overlay survey skipped (%s)", path, exc)
            return OverlaySurvey()
        if len(images) < 3:
            return OverlaySurvey(frames=len(images))
        candidates = self._still_text([img for _, img in images])
        if not candidates:
            return OverlaySurvey(frames=len(images))
        # each candidate on its own: does it read as a clock or a speed on most frames?
        per_frame = [
            [parse_overlay(t) is not None for t in self._texts(images, [r])] for r in candidates
        ]
        clock_like = [sum(hits) * 2 >= len(hits) for hits in per_frame]
        height = images[0][1].shape[0]
        if _scene_change([img for _, img in images], candidates) < STILL_SCENE:
            # nothing moves, so still text proves nothing (a parked car's plate) unless
            # it reads as a clock or a speed
            regions = [r for r, c in zip(candidates, clock_like, strict=True) if c]
        else:
            regions = [
                r for r, c in zip(candidates, clock_like, strict=True) if c or _in_band(r, height)
            ]
        if not regions:
            return OverlaySurvey(frames=len(images))
        texts = self._texts(images, regions)
        readings = [parse_overlay(t) for t in texts]
        clock = overlay_clock([(pts, r) for (pts, _), r in zip(images, readings, strict=True)])
        return OverlaySurvey(tuple(regions), texts[0], clock, len(images))

    def _still_text(self, images: list[NDArray[np.uint8]]) -> list[Box]:
        """Upright text lines on the same pixels in all but at most one frame, whose text
        never strayed beyond them (a car ahead at our speed still drifts and bobs: the
        rows its text covered on some frame outnumber those it covered on all). As xyxy,
        padded like plate candidates so those cut from the overlay fall inside."""
        hits: NDArray[np.int16] | None = None
        sx = sy = 1.0
        for img in images:
            prob, sx, sy = self._lines.probability_map(img)
            text = (prob > self._lines.bin_threshold).astype(np.int16)
            hits = text if hits is None else hits + text
        if hits is None:
            return []
        still = (hits >= len(images) - 1).astype(np.uint8)
        _, any_labels, any_stats, _ = cv2.connectedComponentsWithStats((hits > 0).astype(np.uint8))
        n_still, still_labels, still_stats, _ = cv2.connectedComponentsWithStats(still)
        keep = np.zeros_like(still)
        for k in range(1, n_still):
            rows = int(still_stats[k, cv2.CC_STAT_HEIGHT])
            ys, xs = np.nonzero(still_labels == k)
            owner = int(any_labels[ys[0], xs[0]])
            if any_stats[owner, cv2.CC_STAT_HEIGHT] <= STRAY_ROWS * rows + 2:
                keep[still_labels == k] = 1
        lines = lines_from_map(keep.astype(np.float32), sx, sy, 0.5, 0.5, self._lines.unclip_ratio)
        h, w = images[0].shape[:2]
        return [
            (
                max(0.0, line.cx - line.w / 2 - 0.5 * line.h),
                max(0.0, line.cy - 0.8 * line.h),
                min(float(w), line.cx + line.w / 2 + 0.5 * line.h),
                min(float(h), line.cy + 0.8 * line.h),
            )
            for line in lines
            if abs(line.angle_deg) <= _MAX_TILT_DEG and line.h >= _MIN_LINE_H_PX
        ]

    def _texts(
        self, images: list[tuple[float, NDArray[np.uint8]]], regions: list[Box]
    ) -> list[str]:
        """The overlay's text on each frame: its regions read top to bottom, left to right."""
        order = sorted(regions, key=lambda r: (round(r[1] / 20), r[0]))
        crops: list[NDArray[np.uint8]] = []
        for _, img in images:
            h, w = img.shape[:2]
            for r in order:
                x1, y1 = max(0, int(r[0]) - _PAD_PX), max(0, int(r[1]) - _PAD_PX)
                x2, y2 = min(w, math.ceil(r[2]) + _PAD_PX), min(h, math.ceil(r[3]) + _PAD_PX)
                crops.append(img[y1:y2, x1:x2])
        read = iter(self._reader.read_text(crops))
        return ["  ".join(next(read) for _ in order) for _ in images]
