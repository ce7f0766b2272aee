"""Live cameras to stored sightings: file cameras, claiming plate workers, the database.

Run: ``.venv/bin/python benchmarks/live_sightings.py [--duration-s 300] [--cameras 4]
[--fps 5] [--workers 2] [--track-close-s 5]``. Prints one JSON object.

``dashcam relay`` runs in a subprocess with ``--cameras`` file cameras, each looping its
own synthetic clip (known plates passing, a new pass every loop), and ``--workers``
``dashcam cv-worker --claim --backend plates`` subprocesses do the jobs. The relay stores
sightings into a SQLite file that this process polls (every 0.2 s) for new rows.

Reported:

- ``sightings_per_pass``: each plate's passes in front of its camera during the run
  (from the clip's ground truth and the camera's start) against the sightings stored for
  it: how many passes got exactly one, none (the workers never read it: they are too slow
  for every frame), or more than one (a duplicate: the goal is none);
  ``stray_sightings``: sightings whose text is no plate of their camera's clip;
- ``frame_to_stored_s``: from the capture time of a sighting's last read to the moment
  its row was seen in the database, p50/p99 (goal: p99 < track close time + 2 s);
- the relay's and each worker's RSS at the start and the end of the window, and how long
  each worker took to exit after SIGTERM;
- the relay's ``/health`` at the end (jobs completed, passed over, expired...).
"""

from __future__ import annotations

import _syspath  # noqa: F401  (first: keeps queue.py from shadowing the stdlib)

# isort: split
import argparse
import json
import os
import socket
import statistics
import subprocess
import sys
import tempfile
import time
from pathlib import Path
from typing import Any

import httpx
from sqlalchemy import create_engine, select

from dashcam.media.synthetic import SyntheticClip, make_clip
from dashcam.store.schema import SightingRow

PLATES = [
    ["KX52ABC", "BD19XYZ", "LM07PQR"],
    ["AB12CDE", "GH34JKL", "MN56PQR"],
    ["ST78UVW", "XY90ZAB", "CD21EFG"],
    ["HJ43KLM", "NP65QRS", "TU87VWX"],
    ["YZ09ABC", "DE32FGH", "JK54LMN"],
    ["PQ76RST", "UV98WXY", "ZA10BCD"],
]


def _free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return int(s.getsockname()[1])


def _rss_mib(pid: int) -> float:
    try:
        for line in Path(f"/proc/{pid}/status").read_text().splitlines():
            if line.startswith("VmRSS:"):
                return round(int(line.split()[1]) / 1024, 1)
    except OSError:
        pass
    return float("nan")


def _pct(values: list[float], q: float) -> float | None:
    if not values:
        return None
    ordered = sorted(values)
    return round(ordered[min(len(ordered) - 1, int(q * len(ordered)))], 3)


def _wait_http(url: str, timeout_s: float = 60.0) -> None:
    deadline = time.monotonic() + timeout_s
    while time.monotonic() < deadline:
        try:
            if httpx.get(url, timeout=1).status_code == 200:
                return
        except httpx.HTTPError:
            pass
        time.sleep(0.2)
    raise SystemExit(f"{url} not up after {timeout_s} s")


def _passes(
    clip: SyntheticClip, started_s: float, until_s: float
) -> list[tuple[str, int, float, float]]:
    """(plate, loop, first_s, last_s) of every pass that ended in view before ``until_s``."""
    out = []
    loop = 0
    while started_s + loop * clip.duration_s < until_s:
        base = started_s + loop * clip.duration_s
        for p in clip.plates:
            if base + p.last_s <= until_s:
                out.append((p.text, loop, base + p.first_s, base + p.last_s))
        loop += 1
    return out


def _score(
    clips: dict[str, SyntheticClip],
    started: dict[str, float],
    until_s: float,
    rows: list[Any],
) -> dict[str, Any]:
    counts: dict[tuple[str, str, int], int] = {}
    passes = 0
    for cam, clip in clips.items():
        for text, loop, _, _ in _passes(clip, started[cam], until_s):
            counts[(cam, text, loop)] = 0
            passes += 1
    stray = 0
    for r in rows:
        cam = r.video_id.removeprefix("camera:")
        clip = clips[cam]
        truth = {p.text: p for p in clip.plates}
        if r.plate_text not in truth or r.first_utc_ms is None:
            stray += 1
            continue
        t = r.first_utc_ms / 1000 - started[cam] - truth[r.plate_text].first_s
        loop = max(0, round(t / clip.duration_s))
        key = (cam, r.plate_text, loop)
        if key in counts:
            counts[key] += 1
    values = list(counts.values())
    return {
        "passes": passes,
        "exactly_one": sum(v == 1 for v in values),
        "none": sum(v == 0 for v in values),
        "more_than_one": sum(v > 1 for v in values),
        "sightings_per_pass_seen": round(
            sum(v for v in values if v) / max(1, sum(1 for v in values if v)), 3
        ),
        "stray_sightings": stray,
    }


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--duration-s", type=float, default=300.0)
    parser.add_argument("--cameras", type=int, default=4)
    parser.add_argument("--fps", type=float, default=5.0)
    parser.add_argument("--workers", type=int, default=2)
    parser.add_argument("--track-close-s", type=float, default=5.0)
    parser.add_argument("--clip-s", type=float, default=30.0)
    args = parser.parse_args()
    if not 1 <= args.cameras <= len(PLATES):
        raise SystemExit(f"--cameras: 1 to {len(PLATES)}")
    port = _free_port()
    with tempfile.TemporaryDirectory() as tmp:
        root = Path(tmp)
        clips = {
            f"cam{i}": make_clip(
                root,
                name=f"cam{i}",
                seed=i,
                duration_s=args.clip_s,
                resolution_wh=(960, 540),
                fps=10,
                plates=PLATES[i],
            )
            for i in range(args.cameras)
        }
        db = root / "data" / "dashcam.db"
        env = {k: v for k, v in os.environ.items() if not k.startswith("DASHCAM_")}
        env.update(DASHCAM_DATA_DIR=str(root / "data"), DASHCAM_LOG_LEVEL="WARNING")
        dashcam = [sys.executable, "-m", "dashcam"]
        cmd = [*dashcam, "relay", "--port", str(port), "--fps", str(args.fps)]
        cmd += ["--track-close-s", str(args.track_close_s)]
        for name, clip in clips.items():
            cmd += ["--camera", f"{name}={clip.video_path}"]
        relay = subprocess.Popen(cmd, env=env, stdout=subprocess.DEVNULL)
        workers: list[subprocess.Popen[bytes]] = []
        try:
            http = f"http://127.0.0.1:{port}"
            _wait_http(f"{http}/health")
            for i in range(args.workers):
                workers.append(
                    subprocess.Popen(
                        [*dashcam, "cv-worker", "--claim", "--backend", "plates",
                         "--relay", f"ws://127.0.0.1:{port}/connect", "--worker-id", f"w{i}"],
                        env=env, stdout=subprocess.DEVNULL,
                    )
                )  # fmt: skip
            while httpx.get(f"{http}/health").json()["now"]["workers"] < args.workers:
                time.sleep(0.5)
            time.sleep(5.0)  # let the workers load their models
            started: dict[str, float] = {}
            for name in clips:
                httpx.post(f"{http}/services/{name}/start")
            while len(started) < len(clips):
                for s in httpx.get(f"{http}/services").json():
                    if s["name"] not in started and s["frames"] > 0:
                        # the first frame is taken at the clip's start
                        started[s["name"]] = s["last_frame_at"]
                time.sleep(0.05)
            t0 = time.time()
            rss_relay = [_rss_mib(relay.pid)]
            rss_workers = [[_rss_mib(w.pid)] for w in workers]
            engine = create_engine(f"sqlite:///{db}")
            seen_at: dict[int, float] = {}
            latency: list[float] = []
            next_rss = t0 + 5.0
            while time.time() - t0 < args.duration_s:
                time.sleep(0.2)
                now = time.time()
                last = max(seen_at, default=0)
                with engine.connect() as c:
                    new = c.execute(
                        select(SightingRow.id, SightingRow.last_utc_ms).where(SightingRow.id > last)
                    ).all()
                for sid, last_ms in new:
                    seen_at[sid] = now
                    if last_ms is not None:
                        latency.append(now - last_ms / 1000)
                if now >= next_rss:
                    rss_relay.append(_rss_mib(relay.pid))
                    for k, w in enumerate(workers):
                        rss_workers[k].append(_rss_mib(w.pid))
                    next_rss += 5.0
            until_s = time.time()
            for name in clips:
                httpx.post(f"{http}/services/{name}/stop")
            health = httpx.get(f"{http}/health").json()
            exit_s = []
            for w in workers:
                t = time.monotonic()
                w.terminate()
                w.wait(30)
                exit_s.append(round(time.monotonic() - t, 3))
            relay.terminate()  # closes the open tracks as sightings
            relay.wait(60)
            with engine.connect() as c:
                rows = list(c.execute(select(SightingRow.__table__)).all())
            engine.dispose()
        finally:
            for p in (*workers, relay):
                if p.poll() is None:
                    p.kill()
                    p.wait(10)
    # tracks still open at the end were stored on the relay's stop: their passes count
    result = {
        "benchmark": "live_sightings",
        "cameras": args.cameras,
        "fps_per_camera": args.fps,
        "workers": args.workers,
        "track_close_s": args.track_close_s,
        "duration_s": round(until_s - t0, 1),
        "sightings_stored": len(rows),
        "sightings_per_pass": _score(clips, started, until_s, rows),
        "frame_to_stored_s": {
            "p50": _pct(latency, 0.50),
            "p99": _pct(latency, 0.99),
            "max": _pct(latency, 1.0),
            "n": len(latency),
            "goal_p99_below": args.track_close_s + 2.0,
        },
        "relay_rss_mib": {
            "start": rss_relay[0],
            "end": rss_relay[-1],
            "max": max(rss_relay),
            "median": statistics.median(rss_relay),
            "each_minute": rss_relay[::12],
        },
        "worker_rss_mib": [
            {"start": r[0], "end": r[-1], "max": max(r), "each_minute": r[::12]}
            for r in rss_workers
        ],
        "worker_exit_after_sigterm_s": exit_s,
        "load_average_1m_at_end": round(os.getloadavg()[0], 1),
        "relay_health": health,
    }
    print(json.dumps(result, indent=2))


if __name__ == "__main__":
    main()
