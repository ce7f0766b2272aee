"""SigLIP / SigLIP2 zero-shot scoring and image embeddings (``transformers``, lazy import).

Weights come from a local folder or the local Hugging Face cache only
(``local_files_only=True``): nothing is ever downloaded; a model that is in neither place
raises :class:`~dashcam.errors.BackendUnavailable` saying so.

:func:`text_decision` is the pure keep rule: the best positive prompt's sigmoid score must
reach ``threshold`` and beat the best negative prompt's by at least ``margin``.
"""

from __future__ import annotations

import logging
from collections.abc import Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import cv2
import numpy as np
from numpy.typing import NDArray

from dashcam.errors import BackendUnavailable

log = logging.getLogger(__name__)

FloatArray = NDArray[np.float32]


@dataclass(frozen=True)
class TextDecision:
    keep: NDArray[np.bool_]  # (N,)
    score: FloatArray  # (N,) best positive score
    reason: list[str | None]


def text_decision(
    pos: FloatArray, neg: FloatArray, *, threshold: float, margin: float
) -> TextDecision:
    """Keep rule on sigmoid scores ``pos`` (N, P) and ``neg`` (N, Q), Q may be 0.

    >>> d = text_decision(np.array([[0.9], [0.2]]), np.array([[0.1], [0.0]]),
    ...                   threshold=0.5, margin=0.0)
    >>> d.keep.tolist()
    [True, False]
    """
    best_pos = pos.max(axis=1) if pos.shape[1] else np.zeros(pos.shape[0], np.float32)
    best_neg = neg.max(axis=1) if neg.ndim == 2 and neg.shape[1] else np.zeros_like(best_pos)
    has_neg = neg.ndim == 2 and neg.shape[1] > 0
    ok_pos = best_pos >= threshold
    ok_margin = (best_pos - best_neg >= margin) if has_neg else np.ones_like(ok_pos)
    reasons: list[str | None] = []
    for p, n, a, b in zip(best_pos.tolist(), best_neg.tolist(), ok_pos, ok_margin, strict=True):
        if not a:
            reasons.append(f"text: best positive {p:.3f} < threshold {threshold}")
        elif not b:
            reasons.append(f"text: negative {n:.3f} within margin {margin} of positive {p:.3f}")
        else:
            reasons.append(None)
    return TextDecision(ok_pos & ok_margin, best_pos.astype(np.float32), reasons)


class SiglipModel:
    """A SigLIP model on the CPU (or ``device``), loaded from local files only."""

    def __init__(self, model: str, *, device: str = "cpu", threads: int = 0) -> None:
        try:
            import torch
            from transformers import AutoImageProcessor, AutoModel, AutoTokenizer
        except ImportError as exc:
            raise BackendUnavailable(
                "the SigLIP filter needs torch and transformers (pip install 'dashcam[miner]')"
            ) from exc
        if threads:
            torch.set_num_threads(threads)
        where = str(Path(model).expanduser()) if Path(model).expanduser().is_dir() else model
        try:
            self.model: Any = AutoModel.from_pretrained(where, local_files_only=True)
            self.tokenizer: Any = AutoTokenizer.from_pretrained(where, local_files_only=True)
            self.images: Any = AutoImageProcessor.from_pretrained(  # type: ignore[no-untyped-call]
                where, local_files_only=True
            )
        except (OSError, ValueError) as exc:
            raise BackendUnavailable(
                f"SigLIP model {model!r} is neither a local folder nor in the local Hugging Face"
                " cache (it is never downloaded: save it with save_pretrained, or"
                " `huggingface-cli download` it beforehand)"
            ) from exc
        self.torch = torch
        self.device = device
        self.model.to(device).eval()
        self._text_cache: dict[tuple[str, ...], FloatArray] = {}

    def _features(self, out: Any) -> Any:
        # transformers >= 5 may return a model output instead of a bare tensor
        return out if hasattr(out, "norm") else out.pooler_output

    def text_embeddings(self, prompts: Sequence[str]) -> FloatArray:
        key = tuple(prompts)
        if key not in self._text_cache:
            max_len = getattr(self.model.config.text_config, "max_position_embeddings", 64)
            tok = self.tokenizer(
                list(prompts),
                padding="max_length",
                truncation=True,
                max_length=max_len,
                return_tensors="pt",
            )
            with self.torch.inference_mode():
                feats = self._features(
                    self.model.get_text_features(input_ids=tok["input_ids"].to(self.device))
                )
                feats = feats / feats.norm(dim=-1, keepdim=True)
            self._text_cache[key] = feats.float().cpu().numpy()
        return self._text_cache[key]

    def image_embeddings(self, images_bgr: Sequence[NDArray[np.uint8]]) -> FloatArray:
        """(N, D) L2-normalised embeddings of BGR images."""
        rgb = [cv2.cvtColor(im, cv2.COLOR_BGR2RGB) for im in images_bgr]
        px = self.images(images=rgb, return_tensors="pt")["pixel_values"].to(self.device)
        with self.torch.inference_mode():
            feats = self._features(self.model.get_image_features(pixel_values=px))
            feats = feats / feats.norm(dim=-1, keepdim=True)
        return np.asarray(feats.float().cpu().numpy(), dtype=np.float32)

    def scores(self, image_emb: FloatArray, prompts: Sequence[str]) -> FloatArray:
        """(N, P) sigmoid probabilities that each image matches each prompt."""
        if not prompts:
            return np.zeros((image_emb.shape[0], 0), dtype=np.float32)
        text = self.text_embeddings(prompts)
        scale = float(self.model.logit_scale.exp().item())
        bias = float(self.model.logit_bias.item()) if hasattr(self.model, "logit_bias") else 0.0
        logits = image_emb @ text.T * scale + bias
        out: FloatArray = (1.0 / (1.0 + np.exp(-logits))).astype(np.float32)
        return out
