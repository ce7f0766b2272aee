"""Plate OCR with a fast-plate-ocr recogniser: an ONNX network plus its plate config.

The format, as fast-plate-ocr publishes it (read from its public docs and code):

- **plate config** (YAML): ``max_plate_slots``, ``alphabet`` (one symbol per class),
  ``pad_char`` (fills the slots after the last character), ``img_height``,
  ``img_width``, ``keep_aspect_ratio`` (letterbox instead of stretch),
  ``interpolation``, ``image_color_mode`` (``grayscale`` or ``rgb``), ``padding_color``
  and, for models with a region head, ``plate_regions`` (one label per region class);
- **input** ``(N, H, W, C)`` uint8, the crop resized to ``img_height x img_width``
  (the network normalises pixel values itself);
- **output** one probability row per slot: ``(N, slots, len(alphabet))`` or flattened
  ``(N, slots * len(alphabet))``; v2 models name it ``plate`` and add ``region``
  ``(N, len(plate_regions))``.

Each slot becomes one step of :class:`~dashcam.domain.plate_decoding.CtcSteps` (the pad
symbol as "no character"), with a sure blank between slots so a repeated character
(``AA``) stays two characters; the format-aware decoding then reads the steps as it reads
the CTC recogniser's. The region head's guess becomes :attr:`PlateRead.countries`.
"""

from __future__ import annotations

import logging
from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import Any, Literal

import cv2
import numpy as np
import yaml
from numpy.typing import NDArray

from dashcam.backends.onnx import onnx_session
from dashcam.backends.plate_crop import ImageBGR
from dashcam.backends.protocols import PlateRead
from dashcam.domain.plate_decoding import ALPHABET, CtcSteps
from dashcam.errors import BackendUnavailable

log = logging.getLogger(__name__)

_INTERPOLATION = {
    "nearest": cv2.INTER_NEAREST,
    "linear": cv2.INTER_LINEAR,
    "cubic": cv2.INTER_CUBIC,
    "area": cv2.INTER_AREA,
    "lanczos4": cv2.INTER_LANCZOS4,
}
_BATCH = 32
#: Below this share of region probability on known countries the guess is not used.
_MIN_KNOWN_REGION_P = 0.5


@dataclass(frozen=True)
class PlateConfig:
    """A fast-plate-ocr plate config (see module docstring)."""

    max_plate_slots: int
    alphabet: str
    pad_char: str
    img_height: int
    img_width: int
    keep_aspect_ratio: bool = False
    interpolation: str = "linear"
    image_color_mode: Literal["grayscale", "rgb"] = "grayscale"
    padding_color: tuple[int, int, int] = (114, 114, 114)
    plate_regions: tuple[str, ...] = ()

    @property
    def channels(self) -> int:
        return 3 if self.image_color_mode == "rgb" else 1

    @classmethod
    def from_mapping(cls, data: Mapping[str, Any], where: str) -> PlateConfig:
        """Parse and check a config mapping; errors name ``where`` and the key."""
        try:
            alphabet = str(data["alphabet"])
            pad = str(data["pad_char"])
            mode = str(data.get("image_color_mode", "grayscale"))
            colour = data.get("padding_color", 114)
            colours = tuple(int(c) for c in colour) if isinstance(colour, list | tuple) else (
                int(colour),) * 3  # fmt: skip
            cfg = cls(
                max_plate_slots=int(data["max_plate_slots"]),
                alphabet=alphabet,
                pad_char=pad,
                img_height=int(data["img_height"]),
                img_width=int(data["img_width"]),
                keep_aspect_ratio=bool(data.get("keep_aspect_ratio", False)),
                interpolation=str(data.get("interpolation", "linear")),
                image_color_mode="rgb" if mode == "rgb" else "grayscale",
                padding_color=(colours[0], colours[1], colours[2]),
                plate_regions=tuple(str(r) for r in data.get("plate_regions") or ()),
            )
        except KeyError as exc:
            raise BackendUnavailable(f"{where}: plate config has no {exc.args[0]!r}") from None
        except (TypeError, ValueError, IndexError) as exc:
            raise BackendUnavailable(f"{where}: bad plate config ({exc})") from None
        if mode not in ("grayscale", "rgb"):
            raise BackendUnavailable(f"{where}: image_color_mode {mode!r}: expected grayscale|rgb")
        if len(pad) != 1 or pad not in alphabet:
            raise BackendUnavailable(f"{where}: pad_char {pad!r} is not one symbol of the alphabet")
        if cfg.interpolation not in _INTERPOLATION:
            raise BackendUnavailable(
                f"{where}: interpolation {cfg.interpolation!r}: expected "
                + "|".join(_INTERPOLATION)
            )
        if cfg.max_plate_slots < 1 or cfg.img_height < 1 or cfg.img_width < 1:
            raise BackendUnavailable(f"{where}: slots and image size must be positive")
        return cfg

    @classmethod
    def from_yaml(cls, path: Path) -> PlateConfig:
        try:
            data = yaml.safe_load(path.read_text(encoding="utf-8"))
        except (OSError, UnicodeDecodeError, yaml.YAMLError) as exc:
            raise BackendUnavailable(f"{path}: cannot read the plate config ({exc})") from exc
        if not isinstance(data, Mapping):
            raise BackendUnavailable(f"{path}: plate config is not a mapping")
        return cls.from_mapping(data, str(path))


def _as_probs(x: NDArray[np.float32]) -> NDArray[np.float32]:
    """Rows that already are probabilities stay; logits get a softmax."""
    sums = x.sum(axis=-1)
    if x.min() >= 0.0 and np.allclose(sums, 1.0, atol=1e-3):
        return x
    e = np.exp(x - x.max(axis=-1, keepdims=True))
    out: NDArray[np.float32] = (e / e.sum(axis=-1, keepdims=True)).astype(np.float32)
    return out


class SlotMapper:
    """Maps a fixed-slot output (``slots x alphabet``) onto :class:`CtcSteps`."""

    def __init__(self, alphabet: str, pad_char: str) -> None:
        width = 2 + len(ALPHABET)
        # Column in CtcSteps for each model symbol: 0 pad -> blank, 1 other, 2.. ALPHABET.
        cols = []
        for ch in alphabet:
            if ch == pad_char:
                cols.append(0)
            elif ch.upper() in ALPHABET:
                cols.append(2 + ALPHABET.index(ch.upper()))
            else:
                cols.append(1)
        self._matrix = np.zeros((len(alphabet), width), np.float32)
        self._matrix[np.arange(len(alphabet)), cols] = 1.0
        self._alphabet = alphabet
        self._pad = pad_char

    def steps(self, slots: NDArray[np.float32]) -> CtcSteps:
        """``(slots, len(alphabet))`` probabilities -> steps: blank, slot, blank, slot, ..."""
        mapped = slots @ self._matrix
        blank = np.zeros((1, mapped.shape[1]), np.float32)
        blank[0, 0] = 1.0
        rows: list[NDArray[np.float32]] = [blank]
        for row in mapped:
            rows.extend([row[None], blank])
        return CtcSteps(np.concatenate(rows).astype(np.float32))

    def read(self, slots: NDArray[np.float32]) -> PlateRead:
        """One crop's slots -> the plate text (pad symbols dropped), its per-character
        confidence and the steps."""
        best = slots.argmax(axis=1)
        best_p = slots[np.arange(len(slots)), best]
        chars: list[str] = []
        confs: list[float] = []
        for k, p in zip(best.tolist(), best_p.tolist(), strict=True):
            ch = self._alphabet[k]
            if ch == self._pad or ch.upper() not in ALPHABET:
                continue
            chars.append(ch.upper())
            confs.append(round(float(p), 4))
        conf = float(np.mean(confs)) if confs else 0.0
        return PlateRead("".join(chars), conf, tuple(confs), (self.steps(slots),))


class FastPlateOcrReader:
    """:class:`~dashcam.backends.protocols.PlateReader` on a fast-plate-ocr model.

    ``country_of`` maps a region label of the model onto an ISO country code (None for
    labels such as ``Unknown``); without it region labels are taken as ISO codes.
    """

    name = "fast-plate-ocr"

    def __init__(
        self,
        model_path: Path,
        config_path: Path,
        *,
        threads: int = 0,
        name: str | None = None,
        country_of: Any = None,
    ) -> None:
        if name is not None:
            self.name = name
        what = f"plate reader {self.name!r}"
        self.config = PlateConfig.from_yaml(config_path)
        cfg = self.config
        try:
            self._session = onnx_session(model_path, threads, what)
        except BackendUnavailable:
            raise
        except Exception as exc:  # onnxruntime raises its own untyped errors
            raise BackendUnavailable(f"{what}: cannot load {model_path}: {exc}") from exc
        model_input = self._session.get_inputs()[0]
        self._input = model_input.name
        shape = list(model_input.shape)
        want = [cfg.img_height, cfg.img_width, cfg.channels]
        if len(shape) != 4 or any(
            isinstance(d, int) and d != w for d, w in zip(shape[1:], want, strict=True)
        ):
            raise BackendUnavailable(
                f"{what}: {model_path} takes input {shape}, the plate config says "
                f"(N, {cfg.img_height}, {cfg.img_width}, {cfg.channels})"
            )
        if "uint8" not in str(model_input.type):
            raise BackendUnavailable(f"{what}: input must be uint8, got {model_input.type}")
        outputs = {o.name: o for o in self._session.get_outputs()}
        names = list(outputs)
        self._plate_out = "plate" if "plate" in outputs else names[0]
        rest = [n for n in names if n != self._plate_out]
        self._region_out: str | None = None
        if cfg.plate_regions:
            self._region_out = "region" if "region" in outputs else (rest[0] if rest else None)
        self._mapper = SlotMapper(cfg.alphabet, cfg.pad_char)
        countries = country_of or (lambda label: label.lower() if len(label) == 2 else None)
        self._region_codes: list[str | None] = [countries(r) for r in cfg.plate_regions]
        # Warm-up doubles as the check of the output shapes against the config.
        probe = self._run(np.zeros((1, cfg.img_height, cfg.img_width, cfg.channels), np.uint8))
        log.info(
            "%s: loaded %s (%d slots, %d symbols, %s, regions: %d)",
            what, model_path.name, cfg.max_plate_slots, len(cfg.alphabet),
            cfg.image_color_mode, len(cfg.plate_regions) if probe[1] is not None else 0,
        )  # fmt: skip

    def _run(
        self, batch: NDArray[np.uint8]
    ) -> tuple[NDArray[np.float32], NDArray[np.float32] | None]:
        cfg = self.config
        wanted = [self._plate_out] + ([self._region_out] if self._region_out else [])
        got = self._session.run(wanted, {self._input: batch})
        plate = np.asarray(got[0], dtype=np.float32)
        n = batch.shape[0]
        if plate.size != n * cfg.max_plate_slots * len(cfg.alphabet):
            raise BackendUnavailable(
                f"plate reader {self.name!r}: output {self._plate_out!r} has shape "
                f"{plate.shape}, the plate config says ({n}, {cfg.max_plate_slots}, "
                f"{len(cfg.alphabet)})"
            )
        plate = _as_probs(plate.reshape(n, cfg.max_plate_slots, len(cfg.alphabet)))
        region: NDArray[np.float32] | None = None
        if self._region_out is not None:
            region = np.asarray(got[1], dtype=np.float32).reshape(n, -1)
            if region.shape[1] != len(cfg.plate_regions):
                raise BackendUnavailable(
                    f"plate reader {self.name!r}: output {self._region_out!r} has "
                    f"{region.shape[1]} classes, the plate config lists "
                    f"{len(cfg.plate_regions)} plate_regions"
                )
            region = _as_probs(region)
        return plate, region

    def prepare(self, crop: ImageBGR) -> NDArray[np.uint8]:
        """A BGR crop as the network's input image ``(H, W, C)`` uint8."""
        cfg = self.config
        if cfg.image_color_mode == "rgb":
            img = cv2.cvtColor(crop, cv2.COLOR_BGR2RGB)
        else:
            img = cv2.cvtColor(crop, cv2.COLOR_BGR2GRAY)
        inter = _INTERPOLATION[cfg.interpolation]
        if not cfg.keep_aspect_ratio:
            img = cv2.resize(img, (cfg.img_width, cfg.img_height), interpolation=inter)
        else:
            h, w = img.shape[:2]
            r = min(cfg.img_height / h, cfg.img_width / w)
            nw, nh = max(1, round(w * r)), max(1, round(h * r))
            img = cv2.resize(img, (nw, nh), interpolation=inter)
            fill: Any = cfg.padding_color if cfg.channels == 3 else cfg.padding_color[0]
            canvas = np.empty((cfg.img_height, cfg.img_width, *img.shape[2:]), np.uint8)
            canvas[...] = fill
            top, left = (cfg.img_height - nh) // 2, (cfg.img_width - nw) // 2
            canvas[top : top + nh, left : left + nw] = img
            img = canvas
        if img.ndim == 2:
            img = img[:, :, None]
        return np.ascontiguousarray(img, dtype=np.uint8)

    def countries(self, region: NDArray[np.float32]) -> dict[str, float] | None:
        """The region head's probabilities by ISO country code, or None when most of the
        probability sits on labels that name no country (``Unknown``)."""
        out: dict[str, float] = {}
        for code, p in zip(self._region_codes, region.tolist(), strict=True):
            if code is not None:
                out[code] = out.get(code, 0.0) + float(p)
        known = sum(out.values())
        if known < _MIN_KNOWN_REGION_P:
            return None
        return {k: round(v / known, 4) for k, v in out.items() if v / known >= 1e-3}

    def read(self, crops: Sequence[ImageBGR]) -> list[PlateRead]:
        """Read each tight plate crop (BGR); too small a crop reads as empty text."""
        out = [PlateRead("", 0.0) for _ in crops]
        good = [i for i, c in enumerate(crops) if c.ndim == 3 and min(c.shape[:2]) >= 2]
        for start in range(0, len(good), _BATCH):
            idx = good[start : start + _BATCH]
            plate, region = self._run(np.stack([self.prepare(crops[i]) for i in idx]))
            for j, i in enumerate(idx):
                read = self._mapper.read(plate[j])
                if region is not None:
                    countries = self.countries(region[j])
                    read = PlateRead(
                        read.text, read.confidence, read.char_confidences, read.steps, countries
                    )
                out[i] = read
        return out
