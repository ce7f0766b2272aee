"""``dashcam ingest --watch`` as a subprocess: a file still being copied is left alone
until it stops growing, then queued exactly once."""

from __future__ import annotations

import os
import signal
import subprocess
import sys
import time
from pathlib import Path

from dashcam.config import load_settings
from dashcam.media.synthetic import make_clip
from dashcam.store.database import make_engine
from dashcam.store.paths import quick_content_hash
from dashcam.store.results import ResultsRepository
from dashcam.store.task_queue import TaskQueue
from dashcam.store.task_schema import TaskType


def test_watch_queues_a_growing_file_once_when_it_is_finished(tmp_path: Path) -> None:
    incoming = tmp_path / "incoming"
    incoming.mkdir()
    env = {k: v for k, v in os.environ.items() if not k.startswith("DASHCAM_")}
    env["DASHCAM_DATA_DIR"] = str(tmp_path / "data")
    settings = load_settings(data_dir=tmp_path / "data")
    engine = make_engine(settings.db_url)  # schema first, so the watcher and we agree
    repo, queue = ResultsRepository(engine), TaskQueue(engine)
    source = make_clip(
        tmp_path / "camera", name="rec", duration_s=2.0, resolution_wh=(320, 240)
    ).video_path
    proc = subprocess.Popen(
        [sys.executable, "-m", "dashcam", "ingest", "--watch", str(incoming), "--interval", "0.3"],
        env=env,
        stdout=subprocess.PIPE,
        stderr=subprocess.STDOUT,
    )
    try:
        clip = incoming / "cam1-0001.mp4"
        data = source.read_bytes()
        step = -(-len(data) // 20)
        with clip.open("wb") as fh:  # a slow copy: 2 s, a chunk every 0.1 s
            for i in range(20):
                fh.write(data[i * step : (i + 1) * step])
                fh.flush()
                time.sleep(0.1)
        assert repo.list_videos() == []  # nothing half-copied was registered
        deadline = time.monotonic() + 15
        while not repo.list_videos():
            assert time.monotonic() < deadline, "the finished file was never queued"
            time.sleep(0.1)
        time.sleep(1.0)  # more scans: still one
        (video,) = repo.list_videos()
        assert video.content_hash == quick_content_hash(clip)
        (task,) = queue.list_tasks(task_type=TaskType.HEAVY_PROCESS_VIDEO)
        assert task.video_id == video.id
    finally:
        proc.send_signal(signal.SIGINT)
        out, _ = proc.communicate(timeout=20)
    assert b"queued" in out and proc.returncode == 0, out.decode()
