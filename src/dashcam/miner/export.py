"""Export a project's kept frames and their labels, ready to train on: COCO or YOLO.

- ``coco``: ``<out>/images/<file>`` and ``<out>/annotations.json`` (``bbox`` = x, y, w, h
  in pixels; categories numbered from 1 in label-name order);
- ``yolo``: ``<out>/images/<file>``, ``<out>/labels/<stem>.txt`` (``class cx cy w h``
  normalised to 0..1, one line per box, empty file for no boxes) and ``<out>/data.yaml``.

Image files are hard links to the extracted frames where possible, copies otherwise.
"""

from __future__ import annotations

import json
import os
import shutil
from dataclasses import dataclass
from enum import StrEnum
from pathlib import Path
from typing import Any

import yaml

from dashcam.miner.project import Label, ProjectStore
from dashcam.miner.schema import FrameState, MinerFrameRow
from dashcam.store.paths import atomic_write_text


class ExportFormat(StrEnum):
    COCO = "coco"
    YOLO = "yolo"


@dataclass(frozen=True)
class ExportResult:
    out_dir: Path
    images: int
    boxes: int
    categories: list[str]


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
    store: ProjectStore, name: str, fmt: ExportFormat, out_dir: Path | None = None
) -> ExportResult:
    project = store.project(name)
    out = out_dir or project.root / "export" / fmt.value
    frames = store.frames(name, states=(FrameState.KEPT,))
    labels = store.labels([f.id for f in frames])
    names = sorted({lb.label for items in labels.values() for lb in items})
    (out / "images").mkdir(parents=True, exist_ok=True)
    for f in frames:
        _place(project.root / f.path, out / "images" / _file_name(f))
    boxes = sum(len(v) for v in labels.values())
    if fmt == ExportFormat.COCO:
        doc = coco_document(frames, labels, names)
        atomic_write_text(out / "annotations.json", json.dumps(doc, indent=1))
    else:
        (out / "labels").mkdir(exist_ok=True)
        for f in frames:
            stem = Path(_file_name(f)).stem
            atomic_write_text(
                out / "labels" / f"{stem}.txt", yolo_lines(f, labels.get(f.id, []), names)
            )
        data = {
            "path": str(out.resolve()),
            "train": "images",
            "val": "images",
            "names": dict(enumerate(names)),
        }
        atomic_write_text(out / "data.yaml", yaml.safe_dump(data, sort_keys=False))
    return ExportResult(out, len(frames), boxes, names)
