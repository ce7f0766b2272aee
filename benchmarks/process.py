"""Throughput of the inline pipeline (``dashcam process``) next to decode alone.

Makes a 1080p synthetic clip, then in one run measures: decode-only frames/s with the
same sampling (the ceiling), and the full pipeline's frames/s and × realtime.
Prints one JSON object. Usage: python benchmarks/process.py [--duration 20] [--sample-rate 10]
"""

from __future__ import annotations

import _syspath  # noqa: F401  (first: keeps queue.py from shadowing the stdlib)

# isort: split
import argparse
import json
import tempfile
import time
from pathlib import Path

from dashcam.config import load_settings
from dashcam.media.decode import FrameReader
from dashcam.media.synthetic import make_clip
from dashcam.pipeline.inline import DetectorStages, VideoJob, process_video


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__)
    ap.add_argument("--duration", type=float, default=20.0)
    ap.add_argument("--sample-rate", type=int, default=10)
    ap.add_argument("--width", type=int, default=1920)
    ap.add_argument("--height", type=int, default=1080)
    args = ap.parse_args()
    with tempfile.TemporaryDirectory() as tmp:
        root = Path(tmp)
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

        t0 = time.perf_counter()
        n_decoded = 0
        with FrameReader(clip.video_path, sample_rate=args.sample_rate) as reader:
            for _ in reader:
                n_decoded += 1
        decode_s = time.perf_counter() - t0

        stages = DetectorStages(settings)  # model loading is not part of the rate
        t0 = time.perf_counter()
        result = process_video(
            VideoJob(clip.video_path, clip.gps_path),
            settings,
            repo=None,
            output_root=root / "out",
            stages=stages,
        )
        process_s = time.perf_counter() - t0

    found = sorted(s.plate_text for s in result.sightings)
    print(
        json.dumps(
            {
                "clip": {
                    "resolution": f"{args.width}x{args.height}",
                    "duration_s": args.duration,
                    "fps": clip.fps,
                    "sample_rate": args.sample_rate,
                },
                "decode_only": {
                    "frames": n_decoded,
                    "seconds": round(decode_s, 3),
                    "frames_per_s": round(n_decoded / decode_s, 2),
                    "x_realtime": round(args.duration / decode_s, 2),
                },
                "process_inline": {
                    "frames": result.frames_processed,
                    "seconds": round(process_s, 3),
                    "frames_per_s": round(result.frames_processed / process_s, 2),
                    "x_realtime": round(args.duration / process_s, 2),
                },
                "process_vs_decode": round(decode_s / process_s, 3),
                "plates_rendered": sorted(p.text for p in clip.plates),
                "plates_found": found,
            },
            indent=1,
        )
    )


if __name__ == "__main__":
    main()
