"""``dashcam demo``: the quick start's main job, as a user runs it."""

from __future__ import annotations

import os
import subprocess
import sys
import time
from pathlib import Path

import pytest

pytestmark = pytest.mark.slow


def test_demo_finds_the_plates_it_rendered(tmp_path: Path) -> None:
    env = {k: v for k, v in os.environ.items() if not k.startswith("DASHCAM_")}
    t0 = time.perf_counter()
    res = subprocess.run(
        [sys.executable, "-m", "dashcam", "demo"],
        cwd=tmp_path,
        env=env,
        capture_output=True,
        text=True,
        timeout=240,
    )
    elapsed = time.perf_counter() - t0
    assert res.returncode == 0, res.stderr
    rendered_line = next(ln for ln in res.stderr.splitlines() if ln.startswith("rendered plates:"))
    rendered = rendered_line.split(":", 1)[1].replace(",", " ").split()
    assert len(rendered) >= 3
    for plate in rendered:
        assert plate in res.stdout  # printed in the sightings table
    assert "rendered plates found, nothing else" in res.stderr
    reports = list((tmp_path / "dashcam-demo" / "output").glob("*/report.html"))
    assert len(reports) == 1
    html = reports[0].read_text()
    assert all(p in html for p in rendered)
    assert html.count("data:image/jpeg;base64,") == len(rendered)
    assert (tmp_path / "dashcam-data" / "dashcam.db").exists()
    print(f"dashcam demo took {elapsed:.1f} s")  # speed is measured by benchmarks/process.py
