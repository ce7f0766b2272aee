"""``serve(**settings)``: a real server on 127.0.0.1 with the key ``s3cret`` (stopped after)."""

from __future__ import annotations

from collections.abc import Callable, Iterator
from pathlib import Path
from typing import Any

import pytest
from server_helpers import ThreadServer

from dashcam.config import load_settings


@pytest.fixture
def serve(tmp_path: Path) -> Iterator[Callable[..., ThreadServer]]:
    started: list[ThreadServer] = []

    def start(**overrides: Any) -> ThreadServer:
        overrides.setdefault("data_dir", tmp_path / "data")
        srv = ThreadServer(load_settings(api_key="s3cret", **overrides))
        started.append(srv)
        return srv

    yield start
    for srv in started:
        srv.close()
