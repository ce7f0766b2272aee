"""Data-miner throughput on this machine; prints JSON.

extract (frames/s written, time mode 0.5 s on a synthetic 960x540 clip), filter (quality
measures + pHash per frame, frames/s), dedup of the extracted frames, and dedup's cost
growth on synthetic 64-bit hashes (1k, 10k, 50k, 200k; 10% planted near-duplicates; best
of three runs each) next to n log n and n².

    .venv/bin/python benchmarks/miner.py
"""

from __future__ import annotations

import _syspath  # noqa: F401  (first: keeps queue.py from shadowing the stdlib)

# isort: split
import json
import math
import tempfile
import time
from pathlib import Path

import cv2
import numpy as np

from dashcam.media.synthetic import make_clip
from dashcam.miner.config import ExtractConfig, ExtractMode, HashKind
from dashcam.miner.dedup import choose_bands, clusters, hash_pairs, keep_best
from dashcam.miner.extract import extract_frames
from dashcam.miner.hashing import image_hash
from dashcam.miner.quality import measure


def synthetic_hashes(n: int, rng: np.random.Generator) -> np.ndarray:
    h = rng.integers(0, 2**63, n, dtype=np.int64).astype(np.uint64) << np.uint64(1)
    dup = rng.random(n) < 0.1
    src = rng.integers(0, n, dup.sum())
    h[dup] = h[src] ^ (np.uint64(1) << rng.integers(0, 64, dup.sum()).astype(np.uint64))
    return h


def main() -> None:
    out: dict[str, object] = {}
    with tempfile.TemporaryDirectory() as tmp:
        clip = make_clip(Path(tmp), name="b", seed=5, duration_s=10, resolution_wh=(960, 540))
        cfg = ExtractConfig(mode=ExtractMode.TIME, every_s=0.5)
        t = time.perf_counter()
        frames = extract_frames(clip.video_path, Path(tmp) / "f", cfg)
        dt = time.perf_counter() - t
        out["extract"] = {"frames": len(frames), "frames_per_s": round(len(frames) / dt, 1)}
        t = time.perf_counter()
        hashes, sharp = [], []
        for f in frames:
            im = cv2.imread(str(f.path))
            sharp.append(measure(im).sharpness)
            hashes.append(image_hash(im, HashKind.PHASH))
        dt = time.perf_counter() - t
        out["filter_quality"] = {"frames": len(frames), "frames_per_s": round(len(frames) / dt, 1)}
        t = time.perf_counter()
        h = np.array(hashes, dtype=np.uint64)
        labels = clusters(len(h), [hash_pairs(h, 8)])
        keep = keep_best(labels, np.array(sharp))
        dt = time.perf_counter() - t
        out["dedup_frames"] = {
            "frames": len(h),
            "kept": int(keep.sum()),
            "frames_per_s": round(len(h) / max(dt, 1e-9), 1),
        }
    rng = np.random.default_rng(0)
    scaling = []
    for n in (1_000, 10_000, 50_000, 200_000):
        h = synthetic_hashes(n, rng)
        dt = math.inf
        for _ in range(3):  # best of three: this machine is noisy
            t = time.perf_counter()
            pairs = hash_pairs(h, 8)
            labels = clusters(n, [pairs])
            keep_best(labels, np.zeros(n))
            dt = min(dt, time.perf_counter() - t)
        scaling.append(
            {
                "n": n,
                "bands": choose_bands(n, 8),
                "seconds": round(dt, 4),
                "pairs": len(pairs),
                "frames_per_s": round(n / dt),
            }
        )
    base = scaling[0]
    for row in scaling:
        nlogn = row["n"] * math.log2(row["n"]) / (base["n"] * math.log2(base["n"]))
        row["cost_ratio"] = round(row["seconds"] / base["seconds"], 1)
        row["n_log_n_ratio"] = round(nlogn, 1)
        row["n_squared_ratio"] = round((row["n"] / base["n"]) ** 2, 1)
    out["dedup_scaling"] = scaling
    print(json.dumps(out, indent=1))


if __name__ == "__main__":
    main()
