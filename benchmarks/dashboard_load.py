"""Does an open dashboard slow the queue? Queue throughput over HTTP with 0 and with N
open dashboards, in one run.

``dashcam server`` runs as its own process on a SQLite file. W worker threads do
``GET /tasks/next`` + ``POST /tasks/{id}/complete`` until the round's tasks are done.
A dashboard is what an open page costs the server: one ``/api/live`` event stream read
continuously, plus the page's polls (``/videos`` and ``/api/watchlist`` every 5 s, as the
videos and watchlist pages do). Rounds alternate (0, N, 0, N, ...) so drift hits both;
the medians are compared.

Also measured, being steadier than throughput on a shared machine: the server process's
CPU time per task in both kinds of round, and the share of a core the N dashboards take
with no queue work at all.

Prints one JSON object; the goal is ``relative_change`` within -0.05.

    python benchmarks/dashboard_load.py --dashboards 10 --workers 8 --tasks 1500 --rounds 5
"""

from __future__ import annotations

import _syspath  # noqa: F401  (first: keeps queue.py from shadowing the stdlib)

# isort: split
import argparse
import json
import math
import os
import socket
import statistics
import subprocess
import sys
import tempfile
import threading
import time
from pathlib import Path
from typing import Any

import httpx

from dashcam.store.database import make_engine
from dashcam.store.task_queue import TaskQueue
from dashcam.store.task_schema import TaskType

H = TaskType.HEAVY_PROCESS_VIDEO
KEY = "bench-key"
POLL_S = 5.0
IDLE_S = 10.0


class Server:
    """``dashcam server`` in its own process (as deployed)."""

    def __init__(self, tmp: Path) -> None:
        with socket.socket() as s:
            s.bind(("127.0.0.1", 0))
            self.port = int(s.getsockname()[1])
        self.db_url = f"sqlite:///{tmp / 'bench.db'}"
        env = {k: v for k, v in os.environ.items() if not k.startswith("DASHCAM_")}
        env.update(
            {
                "DASHCAM_DATABASE_URL": self.db_url,
                "DASHCAM_DATA_DIR": str(tmp / "data"),
                "DASHCAM_SERVER_PORT": str(self.port),
                "DASHCAM_API_KEY": KEY,
                "DASHCAM_LEASE_S": "300",
                # The server's own scan of <nas>/videos/incoming would add load of its own.
                "DASHCAM_NAS_MOUNT": str(tmp / "nas"),
            }
        )
        self.proc = subprocess.Popen(
            [sys.executable, "-m", "dashcam", "server"],
            env=env,
            stdout=subprocess.DEVNULL,
            stderr=subprocess.DEVNULL,
        )
        self.url = f"http://127.0.0.1:{self.port}"
        self.headers = {"Authorization": f"Bearer {KEY}"}
        deadline = time.time() + 60
        while True:
            try:
                if httpx.get(self.url + "/health", timeout=2).status_code == 200:
                    break
            except httpx.HTTPError:
                pass
            if time.time() > deadline or self.proc.poll() is not None:
                raise RuntimeError("server did not start")
            time.sleep(0.2)
        self.queue = TaskQueue(make_engine(self.db_url), lease_s=300)

    def close(self) -> None:
        self.proc.terminate()
        try:
            self.proc.wait(timeout=20)
        except subprocess.TimeoutExpired:
            self.proc.kill()


class Dashboards:
    """N open dashboards: an SSE reader and a poller each, until :meth:`close`."""

    def __init__(self, srv: Server, n: int) -> None:
        self.stop = threading.Event()
        self.events = 0
        self.polls = 0
        self._lock = threading.Lock()
        self._clients: list[httpx.Client] = []
        self.threads = [
            threading.Thread(target=fn, args=(srv,), daemon=True)
            for _ in range(n)
            for fn in (self._live, self._poll)
        ]
        for t in self.threads:
            t.start()

    def _live(self, srv: Server) -> None:
        c = httpx.Client(base_url=srv.url, headers=srv.headers, timeout=30)
        with self._lock:
            self._clients.append(c)
        try:
            with c.stream("GET", "/api/live") as r:
                for line in r.iter_lines():
                    if line.startswith("data:"):
                        json.loads(line[5:])  # a page parses every event
                        with self._lock:
                            self.events += 1
                    if self.stop.is_set():
                        return
        except httpx.HTTPError:
            if not self.stop.is_set():
                raise

    def _poll(self, srv: Server) -> None:
        with httpx.Client(base_url=srv.url, headers=srv.headers, timeout=30) as c:
            while not self.stop.wait(POLL_S):
                for path in ("/videos", "/api/watchlist"):
                    c.get(path).raise_for_status()
                with self._lock:
                    self.polls += 1

    def close(self) -> None:
        self.stop.set()
        with self._lock:
            for c in self._clients:
                c.close()
        for t in self.threads:
            t.join(timeout=10)


def cpu_s(pid: int) -> float:
    """CPU seconds (user + system) a process has used, from /proc (Linux); NaN elsewhere."""
    try:
        fields = Path(f"/proc/{pid}/stat").read_text().rsplit(")", 1)[1].split()
    except OSError:
        return math.nan
    return (int(fields[11]) + int(fields[12])) / os.sysconf("SC_CLK_TCK")


def queue_round(srv: Server, workers: int, n: int) -> float:
    """Claim+complete per second for ``n`` tasks with ``workers`` threads over HTTP."""
    srv.queue.enqueue_many(H, [{"video_id": "v", "raw_video": "/nas/v.mp4"}] * n)
    done = [0] * workers
    barrier = threading.Barrier(workers + 1)

    def work(i: int) -> None:
        with httpx.Client(base_url=srv.url, headers=srv.headers, timeout=60) as c:
            barrier.wait()
            while True:
                r = c.get("/tasks/next", params={"task_type": H.value, "worker_id": f"w{i}"})
                if r.status_code == 204:
                    return
                r.raise_for_status()
                c.post(f"/tasks/{r.json()['task_id']}/complete", json={}).raise_for_status()
                done[i] += 1

    threads = [threading.Thread(target=work, args=(i,)) for i in range(workers)]
    for t in threads:
        t.start()
    barrier.wait()
    t0 = time.perf_counter()
    for t in threads:
        t.join()
    rate = sum(done) / (time.perf_counter() - t0)
    if sum(done) != n:
        raise RuntimeError(f"expected {n} tasks done, got {sum(done)}")
    return rate


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__)
    ap.add_argument("--dashboards", type=int, default=10)
    ap.add_argument("--workers", type=int, default=8)
    ap.add_argument("--tasks", type=int, default=1500, help="tasks per round")
    ap.add_argument("--rounds", type=int, default=5, help="rounds of each kind")
    args = ap.parse_args()
    rates: dict[str, list[float]] = {"0": [], str(args.dashboards): []}
    cpu: dict[str, list[float]] = {"0": [], str(args.dashboards): []}
    out: dict[str, Any] = {"cpu_count": os.cpu_count(), "workers": args.workers}
    with tempfile.TemporaryDirectory() as tmp:
        srv = Server(Path(tmp))
        try:
            queue_round(srv, args.workers, min(args.tasks, 300))  # warm-up
            pid = srv.proc.pid
            for _ in range(args.rounds):
                c0 = cpu_s(pid)
                rates["0"].append(queue_round(srv, args.workers, args.tasks))
                cpu["0"].append((cpu_s(pid) - c0) / args.tasks)
                dash = Dashboards(srv, args.dashboards)
                time.sleep(2.0)  # let them connect and receive a first event
                try:
                    c0 = cpu_s(pid)
                    rates[str(args.dashboards)].append(queue_round(srv, args.workers, args.tasks))
                    cpu[str(args.dashboards)].append((cpu_s(pid) - c0) / args.tasks)
                finally:
                    dash.close()
                out["live_events_received_last_round"] = dash.events
                out["page_polls_last_round"] = dash.polls
            # What the open dashboards cost the server on their own, with no queue work.
            dash = Dashboards(srv, args.dashboards)
            time.sleep(2.0)
            c0, t0 = cpu_s(pid), time.perf_counter()
            time.sleep(IDLE_S)
            idle = (cpu_s(pid) - c0) / (time.perf_counter() - t0)
            dash.close()
        finally:
            srv.close()
    base = statistics.median(rates["0"])
    loaded = statistics.median(rates[str(args.dashboards)])
    out.update(
        {
            "tasks_per_round": args.tasks,
            "rounds": args.rounds,
            "claim_complete_per_s": {
                "dashboards_0": round(base, 1),
                f"dashboards_{args.dashboards}": round(loaded, 1),
            },
            "rounds_per_s": {k: [round(r, 1) for r in v] for k, v in rates.items()},
            "relative_change": round(loaded / base - 1, 4),
            "goal": "relative_change >= -0.05",
            # Less noisy than throughput on a shared machine: the server's own CPU time.
            "server_cpu_ms_per_task": {
                k: round(1000 * statistics.median(v), 3) for k, v in cpu.items()
            },
            "server_cpu_percent_of_a_core_for_idle_dashboards": round(100 * idle, 2),
        }
    )
    print(json.dumps(out, indent=1))


if __name__ == "__main__":
    main()
