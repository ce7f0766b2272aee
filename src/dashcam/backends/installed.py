"""Catalogue models as backends: open an installed model, pick the strongest per slot.

Only what the manifest lists, with files that match it, is ever opened (checked on every
load); nothing is downloaded here. See :mod:`dashcam.backends.catalogue`.
"""

from __future__ import annotations

import logging
from collections.abc import Sequence
from pathlib import Path
from typing import Any

from dashcam.backends.catalogue import CATALOGUE, ModelFormat, ModelSlot, ModelSpec
from dashcam.backends.model_store import read_manifest, require
from dashcam.errors import BackendUnavailable

log = logging.getLogger(__name__)

#: open-image-models' plate detectors have one class.
OIM_CLASS_NAMES: tuple[str, ...] = ("License Plate",)


def open_model(spec: ModelSpec, paths: Sequence[Path], *, threads: int = 0) -> Any:
    """The backend for ``spec`` on these files (``paths`` in ``spec.files`` order).

    Loading runs the model once (warm-up), so a file that is not a working model of its
    format raises here: :class:`BackendUnavailable` or
    :class:`~dashcam.errors.InputError`.
    """
    from dashcam.backends.yolo_output import YOLOX_INPUT

    if spec.format == ModelFormat.YOLOX:
        from dashcam.backends.yolo_onnx import YoloOnnxDetector

        return YoloOnnxDetector.for_vehicles(
            paths[0], layout="yolox", style=YOLOX_INPUT, name=spec.name
        )
    if spec.format == ModelFormat.OIM_YOLOV9:
        from dashcam.backends.yolo_onnx import YoloOnnxDetector

        return YoloOnnxDetector(
            paths[0], layout="nms7", class_names=OIM_CLASS_NAMES, name=spec.name
        )
    if spec.format == ModelFormat.FAST_PLATE_OCR:
        from dashcam.backends.fast_plate_ocr import FastPlateOcrReader
        from dashcam.resources import format_book

        return FastPlateOcrReader(
            paths[0], paths[1], threads=threads, name=spec.name,
            country_of=format_book().country_of,
        )  # fmt: skip
    raise BackendUnavailable(f"model {spec.name!r}: no backend for format {spec.format}")


def load_installed(models_dir: Path, name: str, *, threads: int = 0) -> Any:
    """Open the installed catalogue model ``name`` after checking its files."""
    spec = CATALOGUE[name]
    model = require(models_dir, name)
    paths = [model.path(models_dir, i) for i in range(len(model.files))]
    log.info("%s: %s (%s, %s)", spec.slot, name, spec.licence, model.folder(models_dir))
    return open_model(spec, paths, threads=threads)


def best_installed(models_dir: Path, slot: ModelSlot) -> str | None:
    """The strongest catalogue model of ``slot`` the manifest lists, or None.

    Whether its files still match is checked when it loads (a tampered file is then an
    error, not a silent fall back to a weaker model).
    """
    installed = read_manifest(models_dir)
    ranked = sorted(
        (CATALOGUE[n] for n in installed if n in CATALOGUE and CATALOGUE[n].slot == slot),
        key=lambda s: -s.rank,
    )
    return ranked[0].name if ranked else None
