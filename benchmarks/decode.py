"""Decode throughput on a synthetic 1080p clip: PyAV vs OpenCV, full vs every-10th.

Run: ``.venv/bin/python benchmarks/decode.py [--duration-s 10] [--sample-rate 10]``.
Prints one JSON object. Also checks whether the decoder's ``skip_frame = "NONREF"``
keeps the same sampled frames (it does not on x264 output with B-frames).
"""

from __future__ import annotations

import _syspath  # noqa: F401  (first: keeps queue.py from shadowing the stdlib)

# isort: split
import argparse
import json
import tempfile
import time
from collections.abc import Callable
from pathlib import Path

import av
import cv2
import numpy as np

from dashcam.media.decode import FrameReader, probe
from dashcam.media.synthetic import make_clip

REPEAT = 3  # best of: the machine is shared, so take the least disturbed run


def _timed(fn: Callable[[], tuple[int, int]]) -> dict[str, float]:
    dt = float("inf")
    for _ in range(REPEAT):
        t0 = time.perf_counter()
        kept, source = fn()
        dt = min(dt, time.perf_counter() - t0)
    return {
        "seconds": round(dt, 3),
        "frames_kept": kept,
        "source_frames": source,
        "kept_fps": round(kept / dt, 1),
        "source_fps": round(source / dt, 1),
    }


def pyav(path: Path, rate: int) -> tuple[int, int]:
    with FrameReader(path, sample_rate=rate) as reader:
        kept = sum(1 for _ in reader)
    return kept, reader.frames_decoded


def opencv_read(path: Path) -> tuple[int, int]:
    cap = cv2.VideoCapture(str(path))
    n = 0
    while True:
        ok, _ = cap.read()
        if not ok:
            break
        n += 1
    cap.release()
    return n, n


def opencv_grab(path: Path, rate: int) -> tuple[int, int]:
    cap = cv2.VideoCapture(str(path))
    n = kept = 0
    while cap.grab():
        if n % rate == 0:
            ok, _ = cap.retrieve()
            kept += int(ok)
        n += 1
    cap.release()
    return kept, n


def nonref_check(path: Path, rate: int) -> dict[str, object]:
    """Decode with and without NONREF skipping; compare the sampled frames' timestamps."""

    def sampled_pts(skip: bool) -> tuple[list[int], int, float]:
        t0 = time.perf_counter()
        with av.open(str(path)) as c:
            s = c.streams.video[0]
            s.thread_type = "AUTO"
            if skip:
                s.codec_context.skip_frame = "NONREF"
            pts = [int(f.pts) for f in c.decode(s) if f.pts is not None]
        dt = time.perf_counter() - t0
        return [p for i, p in enumerate(pts) if i % rate == 0], len(pts), dt

    full, n_full, dt_full = sampled_pts(False)
    skipped, n_skip, dt_skip = sampled_pts(True)
    return {
        "frames_decoded_full": n_full,
        "frames_decoded_nonref": n_skip,
        "seconds_full": round(dt_full, 3),
        "seconds_nonref": round(dt_skip, 3),
        "same_sampled_frames": full == skipped,
    }


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("--duration-s", type=float, default=10.0)
    parser.add_argument("--sample-rate", type=int, default=10)
    args = parser.parse_args()
    rate = args.sample_rate
    with tempfile.TemporaryDirectory() as tmp:
        t0 = time.perf_counter()
        clip = make_clip(Path(tmp), duration_s=args.duration_s, resolution_wh=(1920, 1080))
        make_s = time.perf_counter() - t0
        path = clip.video_path
        info = probe(path)
        # one warm-up read so the file is in the page cache for every contender
        path.read_bytes()
        result = {
            "clip": {
                "resolution_wh": list(clip.resolution_wh),
                "fps": info.fps,
                "frames": info.frame_count,
                "codec": info.codec,
                "bytes": path.stat().st_size,
                "make_clip_s": round(make_s, 2),
            },
            "pyav_full": _timed(lambda: pyav(path, 1)),
            f"pyav_every_{rate}": _timed(lambda: pyav(path, rate)),
            "opencv_full": _timed(lambda: opencv_read(path)),
            f"opencv_grab_every_{rate}": _timed(lambda: opencv_grab(path, rate)),
            "nonref_skip": nonref_check(path, rate),
            "threads": cv2.getNumberOfCPUs(),
            "numpy": np.__version__,
            "av": av.__version__,
            "opencv": cv2.__version__,
        }
    print(json.dumps(result, indent=2))


if __name__ == "__main__":
    main()
