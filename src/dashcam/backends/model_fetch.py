"""``dashcam models get``: download a catalogue model, check it, install it.

Only ever called by that command (never by ``process``, ``read``, workers or the relay).
Each file is streamed into ``<file>.part`` beside its final name; an interrupted
download leaves the ``.part`` and the next ``get`` resumes it with an HTTP ``Range``
request. When every file is complete the model is opened once with its backend (a file
that is not a working model of its format — an HTML error page, a truncated network — is
refused), then each ``.part`` is renamed to its final name and the manifest records the
files' sha256 and size. A model whose manifest already records a sha256 (downloaded
before) must come back with the same bytes, or it is refused.
"""

from __future__ import annotations

import contextlib
import datetime as dt
import logging
import os
import re
from collections.abc import Callable, Sequence
from pathlib import Path

import httpx

from dashcam.backends.catalogue import ModelFile, ModelSpec
from dashcam.backends.model_store import (
    InstalledFile,
    InstalledModel,
    file_sha256,
    model_folder,
    problems,
    read_manifest,
    write_manifest,
)
from dashcam.errors import DashcamError, ModelDownloadError

log = logging.getLogger(__name__)

#: ``(file name, bytes so far, total bytes or None)`` after every chunk.
Progress = Callable[[str, int, int | None], None]
#: Opens a model on its downloaded files; raises when they are not a working model.
Probe = Callable[[ModelSpec, Sequence[Path]], object]

PART_SUFFIX = ".part"
_CONTENT_RANGE = re.compile(r"bytes\s+(?:\d+-\d+|\*)/(\d+)")


def source_url(file: ModelFile, mirror: str | None) -> str:
    """Where to fetch ``file``: its publisher's URL, or ``<mirror>/<file name>``.

    >>> source_url(ModelFile("https://example.org/a/m.onnx", "m.onnx"), "http://lan/models/")
    'http://lan/models/m.onnx'
    """
    if mirror:
        return f"{mirror.rstrip('/')}/{file.file_name}"
    return file.url


def _total(response: httpx.Response, offset: int) -> int | None:
    if response.status_code == 206:
        match = _CONTENT_RANGE.match(response.headers.get("content-range", ""))
        return int(match.group(1)) if match else None
    length = response.headers.get("content-length")
    return int(length) + offset if length and length.isdigit() else None


def download(
    url: str, part: Path, *, progress: Progress | None = None, timeout_s: float = 30.0
) -> int:
    """Fetch ``url`` into ``part``, resuming what ``part`` already holds; its size.

    Raises :class:`ModelDownloadError` when the server cannot be reached, answers with an
    error, or the transfer stops short (what arrived stays in ``part`` to resume).
    """
    offset = part.stat().st_size if part.is_file() else 0
    headers = {"Range": f"bytes={offset}-"} if offset else {}
    done = offset
    total: int | None = None
    try:
        with httpx.stream(
            "GET", url, headers=headers, timeout=timeout_s, follow_redirects=True
        ) as response:
            if response.status_code == 416 and offset:
                # Nothing after what we hold: complete if the server's size says so.
                match = _CONTENT_RANGE.match(response.headers.get("content-range", ""))
                if match and int(match.group(1)) == offset:
                    return offset
                part.unlink()
                return download(url, part, progress=progress, timeout_s=timeout_s)
            if response.status_code not in (200, 206):
                raise ModelDownloadError(f"{url}: the server answered HTTP {response.status_code}")
            if response.status_code == 200:
                done = 0  # the server ignored the range: start again
            total = _total(response, done)
            with part.open("ab" if response.status_code == 206 else "wb") as fh:
                # No chunk size: what arrived is on disk even if the transfer breaks.
                for chunk in response.iter_bytes():
                    fh.write(chunk)
                    done += len(chunk)
                    if progress is not None:
                        progress(part.name.removesuffix(PART_SUFFIX), done, total)
    except (httpx.ConnectError, httpx.ConnectTimeout, httpx.UnsupportedProtocol) as exc:
        raise ModelDownloadError(
            f"cannot download {url} ({type(exc).__name__}: {exc or 'no answer'}). "
            "No connection? Models are only ever fetched by `dashcam models get`; "
            "DASHCAM_MODELS_MIRROR names a local copy of the files"
        ) from exc
    except httpx.TransportError as exc:
        of = f" of {total}" if total is not None else ""
        raise ModelDownloadError(
            f"{url}: the transfer stopped at {done}{of} bytes ({type(exc).__name__}); "
            f"{part.name} keeps them: run the same `dashcam models get` again to resume"
        ) from exc
    if total is not None and done != total:
        raise ModelDownloadError(
            f"{url}: the transfer stopped at {done} of {total} bytes; "
            "run the same `dashcam models get` again to resume"
        )
    return done


def fetch(
    spec: ModelSpec,
    models_dir: Path,
    *,
    mirror: str | None = None,
    force: bool = False,
    probe: Probe | None = None,
    progress: Progress | None = None,
    timeout_s: float = 30.0,
    now: dt.datetime | None = None,
) -> tuple[InstalledModel, bool]:
    """Install ``spec`` into ``models_dir``; ``(manifest entry, downloaded?)``.

    An installed model whose files match its manifest is left alone unless ``force``.
    ``probe`` opens the model on the downloaded files before anything is installed.
    """
    known = read_manifest(models_dir).get(spec.name)
    if known is not None and not force and not problems(known, models_dir):
        return known, False
    folder = model_folder(models_dir, spec.name)
    folder.mkdir(parents=True, exist_ok=True)
    parts = [folder / (f.file_name + PART_SUFFIX) for f in spec.files]
    try:
        files = _download_all(spec, parts, known, mirror, probe, progress, timeout_s)
    except BaseException:
        with contextlib.suppress(OSError):
            folder.rmdir()  # only when empty: a partial download stays to resume
        raise
    for file, part in zip(spec.files, parts, strict=True):
        os.replace(part, folder / file.file_name)
    stamp = (now or dt.datetime.now(dt.UTC)).isoformat(timespec="seconds")
    entry = InstalledModel(
        name=spec.name,
        slot=str(spec.slot),
        format=str(spec.format),
        licence=spec.licence,
        source_url=source_url(spec.files[0], mirror),
        installed_at=stamp,
        files=files,
    )
    models = read_manifest(models_dir)
    models[spec.name] = entry
    write_manifest(models_dir, models)
    log.info("installed %s (%s) in %s", spec.name, spec.licence, folder)
    return entry, True


def _download_all(
    spec: ModelSpec,
    parts: Sequence[Path],
    known: InstalledModel | None,
    mirror: str | None,
    probe: Probe | None,
    progress: Progress | None,
    timeout_s: float,
) -> tuple[InstalledFile, ...]:
    """Every file of ``spec`` complete in its ``.part``, checked; their manifest entries."""
    for file, part in zip(spec.files, parts, strict=True):
        download(source_url(file, mirror), part, progress=progress, timeout_s=timeout_s)
    files = tuple(
        InstalledFile(file_name=f.file_name, sha256=file_sha256(p), size_bytes=p.stat().st_size)
        for f, p in zip(spec.files, parts, strict=True)
    )
    recorded = {f.file_name: f.sha256 for f in known.files} if known else {}
    for f in files:
        first = recorded.get(f.file_name)
        if first is not None and first != f.sha256:
            _discard(parts)
            raise ModelDownloadError(
                f"{spec.name}: {f.file_name} came with sha256 {f.sha256[:12]}…, not the "
                f"{first[:12]}… recorded when it was first downloaded: refused, nothing "
                f"changed. If its publisher really replaced it: `dashcam models remove "
                f"{spec.name}`, then get it again"
            )
    if probe is not None:
        try:
            probe(spec, parts)
        except DashcamError as exc:
            _discard(parts)
            raise ModelDownloadError(
                f"{spec.name}: what was downloaded is not a working {spec.format} model "
                f"({exc}): refused, nothing installed"
            ) from exc
    return files


def _discard(parts: Sequence[Path]) -> None:
    for part in parts:
        with contextlib.suppress(FileNotFoundError):
            part.unlink()
