"""YOLO detector through ultralytics (``.pt`` weights): the optional ``yolo`` extra.

Same interface as :class:`~dashcam.backends.yolo_onnx.YoloOnnxDetector`. ultralytics (and
torch) are imported when a detector is built, never at import time of this module.
Prefer exporting to ONNX (``yolo export model=x.pt format=onnx``) where torch is a burden.
"""

from __future__ import annotations

import logging
from collections.abc import Sequence
from pathlib import Path
from typing import Any, Literal

import numpy as np

from dashcam.backends.protocols import ImageBGR
from dashcam.backends.weights import require_weights
from dashcam.backends.yolo_output import VEHICLE_CLASSES, class_ids_for, parse_names, select
from dashcam.config import Settings
from dashcam.domain.detections import Detections
from dashcam.errors import BackendUnavailable, InputError

log = logging.getLogger(__name__)

INSTALL_HINT = "pip install 'dashcam[yolo]'"


def import_ultralytics() -> Any:
    """The ``ultralytics`` module, or :class:`BackendUnavailable` with the install hint."""
    try:
        import ultralytics
    except Exception as exc:  # ImportError, or a broken torch/torchvision underneath
        raise BackendUnavailable(
            f"yolo: ultralytics does not import ({type(exc).__name__}: {exc}); {INSTALL_HINT}, "
            "or export the weights to .onnx and use the yolo-onnx backend"
        ) from exc
    return ultralytics


def _cuda_available() -> bool:
    try:
        import torch
    except Exception:
        return False
    return bool(torch.cuda.is_available())


class YoloUltralyticsDetector:
    """A ``.pt`` (or any ultralytics-loadable) YOLO model; boxes in original image pixels.

    ``classes`` keeps only those class names (``None``: all). ``device="auto"`` uses the
    first CUDA GPU when torch sees one.
    """

    name = "yolo-ultralytics"

    def __init__(
        self,
        path: Path,
        *,
        classes: Sequence[str] | None = None,
        conf_threshold: float = 0.25,
        iou_threshold: float = 0.45,
        max_det: int = 300,
        imgsz: int = 640,
        device: Literal["auto", "cpu", "cuda"] = "auto",
    ) -> None:
        path = Path(path)
        if not path.is_file():
            raise BackendUnavailable(f"yolo: weights file not found: {path}")
        ultralytics = import_ultralytics()
        if device == "cuda" and not _cuda_available():
            raise BackendUnavailable("yolo: device='cuda' but torch sees no CUDA GPU")
        self.device = "cuda:0" if device != "cpu" and _cuda_available() else "cpu"
        self.path = path
        self.conf_threshold = conf_threshold
        self.iou_threshold = iou_threshold
        self.max_det = max_det
        self.imgsz = imgsz
        try:
            self._model = ultralytics.YOLO(str(path))
        except Exception as exc:
            raise BackendUnavailable(f"yolo: cannot load {path}: {exc}") from exc
        names = parse_names(getattr(self._model, "names", None)) or []
        self.class_names: list[str] = names
        self._allowed: np.ndarray[Any, np.dtype[np.int64]] | None = None
        if classes is not None:
            ids, missing = class_ids_for(self.class_names, classes)
            if missing:
                raise InputError(f"{path}: model has no class {', '.join(missing)}")
            self._allowed = ids
        self._predict(np.zeros((imgsz, imgsz, 3), dtype=np.uint8))  # warm-up
        log.info(
            "yolo: loaded %s on %s (%d classes)", path.name, self.device, len(self.class_names)
        )

    @classmethod
    def for_vehicles(cls, path: Path, **kwargs: Any) -> YoloUltralyticsDetector:
        """Keeps car/truck/bus/motorcycle when the model has them, else every class."""
        det = cls(path, **kwargs)
        ids, _ = class_ids_for(det.class_names, VEHICLE_CLASSES)
        if len(ids):
            det._allowed = ids
        return det

    def _predict(self, image: ImageBGR) -> Detections:
        results = self._model.predict(
            image,
            conf=self.conf_threshold,
            iou=self.iou_threshold,
            max_det=self.max_det,
            imgsz=self.imgsz,
            device=self.device,
            verbose=False,
        )
        boxes = results[0].boxes
        return select(
            np.asarray(boxes.xyxy.cpu().numpy(), dtype=np.float32).reshape(-1, 4),
            np.asarray(boxes.conf.cpu().numpy(), dtype=np.float32).reshape(-1),
            np.asarray(boxes.cls.cpu().numpy(), dtype=np.int64).reshape(-1),
            iou_threshold=self.iou_threshold,
            max_det=self.max_det,
            allowed=self._allowed,
        )

    def detect(self, image: ImageBGR, regions: Detections | None = None) -> Detections:
        """Boxes in ``image`` pixels; with ``regions`` only inside those boxes."""
        if image.ndim != 3 or image.shape[2] != 3 or image.dtype != np.uint8:
            raise InputError(f"image: expected (H, W, 3) uint8, got {image.shape} {image.dtype}")
        if regions is None:
            return self._predict(image)
        h, w = image.shape[:2]
        parts: list[Detections] = []
        for box in regions.xyxy:
            x1, y1 = max(0, int(box[0])), max(0, int(box[1]))
            x2, y2 = min(w, int(np.ceil(box[2]))), min(h, int(np.ceil(box[3])))
            if x2 - x1 < 2 or y2 - y1 < 2:
                continue
            found = self._predict(np.ascontiguousarray(image[y1:y2, x1:x2]))
            offset = np.array([x1, y1, x1, y1], dtype=np.float32)
            parts.append(Detections(found.xyxy + offset, found.confidence, found.class_id))
        if not parts:
            return Detections.empty()
        return select(
            np.concatenate([p.xyxy for p in parts]),
            np.concatenate([p.confidence for p in parts]),
            np.concatenate([p.class_id for p in parts]),
            iou_threshold=self.iou_threshold,
            max_det=self.max_det,
        )


def vehicle_detector(settings: Settings) -> YoloUltralyticsDetector:
    """Registry factory: the vehicle model (``*.pt``) in ``settings.models_dir``."""
    path = require_weights(settings.models_dir, "vehicle", ".pt")
    return YoloUltralyticsDetector.for_vehicles(path)


def plate_detector(settings: Settings) -> YoloUltralyticsDetector:
    """Registry factory: the plate model (``*plate*.pt``) in ``settings.models_dir``."""
    return YoloUltralyticsDetector(require_weights(settings.models_dir, "plate", ".pt"))
