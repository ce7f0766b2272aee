"""Plate OCR with the PP-OCR text-line recogniser that ships inside the ``rapidocr`` wheel.

We run the recogniser's ONNX model directly with onnxruntime (no text detector, no angle
classifier): a plate crop is one text line. Decoding is restricted to ``A-Z0-9`` — the
model's 18,000-symbol alphabet (Chinese, punctuation) would otherwise turn a bolt or a
sticker into a stray character — and each crop is read in a few variants (text-line band,
CLAHE band, tight line). Every read keeps its per-step probabilities
(:class:`~dashcam.domain.plate_decoding.CtcSteps`) for format-aware decoding.
"""

from __future__ import annotations

import logging
import math
from collections.abc import Sequence
from pathlib import Path

import cv2
import numpy as np
from numpy.typing import NDArray

from dashcam.backends.onnx import onnx_session, shipped_model
from dashcam.backends.plate_crop import ImageBGR, reading_variants
from dashcam.backends.protocols import PlateRead
from dashcam.domain.plate_decoding import ALPHABET, CtcSteps, greedy
from dashcam.errors import BackendUnavailable

log = logging.getLogger(__name__)

MODEL_FILE = "PP-OCRv6_rec_small.onnx"
_INPUT_H = 48
_MIN_W = 160
_MAX_W = 960
_BATCH = 8
# A first read this plate-like earns the crop its other reading variants.
_MIN_PLAUSIBLE_CHARS = 2
_MIN_PLAUSIBLE_CONF = 0.4


def shipped_model_path() -> Path:
    """Path of the recogniser model inside the installed ``rapidocr`` package."""
    return shipped_model(MODEL_FILE, "plate reader 'rapidocr'")


class CtcAlnumDecoder:
    """Maps the model's classes onto ``blank + other + A-Z0-9`` (:class:`CtcSteps`).

    Lower-case probabilities are added to their upper-case letter; every other symbol is
    pooled into one "other" class that separates characters but prints nothing.
    """

    def __init__(self, characters: Sequence[str]) -> None:
        # Model classes: 0 = CTC blank, 1..N = characters, N+1 = space.
        index = {ch: i + 1 for i, ch in enumerate(characters)}
        self._upper = np.array([index[ch] for ch in ALPHABET], dtype=np.int64)
        lower = [(k, index[ch.lower()]) for k, ch in enumerate(ALPHABET) if ch.isalpha()]
        self._lower_pos = np.array([k for k, _ in lower], dtype=np.int64)
        self._lower_idx = np.array([i for _, i in lower], dtype=np.int64)

    def steps(self, probs: NDArray[np.float32]) -> CtcSteps:
        """(T, C) model softmax -> :class:`CtcSteps` (T, 38): blank, other, ALPHABET."""
        alnum = probs[:, self._upper].copy()
        alnum[:, self._lower_pos] += probs[:, self._lower_idx]
        blank = probs[:, 0]
        other = np.clip(1.0 - blank - alnum.sum(axis=1), 0.0, 1.0)
        return CtcSteps(np.concatenate([blank[:, None], other[:, None], alnum], axis=1))

    def decode(self, probs: NDArray[np.float32]) -> PlateRead:
        """One line of (T, C) softmax output -> greedy text, mean char confidence, steps."""
        steps = self.steps(probs)
        text, _, confs = greedy(steps)
        conf = float(np.mean(confs)) if confs else 0.0
        return PlateRead(text, conf, confs, (steps,))


def vote(reads: Sequence[PlateRead]) -> PlateRead:
    """The text whose reads' confidences sum highest (its most confident read), carrying
    every read's steps.

    Two variants agreeing beat one slightly more confident outlier.
    """
    totals: dict[str, float] = {}
    for read in reads:
        if read.text:
            totals[read.text] = totals.get(read.text, 0.0) + read.confidence
    steps = tuple(s for read in reads for s in read.steps)
    if not totals:
        return PlateRead("", 0.0, (), steps)
    text = max(totals, key=lambda t: totals[t])
    top = max((r for r in reads if r.text == text), key=lambda r: r.confidence)
    return PlateRead(top.text, top.confidence, top.char_confidences, steps)


class RapidOcrReader:
    """:class:`~dashcam.backends.protocols.PlateReader` on the shipped PP-OCRv6 recogniser.

    ``variants=False`` reads each crop once as given (faster, less accurate on plates
    with state names and slogans).
    """

    name = "rapidocr"

    def __init__(
        self, *, model_path: Path | None = None, variants: bool = True, threads: int = 0
    ) -> None:
        path = model_path or shipped_model_path()
        self._session = onnx_session(path, threads, "plate reader 'rapidocr'")
        meta = self._session.get_modelmeta().custom_metadata_map
        if "character" not in meta:
            raise BackendUnavailable(f"plate reader 'rapidocr': {path} has no character list")
        self._characters = meta["character"].splitlines()
        self._decoder = CtcAlnumDecoder(self._characters)
        self._input = self._session.get_inputs()[0].name
        self._variants = variants
        self.read([np.full((40, 120, 3), 255, dtype=np.uint8)])  # warm up

    def read(self, crops: Sequence[ImageBGR]) -> list[PlateRead]:
        """Read each tight plate crop (BGR); empty text with confidence 0 when nothing reads.

        First pass: one variant per crop (the text-line band when one is found). Crops
        whose first read looks like plate text get their other variants read too, and the
        variants vote (:func:`vote`) — so non-plate candidates cost a single read. A
        two-line plate's lines are read one by one and joined, top line first.
        """
        variants: dict[int, list[tuple[ImageBGR, ...]]] = {}
        for i, crop in enumerate(crops):
            if crop.ndim == 3 and crop.shape[0] >= 4 and crop.shape[1] >= 4:
                variants[i] = reading_variants(crop) if self._variants else [(crop,)]
        reads: dict[int, list[PlateRead]] = {i: [] for i in range(len(crops))}
        firsts = self.read_joined([v[0] for v in variants.values()])
        for i, got in zip(variants, firsts, strict=True):
            reads[i].append(got)
        owners: list[int] = []
        rest: list[tuple[ImageBGR, ...]] = []
        for i, got in zip(variants, firsts, strict=True):
            if len(got.text) >= _MIN_PLAUSIBLE_CHARS and got.confidence >= _MIN_PLAUSIBLE_CONF:
                owners.extend([i] * (len(variants[i]) - 1))
                rest.extend(variants[i][1:])
        for i, got in zip(owners, self.read_joined(rest), strict=True):
            reads[i].append(got)
        return [vote(reads[i]) for i in range(len(crops))]

    def read_joined(self, variants: Sequence[tuple[ImageBGR, ...]]) -> list[PlateRead]:
        """Read each variant's lines (one batch for all) and join each variant's lines."""
        flat = [line for lines in variants for line in lines]
        got = iter(self.read_lines(flat))
        out: list[PlateRead] = []
        for lines in variants:
            parts = [next(got) for _ in lines]
            if len(parts) == 1:
                out.append(parts[0])
                continue
            steps = CtcSteps.join([p.steps[0] for p in parts])
            text, _, confs = greedy(steps)
            conf = float(np.mean(confs)) if confs else 0.0
            out.append(PlateRead(text, conf, confs, (steps,)))
        return out

    def read_lines(self, images: Sequence[ImageBGR]) -> list[PlateRead]:
        """Read each image as one text line, no variants; batches by similar width."""
        return [self._decoder.decode(p) for p in self._probabilities(images)]

    def read_text(self, images: Sequence[ImageBGR]) -> list[str]:
        """Read each image as one line of any text, punctuation and spaces kept (greedy
        CTC over the model's whole alphabet), e.g. a dashcam's burned-in
        ``7/27/2018 4:11:12 PM`` — not a plate, so not decoded as one."""
        out = []
        space = len(self._characters) + 1
        for probs in self._probabilities(images):
            best = probs.argmax(axis=1).tolist()
            chars = [
                " " if k == space else self._characters[k - 1]
                for i, k in enumerate(best)
                if k != 0 and (i == 0 or k != best[i - 1]) and k <= space
            ]
            out.append("".join(chars).strip())
        return out

    def _probabilities(self, images: Sequence[ImageBGR]) -> list[NDArray[np.float32]]:
        """The model's (T, C) softmax per image, batched by similar width."""
        widths = [self._width(img) for img in images]
        order = np.argsort(widths, kind="stable")
        out: list[NDArray[np.float32]] = [np.empty((0, 0), np.float32) for _ in images]
        for start in range(0, len(order), _BATCH):
            idx = order[start : start + _BATCH].tolist()
            batch_w = max(_MIN_W, max(widths[i] for i in idx))
            batch = np.stack([self._normalise(images[i], batch_w) for i in idx])
            probs = self._session.run(None, {self._input: batch})[0]
            for j, i in enumerate(idx):
                out[i] = probs[j]
        return out

    @staticmethod
    def _width(img: ImageBGR) -> int:
        h, w = img.shape[:2]
        return int(min(_MAX_W, math.ceil(_INPUT_H * w / max(h, 1))))

    @staticmethod
    def _normalise(img: ImageBGR, batch_w: int) -> NDArray[np.float32]:
        w = min(batch_w, RapidOcrReader._width(img))
        resized = cv2.resize(img, (w, _INPUT_H), interpolation=cv2.INTER_LINEAR)
        chw = resized.astype(np.float32).transpose(2, 0, 1) / 127.5 - 1.0
        out = np.zeros((3, _INPUT_H, batch_w), dtype=np.float32)
        out[:, :, :w] = chw
        return out
