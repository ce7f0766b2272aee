"""Events over MQTT against a real Mosquitto: the documented topics and payloads, Home
Assistant discovery, the last will, and events held while the broker is away."""

from __future__ import annotations

import json
import os
import signal
import subprocess
import sys
import time
from collections.abc import Callable
from pathlib import Path
from typing import Any

import httpx
import pytest
from mqtt_helpers import WAIT_S, PrivateBroker, Subscriber, unique_prefix
from server_helpers import ThreadServer, free_port

from dashcam.domain.events import (
    EventType,
    SightingEvent,
    VideoEvent,
    WatchlistHitEvent,
    parse_event,
)
from dashcam.store.schema import VideoStatus
from dashcam.store.task_schema import TaskType

H = TaskType.HEAVY_PROCESS_VIDEO
# What Home Assistant's MQTT discovery needs of each entity (state_topic is the one key
# the platforms require; unique_id and device make it an editable device entity).
HA_KEYS = {"name", "unique_id", "state_topic", "availability_topic", "device"}


def sighting(plate: str, crop: str | None = None) -> dict[str, Any]:
    return {
        "track_id": 1,
        "plate_text": plate,
        "confidence": 0.9,
        "first_s": 0.0,
        "last_s": 1.0,
        "best_frame_index": 0,
        "best_xyxy": [1, 2, 3, 4],
        "n_reads": 2,
        "first_utc_ms": 1_714_550_400_000,
        "last_utc_ms": 1_714_550_401_000,
        "position": {"lat": 45.81, "lon": 15.98},
        "best_crop_path": crop,
    }


def complete_video(
    srv: ThreadServer, video_id: str, sightings: list[dict[str, Any]] | None = None
) -> None:
    """A queued video, its heavy task claimed and completed over HTTP."""
    srv.st.repo.upsert_video(video_id, f"/nas/{video_id}.mp4", status=VideoStatus.QUEUED)
    srv.st.queue.enqueue(H, {"video_id": video_id, "raw_video": "/nas/x.mp4"}, video_id=video_id)
    r = srv.http.get("/tasks/next", params={"task_type": H.value})
    assert r.status_code == 200, r.text
    body: dict[str, Any] = {"elapsed_s": 1.0}
    if sightings is not None:
        body["sightings"] = [{**s, "video_id": video_id} for s in sightings]
    done = srv.http.post(f"/tasks/{r.json()['task_id']}/complete", json=body)
    assert done.status_code == 200, done.text


def mqtt_server(serve: Callable[..., ThreadServer], port: int, **kw: Any) -> ThreadServer:
    prefix = unique_prefix()
    return serve(
        mqtt_url=f"mqtt://127.0.0.1:{port}",
        mqtt_topic_prefix=prefix,
        mqtt_discovery_prefix=f"{prefix}-ha",
        **kw,
    )


def test_a_processed_video_publishes_sightings_hits_and_its_state_as_documented(
    serve: Callable[..., ThreadServer], subscribe: Callable[..., Subscriber], broker_port: int
) -> None:
    srv = mqtt_server(serve, broker_port, server_url="http://dashcam.lan:8000")
    p = srv.st.settings.mqtt_topic_prefix
    sub = subscribe(broker_port, f"{p}/#")
    online = sub.until(lambda m: m.topic == f"{p}/available")
    assert online.payload == b"online"
    assert srv.http.post("/api/watchlist", json={"plate": "ab-12 cde"}).status_code == 200

    complete_video(srv, "v1", [sighting("AB12CDE", "crops/a.jpg"), sighting("XY99ZZZ")])

    got = sub.take(4)
    by_topic: dict[str, list[Any]] = {}
    for m in got:
        by_topic.setdefault(m.topic, []).append(parse_event(m.payload))
    assert sorted(by_topic) == sorted(
        [f"{p}/sightings", f"{p}/watchlist/AB12CDE", f"{p}/videos/v1/state"]
    )
    seen = by_topic[f"{p}/sightings"]
    assert [type(e) for e in seen] == [SightingEvent, SightingEvent]
    ab = next(e for e in seen if e.plate_text == "AB12CDE")
    assert ab.video_id == "v1" and ab.camera is None and ab.confidence == 0.9
    assert (ab.lat, ab.lon) == (45.81, 15.98)
    assert ab.first_utc is not None and ab.first_utc.isoformat() == "2024-05-01T08:00:00+00:00"
    stored = srv.http.get("/videos/v1/sightings").json()
    ab_id = next(s["id"] for s in stored if s["plate_text"] == "AB12CDE")
    assert ab.sighting_id == ab_id
    assert ab.crop_url == f"http://dashcam.lan:8000/sightings/{ab_id}/crop"
    (hit,) = by_topic[f"{p}/watchlist/AB12CDE"]
    assert isinstance(hit, WatchlistHitEvent)
    assert (hit.watched, hit.distance, hit.plate_text, hit.sighting_id) == (
        "AB12CDE",
        0.0,
        "AB12CDE",
        ab_id,
    )
    (state,) = by_topic[f"{p}/videos/v1/state"]
    assert isinstance(state, VideoEvent)
    assert state.type is EventType.VIDEO_PROCESSED
    assert (state.sightings, state.path) == (2, "/nas/v1.mp4")
    # The wire JSON is the model's own: every documented key, nothing else.
    raw = next(m for m in got if m.topic == f"{p}/videos/v1/state").json()
    assert set(raw) == set(VideoEvent.model_fields)


def test_a_dead_video_publishes_its_failure(
    serve: Callable[..., ThreadServer], subscribe: Callable[..., Subscriber], broker_port: int
) -> None:
    srv = mqtt_server(serve, broker_port, max_attempts=1)
    p = srv.st.settings.mqtt_topic_prefix
    sub = subscribe(broker_port, f"{p}/videos/#")
    srv.st.repo.upsert_video("v9", "/nas/v9.mp4", status=VideoStatus.QUEUED)
    srv.st.queue.enqueue(H, {"video_id": "v9", "raw_video": "/nas/v9.mp4"}, video_id="v9")
    wire = srv.http.get("/tasks/next", params={"task_type": H.value}).json()["task_id"]
    assert (
        srv.http.post(f"/tasks/{wire}/fail", json={"error": "decoder crashed"}).json()["status"]
        == "dead"
    )
    m = sub.next()
    event = parse_event(m.payload)
    assert m.topic == f"{p}/videos/v9/state"
    assert isinstance(event, VideoEvent) and event.type is EventType.VIDEO_FAILED
    assert event.error == "decoder crashed"


def test_watchlist_entries_are_home_assistant_binary_sensors_removed_with_the_entry(
    serve: Callable[..., ThreadServer], subscribe: Callable[..., Subscriber], broker_port: int
) -> None:
    srv = mqtt_server(serve, broker_port, watch_seen_minutes=15)
    s = srv.st.settings
    sub = subscribe(broker_port, f"{s.mqtt_discovery_prefix}/#")
    srv.http.post("/api/watchlist", json={"plate": "AB12CDE", "note": "stolen"})
    m = sub.until(lambda m: bool(m.payload))
    node = s.mqtt_topic_prefix.replace("-", "_")
    assert m.topic == f"{s.mqtt_discovery_prefix}/binary_sensor/{node}/watch_AB12CDE/config"
    kept = subscribe(broker_port, m.topic).next()  # a Home Assistant started later
    assert (kept.payload, kept.retain) == (m.payload, True)
    config = json.loads(m.payload)
    assert set(config) >= HA_KEYS
    assert config["state_topic"] == f"{s.mqtt_topic_prefix}/watchlist/AB12CDE"
    assert config["availability_topic"] == f"{s.mqtt_topic_prefix}/available"
    assert config["off_delay"] == 15 * 60
    assert config["device"]["identifiers"]
    # A hit's payload turns it on: the template renders the payload_on.
    assert config["value_template"] == config["payload_on"] == "ON"

    assert srv.http.delete("/api/watchlist/AB12CDE").status_code == 200
    gone = sub.until(lambda x: x.topic == m.topic)
    assert gone.payload == b""  # an empty retained config removes the entity
    # Nothing is left retained under the node for a new Home Assistant to find.
    late = subscribe(broker_port, f"{s.mqtt_discovery_prefix}/#")
    assert [x for x in late.drain() if x.payload] == []


def test_the_last_will_marks_the_server_offline_when_it_is_killed(
    tmp_path: Path, subscribe: Callable[..., Subscriber], broker_port: int
) -> None:
    prefix = unique_prefix()
    sub = subscribe(broker_port, f"{prefix}/available")
    port = free_port()
    env = {
        **os.environ,
        "DASHCAM_DATA_DIR": str(tmp_path / "data"),
        "DASHCAM_MQTT_URL": f"mqtt://127.0.0.1:{broker_port}",
        "DASHCAM_MQTT_TOPIC_PREFIX": prefix,
        "DASHCAM_MQTT_DISCOVERY_PREFIX": "",
    }
    cmd = [sys.executable, "-m", "dashcam", "server", "--port", str(port)]
    proc = subprocess.Popen(cmd, env=env, stdout=subprocess.DEVNULL, stderr=subprocess.PIPE)
    try:
        assert sub.next(timeout_s=60).payload == b"online"
        online = subscribe(broker_port, f"{prefix}/available").next()
        assert (online.payload, online.retain) == (b"online", True)  # kept for newcomers
        httpx.get(f"http://127.0.0.1:{port}/health", timeout=10).raise_for_status()
        proc.send_signal(signal.SIGKILL)
        proc.wait(timeout=WAIT_S)
        m = sub.next(timeout_s=60)
        assert m.payload == b"offline"  # the broker sent the will: no goodbye was said
    finally:
        if proc.poll() is None:
            proc.kill()
            proc.wait()
    # A new subscriber learns the state from the retained message.
    later = subscribe(broker_port, f"{prefix}/available")
    assert later.next().payload == b"offline"


def test_events_wait_for_the_broker_bounded_and_dropped_ones_are_counted(
    serve: Callable[..., ThreadServer],
    subscribe: Callable[..., Subscriber],
    private_broker: PrivateBroker,
) -> None:
    srv = mqtt_server(serve, private_broker.port, events_buffer=5)
    p = srv.st.settings.mqtt_topic_prefix
    # A persistent session: the broker keeps its QoS 1 messages across its restart.
    sub = subscribe(private_broker.port, f"{p}/videos/+/state", client_id=f"{p}-sub", clean=False)
    complete_video(srv, "v0")
    assert parse_event(sub.next().payload).video_id == "v0"  # type: ignore[union-attr]

    private_broker.stop()
    mqtt = srv.st.events.hub.mqtt  # type: ignore[union-attr]
    assert mqtt is not None
    wait_for(lambda: not mqtt.status().connected, "the server to notice the broker is gone")
    for i in range(1, 9):
        complete_video(srv, f"v{i}")
    assert srv.st.events.flush(WAIT_S)  # type: ignore[union-attr]
    status = mqtt.status()
    assert (status.queued, status.dropped) == (5, 3)
    metrics = srv.http.get("/metrics").text
    assert f'dashcam_events_dropped_total{{kind="mqtt",sink="{mqtt.name}"}} 3.0' in metrics

    private_broker.start()
    got = [parse_event(m.payload).video_id for m in sub.take(5)]  # type: ignore[union-attr]
    assert got == ["v4", "v5", "v6", "v7", "v8"]  # the newest five, in order
    assert sub.drain() == []
    wait_for(lambda: mqtt.status().queued == 0, "the acknowledgements")
    assert mqtt.status().delivered == 6


def wait_for(cond: Callable[[], bool], what: str) -> None:
    deadline = time.monotonic() + WAIT_S
    while not cond():
        if time.monotonic() > deadline:
            pytest.fail(f"gave up waiting for {what}")
        time.sleep(0.05)
