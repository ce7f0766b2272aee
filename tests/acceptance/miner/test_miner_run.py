"""``data-miner run --until-done``: a laptop's whole pipeline in one process."""

from __future__ import annotations

import json
import os
import subprocess
import sys
from pathlib import Path

import pytest
import yaml

from dashcam.media.synthetic import make_clip

pytestmark = pytest.mark.slow

CLI = [sys.executable, "-m", "dashcam", "miner"]


def _project(tmp_path: Path, detect: dict[str, object]) -> dict[str, str]:
    clip = make_clip(tmp_path / "clips", name="a", seed=4, duration_s=3, resolution_wh=(640, 360))
    cfg = {
        "name": "cars",
        "sources": [str(clip.video_path)],
        "extract": {"mode": "time", "every_s": 0.5},
        "filter": {"quality": {"min_sharpness": 1.0}},
        "detect": detect,
    }
    (tmp_path / "config.yaml").write_text(yaml.safe_dump(cfg))
    env = {**os.environ, "DASHCAM_DATA_DIR": str(tmp_path / "data")}
    subprocess.run(
        [*CLI, "project", "create", "--config", str(tmp_path / "config.yaml")],
        env=env,
        check=True,
        capture_output=True,
        timeout=120,
    )
    return env


def _run(env: dict[str, str]) -> subprocess.CompletedProcess[str]:
    return subprocess.run(
        [*CLI, "run", "--until-done"], env=env, capture_output=True, text=True, timeout=120
    )


def test_run_until_done_completes_and_notes_a_skipped_optional_detector(tmp_path: Path) -> None:
    env = _project(tmp_path, {"optional": True})
    res = _run(env)
    assert res.returncode == 0, res.stderr
    assert "project cars: COMPLETE" in res.stdout
    status = subprocess.run(
        [*CLI, "status", "--json"], env=env, capture_output=True, text=True, check=True
    )
    doc = json.loads(status.stdout)
    assert doc["state"] == "COMPLETE" and doc["frames"]["kept"] > 0
    assert doc["detect_note"].endswith("finished without labels (detect.optional)")


def test_run_until_done_stops_with_the_dead_task_when_a_stage_gives_up(tmp_path: Path) -> None:
    # No detector weights and detect not optional: the detect task dies. The run must say
    # so and exit non-zero, not wait forever for a task that will never come.
    env = _project(tmp_path, {"optional": False})
    res = _run(env)
    assert res.returncode == 1, (res.stdout, res.stderr)
    last = res.stderr.strip().splitlines()[-1]
    assert "stuck in DETECT_READY" in last
    assert "MINER_DETECT task" in last and "no detector weights" in last
    assert "dashcam tasks requeue" in last
