"""Workers against a real queue: seed-protocol clients, bad videos, escaping ids, restarts."""

from __future__ import annotations

import os
import socket
import subprocess
import sys
import time
from pathlib import Path

import httpx
import pytest

from dashcam.config import load_settings
from dashcam.errors import DecodeError
from dashcam.services.ingest import ingest_video
from dashcam.store.database import make_engine
from dashcam.store.results import ResultsRepository
from dashcam.store.schema import VideoStatus
from dashcam.store.task_queue import TaskQueue
from dashcam.store.task_schema import TaskStatus, TaskType
from dashcam.workers.archive import ArchiveWorker
from dashcam.workers.clients import DirectQueueClient
from dashcam.workers.heavy import HeavyWorker


def _free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return int(s.getsockname()[1])


def test_corrupt_video_fails_readably_is_retried_then_dead(tmp_path: Path) -> None:
    settings = load_settings(data_dir=tmp_path / "data", max_attempts=2)
    engine = make_engine(settings.db_url)
    queue = TaskQueue(engine, max_attempts=2, backoff_base_s=0.05)
    repo = ResultsRepository(engine)
    bad = tmp_path / "broken.mp4"
    bad.write_bytes(b"\x00\x00\x00\x18ftypmp42" + os.urandom(4000))
    with pytest.raises(DecodeError, match=r"broken\.mp4"):
        ingest_video(repo, queue, bad)  # refused at the door...
    # ...so this one broke after it was ingested (the NAS copy went bad)
    repo.upsert_video("broken", str(bad), status=VideoStatus.QUEUED)
    task_id = queue.enqueue(
        TaskType.HEAVY_PROCESS_VIDEO,
        {"video_id": "broken", "raw_video": str(bad)},
        video_id="broken",
    )
    worker = HeavyWorker(
        DirectQueueClient(queue, repo), settings, poll_interval_s=0.05, heartbeat_interval_s=1
    )
    deadline = time.time() + 60
    while (t := queue.get(task_id or 0)) is not None and t.status is not TaskStatus.DEAD:
        worker.run(until_idle=True)
        time.sleep(0.1)
        assert time.time() < deadline
    assert t is not None and t.attempts == 2 and worker.failed == 2
    assert "broken.mp4" in (t.error or "") and "Traceback" not in (t.error or "")
    v = repo.get_video("broken")
    assert v is not None and v.status is VideoStatus.FAILED and "broken.mp4" in (v.error or "")


def test_ids_that_escape_a_root_are_refused(tmp_path: Path) -> None:
    settings = load_settings(data_dir=tmp_path / "data")
    engine = make_engine(settings.db_url)
    queue = TaskQueue(engine)
    tid = queue.enqueue(TaskType.ARCHIVE_VIDEO, {"video_id": "../../outside"})
    worker = ArchiveWorker(DirectQueueClient(queue, ResultsRepository(engine)), settings)
    worker.run(until_idle=True)
    t = queue.get(tid or 0)
    assert t is not None and t.status is TaskStatus.DEAD  # no retry can fix an id
    assert "invalid id" in (t.error or "")
    assert not (tmp_path / "outside").exists()


def test_seed_worker_client_and_server_restart_lose_nothing(tmp_path: Path) -> None:
    """A client that knows only the seed protocol works unchanged, and a server restart
    between its claim and its completion loses nothing."""
    port = _free_port()
    env = {k: v for k, v in os.environ.items() if not k.startswith("DASHCAM_")}
    env.update(
        {
            "DASHCAM_DATA_DIR": str(tmp_path / "data"),
            "DASHCAM_API_KEY": "seed",
            "DASHCAM_SERVER_PORT": str(port),
            "DASHCAM_LEASE_S": "120",
            "DASHCAM_HEAVY_OUTPUT_ROOT": str(tmp_path / "nas" / "heavy"),
        }
    )
    url = f"http://127.0.0.1:{port}"
    heavy = tmp_path / "nas" / "heavy" / "cam1-001"  # the seed client's outputs
    settings = load_settings(data_dir=tmp_path / "data")
    queue = TaskQueue(make_engine(settings.db_url))
    queue.enqueue(
        TaskType.HEAVY_PROCESS_VIDEO,
        {"video_id": "cam1-001", "raw_video": "/nas/cam1/001.mp4"},
        video_id="cam1-001",
    )
    queue.enqueue(
        TaskType.HEAVY_PROCESS_VIDEO,
        {"video_id": "cam1-002", "raw_video": "/nas/cam1/002.mp4"},
        video_id="cam1-002",
    )

    def start() -> subprocess.Popen[bytes]:
        p = subprocess.Popen(
            [sys.executable, "-m", "dashcam", "server"],
            env=env,
            stdout=subprocess.DEVNULL,
            stderr=subprocess.DEVNULL,
        )
        deadline = time.time() + 60
        while True:
            try:
                if httpx.get(url + "/health", timeout=1).status_code == 200:
                    return p
            except httpx.HTTPError:
                pass
            assert time.time() < deadline
            time.sleep(0.2)

    server = start()
    try:
        auth = {"Authorization": "Bearer seed"}
        r = httpx.get(
            url + "/tasks/next", params={"task_type": "HEAVY_PROCESS_VIDEO"}, headers=auth
        )
        assert r.status_code == 200
        body = r.json()
        assert body["video_id"] == "cam1-001"
        assert body["inputs"] == {
            "raw_video": "/nas/cam1/001.mp4",
            "gps_path": None,
            "preproc_json": None,
            "thumbnails_dir": None,
        }
        assert body["created_at"].endswith("Z")
        server.terminate()
        server.wait(timeout=20)
        server = start()  # restarted between the claim and the completion
        completion = {
            "video_id": "cam1-001",
            "task_id": body["task_id"],
            "metadata_path": str(heavy / "metadata.json"),
            "crops_dir": str(heavy / "crops"),
            "detections": [{"frame_index": 0}],
            "model_info": {"plate_reader": "seed"},
            "remote_tasks": [{"task_type": "ARCHIVE_VIDEO", "inputs": {"video_id": "cam1-001"}}],
        }
        done = httpx.post(url + f"/tasks/{body['task_id']}/complete", json=completion, headers=auth)
        assert done.status_code == 200, done.text
        again = httpx.post(
            url + f"/tasks/{body['task_id']}/complete", json=completion, headers=auth
        )
        assert again.status_code == 200 and again.json()["follow_ups"] == []
        archive = queue.list_tasks(task_type=TaskType.ARCHIVE_VIDEO)
        assert len(archive) == 1 and archive[0].payload["video_id"] == "cam1-001"
        nxt = httpx.get(
            url + "/tasks/next", params={"task_type": "HEAVY_PROCESS_VIDEO"}, headers=auth
        )
        assert nxt.json()["video_id"] == "cam1-002"  # the other task survived the restart
        empty = httpx.get(
            url + "/tasks/next", params={"task_type": "HEAVY_PROCESS_VIDEO"}, headers=auth
        )
        assert empty.status_code == 204
    finally:
        server.terminate()
        server.wait(timeout=20)


@pytest.mark.slow
def test_supervisord_starts_workers_and_restarts_a_killed_one(tmp_path: Path) -> None:
    bin_dir = Path(sys.executable).parent
    # supervisor is a dev dependency (pyproject's dev extra): no skip, a missing one fails.
    assert (bin_dir / "supervisord").exists(), "supervisord missing: make install (dev extra)"
    cfg = tmp_path / "config.yaml"
    cfg.write_text(
        "workers:\n"
        f"  dashcam: {bin_dir / 'dashcam'}\n"
        "  environment:\n"
        f"    DASHCAM_DATA_DIR: {tmp_path / 'data'}\n"
        "  programs:\n"
        "    - kind: archive\n      count: 2\n      args: [--direct]\n"
        "    - kind: monitor\n      args: [--interval, '1']\n"
    )
    conf = tmp_path / "supervisord.conf"
    res = subprocess.run(
        [
            sys.executable,
            "-m",
            "dashcam",
            "workers",
            "setup",
            "--config",
            str(cfg),
            "-o",
            str(conf),
        ],
        capture_output=True,
        text=True,
        timeout=60,
    )
    assert res.returncode == 0, res.stderr
    text = conf.read_text()
    assert "numprocs=2" in text and "autorestart=true" in text and "stopwaitsecs=" in text
    ctl = [str(bin_dir / "supervisorctl"), "-c", str(conf)]
    subprocess.run([str(bin_dir / "supervisord"), "-c", str(conf)], check=True, timeout=30)
    try:

        def pids() -> dict[str, str]:
            out = subprocess.run(
                [*ctl, "status"], capture_output=True, text=True, timeout=30
            ).stdout
            return {
                ln.split()[0]: ln.split("pid ")[1].split(",")[0]
                for ln in out.splitlines()
                if "RUNNING" in ln
            }

        deadline = time.time() + 60
        while len(running := pids()) < 3:
            assert time.time() < deadline, running
            time.sleep(0.5)
        victim = "dashcam-archive:dashcam-archive-00"
        old = running[victim]
        os.kill(int(old), 9)
        deadline = time.time() + 60
        while (now := pids()).get(victim) in (None, old):
            assert time.time() < deadline, now
            time.sleep(0.5)
    finally:
        subprocess.run([*ctl, "shutdown"], capture_output=True, timeout=60)
