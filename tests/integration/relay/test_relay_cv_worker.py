"""The CV worker library and its backends against a real relay (and a local VLM stand-in)."""

from __future__ import annotations

import asyncio
import json
import threading
from collections.abc import Callable, Iterator
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from pathlib import Path
from typing import Any, ClassVar

import httpx
import pytest
from relay_helpers import await_until, tiny_jpeg

from dashcam.media.synthetic import make_clip
from dashcam.relay.handlers import VlmHandler, make_handler
from dashcam.relay.messages import JobOffer
from dashcam.relay.server import RelayServer
from dashcam.relay.worker import CVWorker


class CountFrames:
    def __init__(self) -> None:
        self.seen: list[tuple[str, int]] = []

    async def handle(self, job: JobOffer, frames: list[bytes]) -> dict[str, Any]:
        self.seen.append((job.id, sum(len(f) for f in frames)))
        return {"frames": len(frames), "jpeg": all(f[:2] == b"\xff\xd8" for f in frames)}


class Broken:
    async def handle(self, job: JobOffer, frames: list[bytes]) -> dict[str, Any]:
        raise RuntimeError("model exploded")


def _submit(server: RelayServer, n_frames: int = 2) -> str:
    job = server.call(server.relay.submit, "cam", [tiny_jpeg()] * n_frames, (64, 48), 1.0)
    return job.id


async def _with_worker(worker: CVWorker, body: Callable[[], Any]) -> None:
    task = asyncio.create_task(worker.run())
    try:
        await body()
    finally:
        worker.stop()
        await asyncio.wait_for(task, 10)


def test_worker_with_a_handler_claims_fetches_and_completes(relay_server: RelayServer) -> None:
    handler = CountFrames()
    lines: list[str] = []
    jobs: list[str] = []
    worker = CVWorker(
        relay_url=relay_server.ws_url, worker_id="lib", handler=handler, emit=lines.append
    )

    async def body() -> None:
        await await_until(lambda: worker.key is not None, what="registration")
        job_id = _submit(relay_server)
        jobs.append(job_id)
        await await_until(lambda: worker.jobs_completed == 1, what="completion")
        view = httpx.get(f"{relay_server.http_url}/jobs/{job_id}").json()
        assert view["state"] == "completed"
        assert view["result"] == {"frames": 2, "jpeg": True}
        assert view["claimed_by"] == "lib"

    asyncio.run(_with_worker(worker, body))
    assert handler.seen and handler.seen[0][1] == 2 * len(tiny_jpeg())
    # The log says what the job produced, not only that it completed.
    assert [ln for ln in lines if ln.startswith("completed ")] == [
        f'completed {jobs[0]}: {{"frames":2,"jpeg":true}}'
    ]


def test_handler_error_fails_the_job_with_the_error(relay_server: RelayServer) -> None:
    worker = CVWorker(relay_url=relay_server.ws_url, worker_id="b", handler=Broken())

    async def body() -> None:
        await await_until(lambda: worker.key is not None, what="registration")
        job_id = _submit(relay_server)
        await await_until(lambda: worker.jobs_failed == 1, what="failure")
        await await_until(lambda: relay_server.relay.jobs.get(job_id).state == "failed")
        view = httpx.get(f"{relay_server.http_url}/jobs/{job_id}").json()
        assert "model exploded" in view["error"]

    asyncio.run(_with_worker(worker, body))


def test_log_only_worker_logs_every_job_field_and_claims_nothing(
    relay_server: RelayServer,
) -> None:
    lines: list[str] = []
    worker = CVWorker(
        relay_url=relay_server.ws_url,
        worker_id="watcher",
        emit=lines.append,
        heartbeat_interval_s=0.1,
    )

    async def body() -> None:
        await await_until(lambda: worker.key is not None, what="registration")
        job_id = _submit(relay_server, n_frames=3)
        await await_until(lambda: worker.jobs_seen == 1, what="an offer")
        await await_until(lambda: any(line == "heartbeat" for line in lines), what="heartbeat")
        job = relay_server.relay.jobs.get(job_id)
        assert job.state == "pending"
        line = next(li for li in lines if li.startswith(f"job {job_id}"))
        assert "type=frame_analysis" in line and "service=cam" in line and "frames=3" in line
        assert all(fid in line for fid in job.frame_ids)
        assert '"resolution":"64x48"' in line

    asyncio.run(_with_worker(worker, body))
    assert lines[0].startswith("dashcam cv-worker watcher (log-only)")
    assert "registered as watcher" in lines


def test_worker_reconnects_and_re_registers_after_a_relay_restart(
    start_relay: Callable[..., RelayServer],
) -> None:
    first = start_relay()
    port = first.port
    handler = CountFrames()
    worker = CVWorker(
        relay_url=first.ws_url, worker_id="phoenix", handler=handler, reconnect_initial_s=0.1
    )
    holder: dict[str, RelayServer] = {}

    async def body() -> None:
        await await_until(lambda: worker.key is not None, what="registration")
        old_key = worker.key
        await asyncio.to_thread(first.stop)
        holder["second"] = await asyncio.to_thread(start_relay, port)
        await await_until(lambda: worker.registrations == 2, timeout_s=10, what="re-register")
        assert worker.key != old_key
        _submit(holder["second"])
        await await_until(lambda: worker.jobs_completed == 1, what="a job on the new relay")

    asyncio.run(_with_worker(worker, body))


# --- the vlm backend against a tiny local OpenAI-compatible server -------------------


class _ChatCompletions(BaseHTTPRequestHandler):
    requests: ClassVar[list[dict[str, Any]]] = []

    def do_POST(self) -> None:
        body = json.loads(self.rfile.read(int(self.headers["Content-Length"])))
        type(self).requests.append({"path": self.path, "body": body})
        images = [c for c in body["messages"][0]["content"] if c["type"] == "image_url"]
        answer = json.dumps({"plates": [{"text": "KX52ABC", "confidence": 0.9}]})
        reply = {
            "choices": [{"message": {"role": "assistant", "content": answer}}],
            "usage": {"images": len(images)},
        }
        data = json.dumps(reply).encode()
        self.send_response(200)
        self.send_header("Content-Type", "application/json")
        self.send_header("Content-Length", str(len(data)))
        self.end_headers()
        self.wfile.write(data)

    def log_message(self, format: str, *args: object) -> None:
        return


@pytest.fixture
def vlm_url() -> Iterator[str]:
    _ChatCompletions.requests = []
    srv = ThreadingHTTPServer(("127.0.0.1", 0), _ChatCompletions)
    threading.Thread(target=srv.serve_forever, daemon=True).start()
    yield f"http://127.0.0.1:{srv.server_address[1]}/v1"
    srv.shutdown()
    srv.server_close()


def test_vlm_backend_completes_jobs_with_the_models_answer(
    relay_server: RelayServer, vlm_url: str
) -> None:
    handler = make_handler("vlm", base_url=vlm_url, model="qwen3-vl-test")
    assert isinstance(handler, VlmHandler)
    worker = CVWorker(relay_url=relay_server.ws_url, worker_id="vlm", handler=handler)

    async def body() -> None:
        await await_until(lambda: worker.key is not None, what="registration")
        job_id = _submit(relay_server, n_frames=2)
        await await_until(lambda: worker.jobs_completed == 1, timeout_s=10, what="completion")
        result = httpx.get(f"{relay_server.http_url}/jobs/{job_id}").json()["result"]
        assert result["model"] == "qwen3-vl-test"
        assert result["plates"] == [{"text": "KX52ABC", "confidence": 0.9, "vehicle": ""}]

    asyncio.run(_with_worker(worker, body))
    (request,) = _ChatCompletions.requests
    assert request["path"] == "/v1/chat/completions"
    assert request["body"]["model"] == "qwen3-vl-test"
    images = [c for c in request["body"]["messages"][0]["content"] if c["type"] == "image_url"]
    assert len(images) == 2 and images[0]["image_url"]["url"].startswith("data:image/jpeg;base64,")


def test_unknown_backend_is_a_clear_error() -> None:
    from dashcam.errors import InputError

    with pytest.raises(InputError, match="plates, vlm"):
        make_handler("magic")


def test_plates_backend_reads_the_plate_in_a_synthetic_frame(
    relay_server: RelayServer, tmp_path: Path
) -> None:
    import av
    import cv2

    clip = make_clip(tmp_path, duration_s=2, resolution_wh=(1280, 720), fps=10, n_vehicles=1)
    with av.open(str(clip.video_path)) as container:
        bgr = [f.to_ndarray(format="bgr24") for f in container.decode(video=0)][10]
    jpeg = bytes(cv2.imencode(".jpg", bgr)[1].tobytes())
    worker = CVWorker(relay_url=relay_server.ws_url, worker_id="p", handler=make_handler("plates"))

    async def body() -> None:
        await await_until(lambda: worker.key is not None, what="registration")
        job = relay_server.call(relay_server.relay.submit, "cam", [jpeg], (1280, 720), 1.0)
        await await_until(lambda: worker.jobs_completed == 1, timeout_s=30, what="completion")
        result = relay_server.relay.jobs.get(job.id).result
        assert result is not None and result["backend"] == "plates"
        built_in = {"plate_detector": "text+contour", "plate_reader": "rapidocr"}
        assert result["model_info"] == built_in
        texts = [p["text"] for p in result["plates"]]
        assert texts and texts[0] in {p.text for p in clip.plates}
        assert result["plates"][0]["frame"] == job.frame_ids[0]

    asyncio.run(_with_worker(worker, body))


def test_plates_backend_learns_each_cameras_overlay_and_keeps_reporting_plates() -> None:
    import cv2

    from dashcam.media.frames import road_frame
    from dashcam.relay.messages import JobMetadata, JobOffer

    handler = make_handler("plates")
    base = road_frame(5, n_vehicles=1)
    ((text, (x0, y0, x1, y1)),) = base.plates
    plate = base.image[y0:y1, x0:x1].copy()

    def frame(k: int) -> bytes:
        img = base.image.copy()
        img[y0:y1, x0:x1] = img[y0 - 40 : y1 - 40, x0:x1]  # hide the plate's old place
        dy, dx = (k % 3) * 4 - 4, (k % 4) * 5  # the car ahead moves on screen
        img[y0 + dy : y1 + dy, x0 + dx : x1 + dx] = plate
        cv2.rectangle(img, (30, 660), (400, 712), (250, 250, 250), -1)
        cv2.putText(img, "KH83YVD", (40, 705), cv2.FONT_HERSHEY_DUPLEX, 1.6, (20, 20, 20), 3)
        return bytes(cv2.imencode(".jpg", img)[1].tobytes())

    def offer(camera: str, k: int) -> JobOffer:
        meta = JobMetadata(resolution="1280x720")
        return JobOffer(
            id=f"{camera}{k}", service_id=camera, timestamp=k * 0.5, frames=["f"], metadata=meta
        )

    async def run(camera: str, ks: range) -> list[list[str]]:
        out = []
        for k in ks:
            result = await handler.handle(offer(camera, k), [frame(k)])
            out.append([p["text"] for p in result["plates"]])
        return out

    seen = asyncio.run(run("front", range(12)))  # 6 s of one camera
    assert all(text in texts for texts in seen)  # the moving plate, always
    assert "KH83YVD" in seen[0]  # the burned-in text reads like a plate at first ...
    assert all("KH83YVD" not in texts for texts in seen[-4:])  # ... until it is learned
    other = asyncio.run(run("rear", range(1)))  # another camera learns on its own
    assert "KH83YVD" in other[0]
