"""The one core type between stages: parallel numpy arrays, validated on construction."""

from __future__ import annotations

from collections.abc import Iterator
from dataclasses import dataclass, field

import numpy as np
from numpy.typing import NDArray

FloatArray = NDArray[np.float32]
IntArray = NDArray[np.int64]


def _check(name: str, arr: NDArray[np.generic], shape: tuple[int | None, ...]) -> None:
    if arr.ndim != len(shape) or any(
        want is not None and got != want for got, want in zip(arr.shape, shape, strict=False)
    ):
        dims = ["N" if w is None else str(w) for w in shape]
        want_s = f"({dims[0]},)" if len(dims) == 1 else "(" + ", ".join(dims) + ")"
        raise ValueError(f"{name}: expected shape {want_s}, got {arr.shape}")


@dataclass(frozen=True)
class Detections:
    """N boxes of one frame.

    ``xyxy`` is (N, 4) float32 pixels ``[x1, y1, x2, y2]``; ``confidence`` (N,) in 0..1;
    ``class_id`` (N,) int (-1 = unknown); ``tracker_id`` (N,) int (-1 = not tracked);
    ``angle_deg`` (N,) float32: the box is the bounding box of a rectangle turned this
    much (counter-clockwise, degrees; 0 = upright), whose own width and height are
    ``size_wh`` (N, 2) — a plate seen at an angle.

    >>> d = Detections.from_boxes([[0, 0, 10, 5]], [0.9])
    >>> len(d), d.area.tolist()
    (1, [50.0])
    """

    xyxy: FloatArray
    confidence: FloatArray
    class_id: IntArray
    tracker_id: IntArray = field(default_factory=lambda: np.zeros(0, dtype=np.int64))
    angle_deg: FloatArray = field(default_factory=lambda: np.zeros(0, dtype=np.float32))
    size_wh: FloatArray = field(default_factory=lambda: np.zeros((0, 2), dtype=np.float32))

    def __post_init__(self) -> None:
        n = self.xyxy.shape[0] if self.xyxy.ndim == 2 else -1
        _check("xyxy", self.xyxy, (None, 4))
        _check("confidence", self.confidence, (n,))
        _check("class_id", self.class_id, (n,))
        if self.tracker_id.shape == (0,) and n > 0:
            object.__setattr__(self, "tracker_id", np.full(n, -1, dtype=np.int64))
        _check("tracker_id", self.tracker_id, (n,))
        if self.angle_deg.shape == (0,) and n > 0:
            object.__setattr__(self, "angle_deg", np.zeros(n, dtype=np.float32))
            object.__setattr__(
                self, "size_wh", (self.xyxy[:, 2:] - self.xyxy[:, :2]).astype(np.float32)
            )
        _check("angle_deg", self.angle_deg, (n,))
        _check("size_wh", self.size_wh, (n, 2))

    @classmethod
    def empty(cls) -> Detections:
        return cls(
            xyxy=np.zeros((0, 4), dtype=np.float32),
            confidence=np.zeros(0, dtype=np.float32),
            class_id=np.zeros(0, dtype=np.int64),
        )

    @classmethod
    def from_boxes(
        cls,
        xyxy: object,
        confidence: object,
        class_id: object | None = None,
    ) -> Detections:
        boxes = np.asarray(xyxy, dtype=np.float32).reshape(-1, 4)
        conf = np.asarray(confidence, dtype=np.float32).reshape(-1)
        cls_ids = (
            np.full(len(boxes), -1, dtype=np.int64)
            if class_id is None
            else np.asarray(class_id, dtype=np.int64).reshape(-1)
        )
        return cls(xyxy=boxes, confidence=conf, class_id=cls_ids)

    def __len__(self) -> int:
        return int(self.xyxy.shape[0])

    def __iter__(self) -> Iterator[int]:
        return iter(range(len(self)))

    def __getitem__(self, index: object) -> Detections:
        idx = np.asarray(index)
        if idx.ndim == 0:
            idx = idx.reshape(1)
        return Detections(
            xyxy=self.xyxy[idx],
            confidence=self.confidence[idx],
            class_id=self.class_id[idx],
            tracker_id=self.tracker_id[idx],
            angle_deg=self.angle_deg[idx],
            size_wh=self.size_wh[idx],
        )

    @property
    def area(self) -> FloatArray:
        wh: FloatArray = np.clip(self.xyxy[:, 2:] - self.xyxy[:, :2], 0, None)
        area: FloatArray = (wh[:, 0] * wh[:, 1]).astype(np.float32)
        return area

    def with_tracker_ids(self, tracker_id: IntArray) -> Detections:
        return Detections(
            self.xyxy,
            self.confidence,
            self.class_id,
            tracker_id.astype(np.int64),
            self.angle_deg,
            self.size_wh,
        )

    @classmethod
    def from_rotated(
        cls, cxcywhr: object, confidence: object, class_id: object | None = None
    ) -> Detections:
        """Boxes given as turned rectangles ``[cx, cy, w, h, angle_deg]`` (N, 5)."""
        rot = np.asarray(cxcywhr, dtype=np.float32).reshape(-1, 5)
        rad = np.deg2rad(rot[:, 4])
        half_w = (np.abs(rot[:, 2] * np.cos(rad)) + np.abs(rot[:, 3] * np.sin(rad))) / 2
        half_h = (np.abs(rot[:, 2] * np.sin(rad)) + np.abs(rot[:, 3] * np.cos(rad))) / 2
        xyxy = np.stack(
            [rot[:, 0] - half_w, rot[:, 1] - half_h, rot[:, 0] + half_w, rot[:, 1] + half_h], 1
        )
        base = cls.from_boxes(xyxy, confidence, class_id)
        return cls(
            base.xyxy, base.confidence, base.class_id, base.tracker_id, rot[:, 4], rot[:, 2:4]
        )

    @staticmethod
    def concat(parts: list[Detections]) -> Detections:
        """All boxes of ``parts`` in order (empty when there are none)."""
        parts = [p for p in parts if len(p)]
        if not parts:
            return Detections.empty()
        return Detections(
            np.concatenate([p.xyxy for p in parts]),
            np.concatenate([p.confidence for p in parts]),
            np.concatenate([p.class_id for p in parts]),
            np.concatenate([p.tracker_id for p in parts]),
            np.concatenate([p.angle_deg for p in parts]),
            np.concatenate([p.size_wh for p in parts]),
        )


def box_iou(a: FloatArray, b: FloatArray) -> FloatArray:
    """IoU matrix (len(a), len(b)) of two xyxy arrays."""
    if len(a) == 0 or len(b) == 0:
        return np.zeros((len(a), len(b)), dtype=np.float32)
    tl = np.maximum(a[:, None, :2], b[None, :, :2])
    br = np.minimum(a[:, None, 2:], b[None, :, 2:])
    inter = np.prod(np.clip(br - tl, 0, None), axis=2)
    area_a = np.prod(np.clip(a[:, 2:] - a[:, :2], 0, None), axis=1)
    area_b = np.prod(np.clip(b[:, 2:] - b[:, :2], 0, None), axis=1)
    union = area_a[:, None] + area_b[None, :] - inter
    return np.where(union > 0, inter / np.maximum(union, 1e-9), 0).astype(np.float32)
