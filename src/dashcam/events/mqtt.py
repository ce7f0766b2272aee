"""MQTT: events to a broker (paho-mqtt), QoS 1, with a retained availability topic and
its last will, Home Assistant discovery configs, and a bounded buffer while the broker
is away.

Threads: paho's network loop (connects, reconnects with backoff, acknowledges) and one
sender that hands queued events to paho while connected, at most ``window`` unacknowledged
at a time (paho re-sends those after a reconnect). ``publish`` only appends to the buffer:
a full buffer drops its oldest event and counts it.
"""

from __future__ import annotations

import contextlib
import logging
import socket
import ssl
import threading
from collections import deque
from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import Any
from urllib.parse import unquote, urlsplit

import paho.mqtt.client as mqtt
from paho.mqtt.enums import CallbackAPIVersion, MQTTErrorCode

from dashcam.domain.events import Event, topics
from dashcam.errors import ConfigError
from dashcam.events.status import SinkStatus

log = logging.getLogger(__name__)

ONLINE, OFFLINE = "online", "offline"


@dataclass(frozen=True)
class BrokerAddress:
    host: str
    port: int
    username: str | None
    password: str | None
    tls: bool


def parse_mqtt_url(url: str) -> BrokerAddress:
    """``mqtt://user:pass@host:1883`` (``mqtts://``: TLS, default port 8883).

    >>> parse_mqtt_url("mqtt://ha:p%40ss@broker.lan")
    BrokerAddress(host='broker.lan', port=1883, username='ha', password='p@ss', tls=False)
    """
    parts = urlsplit(url)
    if parts.scheme not in ("mqtt", "mqtts") or not parts.hostname:
        raise ConfigError(f"DASHCAM_MQTT_URL {url!r}: expected mqtt://[user:pass@]host[:port]")
    tls = parts.scheme == "mqtts"
    try:
        port = parts.port or (8883 if tls else 1883)
    except ValueError as exc:
        raise ConfigError(f"DASHCAM_MQTT_URL {url!r}: {exc}") from None
    return BrokerAddress(
        host=parts.hostname,
        port=port,
        username=unquote(parts.username) if parts.username else None,
        password=unquote(parts.password) if parts.password else None,
        tls=tls,
    )


def availability_topic(prefix: str, role: str) -> str:
    """The server's is ``<prefix>/available``; a relay's or a local run's
    ``<prefix>/<role>/available`` (so a short run never marks the server offline)."""
    return f"{prefix}/available" if role == "server" else f"{prefix}/{role}/available"


class MqttSink:
    """Publishes events to one broker. Thread-safe; ``close`` drains, then says offline."""

    kind = "mqtt"

    def __init__(
        self,
        url: str,
        *,
        prefix: str = "dashcam",
        role: str = "server",
        client_id: str | None = None,
        ca_file: Path | None = None,
        buffer: int = 1000,
        window: int = 100,
        reconnect_max_s: float = 30.0,
        keepalive_s: int = 30,
        discovery_filters: Sequence[str] = (),
    ) -> None:
        self.address = parse_mqtt_url(url)
        self.name = f"mqtt://{self.address.host}:{self.address.port}"
        self.prefix = prefix
        self.availability = availability_topic(prefix, role)
        self.buffer = buffer
        self.window = window
        self._cond = threading.Condition()
        self._queue: deque[Event] = deque()
        self._unacked: dict[int, bool] = {}  # mid -> carries an event
        self._early: set[int] = set()  # acknowledged before publish() returned its mid
        self._connected = False
        self._stop = False
        self.delivered = 0
        self.dropped = 0
        self.last_error: str | None = None
        self._discovery: dict[str, str] = {}  # config topic -> JSON (retained)
        self._discovery_dirty = False
        self._discovery_filters = tuple(discovery_filters)
        self._discovery_known = False  # set_discovery was called at least once
        self._retained_seen: set[str] = set()  # configs found on the broker before that

        cid = client_id or f"dashcam-{role}-{socket.gethostname()}"[:64]
        c = mqtt.Client(CallbackAPIVersion.VERSION2, client_id=cid, clean_session=True)
        if self.address.username:
            c.username_pw_set(self.address.username, self.address.password)
        if self.address.tls:
            c.tls_set(ca_certs=str(ca_file) if ca_file else None, cert_reqs=ssl.CERT_REQUIRED)
        c.will_set(self.availability, OFFLINE, qos=1, retain=True)
        c.reconnect_delay_set(min_delay=1, max_delay=max(1, int(reconnect_max_s)))
        c.max_inflight_messages_set(window)
        c.on_connect = self._on_connect
        c.on_disconnect = self._on_disconnect
        c.on_publish = self._on_publish
        c.on_message = self._on_message
        self.client = c
        c.connect_async(self.address.host, self.address.port, keepalive=keepalive_s)
        c.loop_start()
        self._sender = threading.Thread(target=self._send_loop, name="mqtt-sender", daemon=True)
        self._sender.start()

    # --- the caller's side -----------------------------------------------------------
    def publish(self, event: Event) -> None:
        with self._cond:
            if len(self._queue) >= self.buffer:
                self._queue.popleft()
                self.dropped += 1
            self._queue.append(event)
            self._cond.notify_all()

    def set_discovery(self, configs: Mapping[str, str]) -> None:
        """The retained discovery configs this publisher owns (topic -> JSON). Topics no
        longer named are cleared (an empty retained message removes the entity)."""
        with self._cond:
            for topic in (self._discovery.keys() | self._retained_seen) - configs.keys():
                self._discovery[topic] = ""
            self._retained_seen.clear()
            self._discovery_known = True
            self._discovery.update(configs)
            self._discovery_dirty = True
            self._cond.notify_all()

    def status(self) -> SinkStatus:
        with self._cond:
            return SinkStatus(
                name=self.name,
                kind=self.kind,
                connected=self._connected,
                queued=len(self._queue) + sum(self._unacked.values()),
                delivered=self.delivered,
                dropped=self.dropped,
                failed=0,
                last_error=self.last_error,
            )

    def drained(self) -> bool:
        with self._cond:
            return not self._queue and not any(self._unacked.values())

    def close(self, timeout_s: float = 5.0) -> None:
        """Deliver what is queued (up to ``timeout_s``), mark this publisher offline
        (retained), and disconnect cleanly (so the broker does not send the will)."""
        with self._cond:
            self._cond.wait_for(
                lambda: not self._connected or (not self._queue and not self._unacked),
                timeout=timeout_s,
            )
            self._stop = True
            connected = self._connected
            self._cond.notify_all()
        self._sender.join(timeout=timeout_s)
        if connected:
            info = self.client.publish(self.availability, OFFLINE, qos=1, retain=True)
            with contextlib.suppress(RuntimeError, ValueError):
                info.wait_for_publish(timeout=min(timeout_s, 2.0))
        self.client.disconnect()
        self.client.loop_stop()

    # --- the sender thread -----------------------------------------------------------
    def _ready(self) -> bool:
        if self._stop:
            return True
        if not self._connected:
            return False
        return self._discovery_dirty or (bool(self._queue) and len(self._unacked) < self.window)

    def _send_loop(self) -> None:
        while True:
            with self._cond:
                self._cond.wait_for(self._ready, timeout=1.0)
                if self._stop:
                    return
                if not self._connected:
                    continue
                configs: list[tuple[str, str]] = []
                if self._discovery_dirty:
                    configs = list(self._discovery.items())
                    self._discovery = {t: p for t, p in configs if p}
                    self._discovery_dirty = False
                event = self._queue.popleft() if self._queue and not configs else None
            for topic, payload in configs:
                self._send(topic, payload, retain=True, is_event=False)
            if event is not None:
                body = event.model_dump_json()
                for topic in topics(event, self.prefix):
                    self._send(topic, body, retain=False, is_event=True)

    def _send(self, topic: str, payload: str, *, retain: bool, is_event: bool) -> None:
        info = self.client.publish(topic, payload, qos=1, retain=retain)
        with self._cond:
            if info.rc == MQTTErrorCode.MQTT_ERR_QUEUE_SIZE:
                self.dropped += is_event
                return
            if info.mid in self._early:
                self._early.discard(info.mid)
                self.delivered += is_event
            else:
                self._unacked[info.mid] = is_event

    # --- paho's callbacks (its network thread) --------------------------------------------
    def _on_connect(self, client: mqtt.Client, _u: Any, _f: Any, reason: Any, _p: Any) -> None:
        if reason.is_failure:
            with self._cond:
                self.last_error = f"connect refused: {reason}"
            log.warning("MQTT %s: connect refused: %s", self.name, reason)
            return
        # On paho's own thread: its acknowledgement cannot be handled before we note it.
        info = client.publish(self.availability, ONLINE, qos=1, retain=True)
        for flt in self._discovery_filters:
            client.subscribe(flt, qos=1)
        with self._cond:
            self._unacked[info.mid] = False
            self._connected = True
            self._discovery_dirty = bool(self._discovery)
            self.last_error = None
            self._cond.notify_all()
        log.info("MQTT %s: connected", self.name)

    def _on_disconnect(self, _c: mqtt.Client, _u: Any, _f: Any, reason: Any, _p: Any) -> None:
        with self._cond:
            self._connected = False
            if not self._stop:
                self.last_error = f"disconnected: {reason}"
            self._cond.notify_all()
        if not self._stop:
            log.warning("MQTT %s: disconnected (%s); reconnecting", self.name, reason)

    def _on_publish(self, _c: mqtt.Client, _u: Any, mid: int, _r: Any, _p: Any) -> None:
        with self._cond:
            if mid in self._unacked:
                self.delivered += self._unacked.pop(mid)
            else:
                self._early.add(mid)
            self._cond.notify_all()

    def _on_message(self, client: mqtt.Client, _u: Any, msg: mqtt.MQTTMessage) -> None:
        """A retained discovery config under our node that we no longer own: clear it
        (an entry deleted, or a camera removed, while this publisher was down)."""
        if not msg.retain or not msg.payload:
            return
        with self._cond:
            if not self._discovery_known:  # cleared once we know what we own
                self._retained_seen.add(msg.topic)
                return
            stale = msg.topic not in self._discovery
        if stale:
            client.publish(msg.topic, "", qos=1, retain=True)
