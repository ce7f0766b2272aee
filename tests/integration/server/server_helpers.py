"""The server app under uvicorn in a thread on 127.0.0.1, for tests that need real HTTP."""

from __future__ import annotations

import socket
import threading
import time

import httpx
import uvicorn

from dashcam.config import Settings
from dashcam.server.app import create_app
from dashcam.server.deps import ServerState

KEY = {"Authorization": "Bearer s3cret"}


def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return int(s.getsockname()[1])


class ThreadServer:
    """``create_app(settings)`` served on a free port; ``http`` sends the test key."""

    def __init__(self, settings: Settings) -> None:
        port = free_port()
        self.url = f"http://127.0.0.1:{port}"
        self.app = create_app(settings, sweep_interval_s=0.1)
        cfg = uvicorn.Config(self.app, host="127.0.0.1", port=port, log_level="warning")
        self.server = uvicorn.Server(cfg)
        self.thread = threading.Thread(target=self.server.run, daemon=True)
        self.thread.start()
        deadline = time.monotonic() + 20
        while not self.server.started:
            assert time.monotonic() < deadline, "server did not start"
            time.sleep(0.05)
        self.http = httpx.Client(base_url=self.url, headers=KEY, timeout=10)

    @property
    def st(self) -> ServerState:
        st: ServerState = self.app.state.dashcam
        return st

    def close(self) -> None:
        self.http.close()
        self.server.should_exit = True
        self.thread.join(timeout=10)
