"""What every event destination reports about its deliveries (dashboard, /metrics)."""

from __future__ import annotations

from dataclasses import dataclass
from typing import Protocol

from dashcam.domain.events import Event


@dataclass(frozen=True)
class SinkStatus:
    """One destination: ``queued`` waiting (or sent, unacknowledged), ``delivered``,
    ``dropped`` (buffer full), ``failed`` (gave up after retries)."""

    name: str
    kind: str  # mqtt | webhook
    connected: bool | None  # None: no lasting connection (webhooks)
    queued: int
    delivered: int
    dropped: int
    failed: int
    last_error: str | None


class EventSink(Protocol):
    """A destination. ``publish`` queues and returns; delivery runs in the sink's threads."""

    name: str
    kind: str

    def publish(self, event: Event) -> None: ...

    def status(self) -> SinkStatus: ...

    def drained(self) -> bool: ...

    def close(self, timeout_s: float = 5.0) -> None: ...
