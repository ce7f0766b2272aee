"""Throughput and latency of the durable task queue, from one run.

Store layer: claim+complete per second on SQLite and PostgreSQL with 1 and 16 claimer
threads, one task per claim and in batches of 8 (``claim(limit=8)`` + ``complete_many``).
HTTP: 16 worker threads doing ``GET /tasks/next`` + ``POST /complete`` against a live
server on 127.0.0.1 (claims/s, claim latency p50/p99). Recovery: time from SIGKILL of a
worker holding a task until another worker has completed it (lease 2 s, reaper every 1 s).
Optionally ``--dashboards N`` opens N live dashboards during a second HTTP run.

Prints one JSON object. PostgreSQL is used when DASHCAM_TEST_POSTGRES_URL is set.
"""

from __future__ import annotations

import _syspath  # noqa: F401  (first: keeps queue.py from shadowing the stdlib)

# isort: split
import argparse
import contextlib
import json
import os
import statistics
import subprocess
import sys
import tempfile
import textwrap
import threading
import time
import uuid
from pathlib import Path
from typing import Any

import httpx
from sqlalchemy import create_engine, text

from dashcam.store.database import make_engine
from dashcam.store.task_queue import TaskQueue
from dashcam.store.task_schema import TaskType

H = TaskType.HEAVY_PROCESS_VIDEO
PAYLOAD = {"video_id": "v", "raw_video": "/nas/v.mp4"}


def _pg_url(base: str) -> tuple[str, Any]:
    schema = f"bench_{uuid.uuid4().hex[:10]}"
    admin = create_engine(base)
    with admin.begin() as c:
        c.execute(text(f"CREATE SCHEMA {schema}"))
    sep = "&" if "?" in base else "?"

    def drop() -> None:
        with admin.begin() as c:
            c.execute(text(f"DROP SCHEMA {schema} CASCADE"))
        admin.dispose()

    return f"{base}{sep}options=-csearch_path%3D{schema}", drop


def store_rate(url: str, claimers: int, n: int, batch: int) -> float:
    engine = (
        make_engine(url, pool_size=max(claimers, 5), max_overflow=4)
        if not url.startswith("sqlite")
        else make_engine(url)
    )
    q = TaskQueue(engine, lease_s=300)
    q.enqueue_many(H, [PAYLOAD] * n)
    barrier = threading.Barrier(claimers + 1)

    def work(i: int) -> None:
        barrier.wait()
        while True:
            got = q.claim([H], f"w{i}", limit=batch)
            if not got:
                return
            if batch == 1:
                q.complete(got[0].id, got[0].lease_token or "", None)
            else:
                q.complete_many([(t.id, t.lease_token or "", None) for t in got])

    threads = [threading.Thread(target=work, args=(i,)) for i in range(claimers)]
    for t in threads:
        t.start()
    barrier.wait()
    t0 = time.perf_counter()
    for t in threads:
        t.join()
    rate = n / (time.perf_counter() - t0)
    engine.dispose()
    return round(rate, 1)


class Server:
    """``dashcam server`` in its own process (as deployed), on a SQLite file we also open."""

    def __init__(self, url: str, tmp: Path, workers: int = 1) -> None:
        import socket

        with socket.socket() as s:
            s.bind(("127.0.0.1", 0))
            self.port = s.getsockname()[1]
        env = {k: v for k, v in os.environ.items() if not k.startswith("DASHCAM_")}
        env.update(
            {
                "DASHCAM_DATABASE_URL": url,
                "DASHCAM_DATA_DIR": str(tmp),
                "DASHCAM_LEASE_S": "2",
                "DASHCAM_SERVER_PORT": str(self.port),
            }
        )
        self.proc = subprocess.Popen(
            [sys.executable, "-m", "dashcam", "server", "--workers", str(workers)],
            env=env,
            stdout=subprocess.DEVNULL,
            stderr=subprocess.DEVNULL,
        )
        self.url = f"http://127.0.0.1:{self.port}"
        self.queue = TaskQueue(make_engine(url), lease_s=2.0)
        deadline = time.time() + 60
        while True:
            try:
                if httpx.get(self.url + "/health", timeout=2).status_code == 200:
                    break
            except httpx.HTTPError:
                pass
            if time.time() > deadline:
                raise RuntimeError("server did not start")
            time.sleep(0.2)

    def close(self) -> None:
        self.proc.terminate()
        self.proc.wait(timeout=20)


def http_run(srv: Server, workers: int, n: int, dashboards: int = 0) -> dict[str, Any]:
    q = srv.queue
    q.enqueue_many(H, [PAYLOAD] * n)
    lat: list[float] = []
    lock = threading.Lock()
    stop = threading.Event()

    modes: list[str] = []

    def dash() -> None:
        with httpx.Client(base_url=srv.url, timeout=httpx.Timeout(10.0, read=60.0)) as c:
            # The dashboard's live stream (/api/live, server-sent events) when the server
            # has one; else poll what a dashboard page would (stats, workers, videos).
            with contextlib.suppress(httpx.HTTPError), c.stream("GET", "/api/live") as r:
                if r.status_code == 200 and "event-stream" in r.headers.get("content-type", ""):
                    modes.append("sse /api/live")
                    for _ in r.iter_lines():
                        if stop.is_set():
                            return
                    return
            modes.append("poll /queue/stats, /workers, /videos every 1 s")
            while not stop.is_set():
                for path in ("/queue/stats", "/workers", "/videos"):
                    c.get(path)
                stop.wait(1.0)

    def work(i: int) -> None:
        with httpx.Client(base_url=srv.url, timeout=30) as c:
            while True:
                t0 = time.perf_counter()
                r = c.get("/tasks/next", params={"task_type": H.value, "worker_id": f"h{i}"})
                dt = time.perf_counter() - t0
                if r.status_code == 204:
                    return
                with lock:
                    lat.append(dt)
                c.post(f"/tasks/{r.json()['task_id']}/complete", json={})

    dthreads = [threading.Thread(target=dash, daemon=True) for _ in range(dashboards)]
    for t in dthreads:
        t.start()
    threads = [threading.Thread(target=work, args=(i,)) for i in range(workers)]
    t0 = time.perf_counter()
    for t in threads:
        t.start()
    for t in threads:
        t.join()
    elapsed = time.perf_counter() - t0
    stop.set()
    lat.sort()
    return {
        "workers": workers,
        "dashboards": dashboards,
        "dashboard_mode": sorted(set(modes)),
        "tasks": n,
        "claims_per_s": round(len(lat) / elapsed, 1),
        "claim_complete_per_s": round(len(lat) / elapsed, 1),
        "claim_latency_ms": {
            "p50": round(1000 * statistics.median(lat), 2),
            "p99": round(1000 * lat[int(0.99 * (len(lat) - 1))], 2),
        },
    }


_VICTIM = textwrap.dedent("""
    import sys, time, httpx
    r = httpx.get(sys.argv[1] + "/tasks/next", params={"task_type": "HEAVY_PROCESS_VIDEO"})
    print(r.json()["task_id"], flush=True)
    time.sleep(600)
""")


def recovery_s(srv: Server) -> float:
    q = srv.queue
    tid = q.enqueue(H, PAYLOAD)
    victim = subprocess.Popen(
        [sys.executable, "-c", _VICTIM, srv.url], stdout=subprocess.PIPE, text=True
    )
    assert victim.stdout is not None
    victim.stdout.readline()
    victim.kill()
    t0 = time.perf_counter()
    victim.wait()
    with httpx.Client(base_url=srv.url, timeout=10) as c:
        while True:
            r = c.get("/tasks/next", params={"task_type": H.value, "worker_id": "rescuer"})
            if r.status_code == 200:
                c.post(f"/tasks/{r.json()['task_id']}/complete", json={})
                break
            time.sleep(0.05)
    task = q.get(tid or 0)
    assert task is not None and task.status.value == "done"
    return round(time.perf_counter() - t0, 2)


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__)
    ap.add_argument("--tasks", type=int, default=4000)
    ap.add_argument("--http-tasks", type=int, default=3000)
    ap.add_argument("--dashboards", type=int, default=0)
    ap.add_argument(
        "--server-workers", type=int, default=1, help="dashcam server --workers (its default: 1)"
    )
    args = ap.parse_args()
    out: dict[str, Any] = {
        "cpu_count": os.cpu_count(),
        "load_avg_1m_before": round(os.getloadavg()[0], 2),
        "store": {},
    }
    pg = os.environ.get("DASHCAM_TEST_POSTGRES_URL")
    with tempfile.TemporaryDirectory() as tmp:
        for claimers in (1, 16):
            for batch in (1, 8):
                url = f"sqlite:///{tmp}/s{claimers}_{batch}.db"
                key = f"sqlite_{claimers}_claimers_batch_{batch}"
                out["store"][key] = store_rate(url, claimers, args.tasks, batch)
                if pg:
                    pg_url, drop = _pg_url(pg)
                    try:
                        out["store"][f"postgresql_{claimers}_claimers_batch_{batch}"] = store_rate(
                            pg_url, claimers, args.tasks, batch
                        )
                    finally:
                        drop()
        srv = Server(f"sqlite:///{tmp}/http.db", Path(tmp) / "data", args.server_workers)
        try:
            out["http_sqlite"] = http_run(srv, 16, args.http_tasks)
            out["http_sqlite"]["server_processes"] = args.server_workers
            if args.dashboards:
                out["http_sqlite_with_dashboards"] = http_run(
                    srv, 16, args.http_tasks, args.dashboards
                )
                base = out["http_sqlite"]["claims_per_s"]
                out["dashboard_throughput_change"] = round(
                    out["http_sqlite_with_dashboards"]["claims_per_s"] / base - 1, 3
                )
            out["recovery_after_sigkill_s"] = recovery_s(srv)
            out["recovery_bound_s"] = "lease 2.0 + sweep 1.0 + 1"
        finally:
            srv.close()
    out["load_avg_1m_after"] = round(os.getloadavg()[0], 2)
    print(json.dumps(out, indent=1))


if __name__ == "__main__":
    main()
