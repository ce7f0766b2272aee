"""The optional ultralytics (.pt) backend: a clear error where it cannot run, real use where it can.

ultralytics is not installed in the project's dev environment (it pulls the non-headless
opencv-python, and needs a torchvision matching torch); the tests that need it skip with
that reason, and the error path is tested instead.
"""

from __future__ import annotations

from pathlib import Path

import numpy as np
import pytest

from dashcam.backends.protocols import VehicleDetector
from dashcam.backends.yolo_output import VEHICLE_CLASSES
from dashcam.backends.yolo_ultralytics import YoloUltralyticsDetector, import_ultralytics
from dashcam.errors import BackendUnavailable


def _ultralytics_error() -> str | None:
    try:
        import_ultralytics()
    except BackendUnavailable as exc:
        return str(exc)
    return None


ULTRALYTICS_ERROR = _ultralytics_error()
needs_ultralytics = pytest.mark.skipif(
    ULTRALYTICS_ERROR is not None, reason=f"ultralytics does not import here: {ULTRALYTICS_ERROR}"
)


def test_missing_weights_file_is_named(tmp_path: Path) -> None:
    with pytest.raises(BackendUnavailable, match=r"weights file not found: .*yolov8n\.pt"):
        YoloUltralyticsDetector(tmp_path / "yolov8n.pt")


@pytest.mark.skipif(ULTRALYTICS_ERROR is None, reason="ultralytics imports here")
def test_without_ultralytics_the_error_gives_the_install_hint(tmp_path: Path) -> None:
    weights = tmp_path / "yolov8n.pt"
    weights.write_bytes(b"not read: the import fails first")
    with pytest.raises(BackendUnavailable, match=r"pip install 'dashcam\[yolo\]'"):
        YoloUltralyticsDetector(weights)


@pytest.fixture
def untrained_pt(tmp_path: Path) -> Path:
    """An untrained YOLOv8n checkpoint built from the architecture yaml (no download)."""
    import torch
    from ultralytics import YOLO

    model = YOLO("yolov8n.yaml")
    path = tmp_path / "yolov8n-untrained.pt"
    torch.save({"model": model.model, "train_args": {}}, path)
    return path


@needs_ultralytics
def test_untrained_model_runs_and_filters_to_vehicles(untrained_pt: Path) -> None:
    det = YoloUltralyticsDetector.for_vehicles(untrained_pt, conf_threshold=0.0, imgsz=320)
    assert isinstance(det, VehicleDetector)
    image = np.random.default_rng(0).integers(0, 255, (240, 320, 3), dtype=np.uint8)
    found = det.detect(image)
    allowed = {det.class_names.index(name) for name in VEHICLE_CLASSES}
    assert set(found.class_id.tolist()) <= allowed
    assert (found.xyxy[:, [0, 2]] <= 320).all() and (found.xyxy[:, [1, 3]] <= 240).all()
