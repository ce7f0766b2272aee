"""Pure numpy pieces of a YOLO detector: letterbox, output decoding, class-wise NMS, names.

No model runtime is imported here; :mod:`dashcam.backends.yolo_onnx` feeds these with
onnxruntime and :mod:`dashcam.backends.yolo_ultralytics` borrows the names helpers.

Output layouts (``layout``):

- ``"v8"``  — YOLOv8/v11 ``(1, 4 + nc, N)``: ``cx, cy, w, h`` then one score per class;
- ``"v5"``  — YOLOv5/v7 ``(1, N, 5 + nc)``: ``cx, cy, w, h, objectness`` then class scores;
- ``"e2e"`` — NMS-free exports (YOLOv10/26 ``end2end``) ``(1, N, 6)``: ``x1, y1, x2, y2,
  score, class``;
- ``"nms7"`` — exports with NMS inside the graph, as open-image-models publishes its
  YOLOv9 plate detectors: ``(N, 7)`` rows ``batch, x1, y1, x2, y2, class, score``;
- ``"yolox"`` — YOLOX exports ``(1, N, 5 + nc)`` with the boxes still relative to their
  grid cell (strides 8, 16, 32): :func:`yolox_grid` turns them into the ``"v5"`` layout.

How the image goes in differs by family (:class:`InputStyle`): ultralytics and
open-image-models centre it on grey padding, RGB in 0..1; YOLOX puts it in the top-left
corner, BGR in 0..255.
"""

from __future__ import annotations

import ast
import json
from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from typing import Literal

import cv2
import numpy as np
from numpy.typing import NDArray

from dashcam.domain.detections import Detections, FloatArray, IntArray

Layout = Literal["v8", "v5", "e2e", "nms7", "yolox"]

#: Grey that ultralytics pads with, so exported models see what they were trained on.
PAD_VALUE = 114

#: Class ids of the 80 COCO classes, as YOLO checkpoints trained on COCO number them.
COCO_NAMES: tuple[str, ...] = (
    "person", "bicycle", "car", "motorcycle", "airplane", "bus", "train", "truck", "boat",
    "traffic light", "fire hydrant", "stop sign", "parking meter", "bench", "bird", "cat",
    "dog", "horse", "sheep", "cow", "elephant", "bear", "zebra", "giraffe", "backpack",
    "umbrella", "handbag", "tie", "suitcase", "frisbee", "skis", "snowboard", "sports ball",
    "kite", "baseball bat", "baseball glove", "skateboard", "surfboard", "tennis racket",
    "bottle", "wine glass", "cup", "fork", "knife", "spoon", "bowl", "banana", "apple",
    "sandwich", "orange", "broccoli", "carrot", "hot dog", "pizza", "donut", "cake", "chair",
    "couch", "potted plant", "bed", "dining table", "toilet", "tv", "laptop", "mouse",
    "remote", "keyboard", "cell phone", "microwave", "oven", "toaster", "sink",
    "refrigerator", "book", "clock", "vase", "scissors", "teddy bear", "hair drier",
    "toothbrush",
)  # fmt: skip

#: What the vehicle detector keeps from a COCO-style model.
VEHICLE_CLASSES: tuple[str, ...] = ("car", "truck", "bus", "motorcycle")


@dataclass(frozen=True)
class InputStyle:
    """How a model family wants its letterboxed input: image centred (else top-left),
    RGB (else BGR), pixel values scaled to 0..1 (else 0..255)."""

    centre: bool = True
    rgb: bool = True
    unit_scale: bool = True


#: ultralytics and open-image-models exports.
ULTRALYTICS_INPUT = InputStyle()
#: YOLOX exports (its ``preproc``: top-left, BGR, no scaling).
YOLOX_INPUT = InputStyle(centre=False, rgb=False, unit_scale=False)

#: Strides of the YOLOX heads, finest first.
YOLOX_STRIDES: tuple[int, ...] = (8, 16, 32)


@dataclass(frozen=True)
class Letterbox:
    """How an image was fitted into the model input: ``model = image * scale + (pad_x, pad_y)``."""

    scale: float
    pad_x: float
    pad_y: float

    def to_image(self, xyxy: FloatArray, image_wh: tuple[int, int]) -> FloatArray:
        """Boxes in model-input pixels -> boxes in original image pixels, clipped to it."""
        out = xyxy.astype(np.float32).copy()
        out[:, [0, 2]] = (out[:, [0, 2]] - self.pad_x) / self.scale
        out[:, [1, 3]] = (out[:, [1, 3]] - self.pad_y) / self.scale
        w, h = image_wh
        out[:, [0, 2]] = np.clip(out[:, [0, 2]], 0, w)
        out[:, [1, 3]] = np.clip(out[:, [1, 3]], 0, h)
        return out


def letterbox(
    image: NDArray[np.uint8], input_hw: tuple[int, int], style: InputStyle = ULTRALYTICS_INPUT
) -> tuple[NDArray[np.float32], Letterbox]:
    """BGR ``(H, W, 3)`` uint8 -> model tensor ``(1, 3, h, w)`` float32 (RGB in 0..1 by
    default; see :class:`InputStyle`).

    The image is scaled to fit ``input_hw`` keeping its aspect ratio and centred on
    grey padding, as ultralytics does (YOLOX: in the top-left corner).

    >>> t, lb = letterbox(np.zeros((96, 128, 3), np.uint8), (64, 64))
    >>> t.shape, lb
    ((1, 3, 64, 64), Letterbox(scale=0.5, pad_x=0.0, pad_y=8.0))
    """
    if image.ndim != 3 or image.shape[2] != 3:
        raise ValueError(f"image: expected shape (H, W, 3), got {image.shape}")
    h, w = image.shape[:2]
    in_h, in_w = input_hw
    scale = min(in_h / h, in_w / w)
    new_w, new_h = round(w * scale), round(h * scale)
    resized: NDArray[np.uint8] = image
    if (new_w, new_h) != (w, h):
        resized = np.asarray(
            cv2.resize(image, (new_w, new_h), interpolation=cv2.INTER_LINEAR), dtype=np.uint8
        )
    top = left = 0
    if style.centre:
        pad_x, pad_y = (in_w - new_w) / 2, (in_h - new_h) / 2
        top, left = round(pad_y - 0.1), round(pad_x - 0.1)
    canvas = np.full((in_h, in_w, 3), PAD_VALUE, dtype=np.uint8)
    canvas[top : top + new_h, left : left + new_w] = resized
    channels = canvas[:, :, ::-1] if style.rgb else canvas
    tensor = channels.transpose(2, 0, 1)[None].astype(np.float32)
    if style.unit_scale:
        tensor /= 255.0
    return np.ascontiguousarray(tensor), Letterbox(scale, float(left), float(top))


def yolox_grid(output: NDArray[np.floating], input_hw: tuple[int, int]) -> NDArray[np.float32]:
    """A YOLOX export's raw ``(1, N, 5 + nc)`` output with its boxes in input pixels.

    YOLOX predicts, per cell of each stride's grid (row-major, finest stride first),
    ``dx, dy, log w, log h``: the centre is ``(cell + d) * stride`` and the size
    ``exp(log size) * stride``. Objectness and class scores are already probabilities.

    >>> raw = np.zeros((1, 4 * 4 + 2 * 2 + 1, 6), np.float32)
    >>> yolox_grid(raw, (32, 32))[0, 1, :4].tolist()  # second cell of the 8 px grid
    [8.0, 0.0, 8.0, 8.0]
    """
    out = np.array(output, dtype=np.float32, copy=True)
    if out.ndim == 2:
        out = out[None]
    in_h, in_w = input_hw
    grids: list[NDArray[np.float32]] = []
    strides: list[NDArray[np.float32]] = []
    for stride in YOLOX_STRIDES:
        gh, gw = in_h // stride, in_w // stride
        ys, xs = np.meshgrid(np.arange(gh), np.arange(gw), indexing="ij")
        grids.append(np.stack([xs.ravel(), ys.ravel()], axis=1).astype(np.float32))
        strides.append(np.full((gh * gw, 1), stride, np.float32))
    grid, stride_col = np.concatenate(grids), np.concatenate(strides)
    if out.shape[1] != len(grid):
        raise ValueError(
            f"YOLOX output: expected {len(grid)} rows for input {in_w}x{in_h} "
            f"(strides {YOLOX_STRIDES}), got {out.shape[1]}"
        )
    out[0, :, :2] = (out[0, :, :2] + grid) * stride_col
    out[0, :, 2:4] = np.exp(out[0, :, 2:4]) * stride_col
    return out


def guess_layout(shape: Sequence[int], num_classes: int | None) -> Layout:
    """Which layout a raw output of ``shape`` has (see module docstring)."""
    if len(shape) != 3:
        raise ValueError(f"YOLO output: expected shape (1, C, N) or (1, N, C), got {tuple(shape)}")
    _, a, b = shape
    if num_classes is not None:
        if a == 4 + num_classes:
            return "v8"
        if b == 5 + num_classes:
            return "v5"
    if b == 6 and a > 6:
        return "e2e"
    if a == 4 + len(COCO_NAMES) or b == 5 + len(COCO_NAMES):  # the most common case
        return "v8" if a == 4 + len(COCO_NAMES) else "v5"
    # Real exports have thousands of anchors and few classes.
    return "v8" if a < b else "v5"


def decode(
    output: NDArray[np.floating],
    layout: Layout,
    conf_threshold: float,
    input_hw: tuple[int, int] | None = None,
) -> tuple[FloatArray, FloatArray, IntArray]:
    """Raw output of one image -> ``(xyxy (M,4), confidence (M,), class_id (M,))`` above
    ``conf_threshold``, in model-input pixels, best class per candidate, not yet NMS'd.
    ``input_hw`` (the model input size) is needed by the ``"yolox"`` layout only."""
    out = np.asarray(output, dtype=np.float32)
    if layout == "nms7":
        rows = out.reshape(-1, 7)
        rows = rows[rows[:, 6] >= conf_threshold]
        return rows[:, 1:5].copy(), rows[:, 6].copy(), rows[:, 5].astype(np.int64)
    if layout == "yolox":
        if input_hw is None:
            raise ValueError("YOLOX output: decoding needs the model input size")
        out, layout = yolox_grid(out, input_hw), "v5"
    if out.ndim == 3:
        out = out[0]
    if layout == "e2e":
        keep = out[:, 4] >= conf_threshold
        rows = out[keep]
        return rows[:, :4].copy(), rows[:, 4].copy(), rows[:, 5].astype(np.int64)
    if layout == "v8":
        rows = out.T
        class_scores = rows[:, 4:]
    else:
        rows = out
        class_scores = rows[:, 5:] * rows[:, 4:5]
    if class_scores.shape[1] == 0:
        raise ValueError(f"YOLO output: no class columns in {layout} layout of {output.shape}")
    class_id = class_scores.argmax(axis=1)
    conf = class_scores[np.arange(len(rows)), class_id]
    keep = conf >= conf_threshold
    cxcywh = rows[keep, :4]
    xyxy = np.concatenate(
        [cxcywh[:, :2] - cxcywh[:, 2:] / 2, cxcywh[:, :2] + cxcywh[:, 2:] / 2], axis=1
    )
    return xyxy.astype(np.float32), conf[keep].astype(np.float32), class_id[keep].astype(np.int64)


def nms(
    xyxy: FloatArray,
    confidence: FloatArray,
    class_id: IntArray,
    iou_threshold: float,
    max_det: int = 300,
) -> IntArray:
    """Indices kept by greedy class-wise non-maximum suppression, best first.

    Boxes of different classes never suppress each other.

    >>> b = np.array([[0, 0, 10, 10], [1, 1, 10, 10], [0, 0, 10, 10]], np.float32)
    >>> nms(b, np.array([0.9, 0.8, 0.7], np.float32), np.array([0, 0, 1]), 0.5).tolist()
    [0, 2]
    """
    x1, y1, x2, y2 = (np.ascontiguousarray(xyxy[:, k], dtype=np.float64) for k in range(4))
    area = np.clip(x2 - x1, 0, None) * np.clip(y2 - y1, 0, None)
    order = np.argsort(-confidence, kind="stable")
    kept: list[int] = []
    # Global score order, so it can stop at max_det; flat columns keep the loop cheap.
    while order.size and len(kept) < max_det:
        i = int(order[0])
        kept.append(i)
        rest = order[1:]
        iw = np.clip(np.minimum(x2[i], x2[rest]) - np.maximum(x1[i], x1[rest]), 0, None)
        ih = np.clip(np.minimum(y2[i], y2[rest]) - np.maximum(y1[i], y1[rest]), 0, None)
        inter = iw * ih
        overlap = inter > iou_threshold * np.maximum(area[i] + area[rest] - inter, 1e-9)
        order = rest[~overlap | (class_id[rest] != class_id[i])]
    keep = np.asarray(kept, dtype=np.int64)
    return keep


def select(
    xyxy: FloatArray,
    confidence: FloatArray,
    class_id: IntArray,
    *,
    iou_threshold: float,
    max_det: int,
    allowed: IntArray | None = None,
) -> Detections:
    """Class filter then NMS: the final :class:`Detections` of candidate boxes."""
    if allowed is not None:
        mask = np.isin(class_id, allowed)
        xyxy, confidence, class_id = xyxy[mask], confidence[mask], class_id[mask]
    if len(xyxy) == 0:
        return Detections.empty()
    kept = nms(xyxy, confidence, class_id, iou_threshold, max_det)
    return Detections(xyxy=xyxy[kept], confidence=confidence[kept], class_id=class_id[kept])


def parse_names(raw: str | Mapping[object, object] | Sequence[str] | None) -> list[str] | None:
    """Class names from model metadata, as ultralytics exports them, or ``None``.

    Accepts ``"{0: 'person', 1: 'car'}"`` (python-literal string), JSON, a mapping of
    index to name, or a list.

    >>> parse_names("{0: 'person', 2: 'car'}")
    ['person', 'class_1', 'car']
    """
    value: object = raw
    if isinstance(raw, str):
        try:
            value = ast.literal_eval(raw)
        except (ValueError, SyntaxError):
            try:
                value = json.loads(raw)
            except ValueError:
                return None
    if isinstance(value, Mapping):
        try:
            by_index = {int(str(k)): str(v) for k, v in value.items()}
        except ValueError:
            return None
        if not by_index or min(by_index) < 0:
            return None
        return [by_index.get(i, f"class_{i}") for i in range(max(by_index) + 1)]
    if isinstance(value, list | tuple) and all(isinstance(v, str) for v in value):
        return [str(v) for v in value]
    return None


def default_names(num_classes: int) -> list[str]:
    """COCO names for an 80-class model, else ``class_0, class_1, ...``."""
    if num_classes == len(COCO_NAMES):
        return list(COCO_NAMES)
    return [f"class_{i}" for i in range(num_classes)]


def class_ids_for(names: Sequence[str], wanted: Sequence[str]) -> tuple[IntArray, list[str]]:
    """Ids of the ``wanted`` names in ``names`` and the wanted names the model lacks."""
    index = {n: i for i, n in enumerate(names)}
    ids = np.asarray([index[w] for w in wanted if w in index], dtype=np.int64)
    return ids, [w for w in wanted if w not in index]
