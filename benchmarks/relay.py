"""Live relay under load: 50 connected workers, file cameras, claims, frame downloads, completes.

Run: ``.venv/bin/python benchmarks/relay.py [--duration-s 60] [--workers 50] [--cameras 2]
[--fps 10] [--claimers 5]``. Prints one JSON object.

The relay runs as ``dashcam relay`` in a subprocess (as in production) with file cameras
looping a synthetic clip; this process holds the workers on one asyncio loop. Every worker
receives every ``job_available``; ``--claimers`` of them race to claim each job (losers get
409), and the winner downloads the frame with its key and completes the job.

Reported: frame-to-``job_available`` latency (capture time in the relay -> message received
by a worker, same machine clock) and claim round-trip p50/p99, completed jobs/s, and the
relay's RSS at the start and end of the measured window (sampled each second).
``--duration-s 600`` is the 10-minute constant-memory check: RSS at the end should be
within a few MiB of the start.
"""

from __future__ import annotations

import _syspath  # noqa: F401  (first: keeps queue.py from shadowing the stdlib)

# isort: split
import argparse
import asyncio
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
import websockets
from websockets.asyncio.client import ClientConnection

from dashcam.media.synthetic import make_clip

HEARTBEAT_INTERVAL_S = 5.0  # the relay drops workers silent for 30 s


def _free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return int(s.getsockname()[1])


def _rss_mib(pid: int) -> float:
    for line in Path(f"/proc/{pid}/status").read_text().splitlines():
        if line.startswith("VmRSS:"):
            return round(int(line.split()[1]) / 1024, 1)
    return float("nan")


def _pct(values: list[float], q: float) -> float | None:
    if not values:
        return None
    ordered = sorted(values)
    return round(ordered[min(len(ordered) - 1, int(q * len(ordered)))] * 1000, 2)


class Stats:
    def __init__(self) -> None:
        self.offer_latency_s: list[float] = []
        self.claim_rtt_s: list[float] = []
        self.claims_won = 0
        self.claims_lost = 0
        self.completed = 0
        self.frame_errors = 0
        self.measuring = False


async def _worker(
    index: int, ws_url: str, http: httpx.AsyncClient, claimer: bool, stats: Stats
) -> None:
    worker_id = f"bench-{index}"
    backlog: asyncio.Queue[dict[str, Any]] = asyncio.Queue(maxsize=1000)
    key = ""

    async def consume() -> None:
        # one job at a time, in offer order; jobs someone else took answer 409 quickly
        while True:
            job = await backlog.get()
            await _do_job(job, worker_id, key, http, stats)

    consumer = asyncio.create_task(consume()) if claimer else None
    try:
        async with websockets.connect(ws_url, ping_interval=None, max_queue=None) as ws:
            await ws.send(json.dumps({"type": "register", "data": {"worker_id": worker_id}}))
            beats = asyncio.create_task(_heartbeats(ws))
            try:
                async for raw in ws:
                    now = time.time()
                    msg = json.loads(raw)
                    if msg["type"] == "registered":
                        key = msg["data"]["key"]
                    elif msg["type"] == "job_available":
                        job = msg["job"]
                        if stats.measuring:
                            stats.offer_latency_s.append(now - job["timestamp"])
                        if claimer and not backlog.full():
                            backlog.put_nowait(job)
            finally:
                beats.cancel()
    finally:
        if consumer is not None:
            consumer.cancel()


async def _heartbeats(ws: ClientConnection) -> None:
    while True:
        await asyncio.sleep(HEARTBEAT_INTERVAL_S)
        await ws.send('{"type":"heartbeat"}')


async def _do_job(
    job: dict[str, Any], worker_id: str, key: str, http: httpx.AsyncClient, stats: Stats
) -> None:
    t0 = time.perf_counter()
    r = await http.post(f"/jobs/{job['id']}/claim", json={"worker_id": worker_id})
    rtt = time.perf_counter() - t0
    if stats.measuring:
        stats.claim_rtt_s.append(rtt)
    if r.status_code != 200:
        stats.claims_lost += 1
        return
    stats.claims_won += 1
    for fid in job["frames"]:
        fr = await http.get(f"/jobs/{job['id']}/frames/{fid}", headers={"X-Worker-Key": key})
        if fr.status_code != 200:
            stats.frame_errors += 1
    done = await http.post(
        f"/jobs/{job['id']}/complete", json={"worker_id": worker_id, "result": {"ok": True}}
    )
    if done.status_code == 200 and stats.measuring:
        stats.completed += 1


async def _run(args: argparse.Namespace, port: int, pid: int) -> dict[str, Any]:
    ws_url = f"ws://127.0.0.1:{port}/connect"
    http_url = f"http://127.0.0.1:{port}"
    stats = Stats()
    limits = httpx.Limits(
        max_connections=args.claimers * 2, max_keepalive_connections=args.claimers * 2
    )
    async with httpx.AsyncClient(base_url=http_url, limits=limits, timeout=30) as http:
        for _ in range(100):
            try:
                if (await http.get("/health")).status_code == 200:
                    break
            except httpx.HTTPError:
                await asyncio.sleep(0.1)
        workers = [
            asyncio.create_task(_worker(i, ws_url, http, i < args.claimers, stats))
            for i in range(args.workers)
        ]
        while (await http.get("/health")).json()["now"]["workers"] < args.workers:
            await asyncio.sleep(0.1)
        await asyncio.sleep(args.warmup_s)
        rss = [_rss_mib(pid)]
        stats.measuring = True
        t0 = time.monotonic()
        while time.monotonic() - t0 < args.duration_s:
            await asyncio.sleep(min(1.0, args.duration_s))
            rss.append(_rss_mib(pid))
        stats.measuring = False
        elapsed = time.monotonic() - t0
        health = (await http.get("/health")).json()
        services = (await http.get("/services")).json()
        for task in workers:
            task.cancel()
        await asyncio.gather(*workers, return_exceptions=True)
    return {
        "benchmark": "relay",
        "workers": args.workers,
        "claimers": args.claimers,
        "cameras": args.cameras,
        "fps_per_camera": args.fps,
        "duration_s": round(elapsed, 1),
        "offers_received": len(stats.offer_latency_s),
        "frame_to_job_available_ms": {
            "p50": _pct(stats.offer_latency_s, 0.50),
            "p99": _pct(stats.offer_latency_s, 0.99),
            "max": _pct(stats.offer_latency_s, 1.0),
        },
        "claim_round_trip_ms": {
            "p50": _pct(stats.claim_rtt_s, 0.50),
            "p99": _pct(stats.claim_rtt_s, 0.99),
            "n": len(stats.claim_rtt_s),
        },
        "claims_won": stats.claims_won,
        "claims_lost_409": stats.claims_lost,
        "frame_download_errors": stats.frame_errors,
        "jobs_completed_per_s": round(stats.completed / elapsed, 2),
        "relay_rss_mib": {
            "start": rss[0],
            "end": rss[-1],
            "max": max(rss),
            "median": statistics.median(rss),
        },
        "relay_health": health,
        "camera_drops": sum(s["drops"] for s in services),
    }


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--duration-s", type=float, default=60.0)
    parser.add_argument("--workers", type=int, default=50)
    parser.add_argument("--claimers", type=int, default=5)
    parser.add_argument("--cameras", type=int, default=2)
    parser.add_argument("--fps", type=float, default=10.0)
    parser.add_argument("--warmup-s", type=float, default=2.0)
    args = parser.parse_args()
    port = _free_port()
    with tempfile.TemporaryDirectory() as tmp:
        clip = make_clip(Path(tmp), duration_s=5.0, resolution_wh=(640, 360), fps=30)
        cmd = [sys.executable, "-m", "dashcam", "relay", "--port", str(port), "--auto-start"]
        cmd += ["--fps", str(args.fps)]
        for i in range(args.cameras):
            cmd += ["--camera", f"cam{i}={clip.video_path}"]
        env = {k: v for k, v in os.environ.items() if not k.startswith("DASHCAM_")}
        env["DASHCAM_LOG_LEVEL"] = "WARNING"
        env["DASHCAM_DATA_DIR"] = str(Path(tmp) / "data")  # its sightings database
        relay = subprocess.Popen(cmd, env=env, stdout=subprocess.DEVNULL)
        try:
            result = asyncio.run(_run(args, port, relay.pid))
        finally:
            relay.terminate()
            relay.wait(10)
    print(json.dumps(result, indent=2))


if __name__ == "__main__":
    main()
