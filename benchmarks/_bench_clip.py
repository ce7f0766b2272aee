"""The synthetic clip the throughput benchmarks (``pipeline.py``, ``process.py``) share."""

from __future__ import annotations

import argparse
import time
from dataclasses import dataclass
from pathlib import Path

import numpy as np

from dashcam.config import Settings, load_settings
from dashcam.media.decode import FrameReader
from dashcam.media.synthetic import SyntheticClip, make_clip


def add_clip_args(ap: argparse.ArgumentParser, duration_s: float) -> None:
    ap.add_argument("--duration", type=float, default=duration_s)
    ap.add_argument("--sample-rate", type=int, default=10)
    ap.add_argument("--width", type=int, default=1920)
    ap.add_argument("--height", type=int, default=1080)


def bench_clip(root: Path, args: argparse.Namespace) -> tuple[SyntheticClip, Settings]:
    """The clip (seed 3) under ``root`` and settings that analyse all of it."""
    clip = make_clip(
        root / "clip",
        name="bench",
        seed=3,
        duration_s=args.duration,
        resolution_wh=(args.width, args.height),
    )
    settings = load_settings(
        data_dir=root / "data", frame_sample_rate=args.sample_rate, max_frames=0
    )
    return clip, settings


@dataclass(frozen=True)
class DecodeRun:
    frames: int
    seconds: float
    last_image: np.ndarray


def decode_only(path: Path, sample_rate: int) -> DecodeRun:
    """Decode ``path`` with the pipeline's sampling and nothing else (the ceiling)."""
    t0 = time.perf_counter()
    n, image = 0, None
    with FrameReader(path, sample_rate=sample_rate) as reader:
        for frame in reader:
            n += 1
            image = frame.image
    assert image is not None, f"{path}: no frame decoded"
    return DecodeRun(n, time.perf_counter() - t0, image)
