"""Shared fixtures: a clean DASHCAM_* environment and a per-test data dir."""

from __future__ import annotations

import os
from collections.abc import Iterator
from pathlib import Path

import pytest

_KEEP = {"DASHCAM_TEST_POSTGRES_URL"}
_UNPREFIXED = {
    "NUM_GPU_WORKERS",
    "NUM_CPU_WORKERS",
    "NUM_VIDEO_READERS",
    "MAX_GPU_BACKLOG",
    "MAX_CPU_BACKLOG",
    "QUEUE_SOFT_LIMIT",
    "QUEUE_HARD_LIMIT",
    "AUTO_REQUEST_REALTIME_STREAM",
}


@pytest.fixture(autouse=True)
def clean_env(monkeypatch: pytest.MonkeyPatch, tmp_path: Path) -> Iterator[None]:
    for key in list(os.environ):
        if (key.startswith("DASHCAM_") and key not in _KEEP) or key in _UNPREFIXED:
            monkeypatch.delenv(key, raising=False)
    monkeypatch.setenv("DASHCAM_DATA_DIR", str(tmp_path / "data"))
    yield
