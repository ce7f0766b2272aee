"""Downloads against a local HTTP server on 127.0.0.1: plain, resumed by Range, yt-dlp."""

from __future__ import annotations

import threading
from collections.abc import Iterator
from http.server import SimpleHTTPRequestHandler, ThreadingHTTPServer
from pathlib import Path

import pytest

from dashcam.miner.config import DownloadConfig, DownloaderKind
from dashcam.miner.download import fetch, http_download
from dashcam.store.paths import file_sha256

RANGES: list[str | None] = []


class RangeHandler(SimpleHTTPRequestHandler):
    """Static files with ``Range: bytes=N-`` support (206), recording each Range header."""

    def log_message(self, *args: object) -> None:
        pass

    def send_head(self):  # type: ignore[no-untyped-def]
        rng = self.headers.get("Range")
        RANGES.append(rng)
        path = Path(self.translate_path(self.path))
        if not rng or not path.is_file():
            return super().send_head()
        start = int(rng.split("=")[1].split("-")[0])
        data = path.read_bytes()
        self.send_response(206)
        self.send_header("Content-Type", "video/mp4")
        self.send_header("Content-Range", f"bytes {start}-{len(data) - 1}/{len(data)}")
        self.send_header("Content-Length", str(len(data) - start))
        self.end_headers()
        import io

        return io.BytesIO(data[start:])


@pytest.fixture
def server(tmp_path: Path) -> Iterator[tuple[str, Path]]:
    root = tmp_path / "www"
    root.mkdir()

    def handler(*a: object, **k: object) -> RangeHandler:
        return RangeHandler(*a, directory=str(root), **k)  # type: ignore[arg-type]

    srv = ThreadingHTTPServer(("127.0.0.1", 0), handler)
    threading.Thread(target=srv.serve_forever, daemon=True).start()
    RANGES.clear()
    yield f"http://127.0.0.1:{srv.server_port}", root
    srv.shutdown()


@pytest.fixture
def video(server: tuple[str, Path]) -> Path:
    from dashcam.media.synthetic import make_clip

    clip = make_clip(server[1], name="drive", seed=3, duration_s=1.5, resolution_wh=(960, 540))
    return clip.video_path


def test_plain_download(server: tuple[str, Path], video: Path, tmp_path: Path) -> None:
    got = fetch(f"{server[0]}/drive.mp4", tmp_path / "dl", "v1", DownloadConfig())
    assert got.path is not None and got.sha256 == file_sha256(video)
    assert RANGES == [None]


def test_resume_sends_range_and_appends(
    server: tuple[str, Path], video: Path, tmp_path: Path
) -> None:
    out = tmp_path / "dl" / "v1.mp4"
    out.parent.mkdir()
    data = video.read_bytes()
    (out.parent / "v1.mp4.part").write_bytes(data[:1000])  # an interrupted earlier attempt
    http_download(f"{server[0]}/drive.mp4", out)
    assert RANGES == ["bytes=1000-"]
    assert out.read_bytes() == data


def test_missing_url_is_an_input_error(server: tuple[str, Path], tmp_path: Path) -> None:
    from dashcam.errors import InputError

    with pytest.raises(InputError, match="404"):
        fetch(f"{server[0]}/nope.mp4", tmp_path, "v1", DownloadConfig())


def test_ytdlp_generic_extractor_on_direct_url(
    server: tuple[str, Path], video: Path, tmp_path: Path
) -> None:
    pytest.importorskip("yt_dlp")
    cfg = DownloadConfig(method=DownloaderKind.YTDLP)
    got = fetch(f"{server[0]}/drive.mp4", tmp_path / "dl", "v2", cfg)
    assert got.path is not None and got.path.name.startswith("v2.")
    assert got.sha256 == file_sha256(video)
