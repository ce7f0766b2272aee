"""Plate detection + OCR on real rendered plates and synthetic road scenes (real models)."""

from __future__ import annotations

from pathlib import Path

import cv2
import numpy as np
import pytest

from dashcam.backends.plate_detectors import ClassicPlateDetector
from dashcam.backends.protocols import PlateDetector, PlateReader
from dashcam.backends.rapidocr_reader import RapidOcrReader
from dashcam.backends.registry import make_plate_detector, make_plate_reader
from dashcam.config import load_settings
from dashcam.domain.detections import Detections, box_iou
from dashcam.errors import BackendUnavailable, ConfigError
from dashcam.media.synthetic import make_still, render_plate
from dashcam.stages.recognise import PlateRecogniser

TEXTS = ["ABC2345", "7XYZ234", "KX52ABC", "RM442BA", "GC458LC"]


@pytest.fixture(scope="module")
def reader() -> RapidOcrReader:
    return RapidOcrReader()


@pytest.fixture(scope="module")
def detector() -> ClassicPlateDetector:
    return ClassicPlateDetector()


def _recogniser(
    reader: PlateReader, detector: PlateDetector, tmp_path: Path, **overrides: object
) -> PlateRecogniser:
    settings = load_settings(models_dir=tmp_path / "no-models", **overrides)
    return PlateRecogniser(settings, detector=detector, reader=reader)


@pytest.fixture(scope="module")
def still(
    tmp_path_factory: pytest.TempPathFactory,
) -> tuple[np.ndarray, list[tuple[str, tuple[int, int, int, int]]]]:
    path = tmp_path_factory.mktemp("still") / "scene.png"
    truth = make_still(path, ["HWK4845", "6UYA389", "GE74NFD"], seed=2)
    image = cv2.imread(str(path))
    assert image is not None
    return image, truth


@pytest.mark.parametrize("height_px", [32, 60, 120])
def test_reader_reads_rendered_plates_exactly(reader: RapidOcrReader, height_px: int) -> None:
    reads = reader.read([render_plate(t, height_px) for t in TEXTS])
    assert [r.text for r in reads] == TEXTS
    assert all(r.confidence > 0.8 for r in reads)
    assert all(len(r.char_confidences) == len(r.text) for r in reads)


def test_reader_gives_empty_read_for_blank_and_tiny_crops(reader: RapidOcrReader) -> None:
    blank = np.full((50, 200, 3), 230, np.uint8)
    tiny = np.zeros((2, 2, 3), np.uint8)
    reads = reader.read([blank, tiny, render_plate("ABC2345", 60)])
    assert [r.text for r in reads[:2]] == ["", ""]
    assert reads[2].text == "ABC2345"


def test_read_crops_returns_whole_crop_box_and_region_corrected_text(
    reader: RapidOcrReader, detector: ClassicPlateDetector, tmp_path: Path
) -> None:
    crop = render_plate("AB12CDE", 60)
    uk = _recogniser(reader, detector, tmp_path, plate_region="uk")
    (result,) = uk.read_crops([crop])
    assert result.text == "AB12CDE"
    assert result.xyxy == (0.0, 0.0, float(crop.shape[1]), float(crop.shape[0]))
    assert result.detector_score == 1.0


def test_recognise_finds_every_plate_of_a_still_exactly(
    reader: RapidOcrReader, detector: ClassicPlateDetector, tmp_path: Path, still: tuple
) -> None:
    image, truth = still
    results = _recogniser(reader, detector, tmp_path).recognise(image)
    assert sorted(r.text for r in results) == sorted(t for t, _ in truth)
    for text, box in truth:
        (hit,) = [r for r in results if r.text == text]
        iou = box_iou(np.array([hit.xyxy], np.float32), np.array([box], np.float32))[0, 0]
        assert iou > 0.3, (text, hit.xyxy, box)
        assert hit.confidence >= 0.5


def test_recognise_searches_only_inside_given_vehicle_regions(
    reader: RapidOcrReader, detector: ClassicPlateDetector, tmp_path: Path, still: tuple
) -> None:
    image, truth = still
    text, (x1, y1, x2, y2) = truth[0]
    vehicle = Detections.from_boxes([[x1 - 80, y1 - 120, x2 + 80, y2 + 30]], [0.9], [2])
    results = _recogniser(reader, detector, tmp_path).recognise(image, regions=vehicle)
    assert [r.text for r in results] == [text]


def test_recognise_without_ocr_reports_detector_scores(
    detector: ClassicPlateDetector, tmp_path: Path, still: tuple
) -> None:
    image, truth = still
    recogniser = PlateRecogniser(
        load_settings(enable_ocr=False, models_dir=tmp_path), detector=detector
    )
    results = recogniser.recognise(image)
    assert results and all(r.text == "" for r in results)
    assert all(r.confidence == r.detector_score > 0 for r in results)
    centres = [((x1 + x2) / 2, (y1 + y2) / 2) for _, (x1, y1, x2, y2) in truth]
    for cx, cy in centres:
        assert any(r.xyxy[0] <= cx <= r.xyxy[2] and r.xyxy[1] <= cy <= r.xyxy[3] for r in results)


def test_recognise_on_empty_road_finds_nothing(
    reader: RapidOcrReader, detector: ClassicPlateDetector, tmp_path: Path
) -> None:
    rng = np.random.default_rng(0)
    noise = cv2.GaussianBlur(rng.integers(0, 255, (360, 640, 3), dtype=np.uint8), (9, 9), 0)
    assert _recogniser(reader, detector, tmp_path).recognise(noise) == []


@pytest.mark.parametrize(
    ("overrides", "message"),
    [
        ({"plate_reader": "nope"}, "unknown plate reader 'nope'; available: auto"),
        ({"plate_detector": "nope"}, "unknown plate detector 'nope'; available: auto"),
    ],
)
def test_unknown_backend_is_a_clear_error(overrides: dict[str, str], message: str) -> None:
    settings = load_settings(**overrides)
    with pytest.raises(BackendUnavailable, match=message):
        if "plate_reader" in overrides:
            make_plate_reader(settings)
        else:
            make_plate_detector(settings)


def test_auto_detector_without_weights_is_text_and_contour(tmp_path: Path) -> None:
    detector = make_plate_detector(load_settings(models_dir=tmp_path))
    assert detector.name == "text+contour"


def test_unknown_region_is_a_config_error(reader: RapidOcrReader, tmp_path: Path) -> None:
    with pytest.raises(ConfigError, match="unknown plate region 'mars'"):
        PlateRecogniser(load_settings(plate_region="mars", models_dir=tmp_path), reader=reader)


def test_a_plate_is_its_line_with_digits_not_its_slogan_or_state_name(
    reader: RapidOcrReader, detector: ClassicPlateDetector, tmp_path: Path
) -> None:
    # Candidates as a detector proposes them on a US plate: the whole plate, the slogan
    # line inside it (read just as confidently, and a tighter box), and the state name
    # on a line of its own.
    number, slogan, state = (render_plate(t, 60) for t in ("BM5T299", "SUNSHINE", "TEXAS"))
    boxes = [[100, 100, 360, 190], [140, 104, 320, 124], [140, 80, 320, 98]]
    rec = _recogniser(reader, detector, tmp_path, plate_region="us")
    kept = rec.read_candidates([number, slogan, state], boxes, [0.9, 0.9, 0.9])
    assert [(i, r.text) for i, r in kept] == [(0, "BM5T299")]


def test_a_box_on_part_of_the_plate_loses_to_the_whole_read(
    reader: RapidOcrReader, detector: ClassicPlateDetector, tmp_path: Path
) -> None:
    # The right half of the registration, boxed on its own (its box pokes out of the
    # plate's, overlapping it by less than half), reads as confidently as the whole.
    whole, part = render_plate("T299066", 60), render_plate("9066", 60)
    boxes = [[100, 100, 360, 160], [250, 130, 400, 200]]
    rec = _recogniser(reader, detector, tmp_path, plate_region="us")
    kept = rec.read_candidates([part, whole], boxes[::-1], [0.9, 0.9])
    assert [(i, r.text) for i, r in kept] == [(1, "T299066")]
