"""What a model backend must offer. Implementations live next to this module."""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from typing import Protocol, runtime_checkable

import numpy as np
from numpy.typing import NDArray

from dashcam.domain.detections import Detections
from dashcam.domain.plate_decoding import CtcSteps

ImageBGR = NDArray[np.uint8]  # (H, W, 3) uint8, OpenCV channel order


@dataclass(frozen=True)
class PlateRead:
    """What an OCR backend read on one crop: raw text and a 0..1 confidence.

    ``char_confidences`` is per character of ``text`` when the backend gives it;
    ``steps`` holds the recogniser's per-step probabilities of each line it read on the
    crop (one per reading variant), which format-aware decoding uses instead of ``text``
    (a fixed-slot recogniser gives one step per slot, with blank steps between).
    """

    text: str
    confidence: float
    char_confidences: tuple[float, ...] = ()
    steps: tuple[CtcSteps, ...] = ()
    #: The reader's own guess of the plate's country (ISO code -> probability), if any.
    countries: Mapping[str, float] | None = None


@runtime_checkable
class PlateDetector(Protocol):
    """Finds licence plates in a full frame (or in the given vehicle regions)."""

    name: str

    def detect(self, image: ImageBGR, regions: Detections | None = None) -> Detections: ...


@runtime_checkable
class PlateReader(Protocol):
    """Reads the text of tight plate crops."""

    name: str

    def read(self, crops: Sequence[ImageBGR]) -> list[PlateRead]: ...


@runtime_checkable
class VehicleDetector(Protocol):
    """Finds vehicles; ``class_id`` indexes :attr:`class_names`."""

    name: str
    class_names: Sequence[str]

    def detect(self, image: ImageBGR) -> Detections: ...
