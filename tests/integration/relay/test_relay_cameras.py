"""Cameras feed the relay: an MJPEG stream from a local HTTP server and a looped video file."""

from __future__ import annotations

import asyncio
import threading
import time
from collections.abc import Callable, Iterator
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from pathlib import Path

import httpx
import pytest
from relay_helpers import recv_job, register, tiny_jpeg, wait_until

from dashcam.media.synthetic import make_clip
from dashcam.relay.cameras import CameraSpec
from dashcam.relay.server import RelayServer

BOUNDARY = "frameboundary"


class _Mjpeg(BaseHTTPRequestHandler):
    frames_per_connection = 10**6
    connections = 0

    def do_GET(self) -> None:
        type(self).connections += 1
        self.send_response(200)
        self.send_header("Content-Type", f"multipart/x-mixed-replace; boundary={BOUNDARY}")
        self.end_headers()
        jpeg = tiny_jpeg(160, 120)
        try:
            for _ in range(self.frames_per_connection):
                part = (
                    (
                        f"--{BOUNDARY}\r\nContent-Type: image/jpeg\r\n"
                        f"Content-Length: {len(jpeg)}\r\n\r\n"
                    ).encode()
                    + jpeg
                    + b"\r\n"
                )
                self.wfile.write(part)
                self.wfile.flush()
                time.sleep(0.02)
        except (BrokenPipeError, ConnectionResetError):
            return

    def log_message(self, format: str, *args: object) -> None:
        return


@pytest.fixture
def mjpeg_url() -> Iterator[Callable[[int], str]]:
    servers: list[ThreadingHTTPServer] = []

    def _start(frames_per_connection: int = 10**6) -> str:
        handler = type("H", (_Mjpeg,), {"frames_per_connection": frames_per_connection})
        srv = ThreadingHTTPServer(("127.0.0.1", 0), handler)
        srv.daemon_threads = True
        threading.Thread(target=srv.serve_forever, daemon=True).start()
        servers.append(srv)
        return f"http://127.0.0.1:{srv.server_address[1]}/stream.mjpg"

    yield _start
    for srv in servers:
        srv.shutdown()
        srv.server_close()


def _add(server: RelayServer, text: str) -> None:
    server.call(server.relay.add_camera, CameraSpec.parse(text))


def test_mjpeg_and_file_cameras_both_produce_jobs(
    start_relay: Callable[..., RelayServer], mjpeg_url: Callable[[int], str], tmp_path: Path
) -> None:
    clip = make_clip(tmp_path, duration_s=1.0, resolution_wh=(320, 240), fps=10, n_vehicles=1)
    server = start_relay(fps=5.0, auto_start=True)

    async def main() -> dict[str, dict[str, object]]:
        ws, key = await register(server.ws_url, "w")
        _add(server, f"street={mjpeg_url(10**6)}")
        _add(server, f"test={clip.video_path}")
        seen: dict[str, dict[str, object]] = {}
        deadline = time.monotonic() + 10
        while len(seen) < 2 and time.monotonic() < deadline:
            job = await recv_job(ws, timeout_s=10)
            seen.setdefault(str(job["service_id"]), job)
        async with httpx.AsyncClient(base_url=server.http_url) as http:
            job = seen["test"]
            frames = list(job["frames"])  # type: ignore[call-overload]
            assert (await http.post(f"/jobs/{job['id']}/claim", json={"worker_id": "w"})).is_success
            jpeg = await http.get(
                f"/jobs/{job['id']}/frames/{frames[0]}", headers={"X-Worker-Key": key}
            )
            assert jpeg.content[:2] == b"\xff\xd8"
        await ws.close()
        return seen

    seen = asyncio.run(main())
    assert seen["street"]["metadata"]["resolution"] == "160x120"  # type: ignore[index]
    assert seen["test"]["metadata"]["resolution"] == "320x240"  # type: ignore[index]
    services = {s["name"]: s for s in httpx.get(f"{server.http_url}/services").json()}
    assert services["street"]["kind"] == "mjpeg" and services["test"]["kind"] == "file"
    for name in ("street", "test"):
        assert services[name]["state"] == "streaming"
        assert services[name]["frames"] >= 1 and services[name]["jobs"] >= 1


def test_file_camera_loops_at_the_configured_rate(
    start_relay: Callable[..., RelayServer], tmp_path: Path
) -> None:
    clip = make_clip(tmp_path, duration_s=0.6, resolution_wh=(160, 120), fps=10, n_vehicles=1)
    server = start_relay(fps=10.0, auto_start=True)
    _add(server, f"loop={clip.video_path}")
    cam = server.relay.cameras["loop"]
    wait_until(lambda: cam.frames >= 12, timeout_s=10, what="two loops of a 6-frame clip")
    assert cam.state == "streaming" and cam.reconnects == 0


def test_extraction_waits_for_a_start_request_unless_auto(
    start_relay: Callable[..., RelayServer], mjpeg_url: Callable[[int], str]
) -> None:
    server = start_relay(fps=10.0, auto_start=False)
    _add(server, f"cam={mjpeg_url(10**6)}")
    time.sleep(0.3)
    cam = server.relay.cameras["cam"]
    assert cam.state == "idle" and cam.frames == 0
    r = httpx.post(f"{server.http_url}/services/cam/start")
    assert r.status_code == 200
    wait_until(lambda: cam.frames > 0, what="frames after start")
    assert httpx.post(f"{server.http_url}/services/cam/stop").json()["state"] == "stopped"
    assert httpx.post(f"{server.http_url}/services/nope/start").status_code == 404


def test_dropped_camera_is_reconnected_with_backoff(
    start_relay: Callable[..., RelayServer], mjpeg_url: Callable[[int], str]
) -> None:
    server = start_relay(fps=50.0, auto_start=True)
    _add(server, f"flaky={mjpeg_url(5)}")  # the server hangs up after 5 frames
    cam = server.relay.cameras["flaky"]
    wait_until(lambda: cam.reconnects >= 2, timeout_s=10, what="two reconnects")
    status = httpx.get(f"{server.http_url}/services").json()[0]
    assert status["reconnects"] >= 2
    assert status["last_error"] and "stream ended" in status["last_error"]
    assert status["frames"] >= 5


def test_missing_file_camera_shows_its_error_and_keeps_trying(
    start_relay: Callable[..., RelayServer], tmp_path: Path
) -> None:
    server = start_relay(auto_start=True)
    _add(server, f"gone={tmp_path / 'missing.mp4'}")
    cam = server.relay.cameras["gone"]
    wait_until(lambda: cam.reconnects >= 1, what="a failed open")
    assert cam.state in ("reconnecting", "connecting")
    assert cam.last_error is not None and "missing.mp4" in cam.last_error
