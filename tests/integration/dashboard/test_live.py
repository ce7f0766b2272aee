"""``/api/live`` over real sockets: its content, the key check, and one snapshot per tick
shared by every open dashboard."""

from __future__ import annotations

import json
import threading
import time
from collections.abc import Callable
from pathlib import Path
from typing import Any

import cv2
import httpx
import numpy as np
from dashboard_server import KEY, Served

from dashcam.server.dashboard import live_feed
from dashcam.services.live_sightings import SightingRecorder
from dashcam.stages.live import CameraTracks, LiveRead
from dashcam.store.task_schema import TaskType

H = TaskType.HEAVY_PROCESS_VIDEO


def read_events(url: str, n: int, headers: dict[str, str] | None = None) -> list[dict[str, Any]]:
    """The first ``n`` ``live`` events of the stream at ``url``."""
    out: list[dict[str, Any]] = []
    with (
        httpx.Client(timeout=20) as c,
        c.stream("GET", url, headers=headers or {}) as r,
    ):
        assert r.status_code == 200, r.read()
        assert r.headers["content-type"].startswith("text/event-stream")
        for line in r.iter_lines():
            if line.startswith("data:"):
                out.append(json.loads(line[5:]))
                if len(out) == n:
                    break
    return out


def test_live_event_has_workers_backlog_throughput_and_failures(
    serve: Callable[..., Served],
) -> None:
    s = serve()
    q = s.st.queue
    for i in range(3):
        q.enqueue(H, {"video_id": f"v{i}", "raw_video": f"/nas/v{i}.mp4"}, video_id=f"v{i}")
    s.client.post("/workers/heartbeat", json={"worker_id": "heavy-1", "kind": "heavy"})
    t1 = s.client.get("/tasks/next", params={"task_type": H.value}).json()["task_id"]
    s.client.post(f"/tasks/{t1}/complete", json={})
    t2 = s.client.get("/tasks/next", params={"task_type": H.value}).json()["task_id"]
    s.client.post(f"/tasks/{t2}/fail", json={"error": "GPS file unreadable", "retry": False})

    (ev,) = read_events(s.url + "/api/live", 1, {"Authorization": f"Bearer {KEY}"})
    assert [w["worker_id"] for w in ev["workers"]] == ["heavy-1"]
    assert ev["workers"][0]["stale"] is False
    assert ev["queue"]["backlog"] == {H.value: 1}
    assert ev["queue"]["tasks"][H.value] == {"queued": 1, "done": 1, "dead": 1}
    assert ev["throughput_per_minute"][H.value][-1] == 1
    assert len(ev["throughput_per_minute"][H.value]) == 10
    (failure,) = ev["failures"]
    assert failure["status"] == "dead" and failure["error"] == "GPS file unreadable"
    assert {t["status"] for t in ev["recent_tasks"]} == {"queued", "done", "dead"}


def test_live_takes_the_key_as_header_or_query_only(serve: Callable[..., Served]) -> None:
    s = serve()
    assert httpx.get(s.url + "/api/live", timeout=5).status_code == 401
    assert httpx.get(s.url + "/api/live?key=wrong", timeout=5).status_code == 401
    bad = {"Authorization": "Bearer wrong"}
    assert httpx.get(s.url + f"/api/live?key={KEY}", headers=bad, timeout=5).status_code == 401
    assert len(read_events(s.url + f"/api/live?key={KEY}", 1)) == 1
    # The query key opens only the live feed, never the other endpoints.
    assert httpx.get(s.url + f"/videos?key={KEY}", timeout=5).status_code == 401


def test_many_open_dashboards_share_one_snapshot_per_tick(serve: Callable[..., Served]) -> None:
    s = serve()
    clients, per_client = 8, 3
    got: list[list[int]] = [[] for _ in range(clients)]

    def reader(i: int) -> None:
        got[i] = [e["seq"] for e in read_events(s.url + f"/api/live?key={KEY}", per_client)]

    threads = [threading.Thread(target=reader, args=(i,)) for i in range(clients)]
    t0 = time.monotonic()
    for t in threads:
        t.start()
    for t in threads:
        t.join(timeout=30)
    elapsed = time.monotonic() - t0
    assert all(len(g) == per_client for g in got), got
    builds = live_feed(s.app).builds
    # 24 events were sent; one snapshot is built per ~1 s tick however many clients read.
    assert builds <= elapsed / live_feed(s.app).min_interval_s + 2, (builds, elapsed, got)
    assert builds < clients * per_client / 2
    assert len({seq for g in got for seq in g}) == builds


def test_live_event_shows_each_cameras_last_plates_and_serves_their_crops(
    serve: Callable[..., Served], tmp_path: Path
) -> None:
    s = serve()
    recorder = SightingRecorder(s.st.repo, tmp_path / "live", camera_urls={"gate": "rtsp://g/1"})
    tracks = CameraTracks("gate", close_after_s=1.0)
    crop = np.full((24, 90, 3), 200, np.uint8)
    for t0, text in ((1_700_000_000.0, "KX52ABC"), (1_700_000_010.0, "LM07PQR")):
        for k in range(2):
            read = LiveRead(text, 0.9, (100 + 5 * k, 300, 190 + 5 * k, 325))
            for closed in tracks.add(int(t0) + k, t0 + k * 0.2, [read], [crop]):
                recorder.record(closed)
    for closed in tracks.close():
        recorder.record(closed)

    (ev,) = read_events(s.url + "/api/live", 1, {"Authorization": f"Bearer {KEY}"})
    (cam,) = ev["cameras"]
    assert (cam["name"], cam["source"], cam["n_sightings"]) == ("gate", "camera:gate", 2)
    assert [sg["plate_text"] for sg in cam["last"]] == ["LM07PQR", "KX52ABC"]  # newest first
    crop_url = cam["last"][0]["crop_url"]
    r = s.client.get(crop_url)
    assert r.status_code == 200 and r.headers["content-type"] == "image/jpeg"
    assert cv2.imdecode(np.frombuffer(r.content, np.uint8), cv2.IMREAD_COLOR).shape[1] == 90
    # the camera's sightings are found like recorded ones
    found = s.client.get("/sightings", params={"video_id": "camera:gate"}).json()
    assert sorted(sg["plate_text"] for sg in found) == ["KX52ABC", "LM07PQR"]
