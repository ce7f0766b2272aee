"""``dashcam models`` as a user runs it, against a publisher on loopback (tiny models)."""

from __future__ import annotations

import json
import os
import subprocess
import sys
from collections.abc import Iterator
from pathlib import Path

import pytest

from dashcam.backends.catalogue import CATALOGUE
from tiny_models import Publisher, build_fast_plate_ocr, build_oim_yolov9, serve

OIM = CATALOGUE["yolo-v9-t-384-license-plate-end2end"]
FPO = CATALOGUE["cct-xs-v2-global-model"]


@pytest.fixture
def publisher(tmp_path: Path) -> Iterator[Publisher]:
    pub = Publisher()
    pub.add(build_oim_yolov9(tmp_path / OIM.files[0].file_name))
    files = build_fast_plate_ocr(
        tmp_path / FPO.files[0].file_name, tmp_path / FPO.files[1].file_name
    )
    pub.add(files.model)
    pub.add(files.config)
    with serve(pub):
        yield pub


def _dashcam(env: dict[str, str], *args: str) -> subprocess.CompletedProcess[str]:
    return subprocess.run(
        [sys.executable, "-m", "dashcam", *args],
        capture_output=True,
        text=True,
        timeout=300,
        env={**os.environ, **env},
    )


def test_get_list_verify_remove(tmp_path: Path, publisher: Publisher) -> None:
    env = {"DASHCAM_MODELS_DIR": str(tmp_path / "models"), "DASHCAM_MODELS_MIRROR": publisher.url}
    got = _dashcam(env, "models", "get", OIM.name, FPO.name)
    assert got.returncode == 0, got.stderr
    assert f"installed {OIM.name} (plate_detector, MIT" in got.stdout
    assert f"installed {FPO.name} (plate_reader, MIT" in got.stdout

    listed = json.loads(_dashcam(env, "models", "list", "--json").stdout)
    assert listed["in_use"] == {
        "vehicle_detector": None,
        "plate_detector": OIM.name,
        "plate_reader": FPO.name,
    }
    rows = {row["name"]: row for row in listed["models"]}
    assert rows[OIM.name]["installed"] and rows[OIM.name]["in_use"]
    assert rows[OIM.name]["size_bytes"] == len(publisher.files[OIM.files[0].file_name])
    assert rows["yolox-s"]["installed"] is False and rows["yolox-s"]["licence"] == "Apache-2.0"
    assert rows["yolox-s"]["source_url"].startswith("https://github.com/Megvii-BaseDetection/")

    ok = _dashcam(env, "models", "verify")
    assert ok.returncode == 0 and ok.stdout.count(": ok (sha256") == 2, ok.stdout

    model = tmp_path / "models" / FPO.name / FPO.files[1].file_name
    model.write_text(model.read_text() + "# edited\n")
    bad = _dashcam(env, "models", "verify")
    assert bad.returncode == 1
    assert f"{FPO.name}: FAILED" in bad.stdout and f"{OIM.name}: ok" in bad.stdout

    # A model that fails its check is refused at load, with the way to repair it.
    read = _dashcam(env, "read", str(tmp_path / "none.jpg"))
    assert read.returncode == 3 and "fails its check" in read.stderr

    gone = _dashcam(env, "models", "remove", FPO.name)
    assert gone.returncode == 0 and f"removed {FPO.name}" in gone.stdout
    listed = json.loads(_dashcam(env, "models", "list", "--json").stdout)
    assert listed["in_use"]["plate_reader"] == "rapidocr"


def test_offline_get_fails_clearly(tmp_path: Path) -> None:
    env = {"DASHCAM_MODELS_DIR": str(tmp_path / "models"),
           "DASHCAM_MODELS_MIRROR": "http://127.0.0.1:9/models"}  # fmt: skip
    proc = _dashcam(env, "models", "get", "yolox-s", "--timeout", "5")
    assert proc.returncode == 4
    assert "cannot download http://127.0.0.1:9/models/yolox_s.onnx" in proc.stderr
    assert "No connection?" in proc.stderr


def test_unknown_model_names_the_known_ones(tmp_path: Path) -> None:
    proc = _dashcam({"DASHCAM_MODELS_DIR": str(tmp_path)}, "models", "get", "yolov99")
    assert proc.returncode == 2 and "unknown model yolov99; known: yolo-v9-t-640" in proc.stderr
