"""A real Mosquitto for the event tests: the machine's broker on 127.0.0.1:1883 (tests
skip with the reason when it is down; CI starts it), or a private one on a free port
that a test may stop and start again (skipped when ``mosquitto`` is not installed)."""

from __future__ import annotations

import json
import queue
import shutil
import socket
import subprocess
import time
import uuid
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import paho.mqtt.client as mqtt
import pytest
from paho.mqtt.enums import CallbackAPIVersion

SYSTEM_BROKER = ("127.0.0.1", 1883)
WAIT_S = 20.0  # a bound on waiting for a message, not a speed goal


def reachable(host: str, port: int) -> bool:
    try:
        with socket.create_connection((host, port), timeout=1.0):
            return True
    except OSError:
        return False


def system_broker() -> tuple[str, int]:
    if not reachable(*SYSTEM_BROKER):
        pytest.skip(
            "Mosquitto is not running on 127.0.0.1:1883 (start it with "
            "`mosquitto -d -c /etc/mosquitto/mosquitto.conf`; .ci/run does)"
        )
    return SYSTEM_BROKER


def unique_prefix() -> str:
    """A topic root of our own on a shared broker."""
    return f"dashcam-test-{uuid.uuid4().hex[:10]}"


@dataclass
class Message:
    topic: str
    payload: bytes
    retain: bool

    def json(self) -> Any:
        return json.loads(self.payload)


class Subscriber:
    """A plain paho client that collects what arrives on ``filters`` (QoS 1)."""

    def __init__(
        self, port: int, *filters: str, client_id: str | None = None, clean: bool = True
    ) -> None:
        self.messages: queue.Queue[Message] = queue.Queue()
        self._subscribed: queue.Queue[bool] = queue.Queue()
        self.filters = filters
        self.client = mqtt.Client(
            CallbackAPIVersion.VERSION2,
            client_id=client_id or f"sub-{uuid.uuid4().hex[:8]}",
            clean_session=clean,
        )
        self.client.on_connect = self._on_connect
        self.client.on_subscribe = lambda *a: self._subscribed.put(True)
        self.client.on_message = lambda _c, _u, m: self.messages.put(
            Message(m.topic, m.payload, bool(m.retain))
        )
        self.client.connect("127.0.0.1", port, keepalive=30)
        self.client.loop_start()
        if filters:
            self._subscribed.get(timeout=WAIT_S)

    def _on_connect(self, client: mqtt.Client, *_: Any) -> None:
        for f in self.filters:
            client.subscribe(f, qos=1)

    def next(self, timeout_s: float = WAIT_S) -> Message:
        try:
            return self.messages.get(timeout=timeout_s)
        except queue.Empty:
            what = f"no MQTT message on {self.filters} within {timeout_s} s"
            raise AssertionError(what) from None

    def until(self, pred: Any, timeout_s: float = WAIT_S) -> Message:
        """The first message for which ``pred(message)`` holds (others are skipped)."""
        deadline = time.monotonic() + timeout_s
        while True:
            m = self.next(max(0.01, deadline - time.monotonic()))
            if pred(m):
                return m

    def take(self, n: int, timeout_s: float = WAIT_S) -> list[Message]:
        return [self.next(timeout_s) for _ in range(n)]

    def drain(self, settle_s: float = 1.0) -> list[Message]:
        """Everything that arrives until nothing has for ``settle_s``."""
        out = []
        while True:
            try:
                out.append(self.messages.get(timeout=settle_s))
            except queue.Empty:
                return out

    def close(self) -> None:
        self.client.disconnect()
        self.client.loop_stop()


class PrivateBroker:
    """``mosquitto`` on a free loopback port, persisting sessions in ``folder`` so a
    subscriber's queued QoS 1 messages survive :meth:`restart`."""

    def __init__(self, folder: Path) -> None:
        exe = shutil.which("mosquitto") or (
            "/usr/sbin/mosquitto" if Path("/usr/sbin/mosquitto").exists() else None
        )
        if exe is None:
            pytest.skip("mosquitto is not installed (Debian: apt-get install mosquitto)")
        self.exe = exe
        with socket.socket() as s:
            s.bind(("127.0.0.1", 0))
            self.port = int(s.getsockname()[1])
        folder.mkdir(parents=True, exist_ok=True)
        self.conf = folder / "mosquitto.conf"
        self.conf.write_text(
            f"listener {self.port} 127.0.0.1\nallow_anonymous true\n"
            f"persistence true\npersistence_location {folder}/\n"
            "autosave_interval 1\n"
        )
        self.proc: subprocess.Popen[bytes] | None = None
        self.start()

    def start(self) -> None:
        self.proc = subprocess.Popen(
            [self.exe, "-c", str(self.conf)], stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL
        )
        deadline = time.monotonic() + WAIT_S
        while not reachable("127.0.0.1", self.port):
            assert self.proc.poll() is None, "mosquitto exited at start"
            assert time.monotonic() < deadline, "mosquitto did not start"
            time.sleep(0.05)

    def stop(self) -> None:
        if self.proc is not None and self.proc.poll() is None:
            self.proc.terminate()  # SIGTERM: mosquitto saves its sessions first
            self.proc.wait(timeout=WAIT_S)
        self.proc = None

    def restart(self) -> None:
        self.stop()
        self.start()
