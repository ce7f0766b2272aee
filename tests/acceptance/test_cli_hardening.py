"""What a careless user ran into, as they run it (subprocesses): an open server on the
network, ``--workers`` that did nothing, a config path that is a folder or binary, empty
"videos" ingested, and a folder with one broken video that stopped everything."""

from __future__ import annotations

import contextlib
import os
import signal
import socket
import subprocess
import sys
import time
from pathlib import Path

import httpx
import pytest

from dashcam.config import load_settings
from dashcam.media.synthetic import make_clip
from dashcam.store.database import make_engine
from dashcam.store.task_queue import TaskQueue
from dashcam.store.task_schema import TaskType

pytestmark = pytest.mark.slow


@pytest.fixture
def env(tmp_path: Path) -> dict[str, str]:
    e = {k: v for k, v in os.environ.items() if not k.startswith("DASHCAM_")}
    e["DASHCAM_DATA_DIR"] = str(tmp_path / "data")
    return e


def run(
    args: list[str], env: dict[str, str], timeout: float = 120
) -> subprocess.CompletedProcess[str]:
    return subprocess.run(
        [sys.executable, "-m", "dashcam", *args],
        env=env,
        capture_output=True,
        text=True,
        timeout=timeout,
    )


def _clip(folder: Path, name: str, seed: int) -> Path:
    clip = make_clip(folder, name=name, seed=seed, duration_s=2.0, resolution_wh=(320, 240))
    clip.gps_path.unlink()
    return clip.video_path


def test_finding7_server_refuses_a_network_address_without_a_key(env: dict[str, str]) -> None:
    # 192.0.2.1 is a documentation address no machine has: nothing can bind or be reached.
    res = run(["server", "--host", "192.0.2.1", "--port", "1"], env, timeout=60)
    assert res.returncode == 2, res.stderr
    assert "DASHCAM_API_KEY" in res.stderr and "--insecure-no-key" in res.stderr
    assert "Traceback" not in res.stderr


def test_finding7_server_workers_are_real_processes(env: dict[str, str]) -> None:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        port = int(s.getsockname()[1])
    env = {**env, "DASHCAM_API_KEY": "k"}
    proc = subprocess.Popen(
        [sys.executable, "-m", "dashcam", "server", "--port", str(port), "--workers", "2"],
        env=env,
        stdout=subprocess.DEVNULL,
        stderr=subprocess.DEVNULL,
    )
    children: list[int] = []
    try:
        deadline = time.monotonic() + 90
        while True:
            try:
                if httpx.get(f"http://127.0.0.1:{port}/health", timeout=1).status_code == 200:
                    break
            except httpx.HTTPError:
                pass
            assert proc.poll() is None and time.monotonic() < deadline, "server did not start"
            time.sleep(0.2)
        for _ in range(50):  # both workers up (they start one after the other)
            children = _serving_children(proc.pid)
            if len(children) == 2:
                break
            time.sleep(0.2)
        assert len(children) == 2
        seen = {httpx.get(f"http://127.0.0.1:{port}/health").status_code for _ in range(10)}
        assert seen == {200}
    finally:
        proc.send_signal(signal.SIGTERM)
        proc.wait(timeout=30)
        for pid in children:  # never left behind, even when the test failed
            with contextlib.suppress(ProcessLookupError):
                os.kill(pid, signal.SIGKILL)


def _serving_children(pid: int) -> list[int]:
    """Processes started by ``pid`` through multiprocessing (uvicorn's workers)."""
    out = []
    for stat in Path("/proc").glob("[0-9]*/stat"):
        try:
            fields = stat.read_text().rsplit(")", 1)[1].split()
            cmd = (stat.parent / "cmdline").read_bytes()
        except OSError:
            continue
        if int(fields[1]) == pid and b"spawn_main" in cmd:
            out.append(int(stat.parent.name))
    return out


@pytest.mark.parametrize("kind", ["folder", "binary"])
def test_finding8_a_config_path_that_is_no_config_file_is_one_clear_error(
    env: dict[str, str], tmp_path: Path, kind: str
) -> None:
    target = tmp_path / "conf"
    if kind == "folder":
        target.mkdir()
    else:
        target.write_bytes(bytes(range(256)) * 4)
    res = run(["config", "show"], {**env, "DASHCAM_CONFIG": str(target)})
    assert res.returncode == 2, res.stderr
    assert res.stderr.startswith("dashcam: error:") and str(target) in res.stderr
    assert "Traceback" not in res.stderr


def test_finding8_ingest_refuses_files_that_are_not_videos(
    env: dict[str, str], tmp_path: Path
) -> None:
    folder = tmp_path / "in"
    good = _clip(folder, "good", 1)
    (folder / "empty.mp4").write_bytes(b"")
    (folder / "notes.mp4").write_text("meeting notes, not a video\n")
    res = run(["ingest", str(folder)], env)
    assert res.returncode == 2, res.stderr
    assert "empty.mp4" in res.stderr and "notes.mp4" in res.stderr
    assert "1 new video(s) queued" in res.stderr
    settings = load_settings(data_dir=Path(env["DASHCAM_DATA_DIR"]))
    tasks = TaskQueue(make_engine(settings.db_url)).list_tasks(
        task_type=TaskType.HEAVY_PROCESS_VIDEO
    )
    assert [t.payload["raw_video"] for t in tasks] == [str(good.resolve())]


def test_finding8_process_does_the_good_videos_and_names_the_broken_one(
    env: dict[str, str], tmp_path: Path
) -> None:
    folder = tmp_path / "drive"
    _clip(folder, "good", 2)
    (folder / "broken.mp4").write_bytes(b"\x00\x00\x00\x18ftypmp42" + os.urandom(2000))
    res = run(["process", str(folder), "--max-frames", "5"], env, timeout=300)
    assert res.returncode == 2, res.stderr
    assert "broken.mp4" in res.stderr.splitlines()[-1]
    assert "Traceback" not in res.stderr
    outputs = Path(env["DASHCAM_DATA_DIR"]) / "videos" / "heavy_output"
    done = [p.parent.name for p in outputs.glob("*/metadata.json")]
    assert len(done) == 1 and done[0].startswith("good-")
