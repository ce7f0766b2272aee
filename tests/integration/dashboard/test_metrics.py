"""``/metrics`` scraped over HTTP says what happened: claims, completions, failures,
heartbeats, and task gauges equal to the queue's own counts."""

from __future__ import annotations

from collections.abc import Callable

import httpx
from dashboard_server import Served
from prometheus_client.parser import text_string_to_metric_families

from dashcam.store.task_schema import TaskStatus, TaskType

H = TaskType.HEAVY_PROCESS_VIDEO


def scrape(s: Served) -> dict[tuple[str, tuple[tuple[str, str], ...]], float]:
    r = s.client.get("/metrics")
    assert r.status_code == 200
    assert r.headers["content-type"].startswith("text/plain")
    return {
        (sample.name, tuple(sorted(sample.labels.items()))): sample.value
        for fam in text_string_to_metric_families(r.text)
        for sample in fam.samples
    }


def test_counters_and_gauges_match_what_happened(serve: Callable[..., Served]) -> None:
    s = serve()
    q = s.st.queue
    for i in range(6):
        q.enqueue(H, {"video_id": f"v{i}", "raw_video": f"/nas/v{i}.mp4"}, video_id=f"v{i}")
    claimed = []
    for _ in range(5):
        r = s.client.get("/tasks/next", params={"task_type": H.value, "worker_id": "w1"})
        assert r.status_code == 200
        claimed.append(r.json()["task_id"])
    for wire in claimed[:3]:
        assert s.client.post(f"/tasks/{wire}/complete", json={}).status_code == 200
    r = s.client.post(f"/tasks/{claimed[3]}/fail", json={"error": "decoder exploded"})
    assert r.status_code == 200
    for _ in range(2):
        beat = {"worker_id": "w1", "kind": "heavy", "state": "idle"}
        assert s.client.post("/workers/heartbeat", json=beat).status_code == 200

    m = scrape(s)
    label = (("task_type", H.value),)
    assert m[("dashcam_task_claims_total", label)] == 5
    assert m[("dashcam_task_completions_total", label)] == 3
    assert m[("dashcam_task_failures_total", label)] == 1
    assert m[("dashcam_worker_heartbeats_total", (("kind", "heavy"),))] == 2
    assert m[("dashcam_workers", (("kind", "heavy"), ("stale", "false")))] == 1
    counts = q.counts()
    assert counts[(H, TaskStatus.DONE)] == 3 and counts[(H, TaskStatus.RUNNING)] == 1
    for tt in TaskType:
        for st in TaskStatus:
            key = ("dashcam_tasks", (("state", st.value), ("task_type", tt.value)))
            assert m[key] == counts.get((tt, st), 0), key

    # The gauges follow the queue at the next scrape (no stale values kept).
    wire = claimed[4]
    assert s.client.post(f"/tasks/{wire}/complete", json={}).status_code == 200
    m = scrape(s)
    assert m[("dashcam_tasks", (("state", "running"), ("task_type", H.value)))] == 0
    assert m[("dashcam_tasks", (("state", "done"), ("task_type", H.value)))] == 4
    assert m[("dashcam_task_completions_total", label)] == 4


def test_metrics_need_the_key_when_one_is_set(serve: Callable[..., Served]) -> None:
    s = serve()
    assert httpx.get(s.url + "/metrics").status_code == 401
    bad = {"Authorization": "Bearer nope"}
    assert httpx.get(s.url + "/metrics", headers=bad).status_code == 401
    open_server = serve(api_key=None)
    assert httpx.get(open_server.url + "/metrics").status_code == 200
