"""What events cost the server, from one run.

``dashcam server`` in its own process on a SQLite file, 8 HTTP worker threads claiming
heavy tasks and completing each with 2 sightings (one on the watchlist): 4 events per
completion (2 sightings, 1 watchlist hit, 1 video processed). Rounds alternate MQTT off
and on (the broker on 127.0.0.1:1883, or --broker), and the best round of each counts:

- ``claim_complete_per_s``: off vs on, and their ratio (goal: on >= 0.95 x off);
- ``events_per_s``: events a subscriber receives through the broker per second, from the
  first completion until the last event of the round arrived;
- ``events_received`` vs ``events_expected`` (every one arrives), dropped (0).

Prints one JSON object.
"""

from __future__ import annotations

import _syspath  # noqa: F401  (first: keeps queue.py from shadowing the stdlib)

# isort: split
import argparse
import json
import os
import socket
import subprocess
import sys
import tempfile
import threading
import time
import uuid
from pathlib import Path
from typing import Any

import httpx
import paho.mqtt.client as mqtt
from paho.mqtt.enums import CallbackAPIVersion

from dashcam.store.database import make_engine
from dashcam.store.results import ResultsRepository
from dashcam.store.schema import VideoStatus
from dashcam.store.task_queue import TaskQueue
from dashcam.store.task_schema import TaskType

H = TaskType.HEAVY_PROCESS_VIDEO
EVENTS_PER_COMPLETION = 4


def _sighting(video_id: str, plate: str) -> dict[str, Any]:
    return {
        "video_id": video_id,
        "track_id": 1,
        "plate_text": plate,
        "confidence": 0.9,
        "first_s": 0.0,
        "last_s": 1.0,
        "best_frame_index": 0,
        "best_xyxy": [1, 2, 3, 4],
        "n_reads": 2,
        "first_utc_ms": 1_714_550_400_000,
        "position": {"lat": 45.8, "lon": 15.9},
    }


class Server:
    def __init__(self, tmp: Path, env_extra: dict[str, str]) -> None:
        with socket.socket() as s:
            s.bind(("127.0.0.1", 0))
            self.port = int(s.getsockname()[1])
        db = f"sqlite:///{tmp / 'dashcam.db'}"
        env = {k: v for k, v in os.environ.items() if not k.startswith("DASHCAM_")}
        env.update(
            {
                "DASHCAM_DATABASE_URL": db,
                "DASHCAM_DATA_DIR": str(tmp),
                "DASHCAM_SERVER_PORT": str(self.port),
                "DASHCAM_LEASE_S": "60",
                **env_extra,
            }
        )
        self.proc = subprocess.Popen(
            [sys.executable, "-m", "dashcam", "server"],
            env=env,
            stdout=subprocess.DEVNULL,
            stderr=subprocess.DEVNULL,
        )
        self.url = f"http://127.0.0.1:{self.port}"
        engine = make_engine(db)
        self.queue = TaskQueue(engine, lease_s=60)
        self.repo = ResultsRepository(engine)
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
        self.proc.wait(timeout=30)


class Counter:
    """Counts the messages arriving under ``prefix/#`` (and when the last one came)."""

    def __init__(self, port: int, prefix: str) -> None:
        self.n = 0
        self.last_s = 0.0
        self._lock = threading.Lock()
        self._ready = threading.Event()
        c = mqtt.Client(CallbackAPIVersion.VERSION2, client_id=f"bench-{uuid.uuid4().hex[:6]}")
        c.on_connect = lambda cl, *_: cl.subscribe(
            [(f"{prefix}/sightings", 1), (f"{prefix}/watchlist/#", 1), (f"{prefix}/videos/#", 1)]
        )
        c.on_subscribe = lambda *_: self._ready.set()
        c.on_message = self._on_message
        c.connect("127.0.0.1", port)
        c.loop_start()
        self.client = c
        if not self._ready.wait(20):
            raise RuntimeError("subscriber did not subscribe")

    def _on_message(self, *_: Any) -> None:
        with self._lock:
            self.n += 1
            self.last_s = time.perf_counter()

    def close(self) -> None:
        self.client.disconnect()
        self.client.loop_stop()


def one_round(n: int, workers: int, broker_port: int | None) -> dict[str, Any]:
    prefix = f"bench-{uuid.uuid4().hex[:8]}"
    env = {}
    if broker_port is not None:
        env = {
            "DASHCAM_MQTT_URL": f"mqtt://127.0.0.1:{broker_port}",
            "DASHCAM_MQTT_TOPIC_PREFIX": prefix,
            "DASHCAM_MQTT_DISCOVERY_PREFIX": f"{prefix}-ha",
            "DASHCAM_EVENTS_BUFFER": str(n * EVENTS_PER_COMPLETION),
        }
    with tempfile.TemporaryDirectory() as tmp:
        srv = Server(Path(tmp), env)
        counter = Counter(broker_port, prefix) if broker_port is not None else None
        try:
            httpx.post(srv.url + "/api/watchlist", json={"plate": "AB12CDE"}).raise_for_status()
            for i in range(n):
                vid = f"v{i}"
                srv.repo.upsert_video(vid, f"/nas/{vid}.mp4", status=VideoStatus.QUEUED)
                srv.queue.enqueue(
                    H, {"video_id": vid, "raw_video": f"/nas/{vid}.mp4"}, video_id=vid
                )
            done = [0]
            lock = threading.Lock()

            def work() -> None:
                with httpx.Client(base_url=srv.url, timeout=30) as c:
                    while True:
                        r = c.get("/tasks/next", params={"task_type": H.value})
                        if r.status_code == 204:
                            return
                        t = r.json()
                        vid = t["video_id"]
                        body = {"sightings": [_sighting(vid, "AB12CDE"), _sighting(vid, "XY99ZZZ")]}
                        c.post(f"/tasks/{t['task_id']}/complete", json=body).raise_for_status()
                        with lock:
                            done[0] += 1

            threads = [threading.Thread(target=work) for _ in range(workers)]
            t0 = time.perf_counter()
            for t in threads:
                t.start()
            for t in threads:
                t.join()
            elapsed = time.perf_counter() - t0
            out: dict[str, Any] = {
                "completions": done[0],
                "claim_complete_per_s": round(done[0] / elapsed, 1),
            }
            if counter is not None:
                expected = done[0] * EVENTS_PER_COMPLETION
                deadline = time.time() + 120
                while counter.n < expected and time.time() < deadline:
                    time.sleep(0.1)
                status = httpx.get(srv.url + "/api/events/status", params={"recent": 0}).json()
                out.update(
                    events_expected=expected,
                    events_received=counter.n,
                    events_per_s=round(counter.n / max(1e-9, counter.last_s - t0), 1),
                    dropped=sum(d["dropped"] for d in status["destinations"]),
                )
            return out
        finally:
            if counter is not None:
                counter.close()
            srv.close()


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    ap.add_argument("--tasks", type=int, default=400, help="completions per round")
    ap.add_argument("--workers", type=int, default=8)
    ap.add_argument("--rounds", type=int, default=3, help="rounds of each (off, on, ...)")
    ap.add_argument("--broker", type=int, default=1883, help="Mosquitto port on 127.0.0.1")
    args = ap.parse_args()
    off: list[dict[str, Any]] = []
    on: list[dict[str, Any]] = []
    for _ in range(args.rounds):
        off.append(one_round(args.tasks, args.workers, None))
        on.append(one_round(args.tasks, args.workers, args.broker))
    best_off = max(r["claim_complete_per_s"] for r in off)
    best_on = max(on, key=lambda r: r["claim_complete_per_s"])
    print(
        json.dumps(
            {
                "tasks_per_round": args.tasks,
                "http_workers": args.workers,
                "events_per_completion": EVENTS_PER_COMPLETION,
                "claim_complete_per_s": {
                    "mqtt_off": best_off,
                    "mqtt_on": best_on["claim_complete_per_s"],
                    "on_over_off": round(best_on["claim_complete_per_s"] / best_off, 3),
                    "goal_on_over_off": 0.95,
                },
                "events_per_s": max(r["events_per_s"] for r in on),
                "every_event_arrived": all(
                    r["events_received"] == r["events_expected"] for r in on
                ),
                "dropped": sum(r["dropped"] for r in on),
                "rounds": {"mqtt_off": off, "mqtt_on": on},
            },
            indent=1,
        )
    )


if __name__ == "__main__":
    main()
