"""VEHICLE_DETECT, PLATE_DETECT and OCR: the detector-category stages."""

from __future__ import annotations

import logging

import numpy as np

from dashcam.backends.protocols import ImageBGR, PlateDetector, VehicleDetector
from dashcam.config import Settings
from dashcam.domain.detections import Detections
from dashcam.domain.plate_text import normalise
from dashcam.stages.recognise import propose
from dashcam.stages.records import FrameAnalysis

log = logging.getLogger(__name__)


class VehicleDetectStage:
    """Finds vehicles; without user weights it is absent and the pipeline runs plate-only."""

    def __init__(self, settings: Settings) -> None:
        from dashcam.backends.registry import make_vehicle_detector

        self.detector: VehicleDetector | None = make_vehicle_detector(settings)
        if self.detector is None:
            log.warning(
                "no vehicle weights in %s: running plate-only (`dashcam models get yolox-s` "
                "installs a vehicle detector; `dashcam models list` shows every open model)",
                settings.models_dir,
            )

    @property
    def name(self) -> str:
        return self.detector.name if self.detector else "none"

    def run(self, image: ImageBGR, analysis: FrameAnalysis) -> FrameAnalysis:
        if self.detector is not None:
            analysis.vehicles = self.detector.detect(image)
            analysis.vehicle_class_names = tuple(self.detector.class_names)
        return analysis


class PlateDetectStage:
    """Finds plate candidates (inside vehicles when there are vehicle boxes)."""

    def __init__(self, settings: Settings) -> None:
        from dashcam.backends.registry import make_plate_detector

        self.detector: PlateDetector = make_plate_detector(settings)

    @property
    def name(self) -> str:
        return self.detector.name

    def run(self, image: ImageBGR, analysis: FrameAnalysis) -> FrameAnalysis:
        regions = analysis.vehicles if len(analysis.vehicles) else None
        found, crops = propose(self.detector, image, regions, exclude=analysis.overlay)
        analysis.plates = found
        analysis.plate_crops = crops
        analysis.plate_texts = [""] * len(found)
        analysis.plate_raw_texts = [""] * len(found)
        analysis.plate_alternatives = [()] * len(found)
        analysis.plate_confidences = found.confidence.tolist()
        return analysis


class OcrStage:
    """Reads the candidates and keeps one plate-like read per plate (or, with OCR off,
    one box per plate)."""

    def __init__(self, settings: Settings) -> None:
        from dashcam.stages.recognise import PlateRecogniser

        self.recogniser = PlateRecogniser(settings)

    @property
    def name(self) -> str:
        return self.recogniser.name

    def run(self, analysis: FrameAnalysis) -> FrameAnalysis:
        if len(analysis.plates) == 0:
            return analysis
        kept = self.recogniser.read_candidates(
            analysis.plate_crops, analysis.plates.xyxy.tolist(), analysis.plate_confidences
        )
        order = np.asarray([i for i, _ in kept], dtype=np.int64)
        analysis.plates = analysis.plates[order] if len(order) else Detections.empty()
        analysis.plate_crops = [analysis.plate_crops[i] for i, _ in kept]
        analysis.plate_texts = [normalise(r.text) for _, r in kept]
        analysis.plate_raw_texts = [r.raw_text for _, r in kept]
        analysis.plate_alternatives = [r.alternatives() for _, r in kept]
        analysis.plate_confidences = [float(r.confidence) for _, r in kept]
        return analysis
