"""The relay's live reads and cameras over MQTT, ``dashcam events tail`` against a
server, and ``dashcam process`` (local mode) publishing its videos to a webhook."""

from __future__ import annotations

import asyncio
import json
import os
import subprocess
import sys
from collections.abc import Callable
from pathlib import Path

import httpx
from mqtt_helpers import Subscriber, unique_prefix
from relay_helpers import register, tiny_jpeg
from server_helpers import ThreadServer
from test_mqtt_events import HA_KEYS, complete_video, sighting
from webhook_helpers import Receiver

from dashcam.config import load_settings
from dashcam.domain.events import PlateReadEvent, SightingEvent, VideoEvent, parse_event
from dashcam.events.hub import EventHub, camera_discovery
from dashcam.relay.cameras import CameraSpec
from dashcam.relay.hub import Relay
from dashcam.relay.server import RelayServer


def test_relay_reads_reach_the_camera_topic_and_cameras_are_home_assistant_sensors(
    subscribe: Callable[..., Subscriber], broker_port: int, tmp_path: Path
) -> None:
    prefix = unique_prefix()
    settings = load_settings(
        mqtt_url=f"mqtt://127.0.0.1:{broker_port}",
        mqtt_topic_prefix=prefix,
        mqtt_discovery_prefix=f"{prefix}-ha",
    )
    sub = subscribe(broker_port, f"{prefix}/#", f"{prefix}-ha/#")
    hub = EventHub.from_settings(settings, role="relay")
    relay = Relay(publisher=hub, cameras_changed=camera_discovery(hub, settings))
    try:
        relay.add_camera(CameraSpec.parse(f"front_gate={tmp_path / 'clip.mp4'}"))
        config = sub.until(lambda m: m.topic.endswith("/config") and bool(m.payload))
        node = prefix.replace("-", "_")
        assert config.topic == f"{prefix}-ha/sensor/{node}/camera_front_gate_last_plate/config"
        doc = json.loads(config.payload)
        assert set(doc) >= HA_KEYS
        assert doc["state_topic"] == f"{prefix}/cameras/front_gate/plate"
        assert doc["availability_topic"] == f"{prefix}/relay/available"
        assert doc["value_template"] == "{{ value_json.plate_text }}"

        server = RelayServer(relay).start()
        try:
            asyncio.run(_one_job(server))
        finally:
            server.stop()
        m = sub.until(lambda m: m.topic == f"{prefix}/cameras/front_gate/plate")
        read = parse_event(m.payload)
        assert isinstance(read, PlateReadEvent)
        assert (read.camera, read.plate_text, read.confidence) == ("front_gate", "AB12CDE", 0.8)
        assert read.first_utc is not None and read.first_utc.timestamp() == 1_714_550_400.0
    finally:
        hub.close(5.0)
    # Closed cleanly: the relay says it is offline (retained), not through its will.
    assert subscribe(broker_port, f"{prefix}/relay/available").next().payload == b"offline"


async def _one_job(server: RelayServer) -> None:
    """A registered worker claims a camera frame's job and reports a plate (and junk)."""
    ws, _ = await register(server.ws_url, "w1")
    job = server.call(server.relay.submit, "front_gate", [tiny_jpeg()], (64, 48), 1_714_550_400.0)
    async with httpx.AsyncClient(base_url=server.http_url) as http:
        claim = await http.post(f"/jobs/{job.id}/claim", json={"worker_id": "w1"})
        assert claim.status_code == 200, claim.text
        result = {"plates": [{"text": "AB12CDE", "confidence": 0.8}, {"bogus": 1}]}
        done = await http.post(
            f"/jobs/{job.id}/complete", json={"worker_id": "w1", "result": result}
        )
        assert done.status_code == 200, done.text
    await ws.close()


def test_events_tail_prints_the_servers_events_as_they_happen(
    serve: Callable[..., ThreadServer],
) -> None:
    srv = serve()
    complete_video(srv, "v1", [sighting("AB12CDE")])
    env = {**os.environ, "DASHCAM_API_KEY": "s3cret", "DASHCAM_SERVER_URL": srv.url}
    cmd = [sys.executable, "-m", "dashcam", "events", "tail", "--type", "sighting"]
    cmd += ["--backlog", "10", "-n", "2"]
    proc = subprocess.Popen(cmd, env=env, stdout=subprocess.PIPE, stderr=subprocess.PIPE)
    try:
        assert proc.stdout is not None
        first = proc.stdout.readline().decode()  # from the backlog: tail is connected
        complete_video(srv, "v2", [sighting("XY99ZZZ")])  # and this one as it happens
        rest, err = proc.communicate(timeout=60)
    finally:
        if proc.poll() is None:
            proc.kill()
    assert proc.returncode == 0, err.decode()
    lines = [first.strip(), *rest.decode().splitlines()]
    assert [line.split(" ", 1)[0] for line in lines] == ["sighting", "sighting"]
    events = [parse_event(line.split(" ", 1)[1]) for line in lines]
    assert [(e.plate_text, e.video_id) for e in events if isinstance(e, SightingEvent)] == [
        ("AB12CDE", "v1"),
        ("XY99ZZZ", "v2"),
    ]


def test_dashcam_process_publishes_its_videos_when_a_webhook_is_set(
    tmp_path: Path, receiver: Receiver
) -> None:
    from dashcam.media.synthetic import make_clip

    clip = make_clip(tmp_path / "clips", name="c", seed=3, duration_s=4.0)
    env = {
        **os.environ,
        "DASHCAM_DATA_DIR": str(tmp_path / "data"),
        "DASHCAM_WEBHOOK_URLS": receiver.url,
    }
    cmd = [sys.executable, "-m", "dashcam", "process", str(clip.video_path)]
    cmd += ["--gps", str(clip.gps_path)]
    run = subprocess.run(cmd, env=env, capture_output=True, timeout=600)
    assert run.returncode == 0, run.stderr.decode()[-2000:]
    events = [parse_event(body) for body, _ in receiver.bodies]  # delivered before exit
    assert isinstance(events[-1], VideoEvent) and events[-1].sightings == len(events) - 1
    found = {e.plate_text for e in events if isinstance(e, SightingEvent)}
    assert found and found <= {p.text for p in clip.plates}
    sighting_event = next(e for e in events if isinstance(e, SightingEvent))
    assert sighting_event.crop_url and sighting_event.crop_url.startswith("file://")
    assert Path(sighting_event.crop_url.removeprefix("file://")).is_file()
