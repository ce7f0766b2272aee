"""``models get`` against a publisher on loopback serving tiny models; what ``auto`` picks;
that nothing else ever downloads; ``model_info`` naming the installed models."""

from __future__ import annotations

import hashlib
import json
import socket
from collections.abc import Iterator
from pathlib import Path

import numpy as np
import pytest

from dashcam.backends.catalogue import CATALOGUE, ModelSpec
from dashcam.backends.installed import open_model
from dashcam.backends.model_fetch import PART_SUFFIX, fetch
from dashcam.backends.model_store import MANIFEST_NAME, problems, read_manifest, remove
from dashcam.backends.registry import (
    make_plate_detector,
    make_plate_reader,
    make_vehicle_detector,
    resolve_plate_detector,
    resolve_plate_reader,
    resolve_vehicle_detector,
)
from dashcam.config import Settings, load_settings
from dashcam.errors import BackendUnavailable, ModelDownloadError
from dashcam.pipeline.inline import DetectorStages
from tiny_models import Publisher, build_fast_plate_ocr, build_oim_yolov9, build_yolox, serve

OIM = CATALOGUE["yolo-v9-t-384-license-plate-end2end"]
OIM_640 = CATALOGUE["yolo-v9-t-640-license-plate-end2end"]
FPO_XS = CATALOGUE["cct-xs-v2-global-model"]
FPO_S = CATALOGUE["cct-s-v2-global-model"]
YOLOX = CATALOGUE["yolox-tiny"]


def _probe(spec: ModelSpec, paths: list[Path]) -> object:
    return open_model(spec, paths)


@pytest.fixture(scope="module")
def built(tmp_path_factory: pytest.TempPathFactory) -> dict[str, Path]:
    """Tiny models saved under the catalogue's file names."""
    d = tmp_path_factory.mktemp("publisher")
    out = {
        OIM.files[0].file_name: build_oim_yolov9(d / OIM.files[0].file_name),
        OIM_640.files[0].file_name: build_oim_yolov9(d / OIM_640.files[0].file_name, 640),
        YOLOX.files[0].file_name: build_yolox(d / YOLOX.files[0].file_name),
    }
    for spec in (FPO_XS, FPO_S):
        files = build_fast_plate_ocr(d / spec.files[0].file_name, d / spec.files[1].file_name)
        out[spec.files[0].file_name], out[spec.files[1].file_name] = files.model, files.config
    return out


@pytest.fixture
def publisher(built: dict[str, Path]) -> Iterator[Publisher]:
    pub = Publisher()
    for path in built.values():
        pub.add(path)
    with serve(pub):
        yield pub


@pytest.fixture
def settings(tmp_path: Path, publisher: Publisher) -> Settings:
    return load_settings(models_dir=tmp_path / "models", models_mirror=publisher.url)


def get(spec: ModelSpec, settings: Settings, **kwargs: object) -> bool:
    _, downloaded = fetch(
        spec, settings.models_dir, mirror=settings.models_mirror, probe=_probe, **kwargs
    )  # type: ignore[arg-type]
    return downloaded


def test_get_installs_verifies_and_records_sha256(settings: Settings, publisher: Publisher) -> None:
    seen: list[tuple[str, int, int | None]] = []
    assert get(FPO_XS, settings, progress=lambda *a: seen.append(a))
    folder = settings.models_dir / FPO_XS.name
    assert sorted(p.name for p in folder.iterdir()) == sorted(f.file_name for f in FPO_XS.files)
    entry = read_manifest(settings.models_dir)[FPO_XS.name]
    for f in entry.files:
        served = publisher.files[f.file_name]
        assert f.sha256 == hashlib.sha256(served).hexdigest()
        assert f.size_bytes == len(served)
    assert entry.licence == "MIT" and entry.source_url.startswith(publisher.url)
    assert seen[-1] == (FPO_XS.files[1].file_name, len(publisher.files[FPO_XS.files[1].file_name]),
                        len(publisher.files[FPO_XS.files[1].file_name]))  # fmt: skip
    # The manifest is plain JSON beside the models.
    assert FPO_XS.name in json.loads((settings.models_dir / MANIFEST_NAME).read_text())["models"]
    # A second get finds it installed and intact: no request.
    before = len(publisher.requests)
    assert not get(FPO_XS, settings)
    assert len(publisher.requests) == before


def test_tampered_file_is_refused_at_load_and_by_verify(settings: Settings) -> None:
    get(OIM, settings)
    assert make_plate_detector(settings).name == OIM.name
    path = settings.models_dir / OIM.name / OIM.files[0].file_name
    data = bytearray(path.read_bytes())
    data[len(data) // 2] ^= 0xFF
    path.write_bytes(bytes(data))
    entry = read_manifest(settings.models_dir)[OIM.name]
    assert "sha256" in problems(entry, settings.models_dir)[0]
    with pytest.raises(BackendUnavailable, match=r"fails its check.*refusing to load"):
        make_plate_detector(settings)
    # get --force repairs it: the same bytes as first recorded come back.
    assert get(OIM, settings, force=True)
    assert problems(read_manifest(settings.models_dir)[OIM.name], settings.models_dir) == []


def test_a_changed_download_is_refused_and_the_installed_model_kept(
    settings: Settings, publisher: Publisher, built: dict[str, Path]
) -> None:
    get(YOLOX, settings)
    name = YOLOX.files[0].file_name
    installed = (settings.models_dir / YOLOX.name / name).read_bytes()
    publisher.files[name] = build_yolox(built[name].parent / "other.onnx", 320).read_bytes()
    with pytest.raises(ModelDownloadError, match=r"not the .* recorded when it was first"):
        get(YOLOX, settings, force=True)
    assert (settings.models_dir / YOLOX.name / name).read_bytes() == installed
    assert not list((settings.models_dir / YOLOX.name).glob("*" + PART_SUFFIX))
    assert make_vehicle_detector(settings) is not None


def test_interrupted_download_resumes_where_it_stopped(
    settings: Settings, publisher: Publisher
) -> None:
    name = OIM.files[0].file_name
    size = len(publisher.files[name])
    publisher.cut_after[name] = size // 3
    with pytest.raises(ModelDownloadError, match=f"stopped at {size // 3} of {size} bytes"):
        get(OIM, settings)
    folder = settings.models_dir / OIM.name
    assert (folder / (name + PART_SUFFIX)).stat().st_size == size // 3
    assert not (folder / name).exists() and OIM.name not in read_manifest(settings.models_dir)
    with pytest.raises(BackendUnavailable, match="not installed"):
        load_settings_and_make(settings, OIM.name)
    assert get(OIM, settings)
    assert publisher.requests[-1] == (name, f"bytes={size // 3}-")
    entry = read_manifest(settings.models_dir)[OIM.name]
    assert entry.files[0].sha256 == hashlib.sha256(publisher.files[name]).hexdigest()
    assert not (folder / (name + PART_SUFFIX)).exists()


def load_settings_and_make(settings: Settings, name: str) -> object:
    return make_plate_detector(settings.model_copy(update={"plate_detector": name}))


def test_offline_is_a_clear_error_and_installs_nothing(tmp_path: Path) -> None:
    with socket.socket() as s:  # a port nobody listens on
        s.bind(("127.0.0.1", 0))
        port = s.getsockname()[1]
    settings = load_settings(models_dir=tmp_path / "m", models_mirror=f"http://127.0.0.1:{port}")
    with pytest.raises(ModelDownloadError, match=r"cannot download .*No connection"):
        get(FPO_XS, settings, timeout_s=5.0)
    assert read_manifest(settings.models_dir) == {}
    assert not (settings.models_dir / FPO_XS.name).exists()
    assert resolve_plate_reader(settings) == "rapidocr"


def test_a_file_that_is_not_a_model_is_refused(settings: Settings, publisher: Publisher) -> None:
    publisher.files[OIM.files[0].file_name] = b"<html>rate limited</html>"
    with pytest.raises(ModelDownloadError, match="not a working open-image-models-yolov9"):
        get(OIM, settings)
    assert read_manifest(settings.models_dir) == {}
    assert not (settings.models_dir / OIM.name).exists()  # nothing half-written stays


def test_http_error_names_the_url(settings: Settings) -> None:
    missing = CATALOGUE["yolox-m"]
    with pytest.raises(ModelDownloadError, match=r"yolox_m\.onnx: the server answered HTTP 404"):
        get(missing, settings)


def test_auto_picks_the_strongest_installed_model_per_slot(settings: Settings) -> None:
    assert (resolve_vehicle_detector(settings), resolve_plate_detector(settings),
            resolve_plate_reader(settings)) == (None, "text+contour", "rapidocr")  # fmt: skip
    for spec in (FPO_XS, OIM, YOLOX):
        get(spec, settings)
    assert resolve_plate_reader(settings) == FPO_XS.name
    get(FPO_S, settings)
    get(OIM_640, settings)
    assert resolve_plate_reader(settings) == FPO_S.name
    assert resolve_plate_detector(settings) == OIM_640.name
    assert resolve_vehicle_detector(settings) == YOLOX.name
    # An explicit setting wins over auto; a removed model is no longer chosen.
    assert resolve_plate_reader(settings.model_copy(update={"plate_reader": "rapidocr"})) == (
        "rapidocr"
    )
    assert remove(settings.models_dir, FPO_S.name)
    assert resolve_plate_reader(settings) == FPO_XS.name
    assert make_plate_reader(settings).name == FPO_XS.name


def test_user_weights_in_the_folder_come_before_the_catalogue(
    settings: Settings, built: dict[str, Path]
) -> None:
    get(OIM, settings)
    (settings.models_dir / "my-plate.onnx").write_bytes(built[OIM.files[0].file_name].read_bytes())
    assert resolve_plate_detector(settings) == "yolo-onnx"


def test_nothing_is_downloaded_implicitly(settings: Settings, publisher: Publisher) -> None:
    named = settings.model_copy(
        update={
            "plate_reader": FPO_XS.name,
            "plate_detector": OIM.name,
            "vehicle_detector": YOLOX.name,
        }
    )
    with pytest.raises(BackendUnavailable, match=f"`dashcam models get {FPO_XS.name}`"):
        make_plate_reader(named)
    with pytest.raises(BackendUnavailable, match="not installed"):
        DetectorStages(named)
    stages = DetectorStages(settings)  # auto: the built-in models
    assert stages.model_info()["plate_reader"] == "rapidocr"
    assert publisher.requests == []


def test_model_info_names_the_installed_models(settings: Settings) -> None:
    for spec in (FPO_XS, OIM, YOLOX):
        get(spec, settings)
    stages = DetectorStages(settings)
    assert stages.model_info() == {
        "vehicle_detector": YOLOX.name,
        "plate_detector": OIM.name,
        "plate_reader": FPO_XS.name,
        "ocr_enabled": True,
    }
    frame = np.zeros((416, 832, 3), np.uint8)
    frame[:, :, 0] = 255  # the tiny YOLOX sees a car in blue frames
    analysis = stages.analyse("v", 0, 0.0, frame)
    assert [stages.vehicle.detector.class_names[i] for i in analysis.vehicles.class_id] == ["car"]
