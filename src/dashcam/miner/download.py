"""Fetching a project's videos: local paths, plain HTTP(S) with resume, yt-dlp (an edge module).

- local path: copied into the project (a hard link when on the same file system), with a
  GPS side-car beside it (``trip.mp4`` + ``trip.gps``) copied too;
- HTTP(S) file: streamed to ``<name>.part``; a retry sends ``Range: bytes=<have>-`` and
  appends on ``206 Partial Content`` (starts over on ``200``);
- anything else (YouTube and every site yt-dlp supports, playlists): yt-dlp, which resumes
  its own ``.part`` files. A playlist is expanded into one source per entry.

Callers de-duplicate by the returned sha256.
"""

from __future__ import annotations

import logging
import os
import shutil
from collections.abc import Callable
from dataclasses import dataclass, field
from pathlib import Path
from urllib.parse import urlparse

import httpx

from dashcam.errors import BackendUnavailable, InputError
from dashcam.media.telemetry import find_track_for_video
from dashcam.miner.config import DownloadConfig, DownloaderKind
from dashcam.store.paths import file_sha256

log = logging.getLogger(__name__)

VIDEO_SUFFIXES = (".mp4", ".mov", ".mkv", ".avi", ".webm", ".m4v", ".ts", ".mpg", ".mpeg")

#: Called with bytes done so far (lets a worker heartbeat during long downloads).
Progress = Callable[[int], None]


@dataclass(frozen=True)
class Fetched:
    """A downloaded video, or a playlist's entries (then ``path`` is None)."""

    path: Path | None
    sha256: str | None = None
    gps_path: Path | None = None
    entries: list[str] = field(default_factory=list)


def is_url(source: str) -> bool:
    return urlparse(source).scheme in ("http", "https", "ftp")


def pick_method(source: str, cfg: DownloadConfig) -> str:
    """``"local"``, ``"http"`` or ``"yt-dlp"`` for a source."""
    if not is_url(source):
        return "local"
    if cfg.method != DownloaderKind.AUTO:
        return cfg.method.value
    suffix = Path(urlparse(source).path).suffix.lower()
    return "http" if suffix in VIDEO_SUFFIXES else "yt-dlp"


def fetch(
    source: str, dest_dir: Path, stem: str, cfg: DownloadConfig, progress: Progress | None = None
) -> Fetched:
    """Bring ``source`` into ``dest_dir`` as ``<stem><suffix>``."""
    dest_dir.mkdir(parents=True, exist_ok=True)
    method = pick_method(source, cfg)
    if method == "local":
        return _local(Path(source).expanduser(), dest_dir, stem)
    if method == "http":
        suffix = Path(urlparse(source).path).suffix.lower() or ".mp4"
        out = dest_dir / f"{stem}{suffix}"
        http_download(
            source, out, timeout_s=cfg.timeout_s, chunk_bytes=cfg.chunk_bytes, progress=progress
        )
        return Fetched(out, file_sha256(out))
    return _ytdlp(source, dest_dir, stem, cfg, progress)


def _link_or_copy(src: Path, dst: Path) -> None:
    tmp = dst.with_name(f".{dst.name}.partial")
    tmp.unlink(missing_ok=True)
    try:
        os.link(src, tmp)
    except OSError:
        shutil.copyfile(src, tmp)
    os.replace(tmp, dst)


def _local(src: Path, dest_dir: Path, stem: str) -> Fetched:
    if not src.is_file():
        raise InputError(f"{src}: no such video file")
    out = dest_dir / f"{stem}{src.suffix.lower() or '.mp4'}"
    if not out.exists():
        _link_or_copy(src, out)
    gps = find_track_for_video(src)
    gps_out = None
    if gps is not None:
        gps_out = dest_dir / f"{stem}{gps.suffix.lower()}"
        _link_or_copy(gps, gps_out)
    return Fetched(out, file_sha256(out), gps_out)


def http_download(
    url: str,
    out: Path,
    *,
    timeout_s: float = 60.0,
    chunk_bytes: int = 1 << 20,
    progress: Progress | None = None,
) -> Path:
    """Download ``url`` to ``out`` through ``<out>.part``, resuming a partial file."""
    if out.exists():
        return out
    part = out.with_name(out.name + ".part")
    have = part.stat().st_size if part.exists() else 0
    headers = {"Range": f"bytes={have}-"} if have else {}
    try:
        with httpx.stream(
            "GET", url, headers=headers, timeout=timeout_s, follow_redirects=True
        ) as resp:
            if resp.status_code == 416 and have:  # already complete
                os.replace(part, out)
                return out
            if resp.status_code not in (200, 206):
                raise InputError(f"{url}: HTTP {resp.status_code}")
            mode = "ab" if resp.status_code == 206 and have else "wb"
            done = have if mode == "ab" else 0
            with part.open(mode) as fh:
                for chunk in resp.iter_bytes(chunk_bytes):
                    fh.write(chunk)
                    done += len(chunk)
                    if progress is not None:
                        progress(done)
    except httpx.HTTPError as exc:
        raise InputError(f"{url}: download failed ({type(exc).__name__}: {exc})") from exc
    os.replace(part, out)
    return out


def _ytdlp(
    url: str, dest_dir: Path, stem: str, cfg: DownloadConfig, progress: Progress | None
) -> Fetched:
    try:
        import yt_dlp
    except ImportError as exc:
        raise BackendUnavailable("yt-dlp is not installed (pip install 'dashcam[miner]')") from exc

    def hook(d: dict[str, object]) -> None:
        got = d.get("downloaded_bytes")
        if progress is not None and isinstance(got, int):
            progress(got)

    opts: dict[str, object] = {
        "outtmpl": str(dest_dir / f"{stem}.%(ext)s"),
        "format": cfg.ytdlp_format,
        "continuedl": True,
        "quiet": True,
        "no_warnings": True,
        "noprogress": True,
        "socket_timeout": cfg.timeout_s,
        "progress_hooks": [hook],
        "extract_flat": "in_playlist",
    }
    try:
        with yt_dlp.YoutubeDL(opts) as ydl:
            info = ydl.extract_info(url, download=False)
            if info and info.get("_type") == "playlist":
                entries = [
                    str(e.get("webpage_url") or e.get("url"))
                    for e in info["entries"] or []
                    if e and (e.get("webpage_url") or e.get("url"))
                ]
                return Fetched(None, entries=entries)
            info = ydl.process_ie_result(info, download=True)
            path = Path(ydl.prepare_filename(info))
    except yt_dlp.utils.DownloadError as exc:
        raise InputError(f"{url}: yt-dlp failed: {exc}") from exc
    if not path.exists():
        found = sorted(p for p in dest_dir.glob(f"{stem}.*") if not p.name.endswith(".part"))
        if not found:
            raise InputError(f"{url}: yt-dlp reported success but wrote no file")
        path = found[0]
    return Fetched(path, file_sha256(path))
