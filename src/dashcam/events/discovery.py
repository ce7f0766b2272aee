"""Home Assistant MQTT discovery: the retained config messages that make dashcam's
topics appear as entities. Pure: names in, ``{config topic: JSON}`` out.

- per live camera, a ``sensor`` "last plate" on ``<prefix>/cameras/<name>/plate``
  (state: the plate text; attributes: the whole event);
- per watchlist entry, a ``binary_sensor`` "<plate> seen" on ``<prefix>/watchlist/<plate>``,
  on at each hit and off again ``watch_seen_minutes`` later (Home Assistant's ``off_delay``).

Config topics are ``<discovery prefix>/<component>/<node>/<object>/config`` with the node
made from the topic prefix, so two dashcam installations on one broker do not collide.
Removing an entity is an empty retained message on its config topic (see ``MqttSink``).
"""

from __future__ import annotations

import json
from collections.abc import Iterable
from typing import Any

from dashcam.domain.events import topic_part

SENSOR = "sensor"
BINARY_SENSOR = "binary_sensor"


def node_id(prefix: str) -> str:
    """``dashcam`` for the prefix ``dashcam``; ``site_a_dashcam`` for ``site-a/dashcam``."""
    return topic_part(prefix.replace("/", "_")).replace("-", "_").replace(".", "_")


def config_filter(discovery_prefix: str, component: str, prefix: str) -> str:
    """The topic filter matching every config this node owns for ``component``."""
    return f"{discovery_prefix}/{component}/{node_id(prefix)}/+/config"


def _availability(availability_topic: str) -> dict[str, Any]:
    return {
        "availability_topic": availability_topic,
        "payload_available": "online",
        "payload_not_available": "offline",
    }


def camera_configs(
    cameras: Iterable[str], *, prefix: str, discovery_prefix: str, availability_topic: str
) -> dict[str, str]:
    """One "last plate" sensor per camera."""
    node = node_id(prefix)
    out: dict[str, str] = {}
    for name in cameras:
        obj = f"camera_{topic_part(name)}_last_plate"
        state = f"{prefix}/cameras/{topic_part(name)}/plate"
        config = {
            "name": "Last plate",
            "unique_id": f"{node}_{obj}",
            "object_id": f"{node}_{obj}",
            "state_topic": state,
            "value_template": "{{ value_json.plate_text }}",
            "json_attributes_topic": state,
            "icon": "mdi:card-text-outline",
            **_availability(availability_topic),
            "device": {
                "identifiers": [f"{node}_camera_{topic_part(name)}"],
                "name": f"dashcam camera {name}",
                "manufacturer": "dashcam",
                "model": "live camera",
            },
        }
        out[f"{discovery_prefix}/{SENSOR}/{node}/{obj}/config"] = json.dumps(config)
    return out


def watch_configs(
    plates: Iterable[str],
    *,
    prefix: str,
    discovery_prefix: str,
    availability_topic: str,
    seen_minutes: float,
) -> dict[str, str]:
    """One "seen in the last N minutes" binary sensor per watched plate."""
    node = node_id(prefix)
    out: dict[str, str] = {}
    for plate in plates:
        obj = f"watch_{topic_part(plate)}"
        state = f"{prefix}/watchlist/{topic_part(plate)}"
        config = {
            "name": f"{plate} seen",
            "unique_id": f"{node}_{obj}",
            "object_id": f"{node}_{obj}",
            "state_topic": state,
            "value_template": "ON",
            "payload_on": "ON",
            "payload_off": "OFF",
            "off_delay": max(1, round(seen_minutes * 60)),
            "json_attributes_topic": state,
            "icon": "mdi:car-search",
            **_availability(availability_topic),
            "device": {
                "identifiers": [f"{node}_watchlist"],
                "name": "dashcam watchlist",
                "manufacturer": "dashcam",
                "model": "watchlist",
            },
        }
        out[f"{discovery_prefix}/{BINARY_SENSOR}/{node}/{obj}/config"] = json.dumps(config)
    return out
