"""The models ``dashcam models`` knows: where each is published, its licence, its format.

Pure data. Nothing here downloads anything: :mod:`dashcam.backends.model_fetch` fetches a
model when the user runs ``dashcam models get NAME``, and :mod:`dashcam.backends.registry`
only ever uses what :mod:`dashcam.backends.model_store` says is installed.

Every model here is published under a permissive licence (MIT or Apache-2.0, as its
publisher states it). ``rank`` orders the models of one slot for ``auto``: higher is the
stronger model by its publisher's own accuracy figures (docs/models.md has them).
"""

from __future__ import annotations

from dataclasses import dataclass
from enum import StrEnum


class ModelSlot(StrEnum):
    """The pipeline slot a model fills (the setting of the same name chooses it)."""

    VEHICLE_DETECTOR = "vehicle_detector"
    PLATE_DETECTOR = "plate_detector"
    PLATE_READER = "plate_reader"


class ModelFormat(StrEnum):
    """How a model's files are read, i.e. which backend runs it."""

    #: YOLOX COCO detectors exported to ONNX by the YOLOX project.
    YOLOX = "yolox"
    #: open-image-models' YOLOv9 plate detectors: ONNX with NMS in the graph.
    OIM_YOLOV9 = "open-image-models-yolov9"
    #: fast-plate-ocr recognisers: ONNX plus a plate config (YAML).
    FAST_PLATE_OCR = "fast-plate-ocr"


@dataclass(frozen=True)
class ModelFile:
    """One file of a model: where its publisher serves it and the name it is saved as."""

    url: str
    file_name: str


@dataclass(frozen=True)
class ModelSpec:
    """A model in the catalogue.

    ``files[0]`` is the network itself (``.onnx``); a fast-plate-ocr model has its plate
    config as ``files[1]``. ``input_size`` is ``(height, width)`` as published;
    ``approx_mb`` the size its publisher lists, only a guide (the manifest records the
    exact size of what was downloaded).
    """

    name: str
    slot: ModelSlot
    format: ModelFormat
    files: tuple[ModelFile, ...]
    licence: str
    publisher: str
    project_url: str
    input_size: tuple[int, int]
    approx_mb: float
    rank: int
    note: str = ""

    @property
    def url(self) -> str:
        return self.files[0].url


_OIM = "https://github.com/ankandrew/open-image-models/releases/download/assets"
_FPO = "https://github.com/ankandrew/cnn-ocr-lp/releases/download/arg-plates"
_YOLOX = "https://github.com/Megvii-BaseDetection/YOLOX/releases/download/0.1.1rc0"


def _oim(size: int, rank: int, note: str) -> ModelSpec:
    return ModelSpec(
        name=f"yolo-v9-t-{size}-license-plate-end2end",
        slot=ModelSlot.PLATE_DETECTOR,
        format=ModelFormat.OIM_YOLOV9,
        files=(
            ModelFile(
                f"{_OIM}/yolo-v9-t-{size}-license-plates-end2end.onnx",
                f"yolo-v9-t-{size}-license-plates-end2end.onnx",
            ),
        ),
        licence="MIT",
        publisher="open-image-models (ankandrew)",
        project_url="https://github.com/ankandrew/open-image-models",
        input_size=(size, size),
        approx_mb=7.4,
        rank=rank,
        note=note,
    )


def _fpo(name: str, stem: str, config: str, rank: int, approx_mb: float, note: str) -> ModelSpec:
    return ModelSpec(
        name=name,
        slot=ModelSlot.PLATE_READER,
        format=ModelFormat.FAST_PLATE_OCR,
        files=(
            ModelFile(f"{_FPO}/{stem}.onnx", f"{stem}.onnx"),
            ModelFile(f"{_FPO}/{config}.yaml", f"{config}.yaml"),
        ),
        licence="MIT",
        publisher="fast-plate-ocr (ankandrew)",
        project_url="https://github.com/ankandrew/fast-plate-ocr",
        input_size=(64, 128),
        approx_mb=approx_mb,
        rank=rank,
        note=note,
    )


def _yolox(size: str, input_px: int, rank: int, approx_mb: float, note: str) -> ModelSpec:
    return ModelSpec(
        name=f"yolox-{size}",
        slot=ModelSlot.VEHICLE_DETECTOR,
        format=ModelFormat.YOLOX,
        files=(ModelFile(f"{_YOLOX}/yolox_{size}.onnx", f"yolox_{size}.onnx"),),
        licence="Apache-2.0",
        publisher="YOLOX (Megvii)",
        project_url="https://github.com/Megvii-BaseDetection/YOLOX",
        input_size=(input_px, input_px),
        approx_mb=approx_mb,
        rank=rank,
        note=note,
    )


_MODELS: tuple[ModelSpec, ...] = (
    _oim(640, 40, "mAP50 0.959 (publisher)"),
    _oim(512, 30, "mAP50 0.950 (publisher)"),
    _oim(384, 20, "mAP50 0.921 (publisher); fast-alpr's default"),
    _oim(256, 10, "mAP50 0.858 (publisher)"),
    _fpo(
        "cct-s-v2-global-model", "cct_s_v2_global", "cct_s_v2_global_plate_config", 40, 5.0,
        "65+ countries, with a region (country) head",
    ),
    _fpo(
        "cct-xs-v2-global-model", "cct_xs_v2_global", "cct_xs_v2_global_plate_config", 30, 3.2,
        "65+ countries, with a region (country) head; fast-alpr's default",
    ),
    _fpo(
        "cct-s-v1-global-model", "cct_s_v1_global", "cct_s_v1_global_plate_config", 20, 5.0,
        "global, no region head",
    ),
    _fpo(
        "cct-xs-v1-global-model", "cct_xs_v1_global", "cct_xs_v1_global_plate_config", 10, 3.2,
        "global, no region head",
    ),
    _yolox("m", 640, 40, 97.0, "COCO mAP 46.4 (publisher)"),
    _yolox("s", 640, 30, 36.0, "COCO mAP 39.6 (publisher)"),
    _yolox("tiny", 416, 20, 20.0, "COCO mAP 31.7 (publisher)"),
    _yolox("nano", 416, 10, 3.6, "COCO mAP 25.3 (publisher)"),
)  # fmt: skip

#: Every known model by name.
CATALOGUE: dict[str, ModelSpec] = {m.name: m for m in _MODELS}


def models_for(slot: ModelSlot) -> list[ModelSpec]:
    """The catalogue's models of ``slot``, strongest first."""
    return sorted((m for m in _MODELS if m.slot == slot), key=lambda m: -m.rank)


def spec_for(name: str) -> ModelSpec | None:
    """The catalogue entry called ``name``, or None."""
    return CATALOGUE.get(name)
