"""Every operation of the server's OpenAPI schema, driven by generated requests (valid and
invalid) against a real server on 127.0.0.1: no 5xx, every answer as documented."""

from __future__ import annotations

import json
import socket
import threading
import time
from collections.abc import Iterator
from pathlib import Path

import pytest
import uvicorn

from dashcam.config import load_settings
from dashcam.domain.sighting import PlateObservation, Sighting
from dashcam.server.app import create_app
from dashcam.server.deps import ServerState
from dashcam.store.schema import VideoStatus
from dashcam.store.task_schema import TaskType
from openapi_fuzz import fuzz_openapi

KEY = "fuzz-key"


def _free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return int(s.getsockname()[1])


def _seed(st: ServerState, out: Path) -> None:
    """A video with a sighting and a crop, and tasks in several states."""
    (out / "crops").mkdir(parents=True)
    (out / "crops" / "a.jpg").write_bytes(b"\xff\xd8jpeg\xff\xd9")
    st.repo.upsert_video("v1", "/nas/v1.mp4", status=VideoStatus.DONE, output_dir=str(out))
    read = PlateObservation(0, 0.0, "AB12CDE", 0.9, (1, 2, 3, 4), track_id=1)
    st.repo.replace_sightings(
        "v1",
        [
            Sighting(
                "v1", 1, "AB12CDE", 0.9, 0.0, 1.0, 0, (1, 2, 3, 4), 1, 1_714_550_400_000,
                1_714_550_401_000, best_crop_path="crops/a.jpg", reads=(read,),
            )
        ],
    )  # fmt: skip
    for i in range(3):
        st.queue.enqueue(
            TaskType.HEAVY_PROCESS_VIDEO,
            {"video_id": f"q{i}", "raw_video": f"/nas/q{i}.mp4"},
            video_id=f"q{i}",
        )


@pytest.fixture
def server(tmp_path: Path) -> Iterator[str]:
    settings = load_settings(data_dir=tmp_path / "data", api_key=KEY, nas_mount=tmp_path / "nas")
    app = create_app(settings, sweep_interval_s=0.5)
    _seed(app.state.dashcam, settings.heavy_output / "v1")
    port = _free_port()
    srv = uvicorn.Server(uvicorn.Config(app, host="127.0.0.1", port=port, log_level="critical"))
    thread = threading.Thread(target=srv.run, daemon=True)
    thread.start()
    deadline = time.monotonic() + 20
    while not srv.started:
        assert time.monotonic() < deadline, "server did not start"
        time.sleep(0.05)
    yield f"http://127.0.0.1:{port}"
    srv.should_exit = True
    thread.join(timeout=10)


@pytest.mark.slow
def test_every_server_operation_answers_as_documented_and_never_5xx(server: str) -> None:
    report = fuzz_openapi(
        server, headers={"Authorization": f"Bearer {KEY}"}, max_examples=20, budget_s=100
    )
    print(json.dumps({"server_fuzz": report.summary()}))
    assert len(report.sent) == report.operations > 25  # every operation was sent requests
    assert report.requests >= 20 * report.operations  # the budget did not cut the run short
    assert report.server_errors == 0, report.failures
    assert not report.failures, json.dumps(report.failures, indent=1)
