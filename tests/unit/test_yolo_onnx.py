"""YoloOnnxDetector on a tiny hand-built ONNX model: real preprocessing, decoding and NMS.

The model is a "colour-blob detector" with the YOLOv8 output layout (1, 4 + nc, N):
the input (1, 3, 64, 64) RGB is average-pooled into a 4x4 grid of 16 px cells; the score
of class c in a cell is ``relu(2 * mean(channel c) - 1)`` (1.0 for a cell filled with
pure colour, 0 for grey padding). Each cell has two anchors with the same centre: head A
(box 24 px, score s) and head B (box 28 px, score 0.9 s) — a built-in duplicate that
only NMS removes. Class names: 0 person (red), 1 car (green), 2 truck (blue).
"""

from __future__ import annotations

from pathlib import Path

import numpy as np
import onnx
import pytest
from onnx import TensorProto, helper, numpy_helper

from dashcam.backends.protocols import PlateDetector, VehicleDetector
from dashcam.backends.registry import make_plate_detector, make_vehicle_detector
from dashcam.backends.yolo_onnx import YoloOnnxDetector
from dashcam.backends.yolo_output import (
    COCO_NAMES,
    decode,
    guess_layout,
    letterbox,
    nms,
    parse_names,
)
from dashcam.config import load_settings
from dashcam.domain.detections import Detections
from dashcam.errors import BackendUnavailable, InputError

SIZE, STRIDE = 64, 16
GRID = SIZE // STRIDE
NAMES = "{0: 'person', 1: 'car', 2: 'truck'}"


def build_blob_yolo(
    path: Path, *, num_classes: int = 3, names: str | None = NAMES, layout: str = "v8"
) -> Path:
    cells = np.arange(GRID * GRID)
    cx = ((cells % GRID) + 0.5) * STRIDE
    cy = ((cells // GRID) + 0.5) * STRIDE

    def boxes(size: float) -> np.ndarray:
        return np.stack([cx, cy, np.full_like(cx, size), np.full_like(cx, size)])[None]

    inits = [
        numpy_helper.from_array(boxes(24).astype(np.float32), "boxes_a"),
        numpy_helper.from_array(boxes(28).astype(np.float32), "boxes_b"),
        numpy_helper.from_array(np.array([1, 3, GRID * GRID], np.int64), "flat"),
        numpy_helper.from_array(np.array(2.0, np.float32), "two"),
        numpy_helper.from_array(np.array(1.0, np.float32), "one"),
        numpy_helper.from_array(np.array(0.9, np.float32), "ninety"),
        numpy_helper.from_array(
            np.zeros((1, num_classes - 3, GRID * GRID), np.float32), "extra_classes"
        ),
    ]
    nodes = [
        helper.make_node(
            "AveragePool", ["images"], ["pooled"], kernel_shape=[STRIDE, STRIDE],
            strides=[STRIDE, STRIDE],
        ),
        helper.make_node("Reshape", ["pooled", "flat"], ["means"]),
        helper.make_node("Mul", ["means", "two"], ["m2"]),
        helper.make_node("Sub", ["m2", "one"], ["m2s"]),
        helper.make_node("Relu", ["m2s"], ["rgb_scores"]),
        helper.make_node("Concat", ["rgb_scores", "extra_classes"], ["scores_a"], axis=1),
        helper.make_node("Mul", ["scores_a", "ninety"], ["scores_b"]),
        helper.make_node("Concat", ["boxes_a", "scores_a"], ["head_a"], axis=1),
        helper.make_node("Concat", ["boxes_b", "scores_b"], ["head_b"], axis=1),
    ]  # fmt: skip
    n = 2 * GRID * GRID
    if layout == "v8":
        nodes.append(helper.make_node("Concat", ["head_a", "head_b"], ["output0"], axis=2))
        out_shape = [1, 4 + num_classes, n]
    else:  # v5: (1, N, 5 + nc) with objectness 1
        inits.append(numpy_helper.from_array(np.ones((1, 1, n), np.float32), "obj"))
        nodes += [
            helper.make_node("Concat", ["head_a", "head_b"], ["v8"], axis=2),
            helper.make_node("Slice", ["v8", "s0", "s4", "ax1"], ["xywh"]),
            helper.make_node("Slice", ["v8", "s4", "send", "ax1"], ["cls"]),
            helper.make_node("Concat", ["xywh", "obj", "cls"], ["v5"], axis=1),
            helper.make_node("Transpose", ["v5"], ["output0"], perm=[0, 2, 1]),
        ]
        for name, value in (("s0", 0), ("s4", 4), ("send", 4 + num_classes), ("ax1", 1)):
            inits.append(numpy_helper.from_array(np.array([value], np.int64), name))
        out_shape = [1, n, 5 + num_classes]
    graph = helper.make_graph(
        nodes,
        "blob_yolo",
        [helper.make_tensor_value_info("images", TensorProto.FLOAT, [1, 3, SIZE, SIZE])],
        [helper.make_tensor_value_info("output0", TensorProto.FLOAT, out_shape)],
        inits,
    )
    model = helper.make_model(graph, opset_imports=[helper.make_opsetid("", 13)])
    model.ir_version = 8
    if names is not None:
        onnx.helper.set_model_props(model, {"names": names, "imgsz": f"[{SIZE}, {SIZE}]"})
    onnx.checker.check_model(model)
    onnx.save(model, str(path))
    return path


@pytest.fixture
def blob_model(tmp_path: Path) -> Path:
    return build_blob_yolo(tmp_path / "blob.onnx")


def frame_128x96(*blobs: tuple[tuple[int, int, int, int], tuple[int, int, int]]) -> np.ndarray:
    """A black 128x96 BGR frame with filled rectangles ``((x1, y1, x2, y2), bgr)``.

    Letterboxed into 64x64 it is scaled by 0.5 and padded 8 px top and bottom, so the
    original rectangle (64, 16)-(96, 48) fills exactly the model cell of row 1, col 2.
    """
    img = np.zeros((96, 128, 3), np.uint8)
    for (x1, y1, x2, y2), bgr in blobs:
        img[y1:y2, x1:x2] = bgr
    return img


BLUE, GREEN, RED = (255, 0, 0), (0, 255, 0), (0, 0, 255)


def test_box_comes_back_in_original_pixels_after_letterbox(blob_model: Path) -> None:
    det = YoloOnnxDetector(blob_model)
    found = det.detect(frame_128x96(((64, 16, 96, 48), BLUE)))
    # Cell centre (40, 24), head-A box 24 px in model pixels -> (28, 12, 52, 36);
    # undo the 8 px top padding and the 0.5 scale.
    assert found.xyxy.tolist() == [[56.0, 8.0, 104.0, 56.0]]
    assert found.confidence.tolist() == pytest.approx([1.0])
    assert [det.class_names[i] for i in found.class_id] == ["truck"]  # BGR blue is RGB ch. 2


def test_nms_removes_the_duplicate_anchor(blob_model: Path) -> None:
    loose = YoloOnnxDetector(blob_model, iou_threshold=0.99)
    strict = YoloOnnxDetector(blob_model, iou_threshold=0.45)
    frame = frame_128x96(((64, 16, 96, 48), GREEN))
    assert len(loose.detect(frame)) == 2  # both heads fire on the one blob
    kept = strict.detect(frame)
    assert len(kept) == 1
    assert kept.confidence.tolist() == pytest.approx([1.0])  # the better head wins


def test_separate_objects_are_all_kept(blob_model: Path) -> None:
    det = YoloOnnxDetector(blob_model)
    # cell (row 1, col 0) and cell (row 2, col 3) -> originals (0,16,32,48), (96,48,128,80)
    found = det.detect(frame_128x96(((0, 16, 32, 48), GREEN), ((96, 48, 128, 80), RED)))
    assert sorted(det.class_names[i] for i in found.class_id) == ["car", "person"]
    assert len(found) == 2


def test_vehicle_class_filter_drops_people(blob_model: Path) -> None:
    det = YoloOnnxDetector.for_vehicles(blob_model)
    frame = frame_128x96(((0, 16, 32, 48), GREEN), ((96, 48, 128, 80), RED))
    found = det.detect(frame)
    assert [det.class_names[i] for i in found.class_id] == ["car"]
    assert isinstance(det, VehicleDetector)


def test_unknown_class_name_is_refused(blob_model: Path) -> None:
    with pytest.raises(InputError, match="no class bus"):
        YoloOnnxDetector(blob_model, classes=["car", "bus"])


def test_confidence_threshold(blob_model: Path) -> None:
    # A half-filled cell scores relu(2 * 0.5 - 1) = 0; a 3/4 filled one 0.5.
    frame = frame_128x96(((64, 16, 88, 48), GREEN))
    assert len(YoloOnnxDetector(blob_model, conf_threshold=0.4).detect(frame)) == 1
    assert len(YoloOnnxDetector(blob_model, conf_threshold=0.6).detect(frame)) == 0


def test_as_plate_detector_searches_only_given_regions(blob_model: Path) -> None:
    det = YoloOnnxDetector(blob_model, region_margin=0.0)
    assert isinstance(det, PlateDetector)
    img = np.zeros((400, 600, 3), np.uint8)
    img[200:232, 300:332] = BLUE  # a 32 px "plate" inside a vehicle box
    # The 128 px crop is scaled by 0.5: the plate fills model cell (1, 1), centre (24, 24).
    vehicle = Detections.from_boxes([[268, 168, 396, 296]], [0.9], [1])
    elsewhere = Detections.from_boxes([[0, 0, 96, 96]], [0.9], [1])
    found = det.detect(img, regions=vehicle)
    assert found.xyxy.tolist() == [[292.0, 192.0, 340.0, 240.0]]  # full-frame pixels
    assert len(det.detect(img, regions=elsewhere)) == 0
    assert len(det.detect(img, regions=Detections.empty())) == 0


def test_yolov5_layout(tmp_path: Path) -> None:
    det = YoloOnnxDetector(build_blob_yolo(tmp_path / "v5.onnx", layout="v5"))
    assert det.layout == "v5"
    found = det.detect(frame_128x96(((64, 16, 96, 48), BLUE)))
    assert found.xyxy.tolist() == [[56.0, 8.0, 104.0, 56.0]]


def test_coco_names_when_model_has_no_metadata(tmp_path: Path) -> None:
    det = YoloOnnxDetector(build_blob_yolo(tmp_path / "coco.onnx", num_classes=80, names=None))
    assert det.class_names == list(COCO_NAMES)
    found = det.detect(frame_128x96(((64, 16, 96, 48), BLUE)))
    assert [det.class_names[i] for i in found.class_id] == ["car"]  # COCO id 2


def test_input_size_read_from_model(blob_model: Path) -> None:
    assert YoloOnnxDetector(blob_model, imgsz=640).input_hw == (64, 64)


@pytest.mark.parametrize(
    ("make", "error", "match"),
    [
        (lambda p: p / "missing.onnx", BackendUnavailable, "not found: .*missing.onnx"),
        (lambda p: _write(p / "junk.onnx", b"not a model"), BackendUnavailable, "cannot load"),
    ],
)
def test_unusable_weights_are_named(tmp_path: Path, make, error, match) -> None:  # type: ignore[no-untyped-def]
    with pytest.raises(error, match=match):
        YoloOnnxDetector(make(tmp_path))


def _has_cuda() -> bool:
    import onnxruntime as ort

    return "CUDAExecutionProvider" in ort.get_available_providers()


def _ultralytics_imports() -> bool:
    try:
        import ultralytics  # noqa: F401
    except Exception:
        return False
    return True


@pytest.mark.skipif(_has_cuda(), reason="this machine has CUDA: the error path cannot be reached")
def test_cuda_demand_without_cuda_is_clear(blob_model: Path) -> None:
    with pytest.raises(BackendUnavailable, match="CUDAExecutionProvider"):
        YoloOnnxDetector(blob_model, device="cuda")


def _write(path: Path, data: bytes) -> Path:
    path.write_bytes(data)
    return path


def test_letterbox_pads_with_grey_and_keeps_aspect() -> None:
    img = np.full((96, 128, 3), 255, np.uint8)
    tensor, lb = letterbox(img, (64, 64))
    assert (lb.scale, lb.pad_x, lb.pad_y) == (0.5, 0.0, 8.0)
    assert tensor[0, :, :8].max() == pytest.approx(114 / 255)
    assert tensor[0, :, 8:56].min() == 1.0


def test_nms_is_class_wise() -> None:
    boxes = np.array([[0, 0, 10, 10], [0, 0, 10, 10], [0, 0, 10, 10]], np.float32)
    conf = np.array([0.5, 0.9, 0.7], np.float32)
    assert nms(boxes, conf, np.array([0, 0, 1]), 0.5).tolist() == [1, 2]


@pytest.mark.parametrize(
    ("raw", "expected"),
    [
        ("{0: 'car', 1: 'plate'}", ["car", "plate"]),
        ('{"0": "car", "1": "plate"}', ["car", "plate"]),
        ("['a', 'b']", ["a", "b"]),
        ("not names", None),
        (None, None),
    ],
)
def test_parse_names(raw: str | None, expected: list[str] | None) -> None:
    assert parse_names(raw) == expected


# --- through the registry, as the pipeline builds them ----------------------------------


def test_auto_vehicle_detector_uses_onnx_weights_in_models_dir(tmp_path: Path) -> None:
    models = tmp_path / "models"
    models.mkdir()
    build_blob_yolo(models / "blobs.onnx")
    det = make_vehicle_detector(load_settings(models_dir=models))
    assert isinstance(det, YoloOnnxDetector) and det.path.name == "blobs.onnx"
    found = det.detect(frame_128x96(((0, 16, 32, 48), GREEN), ((96, 48, 128, 80), RED)))
    assert [det.class_names[i] for i in found.class_id] == ["car"]


def test_auto_without_weights_is_plate_only(tmp_path: Path) -> None:
    settings = load_settings(models_dir=tmp_path / "empty")
    assert make_vehicle_detector(settings) is None
    assert not isinstance(make_plate_detector(settings), YoloOnnxDetector)


def test_auto_plate_detector_uses_plate_weights(tmp_path: Path) -> None:
    models = tmp_path / "models"
    models.mkdir()
    build_blob_yolo(models / "my-plate-model.onnx")
    settings = load_settings(models_dir=models)
    det = make_plate_detector(settings)
    assert isinstance(det, YoloOnnxDetector) and det.path.name == "my-plate-model.onnx"
    assert make_vehicle_detector(settings) is None  # a plate model is not a vehicle model


def test_named_backend_without_weights_names_the_folder(tmp_path: Path) -> None:
    settings = load_settings(models_dir=tmp_path / "models", vehicle_detector="yolo-onnx")
    with pytest.raises(BackendUnavailable, match=r"no vehicle weights in .*models"):
        make_vehicle_detector(settings)


@pytest.mark.skipif(
    _ultralytics_imports(), reason="ultralytics imports here, so .pt weights would load"
)
def test_pt_weights_without_ultralytics_give_the_install_hint(tmp_path: Path) -> None:
    models = tmp_path / "models"
    models.mkdir()
    (models / "yolov8n.pt").write_bytes(b"x")
    with pytest.raises(BackendUnavailable, match=r"dashcam\[yolo\]"):
        make_vehicle_detector(load_settings(models_dir=models))


def test_vehicle_only_model_keeps_all_its_classes(tmp_path: Path) -> None:
    names = "{0: 'sedan', 1: 'van', 2: 'lorry'}"
    det = YoloOnnxDetector.for_vehicles(build_blob_yolo(tmp_path / "v.onnx", names=names))
    found = det.detect(frame_128x96(((0, 16, 32, 48), GREEN), ((96, 48, 128, 80), RED)))
    assert sorted(det.class_names[i] for i in found.class_id) == ["sedan", "van"]


@pytest.mark.parametrize(
    ("shape", "nc", "expected"),
    [
        ((1, 84, 8400), None, "v8"),
        ((1, 25200, 85), None, "v5"),
        ((1, 300, 6), None, "e2e"),
        ((1, 6, 8400), 2, "v8"),
        ((1, 8400, 7), 2, "v5"),
    ],
)
def test_guess_layout(shape: tuple[int, int, int], nc: int | None, expected: str) -> None:
    assert guess_layout(shape, nc) == expected


def test_decode_end2end_rows_are_xyxy_score_class() -> None:
    rows = np.array([[[10, 20, 30, 40, 0.9, 2], [0, 0, 5, 5, 0.1, 0]]], np.float32)
    xyxy, conf, cls_id = decode(rows, "e2e", 0.25)
    assert xyxy.tolist() == [[10, 20, 30, 40]]
    assert conf.tolist() == pytest.approx([0.9])
    assert cls_id.tolist() == [2]
