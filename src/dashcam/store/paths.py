"""Files under storage roots: safe joins, atomic writes, content hashes, verified moves."""

from __future__ import annotations

import hashlib
import os
import shutil
import tempfile
from pathlib import Path

from dashcam.domain.ids import is_valid_id
from dashcam.errors import PathEscapeError

_CHUNK = 1 << 20


def safe_child(root: Path, name: str) -> Path:
    """``root / name`` for a validated id; refuses anything that would leave ``root``."""
    if not is_valid_id(name):
        raise PathEscapeError(f"invalid id {name!r}: use letters, digits, '.', '_' and '-'")
    child = (root / name).resolve()
    if root.resolve() not in child.parents:
        raise PathEscapeError(f"id {name!r} escapes {root}")
    return child


def atomic_write_bytes(path: Path, data: bytes) -> None:
    """Write ``data`` to ``path`` so readers see the old file or the whole new one."""
    path.parent.mkdir(parents=True, exist_ok=True)
    fd, tmp = tempfile.mkstemp(dir=path.parent, prefix=f".{path.name}.", suffix=".tmp")
    try:
        with os.fdopen(fd, "wb") as fh:
            fh.write(data)
            fh.flush()
            os.fsync(fh.fileno())
        os.replace(tmp, path)
    except BaseException:
        Path(tmp).unlink(missing_ok=True)
        raise


def atomic_write_text(path: Path, text: str) -> None:
    atomic_write_bytes(path, text.encode("utf-8"))


def file_sha256(path: Path) -> str:
    h = hashlib.sha256()
    with path.open("rb") as fh:
        while chunk := fh.read(_CHUNK):
            h.update(chunk)
    return h.hexdigest()


def quick_content_hash(path: Path, sample_bytes: int = 4 * _CHUNK) -> str:
    """A content hash that stays fast on multi-GB videos on a NAS.

    sha256 of the size plus the first and last ``sample_bytes``; whole-file for small files.
    Two different recordings practically never share size, head and tail.
    """
    size = path.stat().st_size
    if size <= 2 * sample_bytes:
        return file_sha256(path)
    h = hashlib.sha256(str(size).encode())
    with path.open("rb") as fh:
        h.update(fh.read(sample_bytes))
        fh.seek(size - sample_bytes)
        h.update(fh.read(sample_bytes))
    return h.hexdigest()


def tree_checksums(root: Path) -> dict[str, str]:
    """sha256 of every file below ``root``, keyed by its relative POSIX path."""
    return {
        p.relative_to(root).as_posix(): file_sha256(p)
        for p in sorted(root.rglob("*"))
        if p.is_file()
    }


def copy_tree_verified(src: Path, dst: Path) -> dict[str, str]:
    """Copy ``src`` to ``dst`` (into a temp sibling, then rename) and verify every checksum.

    Safe to repeat: an existing complete ``dst`` with matching checksums is kept.
    Returns the checksums. Raises ``OSError`` on mismatch (``dst`` is then not created).
    """
    want = tree_checksums(src)
    if dst.exists() and tree_checksums(dst) == want:
        return want
    tmp = dst.with_name(f".{dst.name}.partial")
    if tmp.exists():
        shutil.rmtree(tmp)
    shutil.copytree(src, tmp)
    got = tree_checksums(tmp)
    if got != want:
        shutil.rmtree(tmp, ignore_errors=True)
        raise OSError(f"checksum mismatch copying {src} to {dst}")
    if dst.exists():
        shutil.rmtree(dst)
    os.replace(tmp, dst)
    return want
