"""Copy a project's outputs to a remote root (a folder or any fsspec URL), verified, resumable.

Each file goes to ``<remote>/<project>/<relative path>``; a file already there with the
same size and sha256 is skipped (so an interrupted backup resumes where it stopped), and
every copied file is read back and its sha256 compared. A ``MANIFEST.json`` listing every
file and checksum is written last.
"""

from __future__ import annotations

import hashlib
import json
from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path

from dashcam.errors import BackendUnavailable, StoreError
from dashcam.store.paths import file_sha256

_CHUNK = 1 << 20


@dataclass(frozen=True)
class BackupResult:
    copied: int
    skipped: int
    bytes_copied: int
    manifest: str


def _remote_sha256(fs: object, path: str) -> str | None:
    try:
        h = hashlib.sha256()
        with fs.open(path, "rb") as fh:  # type: ignore[attr-defined]
            while chunk := fh.read(_CHUNK):
                h.update(chunk)
        return h.hexdigest()
    except (FileNotFoundError, OSError):
        return None


def backup_tree(
    local_root: Path, remote: str, name: str, *, on_file: Callable[[int], None] | None = None
) -> BackupResult:
    """Mirror every file under ``local_root`` to ``<remote>/<name>/``."""
    try:
        import fsspec
    except ImportError as exc:
        raise BackendUnavailable("backup needs fsspec (pip install 'dashcam[miner]')") from exc
    fs, base = fsspec.core.url_to_fs(remote)
    dest = f"{base.rstrip('/')}/{name}"
    files = sorted(p for p in local_root.rglob("*") if p.is_file() and not p.name.endswith(".part"))
    manifest: dict[str, str] = {}
    copied = skipped = nbytes = 0
    try:
        for i, path in enumerate(files):
            rel = path.relative_to(local_root).as_posix()
            want = file_sha256(path)
            manifest[rel] = want
            target = f"{dest}/{rel}"
            if (
                fs.exists(target)
                and fs.size(target) == path.stat().st_size
                and (_remote_sha256(fs, target) == want)
            ):
                skipped += 1
                continue
            fs.makedirs(target.rsplit("/", 1)[0], exist_ok=True)
            fs.put_file(str(path), target)
            if _remote_sha256(fs, target) != want:
                raise StoreError(f"backup: checksum mismatch after copying {rel} to {target}")
            copied += 1
            nbytes += path.stat().st_size
            if on_file is not None:
                on_file(i + 1)
        with fs.open(f"{dest}/MANIFEST.json", "w") as fh:
            fh.write(json.dumps({"files": manifest}, indent=1, sort_keys=True))
    except OSError as exc:
        raise StoreError(f"backup to {remote} failed") from exc
    return BackupResult(copied, skipped, nbytes, f"{dest}/MANIFEST.json")
