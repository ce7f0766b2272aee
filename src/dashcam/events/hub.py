"""The event hub: one ``publish`` fans an event out to every destination (MQTT,
webhooks) and keeps the latest ones, numbered, for the live streams (the dashboard's
``/api/live`` and ``/api/events``, which ``dashcam events tail`` reads).

It is the :class:`~dashcam.domain.events.EventPublisher` the server, ``dashcam process``
and the relay hand their events to. Without destinations it still numbers and keeps
events (the dashboard shows them); ``publish`` never blocks on a network.
"""

from __future__ import annotations

import threading
import time
from collections import deque
from collections.abc import Callable, Sequence
from dataclasses import asdict, dataclass
from typing import Any

from dashcam.config import Settings
from dashcam.domain.events import Event
from dashcam.events.discovery import BINARY_SENSOR, SENSOR, camera_configs, config_filter
from dashcam.events.mqtt import MqttSink
from dashcam.events.status import EventSink, SinkStatus
from dashcam.events.webhook import WebhookSink

KEEP = 500  # events kept for the live streams


@dataclass(frozen=True)
class Numbered:
    """An event with its place in this process's stream and its JSON, made once."""

    seq: int
    event: Event
    json: str


class EventHub:
    """Thread-safe fan-out of events to ``sinks``; ``mqtt`` is the one MQTT sink, if any
    (for discovery configs)."""

    def __init__(
        self, sinks: Sequence[EventSink] = (), *, mqtt: MqttSink | None = None, keep: int = KEEP
    ) -> None:
        self.sinks = list(sinks)
        self.mqtt = mqtt
        self._lock = threading.Lock()
        self._kept: deque[Numbered] = deque(maxlen=keep)
        self._seq = 0

    @classmethod
    def from_settings(cls, s: Settings, *, role: str) -> EventHub:
        return cls().open(s, role=role)

    def open(self, s: Settings, *, role: str) -> EventHub:
        """Connect the destinations ``s`` configures: MQTT when ``mqtt_url``, one webhook
        sink per URL. ``role`` (server, relay, process) names this publisher's
        availability topic; the server owns the watchlist's discovery configs, the relay
        its cameras'. Returns ``self``."""
        sinks: list[EventSink] = []
        if s.mqtt_url:
            filters: list[str] = []
            if s.mqtt_discovery_prefix and role in ("server", "relay"):
                component = BINARY_SENSOR if role == "server" else SENSOR
                filters.append(
                    config_filter(s.mqtt_discovery_prefix, component, s.mqtt_topic_prefix)
                )
            self.mqtt = MqttSink(
                s.mqtt_url,
                prefix=s.mqtt_topic_prefix,
                role=role,
                client_id=s.mqtt_client_id,
                ca_file=s.mqtt_ca_file,
                buffer=s.events_buffer,
                discovery_filters=filters,
            )
            sinks.append(self.mqtt)
        sinks += [
            WebhookSink(
                url,
                secret=s.webhook_secret,
                buffer=s.events_buffer,
                max_attempts=s.webhook_max_attempts,
                timeout_s=s.webhook_timeout_s,
            )
            for url in s.webhook_urls
        ]
        self.sinks = sinks
        return self

    def publish(self, event: Event) -> None:
        with self._lock:
            self._seq += 1
            self._kept.append(Numbered(self._seq, event, event.model_dump_json()))
        for sink in self.sinks:
            sink.publish(event)

    @property
    def last_seq(self) -> int:
        return self._seq

    def since(self, seq: int, limit: int = KEEP) -> list[Numbered]:
        """Kept events numbered above ``seq``, oldest first (at most ``limit``)."""
        with self._lock:
            if self._seq <= seq:
                return []
            fresh = [n for n in self._kept if n.seq > seq]
        return fresh[:limit]

    def latest(self, n: int) -> list[Numbered]:
        """The ``n`` newest kept events, newest first."""
        with self._lock:
            return list(self._kept)[-n:][::-1]

    def status(self) -> list[SinkStatus]:
        return [s.status() for s in self.sinks]

    def summary(self, recent: int = 0) -> dict[str, Any]:
        """Events published, each destination's status, and the ``recent`` newest events
        (as JSON-ready data: ``/api/events/status`` and the dashboard's Events card)."""
        return {
            "published": self.last_seq,
            "destinations": [asdict(s) for s in self.status()],
            "recent": [
                {"seq": n.seq, **n.event.model_dump(mode="json")} for n in self.latest(recent)
            ],
        }

    def close(self, timeout_s: float = 5.0) -> None:
        """Deliver what is queued (``timeout_s`` in all), then close every sink."""
        deadline = time.monotonic() + timeout_s
        for sink in self.sinks:
            sink.close(max(0.1, deadline - time.monotonic()))


def camera_discovery(hub: EventHub, s: Settings) -> Callable[[list[str]], None] | None:
    """For the relay: keeps one "last plate" sensor per camera on ``hub``'s broker
    (None when there is no MQTT or discovery is off)."""
    mqtt = hub.mqtt
    if mqtt is None or not s.mqtt_discovery_prefix:
        return None

    def changed(cameras: list[str]) -> None:
        mqtt.set_discovery(
            camera_configs(
                cameras,
                prefix=s.mqtt_topic_prefix,
                discovery_prefix=s.mqtt_discovery_prefix,
                availability_topic=mqtt.availability,
            )
        )

    return changed
