"""Ctrl+C on ``dashcam process --engine multiprocess``: drain, partial results, clean exit."""

from __future__ import annotations

import json
import os
import signal
import subprocess
import sys
import threading
import time
from pathlib import Path

from pipeline_helpers import Reference

from dashcam.pipeline.frame_store import leftover_segments


def _start(video: Path, data_dir: Path) -> tuple[subprocess.Popen[str], list[str]]:
    env = {**os.environ, "DASHCAM_DATA_DIR": str(data_dir), "NUM_CPU_WORKERS": "1"}
    proc = subprocess.Popen(
        [
            sys.executable,
            "-m",
            "dashcam",
            "process",
            "--engine",
            "multiprocess",
            "--sample-rate",
            "2",
            "--gpu-workers",
            "1",
            str(video),
        ],
        env=env,
        stdout=subprocess.PIPE,
        stderr=subprocess.PIPE,
        text=True,
    )
    lines: list[str] = []

    def pump() -> None:
        assert proc.stderr is not None
        for line in proc.stderr:
            lines.append(line)

    threading.Thread(target=pump, daemon=True).start()
    return proc, lines


def _wait_for_tracked_frames(lines: list[str], n: int, timeout_s: float = 60) -> None:
    deadline = time.monotonic() + timeout_s
    while time.monotonic() < deadline:
        for line in list(lines):
            parts = line.split()
            if line.startswith("progress ") and "tracked" in parts:
                done = int(parts[parts.index("tracked") + 1].split("/")[0])
                if done >= n:
                    return
        time.sleep(0.05)
    raise AssertionError("no progress seen:\n" + "".join(lines))


def test_first_ctrl_c_drains_and_writes_partial_results(
    reference: Reference, tmp_path: Path
) -> None:
    proc, lines = _start(reference.clips[0].video_path, tmp_path / "data")
    _wait_for_tracked_frames(lines, 4)
    assert leftover_segments(proc.pid), "the engine keeps its frames in /dev/shm"
    proc.send_signal(signal.SIGINT)
    proc.wait(timeout=60)

    assert proc.returncode == 1, "".join(lines)  # incomplete run
    (meta_path,) = (tmp_path / "data").rglob("metadata.json")
    meta = json.loads(meta_path.read_text())
    assert meta["stats"]["complete"] is False
    assert 4 <= meta["stats"]["frames_processed"] < 120
    assert leftover_segments(proc.pid) == []


def test_second_ctrl_c_terminates_without_leftovers(reference: Reference, tmp_path: Path) -> None:
    proc, lines = _start(reference.clips[0].video_path, tmp_path / "data")
    _wait_for_tracked_frames(lines, 2)
    proc.send_signal(signal.SIGINT)
    time.sleep(0.2)
    proc.send_signal(signal.SIGINT)
    proc.wait(timeout=60)

    assert proc.returncode not in (0, None)
    assert list((tmp_path / "data").rglob("metadata.json")) == []
    assert leftover_segments(proc.pid) == []
