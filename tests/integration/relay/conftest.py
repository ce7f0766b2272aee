"""A real relay under uvicorn on 127.0.0.1 and a free port, one per test."""

from __future__ import annotations

from collections.abc import Callable, Iterator
from typing import Any

import pytest

from dashcam.relay.hub import Relay, RelayConfig
from dashcam.relay.server import RelayServer


@pytest.fixture
def start_relay() -> Iterator[Callable[..., RelayServer]]:
    """``start_relay(job_ttl_s=..., ...)`` -> a running :class:`RelayServer` (stopped after)."""
    servers: list[RelayServer] = []

    def _start(port: int = 0, **config: Any) -> RelayServer:
        server = RelayServer(Relay(RelayConfig(**config)), port=port).start()
        servers.append(server)
        return server

    yield _start
    for server in servers:
        server.stop()


@pytest.fixture
def relay_server(start_relay: Callable[..., RelayServer]) -> RelayServer:
    return start_relay()
