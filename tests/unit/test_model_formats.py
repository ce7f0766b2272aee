"""The catalogue formats' backends on tiny ONNX models with the published signatures.

See tests/tiny_models.py for what each model computes. These check the preprocessing
(size, colour order, scale, padding corner) and the output decoding of each format.
"""

from __future__ import annotations

from pathlib import Path

import numpy as np
import pytest
import yaml

from dashcam.backends.catalogue import CATALOGUE, ModelSlot, models_for
from dashcam.backends.fast_plate_ocr import FastPlateOcrReader, PlateConfig
from dashcam.backends.installed import open_model
from dashcam.backends.protocols import PlateDetector, PlateReader, VehicleDetector
from dashcam.backends.yolo_output import decode, yolox_grid
from dashcam.config import load_settings
from dashcam.errors import BackendUnavailable
from dashcam.resources import format_book
from dashcam.stages.recognise import PlateRecogniser
from tiny_models import FPO_REGIONS, build_fast_plate_ocr, build_oim_yolov9, build_yolox

OIM = CATALOGUE["yolo-v9-t-384-license-plate-end2end"]
YOLOX = CATALOGUE["yolox-tiny"]
FPO = CATALOGUE["cct-xs-v2-global-model"]


def test_catalogue_is_permissive_and_ranked() -> None:
    assert {m.licence for m in CATALOGUE.values()} == {"MIT", "Apache-2.0"}
    for slot in ModelSlot:
        ranks = [m.rank for m in models_for(slot)]
        assert ranks == sorted(ranks, reverse=True) and len(set(ranks)) == len(ranks)
    assert all(m.url.startswith("https://github.com/") for m in CATALOGUE.values())


# --- open-image-models YOLOv9 end2end ----------------------------------------------------


@pytest.fixture(scope="module")
def oim(tmp_path_factory: pytest.TempPathFactory) -> PlateDetector:
    path = build_oim_yolov9(tmp_path_factory.mktemp("oim") / "oim.onnx")
    det: PlateDetector = open_model(OIM, [path])
    return det


def test_oim_box_comes_back_in_image_pixels(oim: PlateDetector) -> None:
    # 768x384 -> scale 0.5, centred: 96 px grey above and below. The white block fills
    # model cell (col 1, row 1) exactly: model (96..192, 96..192).
    img = np.zeros((384, 768, 3), np.uint8)
    img[0:192, 192:384] = 255
    found = oim.detect(img)
    assert found.xyxy.tolist() == [[192.0, 0.0, 384.0, 192.0]]
    assert found.confidence.tolist() == [1.0]
    assert oim.name == OIM.name


def test_oim_with_no_rows_finds_nothing(oim: PlateDetector) -> None:
    assert len(oim.detect(np.zeros((200, 300, 3), np.uint8))) == 0


def test_nms7_rows_below_threshold_are_dropped() -> None:
    rows = np.array([[0, 1, 2, 3, 4, 0, 0.9], [0, 5, 6, 7, 8, 0, 0.1]], np.float32)
    xyxy, conf, cls = decode(rows, "nms7", 0.25)
    assert xyxy.tolist() == [[1, 2, 3, 4]] and conf.tolist() == pytest.approx([0.9])
    assert cls.tolist() == [0]


# --- YOLOX ---------------------------------------------------------------------------------


@pytest.fixture(scope="module")
def yolox(tmp_path_factory: pytest.TempPathFactory) -> VehicleDetector:
    path = build_yolox(tmp_path_factory.mktemp("yolox") / "yolox_tiny.onnx")
    det: VehicleDetector = open_model(YOLOX, [path])
    return det


def test_yolox_grid_decode_and_top_left_letterbox(yolox: VehicleDetector) -> None:
    # 832x416 -> scale 0.5 in the top-left corner. The car: stride-32 cell (3, 5) with
    # dx = dy = 0.5, w = 4 and h = 2 cells -> model (48, 144, 176, 208) -> x2 in the image.
    img = np.zeros((416, 832, 3), np.uint8)
    img[:, :, 0] = 255  # blue, BGR channel 0
    found = yolox.detect(img)
    assert found.xyxy.tolist() == [[96.0, 288.0, 352.0, 416.0]]
    assert found.confidence.tolist() == pytest.approx([0.9 * 0.95])
    assert [yolox.class_names[i] for i in found.class_id] == ["car"]


def test_yolox_gets_bgr_on_the_0_255_scale(yolox: VehicleDetector) -> None:
    img = np.zeros((416, 832, 3), np.uint8)
    img[:, :, 2] = 255  # red: an RGB-ordered input would put it in channel 0
    assert len(yolox.detect(img)) == 0


def test_yolox_output_of_the_wrong_size_is_refused() -> None:
    with pytest.raises(ValueError, match="expected 3549 rows"):
        yolox_grid(np.zeros((1, 100, 85), np.float32), (416, 416))


# --- fast-plate-ocr --------------------------------------------------------------------------


def _crop(bgr: tuple[int, int, int]) -> np.ndarray:
    img = np.zeros((30, 100, 3), np.uint8)
    img[:] = bgr
    return img


RED, BLUE = (0, 0, 255), (255, 0, 0)


@pytest.fixture(scope="module")
def fpo(tmp_path_factory: pytest.TempPathFactory) -> FastPlateOcrReader:
    d = tmp_path_factory.mktemp("fpo")
    files = build_fast_plate_ocr(d / "m.onnx", d / "m_plate_config.yaml")
    reader: FastPlateOcrReader = open_model(FPO, [files.model, files.config])
    return reader


def test_fpo_reads_slots_drops_pads_and_gets_rgb(fpo: FastPlateOcrReader) -> None:
    red, blue, empty = fpo.read([_crop(RED), _crop(BLUE), np.zeros((1, 0, 3), np.uint8)])
    assert (red.text, blue.text, empty.text) == ("AB123CD", "BB123CD", "")
    assert len(red.char_confidences) == 7 and red.confidence > 0.9
    # One step per slot with a sure blank around each: 2 * 10 + 1 steps.
    assert red.steps[0].probs.shape == (21, 38)
    assert isinstance(fpo, PlateReader) and fpo.name == FPO.name


def test_fpo_region_head_becomes_a_country_hint(fpo: FastPlateOcrReader) -> None:
    read = fpo.read([_crop(RED)])[0]
    assert read.countries is not None
    assert max(read.countries, key=lambda c: read.countries[c]) == "it"  # type: ignore[index]


@pytest.mark.parametrize(("label", "code"), [("Italy", "it"), ("France", "fr")])
def test_region_hint_reaches_the_format_aware_decoding(
    tmp_path: Path, label: str, code: str
) -> None:
    # AB123CD fits both the Italian and the French layout (LL NNN LL): the region head
    # decides which jurisdiction the read is given.
    files = build_fast_plate_ocr(tmp_path / "m.onnx", tmp_path / "c.yaml", region=label)
    reader = FastPlateOcrReader(files.model, files.config, country_of=format_book().country_of)
    result = PlateRecogniser(load_settings(), reader=reader).read_crops([_crop(RED)])[0]
    assert (result.text, result.region) == ("AB123CD", code)


def test_fpo_flat_grayscale_model_without_region(tmp_path: Path) -> None:
    files = build_fast_plate_ocr(
        tmp_path / "g.onnx", tmp_path / "g.yaml", v2=False, slots=7, height=70, width=140,
        mode="grayscale", flat=True,
    )  # fmt: skip
    reader = FastPlateOcrReader(files.model, files.config)
    read = reader.read([_crop(BLUE)])[0]
    assert read.text == "AB123CD" and read.countries is None


def test_fpo_model_and_config_that_disagree_are_refused(tmp_path: Path) -> None:
    files = build_fast_plate_ocr(tmp_path / "m.onnx", tmp_path / "c.yaml")
    config = yaml.safe_load(files.config.read_text())
    config["img_width"] = 140
    files.config.write_text(yaml.safe_dump(config))
    with pytest.raises(BackendUnavailable, match=r"takes input .*plate config says"):
        FastPlateOcrReader(files.model, files.config)
    config["img_width"], config["plate_regions"] = 128, FPO_REGIONS[:10]
    files.config.write_text(yaml.safe_dump(config))
    with pytest.raises(BackendUnavailable, match="66 classes, the plate config lists 10"):
        FastPlateOcrReader(files.model, files.config)


@pytest.mark.parametrize(
    ("change", "message"),
    [
        ({"pad_char": "#"}, "pad_char '#' is not one symbol"),
        ({"image_color_mode": "bgr"}, "image_color_mode 'bgr'"),
        ({"interpolation": "magic"}, "interpolation 'magic'"),
        ({"max_plate_slots": None}, "bad plate config"),
    ],
)
def test_bad_plate_config_names_the_key(change: dict[str, object], message: str) -> None:
    data = {"max_plate_slots": 9, "alphabet": "AB_", "pad_char": "_", "img_height": 8,
            "img_width": 16, **change}  # fmt: skip
    with pytest.raises(BackendUnavailable, match=message):
        PlateConfig.from_mapping(data, "cfg.yaml")
    with pytest.raises(BackendUnavailable, match="has no 'alphabet'"):
        PlateConfig.from_mapping({"max_plate_slots": 9}, "cfg.yaml")


@pytest.mark.parametrize(
    ("label", "code"),
    [("Italy", "it"), ("IT", "it"), ("united_states", "us"), ("us-ca", "us"),
     ("Germany", "de"), ("Unknown", None), ("Region 7", None), ("", None)],
)  # fmt: skip
def test_region_labels_map_to_country_codes(label: str, code: str | None) -> None:
    assert format_book().country_of(label) == code
