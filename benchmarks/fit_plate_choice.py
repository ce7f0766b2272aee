"""Fit the plate-choice weights (``domain/plate_choice.py``) on the dev sets; print JSON.

Every candidate read of every image (after the hard rules: >= 4 characters, fits the
formats, not a legend) is labelled:

- ``frames`` (real photos with plate boxes, no text): 1 when its box is on a labelled
  plate (IoU >= 0.5 or holding the box's centre), 0 when it touches none, else left out;
- ``photos``, ``scenes``, ``countries`` (text known): 1 when its text is the plate's,
  0 otherwise (a wrong read on the plate must lose to the right one).

A logistic regression (L2) is fitted on the even rows and scored on the odd rows: log
loss, and what ``choose`` keeps with the fitted and with the shipped weights (top-1 right,
reads per image). Copy the printed ``weights`` into ``WEIGHTS`` when they are better.

    .venv/bin/python benchmarks/fit_plate_choice.py [--sets frames,photos,scenes,countries]
        [--limit N] [--cache /tmp/choice.pkl] [--data DIR]
"""

from __future__ import annotations

import _syspath  # noqa: F401  (first: keeps queue.py from shadowing the stdlib)

# isort: split
import argparse
import json
import pickle
import sys
from dataclasses import dataclass
from pathlib import Path

import numpy as np
from ocr_accuracy import DEFAULT_DATA, _hits, _items, _overlaps

from dashcam.config import load_settings
from dashcam.domain.plate_choice import FEATURES, MIN_SCORE, WEIGHTS, ReadEvidence, choose, features
from dashcam.stages.recognise import PlateRecogniser, evidence, propose


@dataclass
class Image:
    set: str
    index: int
    truths: tuple[str, ...]
    boxes: tuple[tuple[float, float, float, float], ...]
    reads: list[ReadEvidence]


def collect(names: list[str], data: Path, limit: int | None) -> list[Image]:
    out: list[Image] = []
    base: PlateRecogniser | None = None
    for name in names:
        for item in _items(name, data, limit):
            region = "auto" if name == "frames" else item.region
            rec = PlateRecogniser(
                load_settings(plate_region=region, enable_ocr=True),
                detector=base.detector if base else None,
                reader=base.reader if base else None,
            )
            base = base or rec
            found, crops = propose(rec.detector, item.image)
            boxes, scores = found.xyxy.tolist(), found.confidence.tolist()
            results = [r for r in rec.read_all(crops, boxes, scores) if rec._accept(r)]
            out.append(
                Image(name, item.index, item.texts, item.boxes, [evidence(r) for r in results])
            )
    return out


def label(img: Image, read: ReadEvidence) -> int | None:
    if img.set == "frames":
        if any(_hits(read.xyxy, t) for t in img.boxes):
            return 1
        return None if any(_overlaps(read.xyxy, t) for t in img.boxes) else 0
    return int(read.text in img.truths)


def dataset(images: list[Image], half: int) -> tuple[np.ndarray, np.ndarray]:
    xs: list[tuple[float, ...]] = []
    ys: list[int] = []
    for img in images:
        if img.index % 2 != half:
            continue
        for read in img.reads:
            y = label(img, read)
            if y is not None:
                xs.append(features(read))
                ys.append(y)
    return np.asarray(xs, dtype=np.float64), np.asarray(ys, dtype=np.float64)


def fit(x: np.ndarray, y: np.ndarray, l2: float = 0.01, steps: int = 4000) -> np.ndarray:
    """Logistic regression by Newton steps (standardised features, L2 off the bias)."""
    mu = x.mean(axis=0)
    sd = x.std(axis=0)
    mu[0], sd[0] = 0.0, 1.0
    sd[sd == 0] = 1.0
    z = (x - mu) / sd
    w = np.zeros(z.shape[1])
    reg = np.full(z.shape[1], l2 * len(y))
    reg[0] = 0.0
    for _ in range(min(steps, 50)):
        p = 1 / (1 + np.exp(-(z @ w)))
        grad = z.T @ (p - y) + reg * w
        hess = (z * (p * (1 - p))[:, None]).T @ z + np.diag(reg + 1e-9)
        w -= np.linalg.solve(hess, grad)
    # back to raw features: w . (x - mu) / sd
    raw = w / sd
    raw[0] = w[0] - float(np.sum(w[1:] * mu[1:] / sd[1:]))
    return raw


def log_loss(x: np.ndarray, y: np.ndarray, w: np.ndarray) -> float:
    p = np.clip(1 / (1 + np.exp(-(x @ w))), 1e-9, 1 - 1e-9)
    return float(-np.mean(y * np.log(p) + (1 - y) * np.log(1 - p)))


def outcome(images: list[Image], half: int, weights: dict[str, float]) -> dict[str, dict]:
    by_set: dict[str, dict[str, float]] = {}
    for name in sorted({img.set for img in images}):
        rows = [img for img in images if img.set == name and img.index % 2 == half]
        top1 = reads = stray = 0
        for img in rows:
            kept = [img.reads[k] for k in choose(img.reads, weights=weights, min_score=MIN_SCORE)]
            reads += len(kept)
            if name == "frames":
                top1 += bool(kept) and any(_hits(kept[0].xyxy, t) for t in img.boxes)
                stray += sum(not any(_overlaps(r.xyxy, t) for t in img.boxes) for r in kept)
            else:
                top1 += bool(kept) and kept[0].text in img.truths
        n = max(len(rows), 1)
        by_set[name] = {
            "n": len(rows),
            "top1": round(top1 / n, 4),
            "reads_per_image": round(reads / n, 3),
        }
        if name == "frames":
            by_set[name]["stray_per_image"] = round(stray / n, 3)
    return by_set


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--sets", default="frames,photos,scenes,countries")
    parser.add_argument("--limit", type=int, default=None)
    parser.add_argument("--cache", type=Path, default=None, help="reuse/keep the reads here")
    parser.add_argument("--data", type=Path, default=DEFAULT_DATA)
    args = parser.parse_args(argv)
    if args.cache and args.cache.is_file():
        images = pickle.loads(args.cache.read_bytes())
    else:
        names = [s.strip() for s in args.sets.split(",") if s.strip()]
        images = collect(names, args.data, args.limit)
        if args.cache:
            args.cache.write_bytes(pickle.dumps(images))
    x_fit, y_fit = dataset(images, 0)
    x_val, y_val = dataset(images, 1)
    w = fit(x_fit, y_fit)
    fitted = {name: round(float(v), 3) for name, v in zip(FEATURES, w, strict=True)}
    shipped = np.array([WEIGHTS.get(f, 0.0) for f in FEATURES])
    report = {
        "reads": {"tuning": len(y_fit), "held_out": len(y_val), "positives": int(y_fit.sum())},
        "weights": fitted,
        "log_loss_held_out": {
            "fitted": round(log_loss(x_val, y_val, w), 4),
            "shipped": round(log_loss(x_val, y_val, shipped), 4),
        },
        "held_out_fitted": outcome(images, 1, fitted),
        "held_out_shipped": outcome(images, 1, WEIGHTS),
        "tuning_fitted": outcome(images, 0, fitted),
    }
    print(json.dumps(report, indent=2))
    return 0


if __name__ == "__main__":
    sys.exit(main())
