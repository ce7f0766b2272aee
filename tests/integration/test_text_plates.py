"""Text-line plate detection (shipped PP-OCR text detector): tilted and two-line plates."""

from __future__ import annotations

from pathlib import Path

import cv2
import numpy as np
import pytest

from dashcam.backends.plate_detectors import TextPlateDetector
from dashcam.backends.rapidocr_reader import RapidOcrReader
from dashcam.backends.text_lines import TextLineDetector
from dashcam.config import load_settings
from dashcam.media.plates import render_plate
from dashcam.stages.recognise import PlateRecogniser, turned_crop


@pytest.fixture(scope="module")
def reader() -> RapidOcrReader:
    return RapidOcrReader()


@pytest.fixture(scope="module")
def detector() -> TextPlateDetector:
    return TextPlateDetector()


def _scene(plate: np.ndarray, angle_deg: float, centre: tuple[int, int]) -> np.ndarray:
    """A grey 1280x720 frame with ``plate`` turned ``angle_deg`` counter-clockwise."""
    frame = np.full((720, 1280, 3), 110, np.uint8)
    cv2.rectangle(frame, (0, 500), (1279, 719), (70, 70, 70), -1)  # a road
    ph, pw = plate.shape[:2]
    side = int(np.hypot(ph, pw)) + 4
    canvas = np.full((side, side, 3), 110, np.uint8)
    y0, x0 = (side - ph) // 2, (side - pw) // 2
    canvas[y0 : y0 + ph, x0 : x0 + pw] = plate
    m = cv2.getRotationMatrix2D((side / 2, side / 2), angle_deg, 1.0)
    turned = cv2.warpAffine(canvas, m, (side, side), borderValue=(110, 110, 110))
    cx, cy = centre
    frame[cy - side // 2 : cy - side // 2 + side, cx - side // 2 : cx - side // 2 + side] = turned
    return frame


@pytest.mark.parametrize("angle", [-20.0, 0.0, 15.0])
def test_text_lines_come_back_at_their_place_and_angle(angle: float) -> None:
    frame = _scene(render_plate("AB123CD", 40, "it"), angle, (640, 300))
    (line, *_) = TextLineDetector().detect(frame)
    assert abs(line.cx - 640) < 8 and abs(line.cy - 300) < 8
    assert abs(line.angle_deg - angle) < 4
    assert 120 < line.w < 220 and 20 < line.h < 60


@pytest.mark.parametrize("angle", [-18.0, 12.0])
def test_a_tilted_plate_is_cut_upright_and_read_exactly(
    reader: RapidOcrReader, detector: TextPlateDetector, tmp_path: Path, angle: float
) -> None:
    frame = _scene(render_plate("KX52ABC", 36, "gb"), angle, (420, 560))
    rec = PlateRecogniser(
        load_settings(plate_region="auto", models_dir=tmp_path), detector=detector, reader=reader
    )
    results = rec.recognise(frame)
    assert [r.text for r in results][:1] == ["KX52ABC"]
    x1, y1, x2, y2 = results[0].xyxy
    assert x1 < 420 < x2 and y1 < 560 < y2


def test_turned_crop_undoes_the_turn() -> None:
    plate = render_plate("AB123CD", 40, "it")
    frame = _scene(plate, 25.0, (640, 360))
    upright = turned_crop(frame, (640.0, 360.0), (plate.shape[1], plate.shape[0]), 25.0, 0.0)
    assert upright.shape[:2] == plate.shape[:2]
    diff = np.abs(upright.astype(int) - plate.astype(int)).mean()
    assert diff < 25, diff


def test_a_two_line_plate_is_read_top_line_first(
    reader: RapidOcrReader, detector: TextPlateDetector, tmp_path: Path
) -> None:
    crop = render_plate("10922\nBX", 110, "ua")
    rec = PlateRecogniser(
        load_settings(plate_region="ua", models_dir=tmp_path), detector=detector, reader=reader
    )
    (result,) = rec.read_crops([crop])
    assert result.text == "10922BX"
    assert result.region == "ua"
    frame = _scene(crop, 5.0, (700, 400))
    assert [r.text for r in rec.recognise(frame)][:1] == ["10922BX"]
