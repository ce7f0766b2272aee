"""``dashcam relay`` and ``dashcam cv-worker`` as subprocesses, talking over 127.0.0.1."""

from __future__ import annotations

import os
import socket
import subprocess
import sys
import time
from pathlib import Path

import httpx
import pytest

from dashcam.media.synthetic import make_clip


def _free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return int(s.getsockname()[1])


def _wait_http(url: str, timeout_s: float = 20.0) -> None:
    deadline = time.monotonic() + timeout_s
    while time.monotonic() < deadline:
        try:
            if httpx.get(url, timeout=1).status_code == 200:
                return
        except httpx.HTTPError:
            time.sleep(0.1)
    raise AssertionError(f"{url} not up after {timeout_s} s")


@pytest.mark.slow
def test_relay_with_a_file_camera_and_a_logging_cv_worker(tmp_path: Path) -> None:
    clip = make_clip(tmp_path, duration_s=1.0, resolution_wh=(320, 240), fps=10, n_vehicles=1)
    port = _free_port()
    env = {k: v for k, v in os.environ.items() if not k.startswith("DASHCAM_")}
    env["AUTO_REQUEST_REALTIME_STREAM"] = "true"
    env["DASHCAM_DATA_DIR"] = str(tmp_path / "data")
    dashcam = [sys.executable, "-m", "dashcam"]
    relay = subprocess.Popen(
        [*dashcam, "relay", "--port", str(port), "--fps", "5", "--camera", f"t={clip.video_path}"],
        env=env,
        stdout=subprocess.PIPE,
        stderr=subprocess.STDOUT,
        text=True,
    )
    worker = None
    try:
        _wait_http(f"http://127.0.0.1:{port}/health")
        worker = subprocess.Popen(
            [
                *dashcam,
                "cv-worker",
                "--relay",
                f"ws://127.0.0.1:{port}/connect",
                "--worker-id",
                "cli-w",
            ],
            env=env,
            stdout=subprocess.PIPE,
            stderr=subprocess.STDOUT,
            text=True,
        )
        assert worker.stdout is not None
        lines: list[str] = []
        deadline = time.monotonic() + 20
        while time.monotonic() < deadline and not any(" job " in f" {li}" for li in lines):
            line = worker.stdout.readline()
            if not line:
                break
            lines.append(line.strip())
        services = httpx.get(f"http://127.0.0.1:{port}/services").json()
    finally:
        if worker is not None:
            worker.terminate()
            worker.wait(10)
        relay.terminate()
        relay.wait(10)
    assert relay.stdout is not None
    relay_out = relay.stdout.read()
    assert f"sightings -> {tmp_path / 'data' / 'dashcam.db'}" in relay_out
    assert "GET /health" not in relay_out  # no per-request access log unless --access-log
    text = "\n".join(lines)
    assert "dashcam cv-worker cli-w (log-only)" in text
    assert "registered as cli-w" in text
    job_line = next(li for li in lines if " job " in f" {li}")
    assert "type=frame_analysis service=t" in job_line and '"resolution":"320x240"' in job_line
    assert services[0]["name"] == "t" and services[0]["state"] == "streaming"
    assert worker.returncode == 0  # SIGTERM is a clean stop
