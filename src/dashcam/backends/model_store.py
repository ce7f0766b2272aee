"""Installed catalogue models: their folders in ``DASHCAM_MODELS_DIR`` and the manifest.

Layout (one folder per model, so the user-weights convention of the top folder —
``*.onnx`` files there are YOLO weights — never sees them)::

    models/
      dashcam-models.json                 # the manifest
      cct-xs-v2-global-model/
        cct_xs_v2_global.onnx
        cct_xs_v2_global_plate_config.yaml

The manifest records, per model, each file's sha256 and size as downloaded the first
time, the licence and where it came from. :func:`require` checks the files against it on
every load; ``dashcam models verify`` does the same on demand. Nothing here downloads.
"""

from __future__ import annotations

import contextlib
import hashlib
import os
import tempfile
from collections.abc import Mapping
from pathlib import Path

from pydantic import BaseModel, ConfigDict, ValidationError

from dashcam.errors import BackendUnavailable

MANIFEST_NAME = "dashcam-models.json"
_CHUNK = 1 << 20


class InstalledFile(BaseModel):
    """One file of an installed model, as it was when first downloaded."""

    model_config = ConfigDict(extra="forbid", frozen=True)

    file_name: str
    sha256: str
    size_bytes: int


class InstalledModel(BaseModel):
    """A manifest entry: what was installed, from where, under which licence."""

    model_config = ConfigDict(extra="forbid", frozen=True)

    name: str
    slot: str
    format: str
    licence: str
    source_url: str
    installed_at: str
    files: tuple[InstalledFile, ...]

    def folder(self, models_dir: Path) -> Path:
        return model_folder(models_dir, self.name)

    def path(self, models_dir: Path, index: int = 0) -> Path:
        """Path of file ``index`` (0: the network, 1: a plate config)."""
        return self.folder(models_dir) / self.files[index].file_name


class _Manifest(BaseModel):
    model_config = ConfigDict(extra="forbid")

    version: int = 1
    models: dict[str, InstalledModel] = {}


def model_folder(models_dir: Path, name: str) -> Path:
    """The folder a catalogue model is installed in."""
    return models_dir / name


def manifest_path(models_dir: Path) -> Path:
    return models_dir / MANIFEST_NAME


def read_manifest(models_dir: Path) -> dict[str, InstalledModel]:
    """Installed models by name; ``{}`` when there is no manifest (nothing installed)."""
    path = manifest_path(models_dir)
    try:
        raw = path.read_text(encoding="utf-8")
    except FileNotFoundError:
        return {}
    except OSError as exc:
        raise BackendUnavailable(f"{path}: cannot read the models manifest ({exc})") from exc
    try:
        return dict(_Manifest.model_validate_json(raw).models)
    except ValidationError as exc:
        raise BackendUnavailable(
            f"{path}: not a dashcam models manifest ({exc.error_count()} problems); "
            "remove it and run `dashcam models get` again"
        ) from None


def write_manifest(models_dir: Path, models: Mapping[str, InstalledModel]) -> None:
    """Replace the manifest atomically (a temp file renamed over it)."""
    models_dir.mkdir(parents=True, exist_ok=True)
    text = _Manifest(models=dict(sorted(models.items()))).model_dump_json(indent=1)
    fd, tmp = tempfile.mkstemp(prefix=".manifest-", suffix=".tmp", dir=models_dir)
    try:
        with os.fdopen(fd, "w", encoding="utf-8") as fh:
            fh.write(text + "\n")
            fh.flush()
            os.fsync(fh.fileno())
        os.replace(tmp, manifest_path(models_dir))
    except BaseException:
        with contextlib.suppress(OSError):
            os.unlink(tmp)
        raise


def file_sha256(path: Path) -> str:
    """Hex sha256 of a file, read in 1 MiB chunks."""
    digest = hashlib.sha256()
    with path.open("rb") as fh:
        while chunk := fh.read(_CHUNK):
            digest.update(chunk)
    return digest.hexdigest()


def problems(model: InstalledModel, models_dir: Path) -> list[str]:
    """What is wrong with an installed model's files (``[]``: all match the manifest)."""
    found: list[str] = []
    for i, f in enumerate(model.files):
        path = model.path(models_dir, i)
        if not path.is_file():
            found.append(f"{path}: missing")
            continue
        size = path.stat().st_size
        if size != f.size_bytes:
            found.append(f"{path}: {size} bytes, the manifest says {f.size_bytes}")
            continue
        digest = file_sha256(path)
        if digest != f.sha256:
            found.append(f"{path}: sha256 {digest[:12]}…, the manifest says {f.sha256[:12]}…")
    return found


def require(models_dir: Path, name: str) -> InstalledModel:
    """The installed model ``name`` after checking its files against the manifest.

    Raises :class:`BackendUnavailable` when it is not installed (never downloads it) or
    when a file is missing or differs from what was downloaded.
    """
    model = read_manifest(models_dir).get(name)
    if model is None:
        raise BackendUnavailable(
            f"model {name!r} is not installed in {models_dir}: "
            f"`dashcam models get {name}` downloads it"
        )
    wrong = problems(model, models_dir)
    if wrong:
        raise BackendUnavailable(
            f"model {name!r} fails its check ({'; '.join(wrong)}): refusing to load it; "
            f"`dashcam models get --force {name}` downloads it again"
        )
    return model


def remove(models_dir: Path, name: str) -> bool:
    """Delete an installed model's folder and manifest entry; False when not installed."""
    models = read_manifest(models_dir)
    folder = model_folder(models_dir, name)
    if name not in models and not folder.exists():
        return False
    models.pop(name, None)
    write_manifest(models_dir, models)
    if folder.is_dir():
        for path in sorted(folder.rglob("*"), reverse=True):
            if path.is_dir():
                path.rmdir()
            else:
                path.unlink()
        folder.rmdir()
    return True
