"""Backend registries: name -> factory(settings), plus the ``auto`` choice.

Plain module-level dicts; a backend module adds itself by adding an entry here. Factories
import their heavy libraries lazily, so importing this module is cheap. Choosing an
unknown name, or a backend whose package or weights file is missing, raises
:class:`~dashcam.errors.BackendUnavailable` naming what is missing.

Every model of the catalogue (:mod:`dashcam.backends.catalogue`) is registered under its
own name in its slot's registry, and runs only once ``dashcam models get NAME`` has
installed it: nothing here ever downloads.

``auto``:
- plate detector: a user-supplied plate model in ``models_dir`` (file name contains
  ``plate``; ``.onnx`` via ``yolo-onnx``, ``.pt`` via ``yolo-ultralytics``), else the
  strongest installed catalogue plate detector, else ``text+contour`` (text lines of the
  PP-OCR text detector shipped in ``rapidocr`` plus contour candidates);
- plate reader: the strongest installed catalogue recogniser, else ``rapidocr``;
- vehicle detector: a user-supplied vehicle model in ``models_dir``, else the strongest
  installed catalogue vehicle detector, else none.

A weights file the user put in ``models_dir`` is their explicit choice, so it comes
before the catalogue models.
"""

from __future__ import annotations

import importlib
import logging
from collections.abc import Callable, Mapping
from pathlib import Path
from typing import Any

from dashcam.backends.catalogue import ModelSlot, models_for
from dashcam.backends.installed import best_installed, load_installed
from dashcam.backends.protocols import PlateDetector, PlateReader, VehicleDetector
from dashcam.backends.weights import WeightsKind, find_weights
from dashcam.config import Settings
from dashcam.errors import BackendUnavailable

log = logging.getLogger(__name__)

PlateDetectorFactory = Callable[[Settings], PlateDetector]
PlateReaderFactory = Callable[[Settings], PlateReader]
VehicleDetectorFactory = Callable[[Settings], VehicleDetector]


def _classic(settings: Settings) -> PlateDetector:
    from dashcam.backends.plate_detectors import ClassicPlateDetector

    return ClassicPlateDetector()


def _haar(settings: Settings) -> PlateDetector:
    from dashcam.backends.plate_detectors import HaarPlateDetector

    return HaarPlateDetector()


def _contour(settings: Settings) -> PlateDetector:
    from dashcam.backends.plate_detectors import ContourPlateDetector

    return ContourPlateDetector()


def _text(settings: Settings) -> PlateDetector:
    from dashcam.backends.plate_detectors import TextPlateDetector

    return TextPlateDetector(threads=settings.model_threads)


def _text_contour(settings: Settings) -> PlateDetector:
    from dashcam.backends.plate_detectors import (
        ContourPlateDetector,
        MergedPlateDetector,
        TextPlateDetector,
    )

    return MergedPlateDetector(
        "text+contour", [TextPlateDetector(threads=settings.model_threads), ContourPlateDetector()]
    )


def _rapidocr(settings: Settings) -> PlateReader:
    from dashcam.backends.rapidocr_reader import RapidOcrReader

    return RapidOcrReader(threads=settings.model_threads)


def _yolo(module: str, kind: str) -> Callable[[Settings], Any]:
    """Factory running ``dashcam.backends.<module>.<kind>_detector`` (imported when called)."""

    def factory(settings: Settings) -> Any:
        return getattr(importlib.import_module(f"dashcam.backends.{module}"), f"{kind}_detector")(
            settings
        )

    return factory


def _installed(name: str) -> Callable[[Settings], Any]:
    """Factory opening the installed catalogue model ``name`` (never downloading it)."""

    def factory(settings: Settings) -> Any:
        return load_installed(settings.models_dir, name, threads=settings.model_threads)

    return factory


def _catalogue(slot: ModelSlot) -> dict[str, Callable[[Settings], Any]]:
    return {spec.name: _installed(spec.name) for spec in models_for(slot)}


PLATE_DETECTORS: dict[str, PlateDetectorFactory] = {
    "classic": _classic,
    "haar": _haar,
    "contour": _contour,
    "text": _text,
    "text+contour": _text_contour,
    "yolo-onnx": _yolo("yolo_onnx", "plate"),
    "yolo-ultralytics": _yolo("yolo_ultralytics", "plate"),
    **_catalogue(ModelSlot.PLATE_DETECTOR),
}
PLATE_READERS: dict[str, PlateReaderFactory] = {
    "rapidocr": _rapidocr,
    **_catalogue(ModelSlot.PLATE_READER),
}
VEHICLE_DETECTORS: dict[str, VehicleDetectorFactory] = {
    "yolo-onnx": _yolo("yolo_onnx", "vehicle"),
    "yolo-ultralytics": _yolo("yolo_ultralytics", "vehicle"),
    **_catalogue(ModelSlot.VEHICLE_DETECTOR),
}

#: The plate detector ``auto`` picks without user plate weights: text lines of the shipped
#: PP-OCR text detector plus contour proposals (docs/recognition.md has the comparison).
DEFAULT_PLATE_DETECTOR = "text+contour"
#: The plate reader ``auto`` picks without an installed catalogue recogniser.
DEFAULT_PLATE_READER = "rapidocr"

#: Which registered backend runs a user weights file of each suffix under ``auto``.
WEIGHTS_BACKENDS: dict[str, str] = {".onnx": "yolo-onnx", ".pt": "yolo-ultralytics"}


def _unknown(what: str, name: str, registry: Mapping[str, object], extra: tuple[str, ...]) -> str:
    names = ", ".join([*extra, *sorted(registry)])
    return f"unknown {what} {name!r}; available: {names}"


def _weights_backend(
    settings: Settings, kind: WeightsKind, registry: Mapping[str, object]
) -> str | None:
    """Name of the registered backend for the user's ``kind`` weights, None when none."""
    path: Path | None = find_weights(settings.models_dir, kind)
    if path is None:
        return None
    backend = WEIGHTS_BACKENDS.get(path.suffix.lower())
    if backend is None or backend not in registry:
        raise BackendUnavailable(
            f"{kind} weights {path} found but no backend for {path.suffix} files is installed"
            f" (registered: {', '.join(sorted(registry)) or 'none'})"
        )
    log.info("%s detector: %s on %s", kind, backend, path)
    return backend


def resolve_plate_detector(settings: Settings) -> str:
    """The plate detector's registry name, ``auto`` resolved (see module doc)."""
    if settings.plate_detector != "auto":
        return settings.plate_detector
    return (
        _weights_backend(settings, "plate", PLATE_DETECTORS)
        or best_installed(settings.models_dir, ModelSlot.PLATE_DETECTOR)
        or DEFAULT_PLATE_DETECTOR
    )


def resolve_plate_reader(settings: Settings) -> str:
    """The plate reader's registry name, ``auto`` resolved (see module doc)."""
    if settings.plate_reader != "auto":
        return settings.plate_reader
    return best_installed(settings.models_dir, ModelSlot.PLATE_READER) or DEFAULT_PLATE_READER


def resolve_vehicle_detector(settings: Settings) -> str | None:
    """The vehicle detector's registry name, ``auto`` resolved; None: no vehicle
    detector (``none``, or ``auto`` with no vehicle model at all)."""
    name = settings.vehicle_detector
    if name == "none":
        return None
    if name != "auto":
        return name
    return _weights_backend(settings, "vehicle", VEHICLE_DETECTORS) or best_installed(
        settings.models_dir, ModelSlot.VEHICLE_DETECTOR
    )


def make_plate_detector(settings: Settings) -> PlateDetector:
    """The plate detector named by ``settings.plate_detector`` (``auto``: see module doc)."""
    name = resolve_plate_detector(settings)
    factory = PLATE_DETECTORS.get(name)
    if factory is None:
        raise BackendUnavailable(_unknown("plate detector", name, PLATE_DETECTORS, ("auto",)))
    return factory(settings)


def make_plate_reader(settings: Settings) -> PlateReader:
    """The OCR backend named by ``settings.plate_reader`` (``auto``: see module doc)."""
    name = resolve_plate_reader(settings)
    factory = PLATE_READERS.get(name)
    if factory is None:
        raise BackendUnavailable(_unknown("plate reader", name, PLATE_READERS, ("auto",)))
    return factory(settings)


def make_vehicle_detector(settings: Settings) -> VehicleDetector | None:
    """The vehicle detector named by ``settings.vehicle_detector``; None for ``none`` or
    for ``auto`` without any vehicle model (plate-only operation)."""
    name = resolve_vehicle_detector(settings)
    if name is None:
        return None
    factory = VEHICLE_DETECTORS.get(name)
    if factory is None:
        raise BackendUnavailable(
            _unknown("vehicle detector", name, VEHICLE_DETECTORS, ("auto", "none"))
        )
    return factory(settings)
