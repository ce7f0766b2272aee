"""VEHICLE_DETECT, PLATE_DETECT and OCR: the detector-category stages."""

from __future__ import annotations

import logging

import numpy as np
from numpy.typing import NDArray

from dashcam.backends.protocols import ImageBGR, PlateDetector, VehicleDetector
from dashcam.config import Settings
from dashcam.domain.detections import Detections
from dashcam.domain.plate_text import normalise
from dashcam.stages.records import FrameAnalysis

log = logging.getLogger(__name__)

_CROP_PAD = 0.08  # share of the box size added around a plate crop


def crop_box(
    image: ImageBGR, xyxy: NDArray[np.float32] | tuple[float, ...], pad: float = _CROP_PAD
) -> NDArray[np.uint8]:
    """A copy of the padded box region of ``image`` (clipped to the frame)."""
    h, w = image.shape[:2]
    x1, y1, x2, y2 = (float(v) for v in xyxy)
    px, py = (x2 - x1) * pad, (y2 - y1) * pad
    a, b = max(int(x1 - px), 0), max(int(y1 - py), 0)
    c, d = min(int(np.ceil(x2 + px)), w), min(int(np.ceil(y2 + py)), h)
    return np.ascontiguousarray(image[b:d, a:c])


class VehicleDetectStage:
    """Finds vehicles; without user weights it is absent and the pipeline runs plate-only."""

    def __init__(self, settings: Settings) -> None:
        from dashcam.backends.registry import make_vehicle_detector

        self.detector: VehicleDetector | None = make_vehicle_detector(settings)
        if self.detector is None:
            log.warning("no vehicle weights in %s: running plate-only", settings.models_dir)

    @property
    def name(self) -> str:
        return self.detector.name if self.detector else "none"

    def run(self, image: ImageBGR, analysis: FrameAnalysis) -> FrameAnalysis:
        if self.detector is not None:
            analysis.vehicles = self.detector.detect(image)
            analysis.vehicle_class_names = tuple(self.detector.class_names)
        return analysis


class PlateDetectStage:
    """Finds plate boxes (inside vehicles when there are vehicle boxes)."""

    def __init__(self, settings: Settings) -> None:
        from dashcam.backends.registry import make_plate_detector

        self.detector: PlateDetector = make_plate_detector(settings)

    @property
    def name(self) -> str:
        return self.detector.name

    def run(self, image: ImageBGR, analysis: FrameAnalysis) -> FrameAnalysis:
        regions = analysis.vehicles if len(analysis.vehicles) else None
        plates = self.detector.detect(image, regions)
        analysis.plates = plates
        analysis.plate_crops = [crop_box(image, box) for box in plates.xyxy]
        n = len(plates)
        analysis.plate_texts = [""] * n
        analysis.plate_raw_texts = [""] * n
        analysis.plate_confidences = [float(c) for c in plates.confidence]
        return analysis


class OcrStage:
    """Reads each plate crop; drops candidates whose text is not plate-like or too unsure."""

    def __init__(self, settings: Settings) -> None:
        from dashcam.stages.recognise import PlateRecogniser

        self.recogniser = PlateRecogniser(settings)
        self.min_confidence = settings.min_plate_confidence

    @property
    def name(self) -> str:
        return getattr(self.recogniser, "name", type(self.recogniser).__name__)

    def run(self, analysis: FrameAnalysis) -> FrameAnalysis:
        if not analysis.plate_crops:
            return analysis
        results = self.recogniser.read_crops(analysis.plate_crops)
        keep: list[int] = []
        texts: list[str] = []
        raws: list[str] = []
        confs: list[float] = []
        for i, res in enumerate(results):
            text = normalise(res.text)
            if 4 <= len(text) <= 10 and res.confidence >= self.min_confidence:
                keep.append(i)
                texts.append(text)
                raws.append(res.raw_text)
                confs.append(float(res.confidence))
        analysis.plates = (
            analysis.plates[np.asarray(keep, dtype=np.int64)] if keep else (Detections.empty())
        )
        analysis.plate_crops = [analysis.plate_crops[i] for i in keep]
        analysis.plate_texts = texts
        analysis.plate_raw_texts = raws
        analysis.plate_confidences = confs
        return analysis
