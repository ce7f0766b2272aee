"""SIGKILL the server at random moments while workers complete heavy tasks over HTTP:
after every restart, each video's state agrees with its task's (SQLite and PostgreSQL)."""

from __future__ import annotations

import os
import random
import signal
import socket
import subprocess
import sys
import threading
import time
from pathlib import Path
from typing import Any

import httpx
import pytest

from dashcam.store.database import make_engine
from dashcam.store.results import ResultsRepository
from dashcam.store.schema import VideoStatus
from dashcam.store.task_queue import TaskQueue
from dashcam.store.task_schema import TaskStatus, TaskType

H = TaskType.HEAVY_PROCESS_VIDEO
N_VIDEOS = 80
N_SIGHTINGS = 20
KILLS = 6
WORKERS = 6
KEY = {"Authorization": "Bearer crash"}


def _sightings(vid: str) -> list[dict[str, Any]]:
    def read(k: int) -> dict[str, Any]:
        return {"frame_index": k, "pts_s": k / 10, "text": f"AB{k:02d}CDE", "confidence": 0.8}

    return [
        {
            "video_id": vid,
            "track_id": i,
            "plate_text": f"AB{i:02d}CDE",
            "confidence": 0.9,
            "first_s": 0.0,
            "last_s": 1.0,
            "best_frame_index": 0,
            "best_xyxy": [1, 2, 3, 4],
            "n_reads": 4,
            "reads": [{**read(k), "xyxy": [1, 2, 3, 4]} for k in range(4)],
        }
        for i in range(N_SIGHTINGS)
    ]


class _Server:
    """``dashcam server`` as a subprocess that the test kills and starts again."""

    def __init__(self, db_url: str, tmp: Path) -> None:
        with socket.socket() as s:
            s.bind(("127.0.0.1", 0))
            self.port = int(s.getsockname()[1])
        self.url = f"http://127.0.0.1:{self.port}"
        self.env = {k: v for k, v in os.environ.items() if not k.startswith("DASHCAM_")}
        self.env.update(
            DASHCAM_DATA_DIR=str(tmp / "data"),
            DASHCAM_DATABASE_URL=db_url,
            DASHCAM_API_KEY="crash",
            DASHCAM_SERVER_PORT=str(self.port),
            DASHCAM_LEASE_S="600",
        )
        self.log = tmp / "server.log"
        self.proc: subprocess.Popen[bytes] | None = None

    def start(self) -> None:
        self.proc = subprocess.Popen(
            [sys.executable, "-m", "dashcam", "server"],
            env=self.env,
            stdout=self.log.open("ab"),
            stderr=subprocess.STDOUT,
        )
        deadline = time.monotonic() + 60
        while True:
            try:
                if httpx.get(self.url + "/health", timeout=1).status_code == 200:
                    return
            except httpx.HTTPError:
                pass
            assert time.monotonic() < deadline, self.log.read_text()[-2000:]
            time.sleep(0.1)

    def kill(self) -> None:
        assert self.proc is not None
        self.proc.send_signal(signal.SIGKILL)
        self.proc.wait(timeout=20)


def _disagreements(queue: TaskQueue, repo: ResultsRepository) -> list[str]:
    """Videos whose state does not follow from their heavy task's."""
    out = []
    for t in queue.list_tasks(task_type=H, limit=N_VIDEOS):
        v = repo.get_video(t.video_id or "")
        assert v is not None
        want = {
            TaskStatus.DONE: VideoStatus.DONE,
            TaskStatus.RUNNING: VideoStatus.PROCESSING,
            TaskStatus.QUEUED: VideoStatus.QUEUED,
        }[t.status]
        complete = t.status is not TaskStatus.DONE or v.n_sightings == N_SIGHTINGS
        if v.status is not want or not complete:
            out.append(f"{v.id}: task {t.status.value}, video {v.status.value}/{v.n_sightings}")
    return out


@pytest.mark.slow
def test_sigkill_during_completions_leaves_every_video_agreeing_with_its_task(
    db_url: str, tmp_path: Path
) -> None:
    engine = make_engine(db_url)
    queue, repo = TaskQueue(engine), ResultsRepository(engine)
    for i in range(N_VIDEOS):
        repo.upsert_video(f"v{i}", f"/nas/v{i}.mp4", status=VideoStatus.QUEUED)
        queue.enqueue(H, {"video_id": f"v{i}", "raw_video": f"/nas/v{i}.mp4"}, video_id=f"v{i}")
    server = _Server(db_url, tmp_path)
    server.start()
    wires = []
    with httpx.Client(base_url=server.url, headers=KEY, timeout=10) as c:
        for _ in range(N_VIDEOS):
            r = c.get("/tasks/next", params={"task_type": H.value})
            assert r.status_code == 200, r.text
            wires.append((r.json()["task_id"], r.json()["video_id"]))
    pending = list(wires)
    lock = threading.Lock()
    acknowledged: set[str] = set()
    in_flight = [0, 0]  # requests under way; requests that failed (server down)
    stop = threading.Event()

    def worker() -> None:
        with httpx.Client(base_url=server.url, headers=KEY, timeout=10) as c:
            while not stop.is_set():
                with lock:
                    if not pending:
                        return
                    wire, vid = pending.pop(0)
                    in_flight[0] += 1
                try:
                    r = c.post(f"/tasks/{wire}/complete", json={"sightings": _sightings(vid)})
                    assert r.status_code == 200, r.text
                    with lock:
                        acknowledged.add(wire)
                except httpx.HTTPError:  # the server is down: this worker resends later
                    with lock:
                        pending.append((wire, vid))
                        in_flight[1] += 1
                    time.sleep(0.05)
                finally:
                    with lock:
                        in_flight[0] -= 1

    rng = random.Random(21)
    disagreements: list[str] = []
    deadline = time.monotonic() + 150
    threads = [threading.Thread(target=worker) for _ in range(WORKERS)]
    for t in threads:
        t.start()
    kills = 0
    try:
        while kills < KILLS and len(acknowledged) < N_VIDEOS - WORKERS:
            if not in_flight[0]:  # kill while completions are under way
                time.sleep(0.001)
                continue
            time.sleep(rng.uniform(0.0, 0.1))
            server.kill()
            kills += 1
            disagreements += _disagreements(queue, repo)  # before any worker resends
            server.start()
        while any(t.is_alive() for t in threads):
            assert time.monotonic() < deadline, "completions did not finish in time"
            time.sleep(0.1)
    finally:
        stop.set()
        for t in threads:
            t.join(timeout=20)
        if server.proc is not None and server.proc.poll() is None:
            server.kill()
    disagreements += _disagreements(queue, repo)
    print(
        {
            "completions": len(wires),
            "kills": kills,
            "requests_failed_while_down": in_flight[1],
            "disagreements": len(disagreements),
        }
    )
    assert len(acknowledged) == N_VIDEOS and kills >= 3
    assert disagreements == []
    assert all(t.status is TaskStatus.DONE for t in queue.list_tasks(task_type=H, limit=100))
    engine.dispose()
