"""OCR accuracy of the ``dashcam read --crop`` code path on a folder of labelled plate crops.

The folder holds ``labels.csv`` (columns ``file,region,plate``) and ``images/``. Prints one
JSON object: exact-match rate (after removing spaces and dashes), character accuracy
(1 - edit distance / label length, summed over the set), milliseconds per crop and n,
for all rows and for the even/odd row split (tune on even rows, report on odd ones).

``--scenes`` also scores the full-image path of ``dashcam read IMAGE`` (detection, then
OCR, then the choice among candidates): each crop is put on the back of a car in a
synthetic 1280x720 road scene (plate 100-220 px wide, seeded per row), and the block
``in_scenes`` gives the share of plates located, the exact-match rate of the read given
for each plate, reads reported away from the plate, and milliseconds per image.

    .venv/bin/python benchmarks/ocr_accuracy.py [PATH] [--region us] [--limit N] [--scenes]

PATH defaults to ``../shared/data/plates-dev`` relative to the repository root.
"""

from __future__ import annotations

import _syspath  # noqa: F401  (first: keeps queue.py from shadowing the stdlib)

# isort: split
import argparse
import csv
import json
import sys
import time
from dataclasses import dataclass
from pathlib import Path

import cv2
import numpy as np

from dashcam.cli.read import load_image
from dashcam.config import load_settings
from dashcam.domain.plate_text import normalise
from dashcam.media.scene import BODY_COLOURS, Scene, Vehicle, paste
from dashcam.stages.recognise import PlateRecogniser

REPO_ROOT = Path(__file__).resolve().parent.parent
DEFAULT_DATA = REPO_ROOT.parent / "shared" / "data" / "plates-dev"


@dataclass(frozen=True)
class Row:
    index: int
    file: str
    truth: str
    read: str
    confidence: float
    ms: float


def edit_distance(a: str, b: str) -> int:
    prev = list(range(len(b) + 1))
    for i, ca in enumerate(a, start=1):
        cur = [i]
        for j, cb in enumerate(b, start=1):
            cur.append(min(prev[j] + 1, cur[j - 1] + 1, prev[j - 1] + (ca != cb)))
        prev = cur
    return prev[-1]


def score(rows: list[Row]) -> dict[str, float | int]:
    if not rows:
        return {"n": 0}
    exact = sum(r.read == r.truth for r in rows)
    chars = sum(len(r.truth) for r in rows)
    edits = sum(min(edit_distance(r.read, r.truth), len(r.truth)) for r in rows)
    return {
        "n": len(rows),
        "exact_match": round(exact / len(rows), 4),
        "char_accuracy": round(1 - edits / max(chars, 1), 4),
        "ms_per_crop": round(sum(r.ms for r in rows) / len(rows), 2),
    }


def run(data: Path, region: str, limit: int | None) -> dict[str, object]:
    labels = data / "labels.csv"
    with labels.open(newline="", encoding="utf-8") as fh:
        entries = list(csv.DictReader(fh))[:limit]
    recogniser = PlateRecogniser(load_settings(plate_region=region, enable_ocr=True))
    rows: list[Row] = []
    for i, entry in enumerate(entries):
        image = load_image(data / "images" / entry["file"])
        start = time.perf_counter()
        results = [r for r in recogniser.read_crops([image]) if r.text]
        ms = (time.perf_counter() - start) * 1000
        best = results[0] if results else None
        rows.append(
            Row(
                index=i,
                file=entry["file"],
                truth=normalise(entry["plate"]),
                read=normalise(best.text) if best else "",
                confidence=best.confidence if best else 0.0,
                ms=ms,
            )
        )
    return {
        "data": str(data),
        "region": region,
        "all": score(rows),
        "even_rows_tuning": score([r for r in rows if r.index % 2 == 0]),
        "odd_rows_held_out": score([r for r in rows if r.index % 2 == 1]),
        "misses": [[r.file, r.truth, r.read] for r in rows if r.read != r.truth],
    }


def in_scene(crop: np.ndarray, seed: int) -> tuple[np.ndarray, tuple[int, int, int, int]]:
    """``crop`` on the back of a car in a road scene; returns the image and the plate box."""
    rng = np.random.default_rng(seed)
    scene = Scene((1280, 720), rng)
    image = scene.background.copy()
    plate_w = int(rng.integers(100, 221))
    car_w = plate_w / 0.29  # real plates are ~0.29 of the car's width
    colour = BODY_COLOURS[int(rng.integers(len(BODY_COLOURS)))]
    blank = np.full((8, 8, 3), colour, np.uint8)  # the scene's own plate, in body colour
    placed = scene.place(Vehicle("", 0, 0.0, 1.0, car_w, car_w, colour, blank), 0.0)
    scene.draw_vehicle(image, placed)
    x0, y0, x1, y1 = placed.plate_xyxy
    plate_h = round(crop.shape[0] * plate_w / crop.shape[1])
    left = (x0 + x1 - plate_w) // 2
    top = max(0, min((y0 + y1 - plate_h) // 2, image.shape[0] - plate_h))
    plate = cv2.resize(crop, (plate_w, plate_h), interpolation=cv2.INTER_AREA)
    paste(image, np.asarray(plate, np.uint8), left, top)
    return image, (left, top, left + plate_w, top + plate_h)


def run_scenes(data: Path, region: str, limit: int | None) -> dict[str, float | int]:
    with (data / "labels.csv").open(newline="", encoding="utf-8") as fh:
        entries = list(csv.DictReader(fh))[:limit]
    recogniser = PlateRecogniser(load_settings(plate_region=region, enable_ocr=True))
    located = exact = elsewhere = 0
    seconds = 0.0
    for i, entry in enumerate(entries):
        image, (x0, y0, x1, y1) = in_scene(load_image(data / "images" / entry["file"]), i)
        start = time.perf_counter()
        results = recogniser.recognise(image)
        seconds += time.perf_counter() - start
        on_plate = [
            r
            for r in results
            if r.xyxy[0] < x1 and r.xyxy[2] > x0 and r.xyxy[1] < y1 and r.xyxy[3] > y0
        ]
        elsewhere += len(results) - len(on_plate)
        if on_plate:
            located += 1
            best = max(on_plate, key=lambda r: r.confidence)
            exact += normalise(best.text) == normalise(entry["plate"])
    n = max(len(entries), 1)
    return {
        "n": len(entries),
        "located": round(located / n, 4),
        "exact_match": round(exact / n, 4),
        "reads_away_from_the_plate": elsewhere,
        "ms_per_image": round(seconds / n * 1000, 1),
    }


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("path", nargs="?", type=Path, default=DEFAULT_DATA)
    parser.add_argument("--region", default="us", help="plate_region rules (default: us)")
    parser.add_argument("--limit", type=int, default=None, help="score only the first N rows")
    parser.add_argument("--misses", action="store_true", help="list the rows read wrong")
    parser.add_argument(
        "--scenes", action="store_true", help="also score full images (crops put in scenes)"
    )
    args = parser.parse_args(argv)
    if not (args.path / "labels.csv").is_file():
        print(
            f"ocr_accuracy: no labels.csv under {args.path}; pass the folder of labelled "
            "plate crops (labels.csv with file,region,plate and images/)",
            file=sys.stderr,
        )
        return 2
    report = run(args.path, args.region, args.limit)
    if not args.misses:
        report.pop("misses")
    if args.scenes:
        report["in_scenes"] = run_scenes(args.path, args.region, args.limit)
    print(json.dumps(report, indent=2))
    return 0


if __name__ == "__main__":
    sys.exit(main())
