"""The served app of the dashboard's HTTP tests (uvicorn on 127.0.0.1, in a thread)."""

from __future__ import annotations

import socket
from dataclasses import dataclass

import httpx
from fastapi import FastAPI

from dashcam.server.deps import ServerState

KEY = "dash-test-key"


@dataclass
class Served:
    url: str
    app: FastAPI
    client: httpx.Client  # sends the key

    @property
    def st(self) -> ServerState:
        st: ServerState = self.app.state.dashcam
        return st


def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return int(s.getsockname()[1])
