"""The event model, its topics, and the events built from stored records (pure)."""

from __future__ import annotations

from contextlib import AbstractContextManager, nullcontext
from datetime import UTC, datetime
from typing import Any

import pytest
from pydantic import ValidationError

from dashcam.config import load_settings
from dashcam.domain.events import (
    EventType,
    PlateReadEvent,
    SightingEvent,
    VideoEvent,
    WorkerEvent,
    parse_event,
    topic_part,
    topics,
)
from dashcam.domain.sighting import Position, Sighting
from dashcam.errors import ConfigError
from dashcam.events.discovery import camera_configs, node_id, watch_configs
from dashcam.events.mqtt import availability_topic, parse_mqtt_url
from dashcam.events.records import processed_events, watch_hits, worker_changes
from dashcam.events.webhook import backoff_s
from dashcam.store.results import StoredSighting, VideoRecord
from dashcam.store.schema import VideoStatus
from dashcam.store.status import WorkerView
from dashcam.store.watchlist import WatchEntry

AT = datetime(2024, 5, 1, 8, 0, tzinfo=UTC)


def _seen(plate: str, **kw: Any) -> SightingEvent:
    return SightingEvent(at=AT, plate_text=plate, confidence=0.9, **kw)


@pytest.mark.parametrize(
    ("event", "expected"),
    [
        (_seen("AB1", video_id="v1"), ["p/sightings"]),
        (_seen("AB1", camera="gate"), ["p/sightings", "p/cameras/gate/plate"]),
        (
            PlateReadEvent(at=AT, plate_text="AB1", confidence=0.5, camera="a/b+#"),
            ["p/cameras/a_b__/plate"],
        ),
        (VideoEvent(type=EventType.VIDEO_FAILED, at=AT, video_id="v 1"), ["p/videos/v_1/state"]),
        (
            WorkerEvent(type=EventType.WORKER_STALE, at=AT, worker_id="w1", kind="heavy"),
            ["p/workers/w1/state"],
        ),
    ],
)
def test_each_event_has_its_documented_topics(event: Any, expected: list[str]) -> None:
    assert topics(event, "p") == expected


def test_an_event_round_trips_through_its_json_and_foreign_json_is_refused() -> None:
    e = _seen("AB12CDE", video_id="v1", lat=45.0, lon=15.0)
    assert parse_event(e.model_dump_json()) == e
    with pytest.raises(ValidationError):
        parse_event('{"type": "sighting", "at": "2024-05-01T08:00:00Z"}')  # no plate
    with pytest.raises(ValidationError):
        parse_event(e.model_dump_json().replace("sighting", "bogus"))
    with pytest.raises(ValidationError):
        _seen("AB1", secret=1)  # extra keys are refused: the schema is the contract


def test_topic_part_leaves_no_wildcards_or_levels() -> None:
    assert topic_part("front gate/1+#") == "front_gate_1__"
    assert topic_part("") == "_"


def _stored(sid: int, plate: str, crop: str | None = "crops/a.jpg") -> StoredSighting:
    s = Sighting(
        video_id="v1",
        track_id=sid,
        plate_text=plate,
        confidence=0.8,
        first_s=0.0,
        last_s=1.0,
        best_frame_index=0,
        best_xyxy=(0, 0, 1, 1),
        n_reads=2,
        first_utc_ms=1_714_550_400_000,
        position=Position(45.0, 15.0),
        best_crop_path=crop,
    )
    return StoredSighting(sid, s)


def test_a_processed_video_gives_sightings_then_hits_then_its_state() -> None:
    video = VideoRecord(id="v1", path="/nas/v1.mp4", status=VideoStatus.DONE, output_dir="/out/v1")
    entries = [
        WatchEntry("AB12CDE", "stolen", 0.0, None),
        WatchEntry("XY99ZZZ", None, 1.0, None),
    ]
    sightings = [_stored(1, "AB12CDE"), _stored(2, "XY99ZZ2", None), _stored(3, "QQ11QQQ")]
    events = processed_events(video, sightings, entries, server_url="http://s:8000/", at=AT)
    assert [e.type for e in events] == [EventType.SIGHTING] * 3 + [
        EventType.WATCHLIST_HIT,
        EventType.WATCHLIST_HIT,
        EventType.VIDEO_PROCESSED,
    ]
    first = events[0]
    assert isinstance(first, SightingEvent)
    assert first.crop_url == "http://s:8000/sightings/1/crop"
    assert first.first_utc == AT and (first.lat, first.lon) == (45.0, 15.0)
    hits = [e for e in events if e.type is EventType.WATCHLIST_HIT]
    assert [(h.watched, h.note, h.distance > 0) for h in hits] == [  # type: ignore[union-attr]
        ("AB12CDE", "stolen", False),
        ("XY99ZZZ", None, True),
    ]
    local = processed_events(video, sightings[:1], [], server_url=None, at=AT)
    assert local[0].crop_url == "file:///out/v1/crops/a.jpg"  # type: ignore[union-attr]


def test_a_sighting_hits_only_its_nearest_entry() -> None:
    entries = [WatchEntry("AB12CDF", None, 1.0, None), WatchEntry("AB12CDE", None, 0.0, None)]
    (hit,) = watch_hits([_seen("AB12CDE")], entries)
    assert (hit.watched, hit.distance) == ("AB12CDE", 0.0)
    assert watch_hits([_seen("ZZ")], entries) == []


def _view(wid: str, stale: bool) -> WorkerView:
    return WorkerView(wid, "heavy", None, None, "idle", None, None, 1_714_550_400.0, 1.0, stale)


def test_workers_going_stale_and_coming_back_are_events_first_sight_is_not() -> None:
    state, events = worker_changes({}, [_view("a", True)], AT)
    assert (state, events) == ({"a": True}, [])
    state, events = worker_changes(
        {"a": False, "b": True}, [_view("a", True), _view("b", False)], AT
    )
    assert [(e.worker_id, e.type) for e in events] == [
        ("a", EventType.WORKER_STALE),
        ("b", EventType.WORKER_BACK),
    ]
    assert events[0].last_heartbeat == AT


def test_discovery_configs_name_topics_under_the_prefix_and_their_node() -> None:
    ((topic, body),) = watch_configs(
        ["AB12CDE"],
        prefix="site-a/dashcam",
        discovery_prefix="ha",
        availability_topic="x",
        seen_minutes=2.5,
    ).items()
    assert node_id("site-a/dashcam") == "site_a_dashcam"
    assert topic == "ha/binary_sensor/site_a_dashcam/watch_AB12CDE/config"
    assert (
        '"off_delay": 150' in body and '"state_topic": "site-a/dashcam/watchlist/AB12CDE"' in body
    )
    (topic,) = camera_configs(["gate"], prefix="d", discovery_prefix="ha", availability_topic="x")
    assert topic == "ha/sensor/d/camera_gate_last_plate/config"


@pytest.mark.parametrize(
    ("url", "expected"),
    [
        ("mqtt://h", ("h", 1883, None, None, False)),
        ("mqtts://u:p%3A1@h:1", ("h", 1, "u", "p:1", True)),
        ("mqtts://h", ("h", 8883, None, None, True)),
        ("http://h", pytest.raises(ConfigError)),
        ("mqtt://h:99999", pytest.raises(ConfigError)),
    ],
)
def test_mqtt_urls(url: str, expected: Any) -> None:
    ctx: AbstractContextManager[Any] = (
        expected if not isinstance(expected, tuple) else nullcontext()
    )
    with ctx:
        a = parse_mqtt_url(url)
        assert (a.host, a.port, a.username, a.password, a.tls) == expected


def test_only_the_server_owns_the_plain_availability_topic() -> None:
    assert availability_topic("dashcam", "server") == "dashcam/available"
    assert availability_topic("dashcam", "relay") == "dashcam/relay/available"


def test_webhook_backoff_doubles_and_is_capped() -> None:
    assert [backoff_s(n, 1.0, 5.0) for n in (1, 2, 3, 4)] == [1.0, 2.0, 4.0, 5.0]


@pytest.mark.parametrize(
    ("env", "expected"),
    [
        ("http://a/x, https://b/y", ["http://a/x", "https://b/y"]),
        ('["http://a/x"]', ["http://a/x"]),
        ("", []),
        ("ftp://a", pytest.raises(ConfigError, match="DASHCAM_WEBHOOK_URLS")),
    ],
)
def test_webhook_urls_from_the_environment(
    monkeypatch: pytest.MonkeyPatch, env: str, expected: Any
) -> None:
    monkeypatch.setenv("DASHCAM_WEBHOOK_URLS", env)
    ctx: AbstractContextManager[Any] = expected if not isinstance(expected, list) else nullcontext()
    with ctx:
        assert load_settings().webhook_urls == expected


def test_a_bad_mqtt_url_names_its_setting(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("DASHCAM_MQTT_URL", "tcp://broker")
    with pytest.raises(ConfigError, match="DASHCAM_MQTT_URL"):
        load_settings()


def test_docs_events_md_shows_the_payload_tables_the_models_make() -> None:
    from pathlib import Path

    from dashcam.cli.events_cmd import schema_markdown

    doc = (Path(__file__).resolve().parents[3] / "docs" / "events.md").read_text()
    start = doc.index("<!-- schema: generated by dashcam events schema --markdown -->")
    end = doc.index("<!-- end of schema -->")
    shown = doc[start:end].split("\n", 2)[2]
    assert shown == schema_markdown(), "run: dashcam events schema --markdown, paste into docs"
