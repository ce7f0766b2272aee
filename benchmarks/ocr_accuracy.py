"""Plate reading accuracy and speed of ``dashcam read`` on labelled dev data, as JSON.

Sets (``--sets``, see ``_plate_sets.py``):

- ``crops``: tight US crops, the ``dashcam read --crop`` path: exact match (after
  removing spaces and dashes), character accuracy, the most frequent character
  confusions, ms per crop;
- ``photos``: whole photos with plate text (Ukrainian): top-1 exact (the first plate
  listed is right), right text anywhere in the list, reads per image, ms per image;
- ``scenes``: each US crop on a car in a synthetic 1280x720 scene: located, top-1 exact,
  reads away from the plate, ms per image;
- ``countries``: plates of ~40 jurisdictions rendered in their layouts, in scenes;
- ``frames``: real photos with plate boxes and no text (``ol_*``): detector recall
  (a candidate box at IoU >= 0.5 or holding the box's centre), plates read on a box
  (>= 4 characters), reads away from every box per image (not every plate is boxed),
  ms per image.

Each set is scored with ``--region`` (default ``auto``) and, with ``--right-region``,
also with each item's right region (``us-<state>``, ``ua``, the rendered country). Every
figure is given for all rows and for the even (tuning) and odd (held-out) rows.

    .venv/bin/python benchmarks/ocr_accuracy.py [--sets crops,photos,scenes,countries,frames]
        [--region auto] [--right-region] [--limit N] [--misses] [--data DIR]

``--data`` is the folder holding ``plates-dev`` and ``plates-frames-dev`` (default
``../shared/data`` beside the repository).
"""

from __future__ import annotations

import _syspath  # noqa: F401  (first: keeps queue.py from shadowing the stdlib)

# isort: split
import argparse
import json
import sys
import time
from collections import Counter
from collections.abc import Callable, Iterable, Iterator
from dataclasses import dataclass, field
from pathlib import Path

import _plate_sets as sets

from dashcam.config import load_settings
from dashcam.domain.plate_text import normalise
from dashcam.stages.recognise import PlateRecogniser, PlateResult, propose

REPO_ROOT = Path(__file__).resolve().parent.parent
DEFAULT_DATA = REPO_ROOT.parent / "shared" / "data"
SETS = ("crops", "photos", "scenes", "countries", "frames", "dashcam")


def edit_ops(a: str, b: str) -> tuple[int, list[tuple[str, str]]]:
    """Edit distance of ``a`` (truth) to ``b`` (read) and the substitutions it makes."""
    n, m = len(a), len(b)
    dp = [[0] * (m + 1) for _ in range(n + 1)]
    for i in range(n + 1):
        dp[i][0] = i
    for j in range(m + 1):
        dp[0][j] = j
    for i in range(1, n + 1):
        for j in range(1, m + 1):
            dp[i][j] = min(
                dp[i - 1][j] + 1, dp[i][j - 1] + 1, dp[i - 1][j - 1] + (a[i - 1] != b[j - 1])
            )
    subs: list[tuple[str, str]] = []
    i, j = n, m
    while i > 0 and j > 0:
        if dp[i][j] == dp[i - 1][j - 1] + (a[i - 1] != b[j - 1]):
            if a[i - 1] != b[j - 1]:
                subs.append((a[i - 1], b[j - 1]))
            i, j = i - 1, j - 1
        elif dp[i][j] == dp[i - 1][j] + 1:
            i -= 1
        else:
            j -= 1
    return dp[n][m], subs


@dataclass
class Outcome:
    """What one image gave: the texts read (best first), boxes, timing."""

    index: int
    name: str
    truths: tuple[str, ...]
    reads: list[str]
    boxes: list[tuple[float, float, float, float]]
    truth_boxes: tuple[tuple[float, float, float, float], ...]
    ms: float
    candidate_boxes: list[tuple[float, float, float, float]] = field(default_factory=list)
    ignore: tuple[tuple[float, float, float, float], ...] = ()


def _overlaps(a: tuple[float, ...], b: tuple[float, ...]) -> bool:
    return a[0] < b[2] and a[2] > b[0] and a[1] < b[3] and a[3] > b[1]


def _iou(a: tuple[float, ...], b: tuple[float, ...]) -> float:
    ix = max(0.0, min(a[2], b[2]) - max(a[0], b[0]))
    iy = max(0.0, min(a[3], b[3]) - max(a[1], b[1]))
    inter = ix * iy
    union = (a[2] - a[0]) * (a[3] - a[1]) + (b[2] - b[0]) * (b[3] - b[1]) - inter
    return inter / union if union > 0 else 0.0


def _hits(box: tuple[float, ...], truth: tuple[float, ...]) -> bool:
    """IoU >= 0.5, or the truth box's centre inside ``box`` (a loose but right box)."""
    cx, cy = (truth[0] + truth[2]) / 2, (truth[1] + truth[3]) / 2
    return _iou(box, truth) >= 0.5 or (box[0] <= cx <= box[2] and box[1] <= cy <= box[3])


def _halves(rows: list[Outcome], score: Callable[[list[Outcome]], dict[str, float]]) -> dict:
    return {
        "all": score(rows),
        "even_rows_tuning": score([r for r in rows if r.index % 2 == 0]),
        "odd_rows_held_out": score([r for r in rows if r.index % 2 == 1]),
    }


def score_crops(rows: list[Outcome]) -> dict[str, float]:
    if not rows:
        return {"n": 0}
    exact = sum(r.reads[:1] == [r.truths[0]] for r in rows)
    chars = sum(len(r.truths[0]) for r in rows)
    edits = 0
    for r in rows:
        dist, _ = edit_ops(r.truths[0], r.reads[0] if r.reads else "")
        edits += min(dist, len(r.truths[0]))
    return {
        "n": len(rows),
        "exact_match": round(exact / len(rows), 4),
        "char_accuracy": round(1 - edits / max(chars, 1), 4),
        "ms_per_crop": round(sum(r.ms for r in rows) / len(rows), 2),
    }


def confusions(rows: list[Outcome], top: int = 12) -> list[str]:
    """The most frequent ``truth->read`` character substitutions among the misreads."""
    counts: Counter[str] = Counter()
    for r in rows:
        if r.reads and r.reads[0] != r.truths[0]:
            for a, b in edit_ops(r.truths[0], r.reads[0])[1]:
                counts[f"{a}->{b}"] += 1
    return [f"{k} x{v}" for k, v in counts.most_common(top)]


def score_images(rows: list[Outcome]) -> dict[str, float]:
    if not rows:
        return {"n": 0}
    n = len(rows)
    top1 = sum(bool(r.reads) and r.reads[0] in r.truths for r in rows)
    anywhere = sum(any(t in r.reads for t in r.truths) for r in rows)
    out: dict[str, float] = {
        "n": n,
        "top1_exact": round(top1 / n, 4),
        "anywhere_exact": round(anywhere / n, 4),
        "reads_per_image": round(sum(len(r.reads) for r in rows) / n, 3),
        "ms_per_image": round(sum(r.ms for r in rows) / n, 1),
    }
    if any(r.truth_boxes for r in rows):
        located = sum(any(_overlaps(b, t) for b in r.boxes for t in r.truth_boxes) for r in rows)
        stray = sum(
            sum(not any(_overlaps(b, t) for t in r.truth_boxes) for b in r.boxes) for r in rows
        )
        out["located"] = round(located / n, 4)
        out["stray_reads_per_image"] = round(stray / n, 3)
    return out


def score_frames(rows: list[Outcome]) -> dict[str, float]:
    if not rows:
        return {"n": 0}
    plates = sum(len(r.truth_boxes) for r in rows)
    found = sum(
        sum(any(_hits(c, t) for c in r.candidate_boxes) for t in r.truth_boxes) for r in rows
    )
    read = sum(
        sum(
            any(_hits(b, t) and len(txt) >= 4 for b, txt in zip(r.boxes, r.reads, strict=True))
            for t in r.truth_boxes
        )
        for r in rows
    )
    stray = sum(sum(not any(_overlaps(b, t) for t in r.truth_boxes) for b in r.boxes) for r in rows)
    top1 = sum(bool(r.boxes) and any(_hits(r.boxes[0], t) for t in r.truth_boxes) for r in rows)
    return {
        "n_images": len(rows),
        "n_plates": plates,
        "detector_recall": round(found / max(plates, 1), 4),
        "read_on_plate": round(read / max(plates, 1), 4),
        "top1_on_a_plate": round(top1 / len(rows), 4),
        "stray_reads_per_image": round(stray / len(rows), 3),
        "ms_per_image": round(sum(r.ms for r in rows) / len(rows), 1),
    }


def score_dashcam(rows: list[Outcome]) -> dict[str, float]:
    """Per plate: located and read (>= 4 characters on its box), read exactly; per frame:
    reads away from every plate; by day and at night."""
    out: dict[str, float] = {}
    for when in ("all", "day", "night"):
        part = [r for r in rows if when == "all" or r.name.startswith(when)]
        plates = sum(len(r.truth_boxes) for r in part)
        read = exact = stray = 0
        for r in part:
            for text, box in zip(r.truths, r.truth_boxes, strict=True):
                on = [t for b, t in zip(r.boxes, r.reads, strict=True) if _hits(b, box)]
                read += any(len(t) >= 4 for t in on)
                exact += text in on
            known = (*r.truth_boxes, *r.ignore)
            stray += sum(not any(_overlaps(b, t) for t in known) for b in r.boxes)
        n = max(len(part), 1)
        out[f"{when}_located_and_read"] = round(read / max(plates, 1), 4)
        out[f"{when}_exact"] = round(exact / max(plates, 1), 4)
        out[f"{when}_stray_reads_per_frame"] = round(stray / n, 3)
    out["n_frames"] = len(rows)
    out["ms_per_frame"] = round(sum(r.ms for r in rows) / max(len(rows), 1), 1)
    return out


class Runner:
    """One recogniser per region, built once and reused across sets."""

    def __init__(self, detector: str = "auto") -> None:
        self._cache: dict[str, PlateRecogniser] = {}
        self.detector = detector

    def recogniser(self, region: str) -> PlateRecogniser:
        if region not in self._cache:
            first = next(iter(self._cache.values()), None)
            self._cache[region] = PlateRecogniser(
                load_settings(plate_region=region, plate_detector=self.detector, enable_ocr=True),
                detector=first.detector if first else None,
                reader=first.reader if first else None,
            )
        return self._cache[region]

    def run(self, items: Iterable[sets.Item], region: str | None, crop: bool) -> list[Outcome]:
        out: list[Outcome] = []
        for item in items:
            rec = self.recogniser(region or item.region)
            start = time.perf_counter()
            candidates: list[tuple[float, float, float, float]] = []
            if crop:
                results: list[PlateResult] = [r for r in rec.read_crops([item.image]) if r.text]
            else:
                found, crops = propose(rec.detector, item.image)
                boxes, scores = found.xyxy.tolist(), found.confidence.tolist()
                candidates = [(b[0], b[1], b[2], b[3]) for b in boxes]
                results = [r for _, r in rec.read_candidates(crops, boxes, scores)]
            ms = (time.perf_counter() - start) * 1000
            out.append(
                Outcome(
                    item.index,
                    item.name,
                    item.texts,
                    [normalise(r.text) for r in results],
                    [r.xyxy for r in results],
                    item.boxes,
                    ms,
                    candidates,
                    item.ignore,
                )
            )
        return out


def _items(name: str, data: Path, limit: int | None) -> Iterator[sets.Item]:
    if name == "crops":
        return sets.crops(data / "plates-dev", limit)
    if name == "photos":
        return sets.photos(data / "plates-frames-dev", limit)
    if name == "scenes":
        return sets.scenes(data / "plates-dev", limit)
    if name == "countries":
        return sets.countries(limit=limit)
    if name == "dashcam":
        return sets.dashcam(limit=limit)
    return sets.frames(data / "plates-frames-dev", limit)


def run_set(
    runner: Runner, name: str, data: Path, region: str, right: bool, limit: int | None, misses: bool
) -> dict[str, object]:
    score = {"crops": score_crops, "frames": score_frames, "dashcam": score_dashcam}.get(
        name, score_images
    )
    report: dict[str, object] = {}
    regions: list[str | None] = [region]
    if right and name != "frames":
        regions.append(None)
    for reg in regions:
        rows = runner.run(_items(name, data, limit), reg, crop=name == "crops")
        block: dict[str, object] = _halves(rows, score)
        if name == "crops":
            block["confusions"] = confusions(rows)
        if misses and name != "frames":
            block["misses"] = [
                [r.name, "/".join(r.truths), r.reads[:3]]
                for r in rows
                if not r.reads or r.reads[0] not in r.truths
            ]
        report[f"region={reg}" if reg else "region=right"] = block
    return report


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--sets", default="crops,photos,scenes", help=f"from {','.join(SETS)}")
    parser.add_argument("--region", default="auto", help="plate_region for every set")
    parser.add_argument(
        "--right-region", action="store_true", help="also score with each item's own region"
    )
    parser.add_argument("--limit", type=int, default=None, help="first N items of each set")
    parser.add_argument("--misses", action="store_true", help="list the items read wrong")
    parser.add_argument("--data", type=Path, default=DEFAULT_DATA)
    parser.add_argument("--detector", default="auto", help="plate_detector backend")
    args = parser.parse_args(argv)
    names = [s.strip() for s in args.sets.split(",") if s.strip()]
    unknown = [n for n in names if n not in SETS]
    if unknown:
        parser.error(f"unknown sets {unknown}; choose from {', '.join(SETS)}")
    needs_data = [n for n in names if n != "countries"]
    if needs_data and not (args.data / "plates-dev" / "labels.csv").is_file():
        print(
            f"ocr_accuracy: no plates-dev/labels.csv under {args.data}; pass --data with the "
            "folder holding plates-dev and plates-frames-dev, or --sets countries",
            file=sys.stderr,
        )
        return 2
    runner = Runner(args.detector)
    report: dict[str, object] = {"data": str(args.data), "detector": args.detector}
    for name in names:
        report[name] = run_set(
            runner, name, args.data, args.region, args.right_region, args.limit, args.misses
        )
    print(json.dumps(report, indent=2))
    return 0


if __name__ == "__main__":
    sys.exit(main())
