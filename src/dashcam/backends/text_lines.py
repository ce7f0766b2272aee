"""Text lines in a frame with the PP-OCR text detector that ships inside ``rapidocr``.

A DB (differentiable binarisation) model gives, per pixel, the probability of being
inside a text line. Regions above ``bin_threshold`` become turned rectangles (OpenCV's
``minAreaRect``), kept when their mean probability reaches ``box_threshold``, and are
grown back to the whole line (the model marks a shrunk core of each line). Lines at any
angle come out as ``[cx, cy, w, h, angle_deg]`` with ``w`` along the text.

Plates are text: this is a proposal source for plate detection that sees small, far,
tilted and night plates the Haar cascade misses (see ``plate_detectors.TextPlateDetector``).
"""

from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path
from typing import Any

import cv2
import numpy as np
from numpy.typing import NDArray

from dashcam.backends.onnx import onnx_session, shipped_model
from dashcam.backends.protocols import ImageBGR

MODEL_FILE = "PP-OCRv6_det_small.onnx"
_MEAN = np.array([0.485, 0.456, 0.406], dtype=np.float32)
_STD = np.array([0.229, 0.224, 0.225], dtype=np.float32)


@dataclass(frozen=True)
class TextLine:
    """One text line in image pixels: centre, size along/across the text, angle, score."""

    cx: float
    cy: float
    w: float
    h: float
    angle_deg: float
    score: float


class TextLineDetector:
    """The shipped PP-OCRv6 small text detector on onnxruntime.

    ``max_side_px`` bounds the side the frame is scaled to (the cost grows with the
    pixel count; far plates need the detail). Example::

        lines = TextLineDetector().detect(frame)  # [TextLine(cx=..., ...), ...]
    """

    def __init__(
        self,
        *,
        model_path: Path | None = None,
        max_side_px: int = 960,
        bin_threshold: float = 0.3,
        box_threshold: float = 0.5,
        unclip_ratio: float = 1.6,
        threads: int = 0,
    ) -> None:
        path = model_path or shipped_model(MODEL_FILE, "text detector")
        self._session: Any = onnx_session(path, threads, "text detector")
        self._input = self._session.get_inputs()[0].name
        self.max_side_px = max_side_px
        self.bin_threshold = bin_threshold
        self.box_threshold = box_threshold
        self.unclip_ratio = unclip_ratio
        self.detect(np.zeros((64, 64, 3), dtype=np.uint8))  # warm up

    def probability_map(self, image: ImageBGR) -> tuple[NDArray[np.float32], float, float]:
        """The model's text probability map and the x, y scale from image to map."""
        h, w = image.shape[:2]
        k = min(1.0, self.max_side_px / max(h, w))
        mh, mw = max(32, round(h * k / 32) * 32), max(32, round(w * k / 32) * 32)
        resized = cv2.resize(image, (mw, mh), interpolation=cv2.INTER_AREA if k < 1 else 1)
        rgb = resized[:, :, ::-1].astype(np.float32) / 255.0
        chw = ((rgb - _MEAN) / _STD).transpose(2, 0, 1)[None]
        out = self._session.run(None, {self._input: np.ascontiguousarray(chw)})[0]
        return np.asarray(out[0, 0], dtype=np.float32), mw / w, mh / h

    def detect(self, image: ImageBGR) -> list[TextLine]:
        """Every text line of ``image`` (BGR), best score first."""
        prob, sx, sy = self.probability_map(image)
        return lines_from_map(
            prob, sx, sy, self.bin_threshold, self.box_threshold, self.unclip_ratio
        )


def lines_from_map(
    prob: NDArray[np.float32],
    sx: float,
    sy: float,
    bin_threshold: float,
    box_threshold: float,
    unclip_ratio: float,
) -> list[TextLine]:
    """Turned rectangles of the regions of a DB probability map, in image pixels."""
    binary = (prob > bin_threshold).astype(np.uint8)
    contours, _ = cv2.findContours(binary, cv2.RETR_LIST, cv2.CHAIN_APPROX_SIMPLE)
    out: list[TextLine] = []
    for contour in contours:
        if len(contour) < 3:
            continue
        (cx, cy), (rw, rh), angle = cv2.minAreaRect(contour)
        if min(rw, rh) < 2:
            continue
        x, y, bw, bh = cv2.boundingRect(contour)
        mask = np.zeros((bh, bw), dtype=np.uint8)
        cv2.drawContours(mask, [contour - [x, y]], -1, 1, -1)
        score = float(cv2.mean(prob[y : y + bh, x : x + bw], mask)[0])
        if score < box_threshold:
            continue
        if rw < rh:  # along the text is the long side
            rw, rh = rh, rw
            angle += 90.0
        angle = (angle + 90.0) % 180.0 - 90.0
        grow = rw * rh * unclip_ratio / (2 * (rw + rh))
        rw, rh = rw + 2 * grow, rh + 2 * grow
        # back to image pixels (the map may be scaled differently in x and y)
        rad = np.deg2rad(angle)
        along = np.hypot(np.cos(rad) / sx, np.sin(rad) / sy)
        across = np.hypot(np.sin(rad) / sx, np.cos(rad) / sy)
        out.append(
            TextLine(
                float(cx / sx),
                float(cy / sy),
                float(rw * along),
                float(rh * across),
                float(-angle),
                score,
            )
        )
    out.sort(key=lambda line: -line.score)
    return out
