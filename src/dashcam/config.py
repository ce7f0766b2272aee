"""One settings tree: ``DASHCAM_*`` environment variables, an optional YAML file, defaults.

Pure data: building a :class:`Settings` reads the environment and (when named) one YAML
file, and touches nothing else. Paths are not created here.

Precedence, highest first: keyword arguments, environment, YAML file, defaults.
The YAML file is named by ``DASHCAM_CONFIG`` (or ``--config`` on the CLI); its keys are
the field names below (``frame_sample_rate: 5``) and unknown keys are refused.
"""

from __future__ import annotations

import json
import os
from pathlib import Path
from typing import Annotated, Any, Literal

import yaml
from pydantic import AliasChoices, Field, ValidationError, field_validator, model_validator
from pydantic_settings import (
    BaseSettings,
    NoDecode,
    PydanticBaseSettingsSource,
    SettingsConfigDict,
)

from dashcam.errors import ConfigError

ENV_PREFIX = "DASHCAM_"

# Knobs of the multiprocess engine that the seed design names without the prefix.
_UNPREFIXED = (
    "num_gpu_workers",
    "num_cpu_workers",
    "num_video_readers",
    "max_gpu_backlog",
    "max_cpu_backlog",
    "queue_soft_limit",
    "queue_hard_limit",
    "auto_request_realtime_stream",
)


def _both(name: str) -> AliasChoices:
    return AliasChoices(ENV_PREFIX + name.upper(), name.upper(), name)


class Settings(BaseSettings):
    """Every knob of dashcam. Field ``x`` is the env var ``DASHCAM_X``."""

    model_config = SettingsConfigDict(
        env_prefix=ENV_PREFIX,
        extra="forbid",
        validate_default=True,
        populate_by_name=True,
        case_sensitive=False,
    )

    # --- where things live -------------------------------------------------------
    data_dir: Path = Field(Path("dashcam-data"), description="Local data folder")
    database_url: str | None = Field(
        None, description="SQLAlchemy URL; default sqlite:///<data_dir>/dashcam.db"
    )
    scratch_root: Path | None = Field(
        None, description="Per-run scratch; default <data_dir>/scratch"
    )
    nas_mount: Path | None = Field(None, description="NAS root; default <data_dir>")
    heavy_output_root: Path | None = Field(
        None, description="Heavy outputs; default <nas_mount>/videos/heavy_output"
    )
    archive_root: Path | None = Field(None, description="Cold storage; default <nas_mount>/archive")
    models_dir: Path = Field(
        Path("models"), description="Model weights: your own, and `dashcam models get` installs"
    )
    models_mirror: str | None = Field(
        None,
        description="`dashcam models get` fetches each file from <mirror>/<file name> instead"
        " of its publisher (a local copy of the files)",
    )

    # --- processing ----------------------------------------------------------------
    frame_sample_rate: int = Field(10, ge=1, description="Analyse every Nth decoded frame")
    max_frames: int = Field(300, ge=0, description="Cap on analysed frames per video (0 = none)")
    enable_ocr: bool = Field(True, description="Read plate text (false: detect only)")
    retain_runs: bool = Field(False, description="Keep per-run scratch folders")
    plate_detector: str = Field(
        "auto", description="Plate detector backend or installed model (dashcam models list)"
    )
    plate_reader: str = Field(
        "auto",
        description="Plate OCR backend or installed model; auto: best installed, else rapidocr",
    )
    vehicle_detector: str = Field(
        "auto", description="Vehicle detector backend or installed model; none: plate-only"
    )
    plate_region: str = Field(
        "auto",
        description="Plate formats: auto, any, a code (it, us-ca), a group (eu, us) or a list"
        " (hr,si,it); dashcam read --list-regions prints them",
    )
    min_plate_confidence: float = Field(0.5, ge=0.0, le=1.0)
    min_track_reads: int = Field(2, ge=1, description="Reads needed before a track is a sighting")
    overlay_survey_s: float = Field(
        3.0,
        ge=0.0,
        le=60.0,
        description="Seconds at the start of a video surveyed for the dashcam's burned-in"
        " overlay (its regions are no plates; its date/time is a clock); 0 = off",
    )
    model_threads: int = Field(
        0, ge=0, description="Threads per model session (ONNX Runtime); 0 = library default"
    )

    # --- GPS -------------------------------------------------------------------------
    gps_clock_offset_s: float = Field(
        0.0, description="Added to GPS timestamps (dashcams often log local time)"
    )
    gps_max_gap_s: float = Field(
        5.0, gt=0, description="Never interpolate across a gap longer than this"
    )

    # --- server mode -----------------------------------------------------------------
    server_url: str = Field("http://localhost:8000")
    server_host: str = Field("127.0.0.1")
    server_port: int = Field(8000, ge=1, le=65535)
    api_key: str | None = Field(None, description="Bearer key for the server API")
    poll_interval: float = Field(10.0, gt=0, description="Worker poll interval when idle (s)")
    lease_s: float = Field(60.0, gt=0)
    heartbeat_interval_s: float = Field(10.0, gt=0)
    max_attempts: int = Field(3, ge=1)
    nas_scan_interval_s: float = Field(
        0.0, ge=0, description="Server scans <nas_mount>/videos/incoming every N s (0: off)"
    )
    map_tile_url: str | None = Field(
        None,
        description="Dashboard map tiles, e.g. http://tiles.lan/{z}/{x}/{y}.png (default: none)",
    )

    # --- multiprocess engine ------------------------------------------------------
    num_gpu_workers: int = Field(2, ge=1, validation_alias=_both("num_gpu_workers"))
    num_cpu_workers: int = Field(4, ge=1, validation_alias=_both("num_cpu_workers"))
    num_video_readers: int = Field(2, ge=1, validation_alias=_both("num_video_readers"))
    max_gpu_backlog: int = Field(8, ge=1, validation_alias=_both("max_gpu_backlog"))
    max_cpu_backlog: int = Field(16, ge=1, validation_alias=_both("max_cpu_backlog"))
    queue_soft_limit: int = Field(64, ge=1, validation_alias=_both("queue_soft_limit"))
    queue_hard_limit: int = Field(128, ge=1, validation_alias=_both("queue_hard_limit"))

    # --- live relay ---------------------------------------------------------------
    relay_port: int = Field(7010, ge=1, le=65535)
    auto_request_realtime_stream: bool = Field(
        False, validation_alias=_both("auto_request_realtime_stream")
    )
    relay_host: str = Field("127.0.0.1", description="Interface the relay binds")
    relay_cameras: list[str] = Field(
        default_factory=list, description="Cameras as NAME=URL (rtsp://, http(s):// MJPEG, file)"
    )
    relay_fps: float = Field(1.0, gt=0, le=60, description="Frames extracted per second per camera")
    relay_frames_per_job: int = Field(1, ge=1, le=64)
    relay_heartbeat_timeout_s: float = Field(30.0, gt=0, description="Drop silent workers")
    relay_job_ttl_s: float = Field(60.0, gt=0, description="Unclaimed jobs expire after this")
    relay_max_frame_bytes: int = Field(
        256 * 1024 * 1024, ge=1024 * 1024, description="Memory held for frames (oldest dropped)"
    )
    relay_worker_queue: int = Field(256, ge=1, description="Messages queued per worker socket")
    relay_max_message_bytes: int = Field(64 * 1024, ge=1024)
    relay_sightings: bool = Field(
        True, description="Store the cameras' plate reads as sightings in database_url"
    )
    relay_track_close_s: float = Field(
        5.0, gt=0, le=3600, description="A camera's track unseen this long becomes a sighting"
    )
    relay_access_log: bool = Field(False, description="Log every HTTP request of the relay")

    # --- events out (MQTT, Home Assistant, webhooks; docs/events.md) -------------------
    mqtt_url: str | None = Field(
        None, description="mqtt://user:pass@host:1883 or mqtts://... (unset: no MQTT)"
    )
    mqtt_topic_prefix: str = Field(
        "dashcam", pattern=r"^[A-Za-z0-9_.-]+(/[A-Za-z0-9_.-]+)*$", description="Topic root"
    )
    mqtt_ca_file: Path | None = Field(None, description="CA certificate for mqtts://")
    mqtt_client_id: str | None = Field(None, description="Default dashcam-<role>-<host>")
    mqtt_discovery_prefix: str = Field(
        "homeassistant", description="Home Assistant discovery prefix ('' turns discovery off)"
    )
    watch_seen_minutes: float = Field(
        10.0, gt=0, description="A watchlist binary sensor stays on this long after a hit"
    )
    events_buffer: int = Field(
        1000, ge=1, description="Events held per destination while it is away (oldest dropped)"
    )
    webhook_urls: Annotated[list[str], NoDecode] = Field(
        default_factory=list,
        description="URLs that receive every event as JSON (POST); comma-separated in the env",
    )
    webhook_secret: str | None = Field(
        None, description="Signs webhook bodies: X-Dashcam-Signature: sha256=<HMAC>"
    )
    webhook_max_attempts: int = Field(5, ge=1, le=20, description="Tries per event and URL")
    webhook_timeout_s: float = Field(5.0, gt=0, description="Per webhook request")

    log_level: Literal["DEBUG", "INFO", "WARNING", "ERROR"] = "INFO"

    @field_validator("webhook_urls", mode="before")
    @classmethod
    def _split_urls(cls, value: Any) -> Any:
        if isinstance(value, str):  # the env: a JSON list, or URLs separated by commas
            text = value.strip()
            if text.startswith("["):
                return json.loads(text)
            return [u.strip() for u in text.split(",") if u.strip()]
        return value

    @field_validator("webhook_urls")
    @classmethod
    def _http_urls(cls, urls: list[str]) -> list[str]:
        for url in urls:
            if not url.startswith(("http://", "https://")):
                raise ValueError(f"{url!r}: a webhook URL starts with http:// or https://")
        return urls

    @field_validator("mqtt_url")
    @classmethod
    def _mqtt_scheme(cls, url: str | None) -> str | None:
        if url and not url.startswith(("mqtt://", "mqtts://")):
            raise ValueError(f"{url!r}: expected mqtt://[user:pass@]host[:port] or mqtts://...")
        return url or None

    @model_validator(mode="after")
    def _derive(self) -> Settings:
        if self.queue_soft_limit > self.queue_hard_limit:
            raise ValueError("queue_soft_limit must not exceed queue_hard_limit")
        if self.database_url is None:
            self.database_url = f"sqlite:///{self.data_dir / 'dashcam.db'}"
        if self.scratch_root is None:
            self.scratch_root = self.data_dir / "scratch"
        if self.nas_mount is None:
            self.nas_mount = self.data_dir
        if self.heavy_output_root is None:
            self.heavy_output_root = self.nas_mount / "videos" / "heavy_output"
        if self.archive_root is None:
            self.archive_root = self.nas_mount / "archive"
        return self

    # Resolved accessors (never None after validation) keep call sites simple.
    @property
    def db_url(self) -> str:
        assert self.database_url is not None
        return self.database_url

    @property
    def scratch(self) -> Path:
        assert self.scratch_root is not None
        return self.scratch_root

    @property
    def heavy_output(self) -> Path:
        assert self.heavy_output_root is not None
        return self.heavy_output_root

    @property
    def archive(self) -> Path:
        assert self.archive_root is not None
        return self.archive_root

    @property
    def stale_after_s(self) -> float:
        """A worker silent this long is stale: three missed heartbeats, at least 30 s."""
        return max(3 * self.heartbeat_interval_s, 30.0)

    @classmethod
    def settings_customise_sources(
        cls,
        settings_cls: type[BaseSettings],
        init_settings: PydanticBaseSettingsSource,
        env_settings: PydanticBaseSettingsSource,
        dotenv_settings: PydanticBaseSettingsSource,
        file_secret_settings: PydanticBaseSettingsSource,
    ) -> tuple[PydanticBaseSettingsSource, ...]:
        return (init_settings, env_settings, _YamlSource(settings_cls))


class _YamlSource(PydanticBaseSettingsSource):
    """Reads the YAML file named by ``DASHCAM_CONFIG`` (if any)."""

    def get_field_value(self, field: Any, field_name: str) -> tuple[Any, str, bool]:
        return None, field_name, False

    def __call__(self) -> dict[str, Any]:
        return read_yaml_config(os.environ.get(ENV_PREFIX + "CONFIG"))


def read_yaml_config(path: str | os.PathLike[str] | None) -> dict[str, Any]:
    """The mapping in a YAML config file (``{}`` for no file)."""
    if not path:
        return {}
    p = Path(path)
    try:
        data = yaml.safe_load(p.read_text(encoding="utf-8")) or {}
    except FileNotFoundError as exc:
        raise ConfigError(f"{p}: config file not found") from exc
    except IsADirectoryError as exc:
        raise ConfigError(f"{p}: is a folder, not a config file (DASHCAM_CONFIG)") from exc
    except OSError as exc:
        raise ConfigError(f"{p}: cannot read the config file ({exc.strerror or exc})") from exc
    except UnicodeDecodeError as exc:
        raise ConfigError(f"{p}: not a text (YAML) config file") from exc
    except yaml.YAMLError as exc:
        raise ConfigError(f"{p}: not valid YAML") from exc
    if not isinstance(data, dict):
        raise ConfigError(f"{p}: expected a mapping of setting names to values")
    section = data.get("dashcam", data)
    if not isinstance(section, dict):
        raise ConfigError(f"{p}: 'dashcam' must be a mapping")
    return {str(k): v for k, v in section.items() if k not in ("miner", "workers")}


def load_settings(**overrides: Any) -> Settings:
    """Build the settings, turning validation errors into one readable :class:`ConfigError`."""
    try:
        return Settings(**{k: v for k, v in overrides.items() if v is not None})
    except ValidationError as exc:
        lines = []
        for err in exc.errors():
            loc = ".".join(str(p) for p in err["loc"]) or "settings"
            key = loc if loc.startswith("DASHCAM_") else f"{loc} ({ENV_PREFIX}{loc.upper()})"
            lines.append(f"{key}: {err['msg']}")
        raise ConfigError("invalid settings: " + "; ".join(lines)) from None


def setting_sources(settings: Settings) -> dict[str, str]:
    """Where each value came from: ``env DASHCAM_X``, ``file``, ``derived`` or ``default``."""
    env = {k.upper(): v for k, v in os.environ.items()}
    file_keys = set(read_yaml_config(os.environ.get(ENV_PREFIX + "CONFIG")))
    derived = {"database_url", "scratch_root", "nas_mount", "heavy_output_root", "archive_root"}
    out: dict[str, str] = {}
    for name in type(settings).model_fields:
        names = [ENV_PREFIX + name.upper()]
        if name in _UNPREFIXED:
            names.append(name.upper())
        hit = next((n for n in names if n in env), None)
        if hit:
            out[name] = f"env {hit}"
        elif name in file_keys:
            out[name] = "file"
        elif name in derived:
            out[name] = "derived"
        else:
            out[name] = "default"
    return out
