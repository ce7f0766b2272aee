"""Export a project's kept frames and their labels, ready to train on: COCO or YOLO,
split into ``train`` and ``val``.

- ``coco``: ``<out>/images/{train,val}/<file>`` and
  ``<out>/annotations/instances_{train,val}.json`` (``bbox`` = x, y, w, h in pixels;
  categories numbered from 1 in label-name order, the same in both files);
- ``yolo``: ``<out>/images/{train,val}/<file>``, ``<out>/labels/{train,val}/<stem>.txt``
  (``class cx cy w h`` normalised to 0..1, one line per box, empty file for no boxes) and
  ``<out>/data.yaml`` naming both folders.

The split is deterministic: frames are ordered by the SHA-256 of their file name
(``v<video>_<frame>``) and the first ``round(n * val_fraction)`` go to ``val`` (at least
one when the fraction is above 0 and there are two frames or more). The same project
exports the same split every time. Files of an earlier export that are no longer part of
it (another split, a frame no longer kept) are removed; other files are left alone.

Image files are hard links to the extracted frames where possible, copies otherwise.
"""

from __future__ import annotations

import hashlib
import json
import os
import re
import shutil
from dataclasses import dataclass
from enum import StrEnum
from pathlib import Path
from typing import Any

import yaml

from dashcam.errors import InputError
from dashcam.miner.project import Label, ProjectStore
from dashcam.miner.schema import FrameState, MinerFrameRow
from dashcam.store.paths import atomic_write_text


class ExportFormat(StrEnum):
    COCO = "coco"
    YOLO = "yolo"


SPLITS = ("train", "val")
DEFAULT_VAL_FRACTION = 0.2
_OURS = re.compile(r"^v\d{6}_\d{8}\.\w+$")  # the names this module gives files


@dataclass(frozen=True)
class ExportResult:
    out_dir: Path
    images: int
    boxes: int
    categories: list[str]
    train: int = 0
    val: int = 0


def split_frames(
    frames: list[MinerFrameRow], val_fraction: float
) -> dict[str, list[MinerFrameRow]]:
    """``{"train": [...], "val": [...]}``, each in the frames' own order (pure).

    Deterministic: the order of the SHA-256 of each file name decides, so the same
    frames always split the same way.
    """
    if not 0 <= val_fraction < 1:
        raise InputError(f"--val-fraction must be at least 0 and below 1, got {val_fraction}")
    n_val = round(len(frames) * val_fraction)
    if val_fraction > 0 and len(frames) > 1:
        n_val = min(max(n_val, 1), len(frames) - 1)
    ranked = sorted(frames, key=lambda f: hashlib.sha256(_file_name(f).encode()).hexdigest())
    val_ids = {f.id for f in ranked[:n_val]}
    return {
        "train": [f for f in frames if f.id not in val_ids],
        "val": [f for f in frames if f.id in val_ids],
    }


def _prune(folder: Path, keep: set[str]) -> None:
    """Remove this module's files in ``folder`` that are not in ``keep``."""
    if not folder.is_dir():
        return
    for p in folder.iterdir():
        if p.is_file() and p.name not in keep and _OURS.match(p.name):
            p.unlink()


def _place(src: Path, dst: Path) -> None:
    if dst.exists():
        return
    try:
        os.link(src, dst)
    except OSError:
        shutil.copyfile(src, dst)


def _file_name(f: MinerFrameRow) -> str:
    return f"v{f.video_id:06d}_{f.frame_index:08d}{Path(f.path).suffix}"


def coco_document(
    frames: list[MinerFrameRow], labels: dict[int, list[Label]], names: list[str]
) -> dict[str, Any]:
    """The COCO dict (pure)."""
    cat = {n: i + 1 for i, n in enumerate(names)}
    images: list[dict[str, Any]] = []
    anns: list[dict[str, Any]] = []
    for f in frames:
        images.append(
            {
                "id": f.id,
                "file_name": _file_name(f),
                "width": f.width,
                "height": f.height,
                "video_id": f.video_id,
                "frame_index": f.frame_index,
                "pts_s": f.pts_s,
                "lat": f.lat,
                "lon": f.lon,
            }
        )
        for lb in labels.get(f.id, []):
            x1, y1, x2, y2 = lb.xyxy
            anns.append(
                {
                    "id": len(anns) + 1,
                    "image_id": f.id,
                    "category_id": cat[lb.label],
                    "bbox": [x1, y1, x2 - x1, y2 - y1],
                    "area": (x2 - x1) * (y2 - y1),
                    "iscrowd": 0,
                    "score": lb.confidence,
                }
            )
    return {
        "images": images,
        "annotations": anns,
        "categories": [{"id": i, "name": n} for n, i in cat.items()],
    }


def yolo_lines(f: MinerFrameRow, labels: list[Label], names: list[str]) -> str:
    """YOLO label text of one frame (pure)."""
    idx = {n: i for i, n in enumerate(names)}
    out = []
    for lb in labels:
        x1, y1, x2, y2 = lb.xyxy
        cx, cy = (x1 + x2) / 2 / f.width, (y1 + y2) / 2 / f.height
        w, h = (x2 - x1) / f.width, (y2 - y1) / f.height
        out.append(f"{idx[lb.label]} {cx:.6f} {cy:.6f} {w:.6f} {h:.6f}")
    return "\n".join(out) + ("\n" if out else "")


def export_project(
    store: ProjectStore,
    name: str,
    fmt: ExportFormat,
    out_dir: Path | None = None,
    *,
    val_fraction: float = DEFAULT_VAL_FRACTION,
) -> ExportResult:
    project = store.project(name)
    out = out_dir or project.root / "export" / fmt.value
    frames = store.frames(name, states=(FrameState.KEPT,))
    split = split_frames(frames, val_fraction)
    labels = store.labels([f.id for f in frames])
    names = sorted({lb.label for items in labels.values() for lb in items})
    _prune(out / "images", set())  # the single folder of exports before the split
    for part in SPLITS:
        images = out / "images" / part
        images.mkdir(parents=True, exist_ok=True)
        keep = {_file_name(f) for f in split[part]}
        _prune(images, keep)
        for f in split[part]:
            _place(project.root / f.path, images / _file_name(f))
    boxes = sum(len(v) for v in labels.values())
    if fmt == ExportFormat.COCO:
        (out / "annotations.json").unlink(missing_ok=True)  # the export before the split
        (out / "annotations").mkdir(exist_ok=True)
        for part in SPLITS:
            doc = coco_document(split[part], labels, names)
            atomic_write_text(
                out / "annotations" / f"instances_{part}.json", json.dumps(doc, indent=1)
            )
    else:
        _prune(out / "labels", set())
        for part in SPLITS:
            folder = out / "labels" / part
            folder.mkdir(parents=True, exist_ok=True)
            texts = {f"{Path(_file_name(f)).stem}.txt": f for f in split[part]}
            _prune(folder, set(texts))
            for text_name, f in texts.items():
                atomic_write_text(folder / text_name, yolo_lines(f, labels.get(f.id, []), names))
        data = {
            "path": str(out.resolve()),
            "train": "images/train",
            "val": "images/val",
            "names": dict(enumerate(names)),
        }
        atomic_write_text(out / "data.yaml", yaml.safe_dump(data, sort_keys=False))
    return ExportResult(
        out, len(frames), boxes, names, train=len(split["train"]), val=len(split["val"])
    )
