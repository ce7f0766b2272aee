"""Queue fixtures: the same tests on SQLite and on PostgreSQL, and a live server."""

from __future__ import annotations

import os
import socket
import threading
import time
import uuid
from collections.abc import Iterator
from pathlib import Path

import pytest
import uvicorn
from sqlalchemy import create_engine, text

from dashcam.config import Settings, load_settings
from dashcam.server.app import create_app

PG_URL = os.environ.get("DASHCAM_TEST_POSTGRES_URL")
POSTGRESQL = pytest.param(
    "postgresql",
    marks=pytest.mark.skipif(
        not PG_URL, reason="PostgreSQL tests need DASHCAM_TEST_POSTGRES_URL (set by .ci/run)"
    ),
)


@pytest.fixture(params=["sqlite", POSTGRESQL])
def db_url(request: pytest.FixtureRequest, tmp_path: Path) -> Iterator[str]:
    """A fresh database URL (a SQLite file, or a PostgreSQL schema of its own)."""
    if request.param == "sqlite":
        yield f"sqlite:///{tmp_path / 'queue.db'}"
        return
    schema = f"q_{uuid.uuid4().hex[:12]}"
    admin = create_engine(PG_URL)
    with admin.begin() as conn:
        conn.execute(text(f"CREATE SCHEMA {schema}"))
    sep = "&" if "?" in PG_URL else "?"
    yield f"{PG_URL}{sep}options=-csearch_path%3D{schema}"
    with admin.begin() as conn:
        conn.execute(text(f"DROP SCHEMA {schema} CASCADE"))
    admin.dispose()


def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return int(s.getsockname()[1])


class LiveServer:
    def __init__(self, settings: Settings, sweep_interval_s: float = 0.2) -> None:
        self.port = free_port()
        self.url = f"http://127.0.0.1:{self.port}"
        self.app = create_app(settings, sweep_interval_s=sweep_interval_s)
        cfg = uvicorn.Config(self.app, host="127.0.0.1", port=self.port, log_level="warning")
        self.server = uvicorn.Server(cfg)
        self.thread = threading.Thread(target=self.server.run, daemon=True)

    def __enter__(self) -> LiveServer:
        self.thread.start()
        deadline = time.time() + 20
        while not self.server.started:
            assert time.time() < deadline, "server did not start"
            time.sleep(0.05)
        return self

    def __exit__(self, *exc: object) -> None:
        self.server.should_exit = True
        self.thread.join(timeout=10)


@pytest.fixture
def server_settings(db_url: str, tmp_path: Path) -> Settings:
    return load_settings(
        database_url=db_url, data_dir=tmp_path / "data", api_key="k3y", lease_s=30.0
    )


@pytest.fixture
def live_server(server_settings: Settings) -> Iterator[LiveServer]:
    with LiveServer(server_settings) as srv:
        yield srv
