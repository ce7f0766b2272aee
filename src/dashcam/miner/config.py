"""A miner project's ``config.yaml``: pydantic models with ``extra="forbid"``.

Pure data. :func:`parse_config` turns a YAML text into a :class:`ProjectConfig`, or raises
:class:`~dashcam.errors.ConfigError` naming each bad key by its dotted path
(``filter.siglip.threshold: ...``) and the reason.

Example::

    cfg = parse_config("name: cars\\nfilter:\\n  siglip:\\n    model: ./siglip\\n"
                       "    positive: [a car]\\n")
    cfg.filter.siglip.threshold  # 0.5
"""

from __future__ import annotations

from enum import StrEnum
from pathlib import Path
from typing import Any

import yaml
from pydantic import BaseModel, ConfigDict, Field, ValidationError, field_validator

from dashcam.domain.ids import is_valid_id
from dashcam.errors import ConfigError


class _Strict(BaseModel):
    model_config = ConfigDict(extra="forbid", frozen=True)


class ExtractMode(StrEnum):
    INTERVAL = "interval"  # every Nth decoded frame
    TIME = "time"  # one frame every ``every_s`` seconds of video time
    KEYFRAMES = "keyframes"  # the stream's key frames only


class DownloaderKind(StrEnum):
    AUTO = "auto"  # plain HTTP for URLs ending in a video suffix, yt-dlp for the rest
    HTTP = "http"
    YTDLP = "yt-dlp"


class DownloadConfig(_Strict):
    method: DownloaderKind = DownloaderKind.AUTO
    ytdlp_format: str = Field("bv*[height<=1080]/b", description="yt-dlp format selector")
    timeout_s: float = Field(60.0, gt=0, description="Network timeout per request")
    chunk_bytes: int = Field(1 << 20, ge=4096)


class ExtractConfig(_Strict):
    mode: ExtractMode = ExtractMode.TIME
    every_n_frames: int = Field(30, ge=1, description="interval mode: keep every Nth frame")
    every_s: float = Field(1.0, gt=0, description="time mode: seconds between frames")
    max_frames: int = Field(0, ge=0, description="cap per video (0 = none)")
    image_format: str = Field("jpg", pattern=r"^(jpg|png)$")
    jpeg_quality: int = Field(92, ge=1, le=100)


class QualityConfig(_Strict):
    """Cheap filters that need no model; a frame must pass all of them."""

    min_sharpness: float = Field(20.0, ge=0, description="variance of the Laplacian")
    min_brightness: float = Field(20.0, ge=0, le=255, description="mean grey level")
    max_brightness: float = Field(245.0, ge=0, le=255)
    min_entropy: float = Field(3.0, ge=0, le=8, description="grey histogram entropy, bits")
    min_std: float = Field(8.0, ge=0, description="grey standard deviation")


class SiglipConfig(_Strict):
    """Zero-shot text filtering with a SigLIP/SigLIP2 model from a local path or HF cache."""

    model: str = Field(..., description="Local folder, or a model id already in the HF cache")
    positive: list[str] = Field(..., min_length=1, description="Keep frames matching any")
    negative: list[str] = Field(default_factory=list, description="Drop frames matching any")
    threshold: float = Field(0.5, ge=0.0, le=1.0, description="min sigmoid score of a positive")
    margin: float = Field(0.0, ge=-1.0, le=1.0, description="best positive - best negative")
    batch_size: int = Field(16, ge=1, le=1024)

    @field_validator("positive", "negative")
    @classmethod
    def _no_blank(cls, v: list[str]) -> list[str]:
        if any(not p.strip() for p in v):
            raise ValueError("prompts must not be blank")
        return v


class FilterConfig(_Strict):
    quality: QualityConfig | None = Field(default_factory=lambda: QualityConfig.model_validate({}))
    siglip: SiglipConfig | None = None


class HashKind(StrEnum):
    PHASH = "phash"
    DHASH = "dhash"


class EmbeddingDedupConfig(_Strict):
    model: str | None = Field(None, description="SigLIP model; default filter.siglip.model")
    min_similarity: float = Field(0.95, ge=0.0, le=1.0, description="cosine similarity")
    neighbours: int = Field(10, ge=1, le=1000)


class DedupConfig(_Strict):
    hash: HashKind = HashKind.PHASH
    max_distance: int = Field(8, ge=0, le=32, description="Hamming distance on 64-bit hashes")
    bands: int = Field(0, ge=0, le=64, description="0 = max_distance + 1 (exact recall)")
    embedding: EmbeddingDedupConfig | None = None


class DetectConfig(_Strict):
    enabled: bool = True
    optional: bool = Field(False, description="No weights: complete without labels")
    backend: str = Field("auto", description="auto, yolo-onnx, yolo-ultralytics")
    weights: Path | None = Field(None, description="Weights file; default: models_dir")
    min_confidence: float = Field(0.25, ge=0.0, le=1.0)


class BackupConfig(_Strict):
    remote: str = Field(..., min_length=1, description="A folder or any fsspec URL")


class StageProcs(_Strict):
    download: int = Field(1, ge=0, le=64)
    extract: int = Field(1, ge=0, le=64)
    filter: int = Field(1, ge=0, le=64)
    dedup: int = Field(1, ge=0, le=64)
    detect: int = Field(1, ge=0, le=64)
    backup: int = Field(1, ge=0, le=64)
    monitor: int = Field(1, ge=0, le=1)


class WorkersConfig(_Strict):
    numprocs: StageProcs = Field(default_factory=lambda: StageProcs.model_validate({}))
    lease_s: float = Field(60.0, gt=0, description="Lease per claim, extended by heartbeats")
    heartbeat_interval_s: float = Field(10.0, gt=0)
    poll_interval_s: float = Field(2.0, gt=0)
    stale_threshold_minutes: float = Field(10.0, gt=0, description="Reset locks older")
    warn_lock_minutes: float = Field(30.0, gt=0, description="Warn on tasks running longer")
    max_attempts: int = Field(3, ge=1, le=100)


class ProjectConfig(_Strict):
    name: str = Field(..., description="Project id: letters, digits, '.', '_', '-'")
    output_dir: Path | None = Field(None, description="Default <data_dir>/miner/<name>")
    sources: list[str] = Field(default_factory=list, description="URLs or paths to add")
    download: DownloadConfig = Field(default_factory=lambda: DownloadConfig.model_validate({}))
    extract: ExtractConfig = Field(default_factory=lambda: ExtractConfig.model_validate({}))
    filter: FilterConfig = Field(default_factory=lambda: FilterConfig.model_validate({}))
    dedup: DedupConfig = Field(default_factory=lambda: DedupConfig.model_validate({}))
    detect: DetectConfig = Field(default_factory=lambda: DetectConfig.model_validate({}))
    backup: BackupConfig | None = None
    workers: WorkersConfig = Field(default_factory=lambda: WorkersConfig.model_validate({}))

    @field_validator("name")
    @classmethod
    def _valid_name(cls, v: str) -> str:
        if not is_valid_id(v):
            raise ValueError("use letters, digits, '.', '_' and '-' (max 128)")
        return v


def _loc(loc: tuple[int | str, ...]) -> str:
    return ".".join(str(p) for p in loc) or "<root>"


def config_errors(exc: ValidationError) -> list[str]:
    """``["filter.siglip.threshold: Input should be less than or equal to 1"]``."""
    return [f"{_loc(e['loc'])}: {e['msg']}" for e in exc.errors()]


def config_from_dict(data: Any, *, source: str = "config") -> ProjectConfig:
    if not isinstance(data, dict):
        raise ConfigError(f"{source}: expected a mapping at the top level")
    try:
        return ProjectConfig.model_validate(data)
    except ValidationError as exc:
        raise ConfigError(f"{source}: " + "; ".join(config_errors(exc))) from None


def parse_config(text: str, *, source: str = "config") -> ProjectConfig:
    try:
        data = yaml.safe_load(text)
    except yaml.YAMLError as exc:
        raise ConfigError(f"{source}: not valid YAML: {exc}") from exc
    return config_from_dict(data, source=source)


def load_config(path: Path) -> ProjectConfig:
    try:
        text = Path(path).read_text(encoding="utf-8")
    except OSError as exc:
        raise ConfigError(f"{path}: cannot read config file") from exc
    return parse_config(text, source=str(path))


def dump_config(cfg: ProjectConfig) -> dict[str, Any]:
    """JSON-able form stored with the project (workers read it from the database)."""
    return cfg.model_dump(mode="json")
