"""Fixtures for the event tests: brokers, subscribers, and a server publishing to them."""

from __future__ import annotations

import sys
from collections.abc import Callable, Iterator
from pathlib import Path
from typing import Any

import pytest

sys.path.insert(0, str(Path(__file__).resolve().parents[1] / "server"))  # server_helpers
sys.path.insert(0, str(Path(__file__).resolve().parents[1] / "relay"))  # relay_helpers

from mqtt_helpers import PrivateBroker, Subscriber, system_broker
from server_helpers import ThreadServer
from webhook_helpers import Receiver, running_receiver

from dashcam.config import load_settings


@pytest.fixture
def serve(tmp_path: Path) -> Iterator[Callable[..., ThreadServer]]:
    """``serve(**settings)``: a real server on 127.0.0.1 with the key ``s3cret``."""
    started: list[ThreadServer] = []

    def start(**overrides: Any) -> ThreadServer:
        overrides.setdefault("data_dir", tmp_path / "data")
        srv = ThreadServer(load_settings(api_key="s3cret", **overrides))
        started.append(srv)
        return srv

    yield start
    for srv in started:
        srv.close()


@pytest.fixture
def broker_port() -> int:
    """The machine's Mosquitto (skipped with the reason when it is down)."""
    return system_broker()[1]


@pytest.fixture
def private_broker(tmp_path: Path) -> Iterator[PrivateBroker]:
    b = PrivateBroker(tmp_path / "broker")
    yield b
    b.stop()


@pytest.fixture
def subscribe() -> Iterator[Callable[..., Subscriber]]:
    subs: list[Subscriber] = []

    def make(port: int, *filters: str, **kw: Any) -> Subscriber:
        s = Subscriber(port, *filters, **kw)
        subs.append(s)
        return s

    yield make
    for s in subs:
        s.close()


@pytest.fixture
def receiver() -> Iterator[Receiver]:
    """A webhook receiver on 127.0.0.1 (see ``webhook_helpers.Receiver``)."""
    with running_receiver() as rec:
        yield rec
