"""Throughput of the multiprocess engine next to the inline runner and decode alone.

Makes a 1080p synthetic clip, then in one run measures: decode-only frames/s with the
same sampling (the ceiling), inline frames/s, multiprocess frames/s (both end to end,
model loading and worker start included), × realtime, and the per-frame cost of handing a
1080p frame to another process (shared-memory slot write + ref through a pipe + a view in
the other process + the release coming back). Prints one JSON object.

Usage: python benchmarks/pipeline.py [--duration 30] [--sample-rate 10] [--handoffs 300]
"""

from __future__ import annotations

import _syspath  # noqa: F401  (first: keeps queue.py from shadowing the stdlib)

# isort: split
import argparse
import json
import multiprocessing as mp
import os
import tempfile
import time
from multiprocessing.connection import Connection
from pathlib import Path

import numpy as np
from _bench_clip import add_clip_args, bench_clip, decode_only

from dashcam.pipeline.engine import Engine, EngineOptions
from dashcam.pipeline.frame_store import FrameRef, FrameStore, FrameViewer, leftover_segments
from dashcam.pipeline.inline import VideoJob, process_videos


def _viewer(conn: Connection) -> None:
    viewer = FrameViewer()
    while (ref := conn.recv()) is not None:
        image = viewer.view(ref)
        conn.send(int(image[ref.shape[0] // 2, ref.shape[1] // 2, 0]))  # touch it, ack
    viewer.close()


def _cpu_s() -> float:
    """Busy CPU seconds of the whole machine so far, from /proc/stat (Linux; NaN
    elsewhere). The engine's workers are not our children (a forkserver starts them),
    so the machine's count is the one that sees them; the machine is otherwise idle."""
    try:
        with open("/proc/stat") as f:
            ticks = [int(x) for x in f.readline().split()[1:]]
    except OSError:
        return float("nan")
    idle = ticks[3] + (ticks[4] if len(ticks) > 4 else 0)  # idle + iowait
    return (sum(ticks[:8]) - idle) / os.sysconf("SC_CLK_TCK")


def handoff_ms(image: np.ndarray, n: int) -> dict[str, float]:
    """Median and p95 milliseconds per frame: slot write + ref out + view + ack back."""
    store = FrameStore(slots=2, slot_bytes=image.nbytes)
    ctx = mp.get_context("forkserver")
    ours, theirs = ctx.Pipe()
    proc = ctx.Process(target=_viewer, args=(theirs,), daemon=True)
    proc.start()
    times = []
    try:
        for _ in range(n):
            t0 = time.perf_counter()
            ref: FrameRef | None = store.put(image, stop=None)
            assert ref is not None
            ours.send(ref)
            ours.recv()
            store.release(ref)
            times.append(time.perf_counter() - t0)
        write = []
        for _ in range(n):
            t0 = time.perf_counter()
            ref = store.put(image, stop=None)
            assert ref is not None
            write.append(time.perf_counter() - t0)
            store.release(ref)
    finally:
        ours.send(None)
        proc.join(5)
        store.close()
    ms = np.array(times) * 1000
    return {
        "median_ms": round(float(np.median(ms)), 3),
        "p95_ms": round(float(np.percentile(ms, 95)), 3),
        "slot_write_median_ms": round(float(np.median(write)) * 1000, 3),
    }


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__)
    add_clip_args(ap, duration_s=30.0)
    ap.add_argument("--handoffs", type=int, default=300)
    args = ap.parse_args()
    with tempfile.TemporaryDirectory() as tmp:
        clip, settings = bench_clip(Path(tmp), args)
        jobs = [VideoJob(clip.video_path)]
        decoded = decode_only(clip.video_path, args.sample_rate)

        t0, c0 = time.perf_counter(), _cpu_s()
        (inline,) = process_videos(jobs, settings, repo=None)
        inline_s, inline_cpu = time.perf_counter() - t0, _cpu_s() - c0

        engine = Engine(settings, repo=None, options=EngineOptions(hud=False, log_interval_s=0))
        t0, c0 = time.perf_counter(), _cpu_s()
        (multi,) = engine.run(jobs)
        multi_s, multi_cpu = time.perf_counter() - t0, _cpu_s() - c0

        handoff = handoff_ms(decoded.last_image, args.handoffs)
        same = [(s.plate_text, s.first_s, s.last_s) for s in inline.sightings] == [
            (s.plate_text, s.first_s, s.last_s) for s in multi.sightings
        ]
        video_s = args.duration
        frames = inline.frames_processed
        print(
            json.dumps(
                {
                    "clip": f"{args.width}x{args.height}, {args.duration:.0f} s, every "
                    f"{args.sample_rate}th frame, {frames} frames analysed",
                    "cpu_count": os.cpu_count(),
                    "workers": {"gpu": settings.num_gpu_workers, "cpu": settings.num_cpu_workers},
                    "decode_only_fps": round(decoded.frames / decoded.seconds, 2),
                    "inline_fps": round(frames / inline_s, 2),
                    "multiprocess_fps": round(multi.frames_processed / multi_s, 2),
                    "speedup_multiprocess_vs_inline": round(inline_s / multi_s, 2),
                    # Busy CPU time / wall time: the inline runner is one process, but OpenCV,
                    # ONNX Runtime and FFmpeg run threads of their own, so it already keeps more
                    # than one core busy; the engine's ceiling over it is about cpu_count / this.
                    "inline_cores_used": round(inline_cpu / inline_s, 2),
                    "multiprocess_cores_used": round(multi_cpu / multi_s, 2),
                    "inline_x_realtime": round(video_s / inline_s, 2),
                    "multiprocess_x_realtime": round(video_s / multi_s, 2),
                    "frame_handoff_1080p": handoff,
                    "same_sightings": same,
                    "sightings": len(multi.sightings),
                    "shm_leftovers": leftover_segments(os.getpid()),
                },
                indent=2,
            )
        )


if __name__ == "__main__":
    main()
