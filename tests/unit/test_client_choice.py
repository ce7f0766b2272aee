"""Which transport a read command uses: ``--server``, then ``DASHCAM_SERVER_URL`` (set in
the environment or the config file), else the local database."""

from __future__ import annotations

from pathlib import Path

import pytest

from dashcam.client.connect import chosen_server
from dashcam.config import load_settings


@pytest.mark.parametrize(
    ("env_url", "flag", "expected"),
    [
        (None, None, None),  # only the default URL: the local database
        ("http://server:8000", None, "http://server:8000"),
        ("http://server:8000", "http://other:9000", "http://other:9000"),
        (None, "http://other:9000", "http://other:9000"),
    ],
)
def test_server_url_from_flag_or_environment(
    monkeypatch: pytest.MonkeyPatch, env_url: str | None, flag: str | None, expected: str | None
) -> None:
    if env_url:
        monkeypatch.setenv("DASHCAM_SERVER_URL", env_url)
    assert chosen_server(load_settings(), flag) == expected


def test_server_url_from_the_config_file(monkeypatch: pytest.MonkeyPatch, tmp_path: Path) -> None:
    cfg = tmp_path / "dashcam.yaml"
    cfg.write_text("server_url: http://nas:8000\n")
    monkeypatch.setenv("DASHCAM_CONFIG", str(cfg))
    assert chosen_server(load_settings(), None) == "http://nas:8000"
