"""``dashcam process --engine multiprocess`` with stderr piped to a file, as a log reader
sees it: progress lines up to the end of the run, then one ``finished`` line that says
which workers never had a task."""

from __future__ import annotations

import os
import re
import subprocess
import sys
from pathlib import Path

from pipeline_helpers import Reference


def test_a_piped_run_ends_with_its_last_progress_and_a_summary(
    reference: Reference, tmp_path: Path
) -> None:
    log = tmp_path / "run.log"
    env = {**os.environ, "DASHCAM_DATA_DIR": str(tmp_path / "data")}
    cmd = [sys.executable, "-m", "dashcam", "process", "--engine", "multiprocess"]
    cmd += ["--gpu-workers", "1", "--cpu-workers", "4", str(reference.clips[0].video_path)]
    with log.open("w") as err:
        res = subprocess.run(cmd, env=env, stdout=subprocess.PIPE, stderr=err, timeout=300)
    lines = log.read_text().splitlines()
    assert res.returncode == 0, "\n".join(lines)
    name = reference.clips[0].video_path.name
    progress = [ln for ln in lines if ln.startswith(f"progress {name} ")]
    assert progress, lines
    last = re.search(r"progress \S+ done tracked (\d+)/(\d+) ", progress[-1] + " ")
    assert last is not None and last.group(1) == last.group(2), progress[-1]
    (finished,) = [ln for ln in lines if ln.startswith("finished: ")]
    assert finished.startswith("finished: 1 of 1 video(s) done, 0 failed; ")
    assert f" {last.group(1)} frames tracked in " in finished
    used = re.search(r"cpu \d+ busy, (\d)/4 had work", finished)
    assert used is not None, finished
    if int(used.group(1)) < 4:  # said, not hidden
        assert f"{4 - int(used.group(1))} cpu worker(s) never had a task" in finished
    assert lines.index(finished) > lines.index(progress[-1])
    assert any(ln.startswith("workers: detector ") for ln in lines)
