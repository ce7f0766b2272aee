"""Small records passed between stages (arrays in, records out)."""

from __future__ import annotations

from dataclasses import dataclass, field

import numpy as np
from numpy.typing import NDArray

from dashcam.domain.detections import Detections


@dataclass
class FrameAnalysis:
    """Everything the detector stages found on one sampled frame.

    ``plate_texts``/``plate_confidences`` are parallel to ``plates`` ("" when not read);
    ``plate_alternatives`` holds each read's best texts with their probabilities;
    ``plate_crops`` are small BGR crops (kept for the best-crop of each sighting).
    ``overlay`` holds the dashcam's overlay regions (xyxy) the survey found before the
    video's first frame: PLATE_DETECT keeps no candidate there, the track stage's
    overlay learner starts from them.
    """

    video_id: str
    frame_index: int
    pts_s: float
    vehicles: Detections = field(default_factory=Detections.empty)
    plates: Detections = field(default_factory=Detections.empty)
    plate_texts: list[str] = field(default_factory=list)
    plate_confidences: list[float] = field(default_factory=list)
    plate_raw_texts: list[str] = field(default_factory=list)
    plate_alternatives: list[tuple[tuple[str, float], ...]] = field(default_factory=list)
    plate_crops: list[NDArray[np.uint8]] = field(default_factory=list)
    vehicle_class_names: tuple[str, ...] = ()
    overlay: tuple[tuple[float, float, float, float], ...] = ()
