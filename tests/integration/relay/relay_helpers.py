"""Relay test helpers: a tiny JPEG, registering real WebSocket clients, awaiting messages."""

from __future__ import annotations

import asyncio
import json
import time
from collections.abc import Callable
from typing import Any

import cv2
import numpy as np
import websockets
from websockets.asyncio.client import ClientConnection


def tiny_jpeg(width: int = 64, height: int = 48, value: int = 128) -> bytes:
    image = np.full((height, width, 3), value, np.uint8)
    ok, buf = cv2.imencode(".jpg", image)
    assert ok
    return bytes(buf.tobytes())


async def register(ws_url: str, worker_id: str, **kwargs: Any) -> tuple[ClientConnection, str]:
    """Open a real WebSocket, register, return it with the key the relay gave."""
    ws = await websockets.connect(ws_url, ping_interval=None, **kwargs)
    await ws.send(json.dumps({"type": "register", "data": {"worker_id": worker_id}}))
    msg = await recv_type(ws, "registered")
    assert msg["data"]["worker_id"] == worker_id
    return ws, str(msg["data"]["key"])


async def recv_type(ws: ClientConnection, kind: str, timeout_s: float = 5.0) -> dict[str, Any]:
    """The next message of type ``kind`` (others are skipped)."""
    deadline = time.monotonic() + timeout_s
    while True:
        left = deadline - time.monotonic()
        if left <= 0:
            raise TimeoutError(f"no {kind!r} message within {timeout_s} s")
        msg = json.loads(await asyncio.wait_for(ws.recv(), left))
        if msg["type"] == kind:
            return dict(msg)


async def recv_job(
    ws: ClientConnection, job_id: str | None = None, timeout_s: float = 5.0
) -> dict[str, Any]:
    """The next ``job_available`` offer (for ``job_id`` if given)."""
    deadline = time.monotonic() + timeout_s
    while True:
        msg = await recv_type(ws, "job_available", max(0.01, deadline - time.monotonic()))
        if job_id is None or msg["job"]["id"] == job_id:
            return dict(msg["job"])


def wait_until(predicate: Callable[[], bool], timeout_s: float = 5.0, what: str = "") -> None:
    deadline = time.monotonic() + timeout_s
    while not predicate():
        if time.monotonic() > deadline:
            raise AssertionError(f"timed out after {timeout_s} s waiting for {what or predicate}")
        time.sleep(0.02)


async def await_until(
    predicate: Callable[[], bool], timeout_s: float = 5.0, what: str = ""
) -> None:
    deadline = time.monotonic() + timeout_s
    while not predicate():
        if time.monotonic() > deadline:
            raise AssertionError(f"timed out after {timeout_s} s waiting for {what or predicate}")
        await asyncio.sleep(0.02)
