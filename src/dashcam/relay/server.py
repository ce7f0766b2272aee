"""Run the relay under uvicorn: in the foreground (CLI) or in a background thread (tests, bench)."""

from __future__ import annotations

import asyncio
import socket
import threading
import time
from collections.abc import Callable
from types import TracebackType
from typing import Any, TypeVar

import uvicorn

from dashcam.errors import DashcamError
from dashcam.relay.app import create_app
from dashcam.relay.hub import Relay

T = TypeVar("T")

WS_MAX_SIZE = 1024 * 1024  # frames bigger than this close the socket (1009) in uvicorn


def uvicorn_config(
    relay: Relay, host: str, port: int, log_level: str = "warning", access_log: bool = False
) -> uvicorn.Config:
    """Per-request access lines only with ``access_log`` (a relay at 20 fps answers
    about a hundred requests a second)."""
    return uvicorn.Config(
        create_app(relay),
        host=host,
        port=port,
        log_level=log_level,
        access_log=access_log,
        ws_max_size=WS_MAX_SIZE,
        ws_ping_interval=None,  # liveness is our own heartbeat protocol
        lifespan="on",
    )


def serve(
    relay: Relay, host: str, port: int, log_level: str = "info", access_log: bool = False
) -> None:
    """Serve until interrupted (SIGINT/SIGTERM handled by uvicorn)."""
    uvicorn.Server(uvicorn_config(relay, host, port, log_level, access_log)).run()


class RelayServer:
    """The relay on ``host`` and a free port, in a daemon thread.

    >>> with RelayServer(Relay()) as srv:  # doctest: +SKIP
    ...     print(srv.http_url, srv.ws_url)
    """

    def __init__(self, relay: Relay, host: str = "127.0.0.1", port: int = 0) -> None:
        self.relay = relay
        self.host = host
        self._sock = socket.socket(socket.AF_INET, socket.SOCK_STREAM)
        self._sock.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
        self._sock.bind((host, port))
        self.port: int = self._sock.getsockname()[1]
        self._server = uvicorn.Server(uvicorn_config(relay, host, self.port))
        self._thread = threading.Thread(target=self._run, name="relay-server", daemon=True)
        self._error: BaseException | None = None

    @property
    def http_url(self) -> str:
        return f"http://{self.host}:{self.port}"

    @property
    def ws_url(self) -> str:
        return f"ws://{self.host}:{self.port}/connect"

    def _run(self) -> None:
        try:
            self._server.run(sockets=[self._sock])
        except BaseException as exc:  # re-raised in the caller by start/stop
            self._error = exc

    def start(self, timeout_s: float = 10.0) -> RelayServer:
        self._thread.start()
        deadline = time.monotonic() + timeout_s
        while not self._server.started:
            if self._error is not None or not self._thread.is_alive():
                raise DashcamError("relay server failed to start") from self._error
            if time.monotonic() > deadline:
                raise DashcamError(f"relay server not up after {timeout_s} s")
            time.sleep(0.01)
        return self

    def call(self, fn: Callable[..., T], *args: Any, timeout_s: float = 10.0) -> T:
        """Run ``fn(*args)`` on the relay's event loop thread and return its result."""
        loop = self.relay.loop
        if loop is None:
            raise DashcamError("relay is not running")

        async def _call() -> T:
            return fn(*args)

        return asyncio.run_coroutine_threadsafe(_call(), loop).result(timeout_s)

    def stop(self, timeout_s: float = 10.0) -> None:
        self._server.should_exit = True
        if self._thread.is_alive():
            self._thread.join(timeout_s)
        self._sock.close()
        if self._error is not None:
            raise DashcamError("relay server crashed") from self._error

    def __enter__(self) -> RelayServer:
        return self.start()

    def __exit__(
        self,
        exc_type: type[BaseException] | None,
        exc: BaseException | None,
        tb: TracebackType | None,
    ) -> None:
        self.stop()
