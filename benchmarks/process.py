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

from _bench_clip import add_clip_args, bench_clip, decode_only

from dashcam.pipeline.inline import DetectorStages, VideoJob, process_video


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__)
    add_clip_args(ap, duration_s=20.0)
    args = ap.parse_args()
    with tempfile.TemporaryDirectory() as tmp:
        root = Path(tmp)
        clip, settings = bench_clip(root, args)
        decoded = decode_only(clip.video_path, args.sample_rate)

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
                    "frames": decoded.frames,
                    "seconds": round(decoded.seconds, 3),
                    "frames_per_s": round(decoded.frames / decoded.seconds, 2),
                    "x_realtime": round(args.duration / decoded.seconds, 2),
                },
                "process_inline": {
                    "frames": result.frames_processed,
                    "seconds": round(process_s, 3),
                    "frames_per_s": round(result.frames_processed / process_s, 2),
                    "x_realtime": round(args.duration / process_s, 2),
                },
                "process_vs_decode": round(decoded.seconds / process_s, 3),
                "plates_rendered": sorted(p.text for p in clip.plates),
                "plates_found": found,
            },
            indent=1,
        )
    )


if __name__ == "__main__":
    main()
