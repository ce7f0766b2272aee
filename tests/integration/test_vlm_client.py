"""VlmClient against a tiny OpenAI-compatible server on 127.0.0.1 (real HTTP, real sockets)."""

from __future__ import annotations

import asyncio
import base64
import re
import socket
import threading
import time
from collections.abc import Iterator
from dataclasses import dataclass, field
from typing import Any

import numpy as np
import pytest
import uvicorn
from fastapi import FastAPI, Request
from fastapi.responses import JSONResponse

from dashcam.backends.vlm import PLATE_PROMPT, VlmClient, VlmError, VlmPlateRead, parse_plates
from dashcam.errors import BackendUnavailable

JPEG = b"\xff\xd8\xff\xe0" + b"fake jpeg body"
PNG = b"\x89PNG\r\n\x1a\n" + b"fake png body"


@dataclass
class FakeVlm:
    """Records every request; answers with ``answer`` or fails with ``status``."""

    answer: str = "A red car on a wet road."
    status: int = 200
    requests: list[dict[str, Any]] = field(default_factory=list)
    headers: list[dict[str, str]] = field(default_factory=list)


def _app(state: FakeVlm) -> FastAPI:
    app = FastAPI()

    @app.post("/v1/chat/completions")
    async def complete(request: Request) -> JSONResponse:
        state.requests.append(await request.json())
        state.headers.append(dict(request.headers))
        if state.status != 200:
            return JSONResponse({"error": {"message": "model crashed"}}, status_code=state.status)
        return JSONResponse(
            {
                "id": "chatcmpl-1",
                "object": "chat.completion",
                "model": state.requests[-1]["model"],
                "choices": [
                    {
                        "index": 0,
                        "message": {"role": "assistant", "content": state.answer},
                        "finish_reason": "stop",
                    }
                ],
            }
        )

    return app


def _free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return int(s.getsockname()[1])


@pytest.fixture(scope="module")
def server() -> Iterator[tuple[str, FakeVlm]]:
    state = FakeVlm()
    port = _free_port()
    srv = uvicorn.Server(
        uvicorn.Config(_app(state), host="127.0.0.1", port=port, log_level="warning")
    )
    thread = threading.Thread(target=srv.run, daemon=True)
    thread.start()
    deadline = time.monotonic() + 10
    while not srv.started:
        if time.monotonic() > deadline or not thread.is_alive():
            raise RuntimeError("test VLM server did not start")
        time.sleep(0.02)
    yield f"http://127.0.0.1:{port}/v1", state
    srv.should_exit = True
    thread.join(timeout=5)


@pytest.fixture
def fake(server: tuple[str, FakeVlm]) -> Iterator[tuple[str, FakeVlm]]:
    url, state = server
    state.answer, state.status = "A red car on a wet road.", 200
    state.requests.clear()
    state.headers.clear()
    yield url, state


def test_describe_sends_prompt_and_base64_images(fake: tuple[str, FakeVlm]) -> None:
    url, state = fake
    with VlmClient(url + "/", "qwen3-vl", "What is in these frames?", api_key="k3y") as vlm:
        assert vlm.describe([JPEG, PNG]) == "A red car on a wet road."
    (body,) = state.requests
    assert body["model"] == "qwen3-vl"
    (message,) = body["messages"]
    assert message["role"] == "user"
    text, img1, img2 = message["content"]
    assert text == {"type": "text", "text": "What is in these frames?"}
    assert img1["type"] == "image_url"
    prefix = "data:image/jpeg;base64,"
    assert img1["image_url"]["url"].startswith(prefix)
    assert base64.b64decode(img1["image_url"]["url"][len(prefix) :]) == JPEG
    assert img2["image_url"]["url"].startswith("data:image/png;base64,")
    assert state.headers[0]["authorization"] == "Bearer k3y"


def test_bgr_array_is_sent_as_a_real_jpeg(fake: tuple[str, FakeVlm]) -> None:
    import cv2

    url, state = fake
    frame = np.zeros((32, 48, 3), np.uint8)
    frame[:, :24] = (0, 0, 255)
    VlmClient(url, "m", "p").describe([frame])
    data = state.requests[0]["messages"][0]["content"][1]["image_url"]["url"].split(",", 1)[1]
    decoded = cv2.imdecode(np.frombuffer(base64.b64decode(data), np.uint8), cv2.IMREAD_COLOR)
    assert decoded.shape == (32, 48, 3)
    assert decoded[16, 5, 2] > 200 and decoded[16, 40, 2] < 50  # red left half survived


def test_read_plates_parses_a_fenced_json_answer(fake: tuple[str, FakeVlm]) -> None:
    url, state = fake
    state.answer = (
        "Here you go:\n```json\n"
        '{"plates": [{"text": "ab12 cde", "confidence": 0.93, "vehicle": "blue van"},'
        ' {"text": "", "confidence": 0.1}]}\n```'
    )
    plates = VlmClient(url, "m", "describe").read_plates(JPEG)
    assert plates == [VlmPlateRead("AB12CDE", 0.93, "blue van")]
    assert state.requests[0]["messages"][0]["content"][0]["text"] == PLATE_PROMPT
    assert state.requests[0]["temperature"] == 0


def test_async_variants(fake: tuple[str, FakeVlm]) -> None:
    url, state = fake
    vlm = VlmClient(url, "m", "p")

    async def both() -> tuple[str, list[VlmPlateRead]]:
        text = await vlm.adescribe([JPEG])
        state.answer = '[{"text": "XYZ 789"}]'
        return text, await vlm.aread_plates(PNG)

    text, plates = asyncio.run(both())
    assert text == "A red car on a wet road."
    assert plates == [VlmPlateRead("XYZ789")]
    assert len(state.requests) == 2


def test_http_500_is_an_error_with_the_status(fake: tuple[str, FakeVlm]) -> None:
    url, state = fake
    state.status = 500
    with pytest.raises(VlmError, match=r"HTTP 500: .*model crashed") as info:
        VlmClient(url, "m", "p").describe([JPEG])
    assert info.value.status_code == 500
    with pytest.raises(VlmError) as ainfo:
        asyncio.run(VlmClient(url, "m", "p").adescribe([JPEG]))
    assert ainfo.value.status_code == 500


def test_answer_without_the_json_asked_for(fake: tuple[str, FakeVlm]) -> None:
    url, state = fake
    state.answer = "I cannot see any plate, sorry."
    with pytest.raises(VlmError, match="not the JSON"):
        VlmClient(url, "m", "p").read_plates(JPEG)


def test_connection_refused_names_the_url() -> None:
    url = f"http://127.0.0.1:{_free_port()}/v1"  # nothing listens there now
    with pytest.raises(
        BackendUnavailable, match=re.escape(f"{url}/chat/completions is unreachable")
    ):
        VlmClient(url, "m", "p", timeout_s=5).describe([JPEG])
    with pytest.raises(BackendUnavailable, match="unreachable"):
        asyncio.run(VlmClient(url, "m", "p", timeout_s=5).adescribe([JPEG]))


@pytest.mark.parametrize(
    ("answer", "expected"),
    [
        ('{"plates": []}', []),
        ('["AB-123", "cd 456"]', [VlmPlateRead("AB123"), VlmPlateRead("CD456")]),
        ('Result: {"text": "K9", "confidence": "high"} done', [VlmPlateRead("K9")]),
        ('```\n{"plates": [{"plate": "Q1", "confidence": 7}]}\n```', [VlmPlateRead("Q1", 1.0)]),
    ],
)
def test_parse_plates_is_lenient(answer: str, expected: list[VlmPlateRead]) -> None:
    assert parse_plates(answer) == expected
