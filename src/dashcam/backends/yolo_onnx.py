"""YOLO detector on onnxruntime: user-supplied ``.onnx`` weights, no torch needed.

Works as a :class:`~dashcam.backends.protocols.VehicleDetector` (COCO-style model,
``classes=VEHICLE_CLASSES``) and as a :class:`~dashcam.backends.protocols.PlateDetector`
(a plate model, ``detect(image, regions)``). Uses CUDA when onnxruntime offers it.
"""

from __future__ import annotations

import logging
from collections.abc import Sequence
from pathlib import Path
from typing import TYPE_CHECKING, Any, Literal

import numpy as np

from dashcam.backends.protocols import ImageBGR
from dashcam.backends.weights import require_weights
from dashcam.backends.yolo_output import (
    ULTRALYTICS_INPUT,
    VEHICLE_CLASSES,
    InputStyle,
    Layout,
    class_ids_for,
    decode,
    default_names,
    guess_layout,
    letterbox,
    parse_names,
    select,
)
from dashcam.config import Settings
from dashcam.domain.detections import Detections
from dashcam.errors import BackendUnavailable, InputError

if TYPE_CHECKING:
    import onnxruntime

log = logging.getLogger(__name__)

Device = Literal["auto", "cpu", "cuda"]
INSTALL_HINT = "pip install onnxruntime (or onnxruntime-gpu for CUDA)"


def _providers(ort: Any, device: Device) -> list[str]:
    available = set(ort.get_available_providers())
    if device == "cuda" and "CUDAExecutionProvider" not in available:
        raise BackendUnavailable(
            "yolo-onnx: device='cuda' but onnxruntime has no CUDAExecutionProvider "
            f"(available: {sorted(available)}); install onnxruntime-gpu"
        )
    if device != "cpu" and "CUDAExecutionProvider" in available:
        return ["CUDAExecutionProvider", "CPUExecutionProvider"]
    return ["CPUExecutionProvider"]


def _fixed(dim: object) -> int | None:
    return dim if isinstance(dim, int) and dim > 0 else None


class YoloOnnxDetector:
    """A YOLOv5/v8/v11 ``.onnx`` export run with onnxruntime (also YOLOX and the
    open-image-models YOLOv9 exports, given their ``layout`` and ``style``).

    ``classes`` keeps only those class names (``None`` keeps all); a name the model does
    not have is an :class:`InputError`. ``imgsz`` is used only when the model's input size
    is dynamic. ``class_names`` overrides the names read from the model's metadata;
    ``name`` is what ``model_info`` reports (default ``yolo-onnx``). Boxes come back in
    original image pixels.

    >>> det = YoloOnnxDetector(Path("models/yolov8n.onnx"), classes=VEHICLE_CLASSES)
    ... # doctest: +SKIP
    >>> det.detect(frame).xyxy.shape  # doctest: +SKIP
    (3, 4)
    """

    name = "yolo-onnx"

    def __init__(
        self,
        path: Path,
        *,
        classes: Sequence[str] | None = None,
        conf_threshold: float = 0.25,
        iou_threshold: float = 0.45,
        max_det: int = 300,
        imgsz: int = 640,
        layout: Layout | Literal["auto"] = "auto",
        device: Device = "auto",
        region_margin: float = 0.1,
        style: InputStyle = ULTRALYTICS_INPUT,
        class_names: Sequence[str] | None = None,
        name: str | None = None,
    ) -> None:
        path = Path(path)
        if name is not None:
            self.name = name
        self.style = style
        if not path.is_file():
            raise BackendUnavailable(f"yolo-onnx: weights file not found: {path}")
        try:
            import onnxruntime as ort
        except ImportError as exc:
            raise BackendUnavailable(
                f"yolo-onnx: onnxruntime does not import ({INSTALL_HINT})"
            ) from exc
        self.path = path
        self.conf_threshold = conf_threshold
        self.iou_threshold = iou_threshold
        self.max_det = max_det
        self.region_margin = region_margin
        try:
            self._session: onnxruntime.InferenceSession = ort.InferenceSession(
                str(path), providers=_providers(ort, device)
            )
        except BackendUnavailable:
            raise
        except Exception as exc:  # onnxruntime raises its own untyped errors
            raise BackendUnavailable(f"yolo-onnx: cannot load {path}: {exc}") from exc
        self.providers: list[str] = list(self._session.get_providers())
        model_input = self._session.get_inputs()[0]
        self._input_name: str = model_input.name
        shape = list(model_input.shape)
        if len(shape) != 4:
            raise InputError(f"{path}: expected an NCHW image input, got shape {shape}")
        self.input_hw: tuple[int, int] = (_fixed(shape[2]) or imgsz, _fixed(shape[3]) or imgsz)
        meta = self._session.get_modelmeta().custom_metadata_map or {}
        names = list(class_names) if class_names is not None else parse_names(meta.get("names"))

        # Warm-up doubles as the probe for the output layout and class count.
        raw = self._run(np.zeros((1, 3, *self.input_hw), dtype=np.float32))
        if layout == "auto":
            end2end = str(meta.get("end2end", "")).lower() == "true"
            if raw.ndim == 2 and raw.shape[1] == 7:
                layout = "nms7"
            elif end2end:
                layout = "e2e"
            else:
                layout = guess_layout(raw.shape, len(names) if names else None)
        self.layout: Layout = layout
        if names is None:
            nc = {"v8": raw.shape[1] - 4, "v5": raw.shape[2] - 5, "yolox": raw.shape[-1] - 5}.get(
                layout, 0
            )
            names = default_names(nc) if nc > 0 else list(default_names(80))
        self.class_names: list[str] = names
        self._allowed: np.ndarray[Any, np.dtype[np.int64]] | None = None
        if classes is not None:
            ids, missing = class_ids_for(names, classes)
            if missing:
                raise InputError(
                    f"{path}: model has no class {', '.join(missing)} "
                    f"(it has: {', '.join(names[:20])}{' ...' if len(names) > 20 else ''})"
                )
            self._allowed = ids
        log.info(
            "yolo-onnx: loaded %s (input %sx%s, layout %s, %d classes, %s)",
            path.name, self.input_hw[1], self.input_hw[0], layout, len(names), self.providers[0],
        )  # fmt: skip

    @classmethod
    def for_vehicles(cls, path: Path, **kwargs: Any) -> YoloOnnxDetector:
        """A vehicle detector: keeps car/truck/bus/motorcycle when the model has them
        (a COCO model), else every class (a model trained on vehicles only)."""
        probe = cls(path, **kwargs)
        ids, _ = class_ids_for(probe.class_names, VEHICLE_CLASSES)
        if len(ids):
            probe._allowed = ids
        return probe

    def _run(self, tensor: np.ndarray[Any, np.dtype[np.float32]]) -> np.ndarray[Any, Any]:
        outputs = self._session.run(None, {self._input_name: tensor})
        return np.asarray(outputs[0])

    def _detect_full(self, image: ImageBGR) -> Detections:
        tensor, lb = letterbox(image, self.input_hw, self.style)
        xyxy, conf, cls_id = decode(
            self._run(tensor), self.layout, self.conf_threshold, self.input_hw
        )
        xyxy = lb.to_image(xyxy, (image.shape[1], image.shape[0]))
        return select(
            xyxy, conf, cls_id,
            iou_threshold=self.iou_threshold, max_det=self.max_det, allowed=self._allowed,
        )  # fmt: skip

    def detect(self, image: ImageBGR, regions: Detections | None = None) -> Detections:
        """Boxes in ``image`` pixels; ``class_id`` indexes :attr:`class_names`.

        With ``regions`` (e.g. vehicle boxes) only those parts of the image are searched,
        each grown by ``region_margin`` of its size; no regions means no detections.
        """
        if image.ndim != 3 or image.shape[2] != 3 or image.dtype != np.uint8:
            raise InputError(f"image: expected (H, W, 3) uint8, got {image.shape} {image.dtype}")
        if regions is None:
            return self._detect_full(image)
        h, w = image.shape[:2]
        parts: list[Detections] = []
        for box in regions.xyxy:
            mx, my = (box[2] - box[0]) * self.region_margin, (box[3] - box[1]) * self.region_margin
            x1, y1 = max(0, int(box[0] - mx)), max(0, int(box[1] - my))
            x2, y2 = min(w, int(np.ceil(box[2] + mx))), min(h, int(np.ceil(box[3] + my)))
            if x2 - x1 < 2 or y2 - y1 < 2:
                continue
            found = self._detect_full(np.ascontiguousarray(image[y1:y2, x1:x2]))
            if len(found):
                offset = np.array([x1, y1, x1, y1], dtype=np.float32)
                parts.append(Detections(found.xyxy + offset, found.confidence, found.class_id))
        if not parts:
            return Detections.empty()
        # Overlapping regions can see the same object twice.
        return select(
            np.concatenate([p.xyxy for p in parts]),
            np.concatenate([p.confidence for p in parts]),
            np.concatenate([p.class_id for p in parts]),
            iou_threshold=self.iou_threshold,
            max_det=self.max_det,
        )


def vehicle_detector(settings: Settings) -> YoloOnnxDetector:
    """Registry factory: the vehicle model (``*.onnx``) in ``settings.models_dir``."""
    return YoloOnnxDetector.for_vehicles(require_weights(settings.models_dir, "vehicle", ".onnx"))


def plate_detector(settings: Settings) -> YoloOnnxDetector:
    """Registry factory: the plate model (``*plate*.onnx``) in ``settings.models_dir``."""
    return YoloOnnxDetector(require_weights(settings.models_dir, "plate", ".onnx"))
