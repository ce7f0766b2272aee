"""Labelled plate images for ``ocr_accuracy.py``: the dev sets and synthetic scenes.

Every item carries its row index (to split tuning and held-out halves), the region that
is right for it, the plate texts and, where known, the plate boxes.

- ``crops``: tight US plate crops (``plates-dev``), read with ``read_crops``;
- ``photos``: whole photos with plate text, no boxes (``plates-frames-dev/ua_*``);
- ``frames``: whole photos with plate boxes, no text (``plates-frames-dev/ol_*``);
- ``scenes``: each US crop on the back of a car in a synthetic 1280x720 road scene;
- ``countries``: plates of many jurisdictions rendered in their layouts, in scenes;
- ``dashcam``: synthetic 1280x720 dashcam frames, 1-3 cars near and far (plates 35-165
  px wide), every other pair at night, the camera rolled up to 4 degrees, blurred and
  JPEG-compressed (``media/frames.py``).
"""

from __future__ import annotations

import csv
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path

import cv2
import numpy as np

from dashcam.cli.read import load_image
from dashcam.domain.plate_text import normalise
from dashcam.media.frames import road_frame
from dashcam.media.plates import render_plate, sample_plate
from dashcam.media.scene import BODY_COLOURS, Scene, Vehicle, paste
from dashcam.resources import format_book

Box = tuple[float, float, float, float]

#: Jurisdictions rendered for the ``countries`` set (several per group of the book).
COUNTRIES = (
    "us-ca", "us-tx", "us-ny", "us-fl", "ca-on", "ca-qc", "mx", "br", "ar", "cl",
    "gb", "ie", "fr", "de", "it", "es", "pt", "nl", "be", "pl", "cz", "at", "ch", "se",
    "no", "fi", "dk", "hr", "si", "rs", "ua", "ru", "tr", "il", "ae", "in", "pk", "my",
    "id", "ph", "au-nsw", "au-vic", "nz", "za",
)  # fmt: skip


@dataclass(frozen=True)
class Item:
    index: int
    name: str
    image: np.ndarray
    region: str  # the right plate region for this item
    texts: tuple[str, ...] = ()  # normalised truth texts ("" where unknown)
    boxes: tuple[Box, ...] = ()
    ignore: tuple[Box, ...] = ()  # reads here count neither way


def _rows(path: Path) -> list[dict[str, str]]:
    with path.open(newline="", encoding="utf-8") as fh:
        return list(csv.DictReader(fh))


def crops(data: Path, limit: int | None = None) -> Iterator[Item]:
    for i, row in enumerate(_rows(data / "labels.csv")[:limit]):
        yield Item(
            i,
            row["file"],
            load_image(data / "images" / row["file"]),
            f"us-{row['region']}",
            (normalise(row["plate"]),),
        )


def _frame_rows(data: Path, prefix: str) -> list[tuple[str, list[dict[str, str]]]]:
    grouped: dict[str, list[dict[str, str]]] = {}
    for row in _rows(data / "labels.csv"):
        if row["file"].startswith(prefix):
            grouped.setdefault(row["file"], []).append(row)
    return sorted(grouped.items())


def photos(data: Path, limit: int | None = None) -> Iterator[Item]:
    for i, (name, rows) in enumerate(_frame_rows(data, "ua_")[:limit]):
        yield Item(
            i,
            name,
            load_image(data / "images" / name),
            "ua",
            tuple(normalise(r["plate"]) for r in rows),
        )


def frames(data: Path, limit: int | None = None) -> Iterator[Item]:
    for i, (name, rows) in enumerate(_frame_rows(data, "ol_")[:limit]):
        boxes = tuple(
            (
                float(r["x"]),
                float(r["y"]),
                float(r["x"]) + float(r["w"]),
                float(r["y"]) + float(r["h"]),
            )
            for r in rows
        )
        yield Item(i, name, load_image(data / "images" / name), "auto", ("",) * len(boxes), boxes)


def in_scene(
    plate: np.ndarray, seed: int, width_px: tuple[int, int] = (100, 221)
) -> tuple[np.ndarray, Box]:
    """``plate`` on the back of a car in a road scene; the image and the plate box."""
    rng = np.random.default_rng(seed)
    scene = Scene((1280, 720), rng)
    image = scene.background.copy()
    plate_w = int(rng.integers(*width_px))
    car_w = plate_w / 0.29  # real plates are ~0.29 of the car's width
    colour = BODY_COLOURS[int(rng.integers(len(BODY_COLOURS)))]
    blank = np.full((8, 8, 3), colour, np.uint8)  # the scene's own plate, in body colour
    placed = scene.place(Vehicle("", 0, 0.0, 1.0, car_w, car_w, colour, blank), 0.0)
    scene.draw_vehicle(image, placed)
    x0, y0, x1, y1 = placed.plate_xyxy
    plate_h = round(plate.shape[0] * plate_w / plate.shape[1])
    left = (x0 + x1 - plate_w) // 2
    top = max(0, min((y0 + y1 - plate_h) // 2, image.shape[0] - plate_h))
    resized = cv2.resize(plate, (plate_w, plate_h), interpolation=cv2.INTER_AREA)
    paste(image, np.asarray(resized, np.uint8), left, top)
    return image, (left, top, left + plate_w, top + plate_h)


def scenes(data: Path, limit: int | None = None) -> Iterator[Item]:
    for item in crops(data, limit):
        image, box = in_scene(item.image, item.index)
        yield Item(item.index, item.name, image, item.region, item.texts, (box,))


def countries(per_country: int = 6, limit: int | None = None) -> Iterator[Item]:
    book = format_book()
    index = 0
    for code in COUNTRIES:
        if code not in book.jurisdictions:
            continue
        j = book.jurisdictions[code]
        rng = np.random.default_rng(1000 + index)
        for _ in range(per_country):
            if limit is not None and index >= limit:
                return
            layout = j.layouts[int(rng.integers(len(j.layouts)))]
            text, printed = sample_plate(layout, rng)
            plate = render_plate(printed, 60, style=j.country)
            image, box = in_scene(plate, 5000 + index, (110, 230))
            yield Item(index, f"{code}:{text}", image, code, (j.apply_fold(text),), (box,))
            index += 1


def dashcam(n: int = 240, limit: int | None = None) -> Iterator[Item]:
    """Road frames: seed ``i``, ``1 + i % 3`` cars, night on odd rows of each pair."""
    for i in range(n if limit is None else min(n, limit)):
        frame = road_frame(
            7000 + i,
            n_vehicles=1 + i % 3,
            night=(i // 2) % 2 == 1,
            car_width_px=(70.0, 330.0),
            roll_deg=4.0,
            degrade=True,
        )
        texts = tuple(t for t, _ in frame.plates)
        boxes = tuple((float(a), float(b), float(c), float(d)) for _, (a, b, c, d) in frame.plates)
        label = f"{'night' if frame.night else 'day'}:{i}"
        ignore = tuple((float(a), float(b), float(c), float(d)) for a, b, c, d in frame.hidden)
        yield Item(i, label, frame.image, "auto", texts, boxes, ignore)
