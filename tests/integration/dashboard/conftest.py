"""A real server (uvicorn on 127.0.0.1, in a thread) for the dashboard's HTTP tests."""

from __future__ import annotations

import threading
import time
from collections.abc import Callable, Iterator
from pathlib import Path
from typing import Any

import httpx
import pytest
import uvicorn
from dashboard_server import KEY, Served, free_port

from dashcam.config import load_settings
from dashcam.server.app import create_app


@pytest.fixture
def serve(tmp_path: Path) -> Iterator[Callable[..., Served]]:
    """``serve(**settings)`` starts a server on a free port; all are stopped at teardown."""
    running: list[tuple[uvicorn.Server, threading.Thread, httpx.Client]] = []

    def start(**overrides: Any) -> Served:
        overrides.setdefault("api_key", KEY)
        settings = load_settings(data_dir=tmp_path / f"data{len(running)}", **overrides)
        app = create_app(settings, sweep_interval_s=0.5)
        port = free_port()
        server = uvicorn.Server(
            uvicorn.Config(
                app, host="127.0.0.1", port=port, log_level="warning", timeout_graceful_shutdown=2
            )
        )
        thread = threading.Thread(target=server.run, daemon=True)
        thread.start()
        url = f"http://127.0.0.1:{port}"
        headers = {"Authorization": f"Bearer {settings.api_key}"} if settings.api_key else {}
        client = httpx.Client(base_url=url, headers=headers, timeout=30)
        running.append((server, thread, client))
        deadline = time.time() + 20
        while not server.started:
            assert time.time() < deadline, "server did not start"
            time.sleep(0.02)
        return Served(url, app, client)

    yield start
    for server, thread, client in running:
        client.close()
        server.should_exit = True
        thread.join(timeout=10)
