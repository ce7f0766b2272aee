"""find_weights: which user-supplied file is the vehicle model and which the plate model."""

from __future__ import annotations

from pathlib import Path

import pytest

from dashcam.backends.weights import find_weights, list_weights


def _touch(folder: Path, *names: str) -> Path:
    folder.mkdir(parents=True, exist_ok=True)
    for name in names:
        (folder / name).write_bytes(b"x")
    return folder


@pytest.mark.parametrize(
    ("files", "vehicle", "plate"),
    [
        ([], None, None),
        (["yolov8n.pt"], "yolov8n.pt", None),
        (["yolov8n.pt", "yolov8n.onnx"], "yolov8n.onnx", None),  # onnx preferred
        (["yolo11s.onnx", "yolov8n.onnx"], "yolo11s.onnx", None),  # sorted by name
        (["License_Plate.pt", "yolov8n.onnx"], "yolov8n.onnx", "License_Plate.pt"),
        (["plate-det.onnx", "plate-det.pt"], None, "plate-det.onnx"),
        (["notes.txt", "yolov8n.engine", "readme.md"], None, None),  # not weights
    ],
)
def test_find_weights_conventions(
    tmp_path: Path, files: list[str], vehicle: str | None, plate: str | None
) -> None:
    models = _touch(tmp_path / "models", *files)
    found_vehicle = find_weights(models, "vehicle")
    found_plate = find_weights(models, "plate")
    assert (found_vehicle.name if found_vehicle else None) == vehicle
    assert (found_plate.name if found_plate else None) == plate


def test_missing_folder_means_no_weights(tmp_path: Path) -> None:
    assert find_weights(tmp_path / "nope", "vehicle") is None


def test_subfolders_are_not_searched(tmp_path: Path) -> None:
    models = _touch(tmp_path / "models")
    _touch(models / "old", "yolov8n.onnx")
    (models / "dir.onnx").mkdir()
    assert list_weights(models, "vehicle") == []
