"""Finding user-supplied model weights in ``DASHCAM_MODELS_DIR``.

Conventions (see docs/models.md):

- a file whose name contains ``plate`` (any case) is a plate-detector model,
  every other ``.onnx``/``.pt`` file is a vehicle-detector model;
- ``.onnx`` is preferred over ``.pt`` (it runs on onnxruntime, no torch needed);
- among files of the same kind and format the first by sorted name wins.
"""

from __future__ import annotations

from pathlib import Path
from typing import Literal

from dashcam.errors import BackendUnavailable

WeightsKind = Literal["vehicle", "plate"]

#: Suffixes in order of preference.
WEIGHT_SUFFIXES: tuple[str, ...] = (".onnx", ".pt")


def weights_kind(path: Path) -> WeightsKind:
    """``"plate"`` when the file name contains ``plate``, else ``"vehicle"``.

    >>> weights_kind(Path("models/yolov8n-plate.onnx"))
    'plate'
    """
    return "plate" if "plate" in path.name.lower() else "vehicle"


def list_weights(models_dir: Path, kind: WeightsKind) -> list[Path]:
    """All weights files of ``kind`` in ``models_dir`` (not recursive), best first.

    A missing folder gives ``[]``: having no weights is a normal state, not an error.
    """
    if not models_dir.is_dir():
        return []
    found = [
        p
        for p in models_dir.iterdir()
        if p.is_file() and p.suffix.lower() in WEIGHT_SUFFIXES and weights_kind(p) == kind
    ]
    return sorted(found, key=lambda p: (WEIGHT_SUFFIXES.index(p.suffix.lower()), p.name))


def find_weights(models_dir: Path, kind: WeightsKind) -> Path | None:
    """The weights file to use for ``kind``, or ``None`` when there is none.

    >>> find_weights(Path("/nonexistent"), "vehicle") is None
    True
    """
    found = list_weights(models_dir, kind)
    return found[0] if found else None


def require_weights(models_dir: Path, kind: WeightsKind, suffix: str) -> Path:
    """The best ``kind`` weights file with ``suffix`` (``".onnx"``/``".pt"``), or
    :class:`BackendUnavailable` naming the folder and the file pattern expected."""
    for path in list_weights(models_dir, kind):
        if path.suffix.lower() == suffix:
            return path
    pattern = f"*plate*{suffix}" if kind == "plate" else f"*{suffix} (name without 'plate')"
    raise BackendUnavailable(f"no {kind} weights in {models_dir}: expected a file {pattern}")
