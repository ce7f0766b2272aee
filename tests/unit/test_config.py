from __future__ import annotations

from pathlib import Path

import pytest

from dashcam.config import load_settings, setting_sources
from dashcam.errors import ConfigError


def test_documented_defaults() -> None:
    s = load_settings()
    assert s.frame_sample_rate == 10
    assert s.max_frames == 300
    assert s.enable_ocr is True
    assert s.retain_runs is False
    assert s.models_dir == Path("models")
    assert s.heavy_output == s.nas_mount / "videos" / "heavy_output"  # type: ignore[operator]
    assert (s.num_gpu_workers, s.num_cpu_workers, s.num_video_readers) == (2, 4, 2)
    assert (s.max_gpu_backlog, s.max_cpu_backlog) == (8, 16)
    assert (s.queue_soft_limit, s.queue_hard_limit) == (64, 128)
    assert s.db_url.startswith("sqlite:///") and s.db_url.endswith("dashcam.db")


def test_env_vars_and_sources(monkeypatch: pytest.MonkeyPatch, tmp_path: Path) -> None:
    monkeypatch.setenv("DASHCAM_FRAME_SAMPLE_RATE", "5")
    monkeypatch.setenv("DASHCAM_ENABLE_OCR", "false")
    monkeypatch.setenv("DASHCAM_NAS_MOUNT", str(tmp_path / "nas"))
    monkeypatch.setenv("NUM_GPU_WORKERS", "3")
    monkeypatch.setenv("DASHCAM_NUM_CPU_WORKERS", "6")
    s = load_settings()
    assert s.frame_sample_rate == 5 and s.enable_ocr is False
    assert s.heavy_output == tmp_path / "nas" / "videos" / "heavy_output"
    assert (s.num_gpu_workers, s.num_cpu_workers) == (3, 6)
    src = setting_sources(s)
    assert src["frame_sample_rate"] == "env DASHCAM_FRAME_SAMPLE_RATE"
    assert src["num_gpu_workers"] == "env NUM_GPU_WORKERS"
    assert src["heavy_output_root"] == "derived"
    assert src["max_frames"] == "default"


def test_yaml_file(monkeypatch: pytest.MonkeyPatch, tmp_path: Path) -> None:
    cfg = tmp_path / "c.yaml"
    cfg.write_text("frame_sample_rate: 7\nmax_frames: 0\n")
    monkeypatch.setenv("DASHCAM_CONFIG", str(cfg))
    monkeypatch.setenv("DASHCAM_MAX_FRAMES", "50")  # env wins over the file
    s = load_settings()
    assert (s.frame_sample_rate, s.max_frames) == (7, 50)
    assert setting_sources(s)["frame_sample_rate"] == "file"


@pytest.mark.parametrize(
    ("env", "value", "message"),
    [
        ("DASHCAM_FRAME_SAMPLE_RATE", "0", "frame_sample_rate"),
        ("DASHCAM_MAX_FRAMES", "many", "max_frames"),
        ("DASHCAM_LOG_LEVEL", "LOUD", "log_level"),
    ],
)
def test_invalid_values_name_the_key(
    monkeypatch: pytest.MonkeyPatch, env: str, value: str, message: str
) -> None:
    monkeypatch.setenv(env, value)
    with pytest.raises(ConfigError, match=message):
        load_settings()


def test_unknown_yaml_key_is_refused(monkeypatch: pytest.MonkeyPatch, tmp_path: Path) -> None:
    cfg = tmp_path / "c.yaml"
    cfg.write_text("frame_sample_rat: 7\n")
    monkeypatch.setenv("DASHCAM_CONFIG", str(cfg))
    with pytest.raises(ConfigError, match="frame_sample_rat"):
        load_settings()
