"""Events: what dashcam tells the outside world, one typed model for every channel.

The dashboard's live stream, ``/api/events`` (and ``dashcam events tail``), MQTT and
webhooks all carry these very objects, serialised once with ``model_dump_json()``.
Recorded videos, the server's workers and the relay's live cameras publish them through
an :class:`EventPublisher`.

Pure: no clocks (``at`` is passed in), no I/O. The MQTT topic of each event is here too
(:func:`topics`), so every publisher names topics the same way.
"""

from __future__ import annotations

import re
from datetime import datetime
from enum import StrEnum
from typing import Annotated, Literal, Protocol

from pydantic import BaseModel, ConfigDict, Field, TypeAdapter


class EventType(StrEnum):
    """The kinds of event; the ``type`` field of every payload."""

    SIGHTING = "sighting"  # a sighting was stored (recorded video or live camera)
    WATCHLIST_HIT = "watchlist_hit"  # a stored sighting matches a watchlist entry
    PLATE_READ = "plate_read"  # a live camera's read of one frame (before tracking)
    VIDEO_PROCESSED = "video_processed"
    VIDEO_FAILED = "video_failed"
    WORKER_STALE = "worker_stale"  # a server worker missed its heartbeats
    WORKER_BACK = "worker_back"  # a stale worker reported again


class _Event(BaseModel):
    model_config = ConfigDict(frozen=True, extra="forbid")

    at: datetime = Field(description="When dashcam published it (UTC)")


class _Plate(_Event):
    """Where and when a plate was seen; shared by sightings, hits and live reads."""

    plate_text: str = Field(description="Normalised plate text, e.g. AB12CDE")
    confidence: float = Field(ge=0.0, le=1.0, description="0 to 1")
    video_id: str | None = Field(
        default=None, description="The recorded video (null: a live camera)"
    )
    camera: str | None = Field(default=None, description="The live camera (null: a recorded video)")
    sighting_id: int | None = Field(
        default=None, description="The stored sighting's id (null: a live read)"
    )
    first_utc: datetime | None = Field(
        default=None, description="First read (UTC; null: the video has no clock)"
    )
    last_utc: datetime | None = Field(default=None, description="Last read (UTC)")
    lat: float | None = Field(default=None, description="Position of the best read (WGS84)")
    lon: float | None = Field(default=None, description="Position of the best read (WGS84)")
    crop_url: str | None = Field(
        default=None,
        description="The best crop: the server's /sightings/<id>/crop, or file:// (local mode)",
    )


class SightingEvent(_Plate):
    type: Literal[EventType.SIGHTING] = Field(
        default=EventType.SIGHTING, description="A sighting was stored"
    )


class WatchlistHitEvent(_Plate):
    type: Literal[EventType.WATCHLIST_HIT] = Field(
        default=EventType.WATCHLIST_HIT, description="A stored sighting matches an entry"
    )
    watched: str = Field(description="The watchlist entry that matched")
    distance: float = Field(ge=0.0, description="0 = exact; above 0 a near read (fuzzy)")
    note: str | None = Field(default=None, description="The entry's note")


class PlateReadEvent(_Plate):
    type: Literal[EventType.PLATE_READ] = Field(
        default=EventType.PLATE_READ, description="A live camera's read of one frame"
    )


class VideoEvent(_Event):
    type: Literal[EventType.VIDEO_PROCESSED, EventType.VIDEO_FAILED]
    video_id: str
    path: str | None = Field(default=None, description="The video file as registered")
    sightings: int | None = Field(default=None, description="Sightings stored (processed only)")
    error: str | None = Field(default=None, description="Why it failed (failed only)")


class WorkerEvent(_Event):
    type: Literal[EventType.WORKER_STALE, EventType.WORKER_BACK]
    worker_id: str
    kind: str = Field(description="heavy, archive, monitor")
    last_heartbeat: datetime | None = Field(default=None, description="Its last heartbeat (UTC)")


Event = Annotated[
    SightingEvent | WatchlistHitEvent | PlateReadEvent | VideoEvent | WorkerEvent,
    Field(discriminator="type"),
]
EVENT_ADAPTER: TypeAdapter[Event] = TypeAdapter(Event)


def parse_event(data: str | bytes) -> Event:
    """An event from its JSON (``pydantic.ValidationError`` when it is not one)."""
    return EVENT_ADAPTER.validate_json(data)


class EventPublisher(Protocol):
    """Something events are handed to. ``publish`` must return at once: delivery (to a
    broker, to webhooks) happens in the publisher's own threads, never in the caller's."""

    def publish(self, event: Event) -> None: ...


_UNSAFE = re.compile(r"[^A-Za-z0-9_.-]")


def topic_part(name: str) -> str:
    """``name`` as one MQTT topic level: no ``/``, ``+``, ``#`` or spaces.

    >>> topic_part("front gate/1")
    'front_gate_1'
    """
    return _UNSAFE.sub("_", name)[:64] or "_"


def topics(event: Event, prefix: str) -> list[str]:
    """The MQTT topics ``event`` is published on, under ``prefix`` (``dashcam``).

    >>> from datetime import UTC
    >>> e = SightingEvent(at=datetime(2024, 1, 1, tzinfo=UTC), plate_text="AB1", confidence=0.9,
    ...                   camera="gate")
    >>> topics(e, "dashcam")
    ['dashcam/sightings', 'dashcam/cameras/gate/plate']
    """
    if isinstance(event, SightingEvent):
        out = [f"{prefix}/sightings"]
        if event.camera:
            out.append(f"{prefix}/cameras/{topic_part(event.camera)}/plate")
        return out
    if isinstance(event, PlateReadEvent):
        return [f"{prefix}/cameras/{topic_part(event.camera or 'unknown')}/plate"]
    if isinstance(event, WatchlistHitEvent):
        return [f"{prefix}/watchlist/{topic_part(event.watched)}"]
    if isinstance(event, VideoEvent):
        return [f"{prefix}/videos/{topic_part(event.video_id)}/state"]
    return [f"{prefix}/workers/{topic_part(event.worker_id)}/state"]
