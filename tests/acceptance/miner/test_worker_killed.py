"""A stage worker SIGKILLed mid-item loses nothing: the item is redone after its lease."""

from __future__ import annotations

import os
import signal
import subprocess
import sys
import time
from pathlib import Path

import pytest
import yaml

from dashcam.media.synthetic import make_clip
from dashcam.store.database import make_engine
from dashcam.store.task_queue import TaskQueue
from dashcam.store.task_schema import TaskStatus, TaskType

pytestmark = pytest.mark.slow
CLI = [sys.executable, "-m", "dashcam", "miner"]


def test_killed_extract_worker_item_is_picked_up_again(tmp_path: Path) -> None:
    clip = make_clip(tmp_path / "clips", name="a", seed=4, duration_s=6, resolution_wh=(960, 540))
    cfg = {
        "name": "k",
        "sources": [str(clip.video_path)],
        "extract": {"mode": "interval", "every_n_frames": 1, "image_format": "png"},
    }
    (tmp_path / "c.yaml").write_text(yaml.safe_dump(cfg))
    env = {**os.environ, "DASHCAM_DATA_DIR": str(tmp_path / "data")}
    run = subprocess.run
    run([*CLI, "project", "create", "-c", str(tmp_path / "c.yaml")], env=env, check=True)
    run([*CLI, "worker", "download", "--until-idle"], env=env, check=True, capture_output=True)
    frames_dir = tmp_path / "data" / "miner" / "k" / "frames" / "v000001"
    victim = subprocess.Popen(
        [*CLI, "worker", "extract", "--lease-s", "3", "--heartbeat-s", "1"],
        env=env,
        stdout=subprocess.DEVNULL,
        stderr=subprocess.DEVNULL,
    )
    deadline = time.monotonic() + 60
    while not (frames_dir.is_dir() and len(list(frames_dir.iterdir())) >= 5):
        assert time.monotonic() < deadline and victim.poll() is None
        time.sleep(0.05)
    victim.send_signal(signal.SIGKILL)
    victim.wait()
    q = TaskQueue(make_engine(f"sqlite:///{tmp_path / 'data' / 'dashcam.db'}"))
    [task] = q.list_tasks(task_type=TaskType.MINER_EXTRACT)
    assert task.status == TaskStatus.RUNNING  # held by a dead worker

    time.sleep(3.5)  # the lease runs out
    res = run(
        [*CLI, "worker", "extract", "--until-idle"],
        env=env,
        capture_output=True,
        text=True,
        timeout=120,
    )
    assert res.returncode == 0, res.stderr
    task = q.get(task.id)
    assert task is not None and task.status == TaskStatus.DONE and task.attempts == 2
    n = task.result["frames"] if task.result else 0
    assert n == 180  # 6 s at 30 fps, every frame
    assert len(list(frames_dir.iterdir())) == n
