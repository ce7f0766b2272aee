"""OCR accuracy of the ``dashcam read --crop`` code path on a folder of labelled plate crops.

The folder holds ``labels.csv`` (columns ``file,region,plate``) and ``images/``. Prints one
JSON object: exact-match rate (after removing spaces and dashes), character accuracy
(1 - edit distance / label length, summed over the set), milliseconds per crop and n,
for all rows and for the even/odd row split (tune on even rows, report on odd ones).

    .venv/bin/python benchmarks/ocr_accuracy.py [PATH] [--region us] [--limit N]

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

from dashcam.cli.read import load_image
from dashcam.config import load_settings
from dashcam.domain.plate_text import normalise
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


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("path", nargs="?", type=Path, default=DEFAULT_DATA)
    parser.add_argument("--region", default="us", help="plate_region rules (default: us)")
    parser.add_argument("--limit", type=int, default=None, help="score only the first N rows")
    parser.add_argument("--misses", action="store_true", help="list the rows read wrong")
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
    print(json.dumps(report, indent=2))
    return 0


if __name__ == "__main__":
    sys.exit(main())
