"""``data-miner`` project life as a user meets it: creation is all or nothing, status is
per project, the documented recovery path after a stage gives up, and a deterministic
train/val split in the YOLO and COCO exports."""

from __future__ import annotations

import json
import os
import re
import subprocess
import sys
from pathlib import Path
from typing import Any

import pytest
import yaml

from dashcam.media.synthetic import SyntheticClip, make_clip

pytestmark = pytest.mark.slow

MINER = [sys.executable, "-m", "dashcam", "miner"]
DASHCAM = [sys.executable, "-m", "dashcam"]


def run(cmd: list[str], *args: str | Path, env: dict[str, str]) -> subprocess.CompletedProcess[str]:
    return subprocess.run(
        [*cmd, *map(str, args)], env=env, capture_output=True, text=True, timeout=180
    )


def write_config(path: Path, **cfg: Any) -> Path:
    base: dict[str, Any] = {
        "extract": {"mode": "time", "every_s": 0.25},
        "filter": {"quality": {"min_sharpness": 1.0}},
        "detect": {"optional": True},
    }
    base.update(cfg)
    path.write_text(yaml.safe_dump(base))
    return path


@pytest.fixture(scope="module")
def clip(tmp_path_factory: pytest.TempPathFactory) -> SyntheticClip:
    return make_clip(
        tmp_path_factory.mktemp("clips"), name="a", seed=4, duration_s=3, resolution_wh=(640, 360)
    )


@pytest.fixture
def env(tmp_path: Path) -> dict[str, str]:
    e = {k: v for k, v in os.environ.items() if not k.startswith("DASHCAM_")}
    e["DASHCAM_DATA_DIR"] = str(tmp_path / "data")
    return e


def status(env: dict[str, str], project: str | None = None) -> dict[str, Any]:
    args = ["status", "--json", *(["-p", project] if project else [])]
    res = run(MINER, *args, env=env)
    assert res.returncode == 0, res.stderr
    doc: dict[str, Any] = json.loads(res.stdout)
    return doc


def test_create_with_a_missing_source_registers_nothing(
    clip: SyntheticClip, env: dict[str, str], tmp_path: Path
) -> None:
    missing = tmp_path / "nowhere.mp4"
    cfg = write_config(
        tmp_path / "config.yaml", name="cars", sources=[str(clip.video_path), str(missing)]
    )
    res = run(MINER, "project", "create", "--config", cfg, env=env)
    assert res.returncode == 2, res.stderr
    assert str(missing) in res.stderr and "not registered" in res.stderr
    # Nothing was left behind: no project, no folder, no task; `run` says so plainly.
    gone = run(MINER, "status", env=env)
    assert gone.returncode == 2 and "no miner project yet" in gone.stderr
    assert not (tmp_path / "data" / "miner" / "cars").exists()
    assert "no tasks" in run(DASHCAM, "tasks", "list", env=env).stderr
    stuck = run(MINER, "run", env=env)
    assert stuck.returncode == 2 and "POPULATING" not in stuck.stderr

    # Fixed, the same create works (no --replace needed).
    write_config(cfg, name="cars", sources=[str(clip.video_path)])
    res = run(MINER, "project", "create", "--config", cfg, env=env)
    assert res.returncode == 0 and "1 sources added" in res.stdout, res.stderr
    # A --replace with a missing source changes nothing either.
    write_config(cfg, name="cars", sources=[str(missing)], extract={"mode": "keyframes"})
    res = run(MINER, "project", "create", "--config", cfg, "--replace", env=env)
    assert res.returncode == 2 and "not registered" in res.stderr
    doc = status(env)
    assert doc["videos"] == {"pending": 1} and doc["stages"]["download"] == {"queued": 1}


def test_status_counts_only_the_named_projects_tasks(
    clip: SyntheticClip, env: dict[str, str], tmp_path: Path
) -> None:
    other = make_clip(tmp_path / "b", name="b", seed=5, duration_s=1, resolution_wh=(320, 240))
    cars = write_config(tmp_path / "cars.yaml", name="cars", sources=[str(clip.video_path)])
    bikes = write_config(
        tmp_path / "bikes.yaml", name="bikes", sources=[str(clip.video_path), str(other.video_path)]
    )
    for cfg in (cars, bikes):
        assert run(MINER, "project", "create", "--config", cfg, env=env).returncode == 0
    assert status(env, "cars")["stages"]["download"] == {"queued": 1}
    assert status(env, "bikes")["stages"]["download"] == {"queued": 2}
    text = run(MINER, "status", "-p", "cars", env=env).stdout
    assert re.search(r"download\s+0/1 done", text), text


def test_recovery_after_a_stage_gives_up_is_replace_then_requeue(
    clip: SyntheticClip, env: dict[str, str], tmp_path: Path
) -> None:
    # The path docs/miner.md gives: detect dies (no weights, not optional); fix the config
    # with `project create --replace`, requeue the dead task, run again.
    cfg = write_config(
        tmp_path / "config.yaml",
        name="cars",
        sources=[str(clip.video_path)],
        detect={"optional": False},
    )
    assert run(MINER, "project", "create", "--config", cfg, env=env).returncode == 0
    res = run(MINER, "run", env=env)
    assert res.returncode == 1 and "stuck in DETECT_READY" in res.stderr
    task_id = re.search(r"MINER_DETECT task (\d+) is dead", res.stderr)
    assert task_id is not None, res.stderr
    write_config(cfg, name="cars", sources=[str(clip.video_path)], detect={"optional": True})
    res = run(MINER, "project", "create", "--config", cfg, "--replace", env=env)
    assert res.returncode == 0 and "0 sources added" in res.stdout, res.stderr
    res = run(DASHCAM, "tasks", "requeue", task_id.group(1), env=env)
    assert res.returncode == 0, res.stderr
    res = run(MINER, "run", env=env)
    assert res.returncode == 0 and "project cars: COMPLETE" in res.stdout, res.stderr
    assert status(env)["detect_note"].endswith("finished without labels (detect.optional)")


def test_exports_split_train_and_val_the_same_way_every_time(
    clip: SyntheticClip, env: dict[str, str], tmp_path: Path
) -> None:
    cfg = write_config(tmp_path / "config.yaml", name="cars", sources=[str(clip.video_path)])
    assert run(MINER, "project", "create", "--config", cfg, env=env).returncode == 0
    assert run(MINER, "run", env=env).returncode == 0
    kept = status(env)["frames"]["kept"]
    assert kept >= 4
    out = tmp_path / "exp"

    def export(fmt: str, fraction: str) -> dict[str, set[str]]:
        res = run(MINER, "export", "-f", fmt, "-o", out / fmt, "--val-fraction", fraction, env=env)
        assert res.returncode == 0, res.stderr
        parts = {
            p: {f.name for f in (out / fmt / "images" / p).iterdir()} for p in ("train", "val")
        }
        assert f"({len(parts['train'])} train, {len(parts['val'])} val)" in res.stdout
        return parts

    yolo = export("yolo", "0.25")
    assert not yolo["train"] & yolo["val"] and len(yolo["train"] | yolo["val"]) == kept
    assert len(yolo["val"]) == round(kept * 0.25)
    assert export("yolo", "0.25") == yolo  # deterministic
    coco = export("coco", "0.25")
    assert coco == yolo  # the same frames in the same part, whatever the format
    data = yaml.safe_load((out / "yolo" / "data.yaml").read_text())
    assert (data["train"], data["val"]) == ("images/train", "images/val")
    for part in ("train", "val"):
        labels = {p.stem for p in (out / "yolo" / "labels" / part).glob("*.txt")}
        assert labels == {Path(n).stem for n in yolo[part]}
        doc = json.loads((out / "coco" / "annotations" / f"instances_{part}.json").read_text())
        assert {im["file_name"] for im in doc["images"]} == coco[part]
    # A new fraction moves files between the parts and leaves none behind twice.
    wider = export("yolo", "0.5")
    assert len(wider["train"] | wider["val"]) == kept and not wider["train"] & wider["val"]
    bad = run(MINER, "export", "-f", "yolo", "--val-fraction", "1", env=env)
    assert bad.returncode == 2 and "--val-fraction" in bad.stderr
