"""What a hostile or careless client found, one test per finding: out-of-range integers,
bad completion bodies, files outside the heavy output root, the documented error model,
and the monitor's repair of videos an older version left processing."""

from __future__ import annotations

import json
import os
from collections.abc import Callable
from pathlib import Path
from typing import Any

import httpx
import pytest
from server_helpers import ThreadServer

from dashcam.store.database import make_engine
from dashcam.store.results import ResultsRepository
from dashcam.store.schema import VideoStatus
from dashcam.store.task_queue import TaskQueue
from dashcam.store.task_schema import TaskStatus, TaskType
from dashcam.workers.base import ClaimedTask, Outcome, TaskContext, Worker
from dashcam.workers.clients import DirectQueueClient
from dashcam.workers.monitor import Monitor

H = TaskType.HEAVY_PROCESS_VIDEO
HUGE = "99999999999999999999"  # > 2**63: no database integer holds it


def _sighting(plate: str = "AB12CDE") -> dict[str, Any]:
    return {
        "video_id": "v1",
        "track_id": 1,
        "plate_text": plate,
        "confidence": 0.9,
        "first_s": 0.0,
        "last_s": 1.0,
        "best_frame_index": 0,
        "best_xyxy": [1, 2, 3, 4],
        "n_reads": 1,
        "reads": [
            {"frame_index": 0, "pts_s": 0.0, "text": plate, "confidence": 0.9, "xyxy": [1, 2, 3, 4]}
        ],
    }


def _claimed(srv: ThreadServer, video_id: str = "v1") -> str:
    """A queued video whose heavy task is claimed: returns the wire id."""
    srv.st.repo.upsert_video(video_id, f"/nas/{video_id}.mp4", status=VideoStatus.QUEUED)
    srv.st.queue.enqueue(H, {"video_id": video_id, "raw_video": "/nas/x.mp4"}, video_id=video_id)
    r = srv.http.get("/tasks/next", params={"task_type": H.value})
    assert r.status_code == 200, r.text
    wire: str = r.json()["task_id"]
    return wire


@pytest.mark.parametrize(
    ("method", "path", "body"),
    [
        ("GET", f"/tasks/{HUGE}", None),
        ("POST", f"/tasks/{HUGE}/cancel", None),
        ("GET", f"/sightings/{HUGE}", None),
        ("GET", f"/sightings/{HUGE}/crop", None),
        ("GET", f"/sightings?since_ms={HUGE}", None),
        ("GET", f"/sightings?until_ms=-{HUGE}", None),
        ("GET", f"/sightings?offset={HUGE}", None),
        ("POST", "/workers/heartbeat", {"worker_id": "w", "kind": "heavy", "pid": 2**64}),
        ("POST", "/workers/heartbeat", {"worker_id": "w", "kind": "heavy", "task_id": 2**63}),
        ("POST", "/workers/heartbeat", {"worker_id": "w", "kind": "heavy", "state": "x" * 17}),
        ("POST", f"/tasks/{HUGE}.abc/heartbeat", None),
        ("POST", f"/tasks/{'9' * 5000}.abc/release", None),
        ("POST", f"/tasks/{HUGE}.abc/complete", {}),
        ("POST", f"/tasks/{HUGE}.abc/fail", {"error": "boom"}),
    ],
)
def test_finding1_out_of_range_integers_are_refused_not_500(
    serve: Callable[..., ThreadServer], method: str, path: str, body: Any
) -> None:
    srv = serve()
    r = srv.http.request(method, path, json=body)
    assert r.status_code in (404, 409, 422), (r.status_code, r.text)
    assert isinstance(r.json()["detail"], str) and r.json()["detail"]


BAD_COMPLETIONS = {
    "archive payload": {"remote_tasks": [{"task_type": "ARCHIVE_VIDEO", "payload": {"bogus": 1}}]},
    "miner payload": {"remote_tasks": [{"task_type": "MINER_DOWNLOAD", "payload": {"bogus": 1}}]},
    "sighting": {"sightings": [{"bogus": 1}]},
    "plate too long": {"sightings": [_sighting("X" * 40)]},
    "elapsed_s": {"elapsed_s": "fast"},
    "frames_processed": {"frames_processed": "many"},
    "width": {"width": "wide"},
    "height overflow": {"height": 2**40},
    "NaN extra": "NAN",
    "metadata not JSON": "METADATA",
}


@pytest.mark.parametrize("case", list(BAD_COMPLETIONS))
def test_finding2_a_bad_completion_is_422_and_changes_nothing(
    serve: Callable[..., ThreadServer], case: str
) -> None:
    srv = serve()
    wire = _claimed(srv)
    body = BAD_COMPLETIONS[case]
    if body == "METADATA":  # inside the heavy output root, but not a metadata.json
        meta = srv.st.settings.heavy_output / "v1" / "metadata.json"
        meta.parent.mkdir(parents=True)
        meta.write_text("GIF89a not json")
        body = {"metadata_path": str(meta)}
    if body == "NAN":  # Python's JSON reader takes NaN; the stored result could not be served
        r = srv.http.post(
            f"/tasks/{wire}/complete",
            content=b'{"sightings": [], "speed": NaN}',
            headers={"content-type": "application/json"},
        )
    else:
        r = srv.http.post(f"/tasks/{wire}/complete", json=body)
    assert r.status_code == 422, (r.status_code, r.text)
    assert isinstance(r.json()["detail"], str) and r.json()["detail"]
    task = srv.st.queue.list_tasks(task_type=H)[0]
    assert task.status is TaskStatus.RUNNING  # still held by its worker
    video = srv.st.repo.get_video("v1")
    assert video is not None and video.status is VideoStatus.PROCESSING
    assert srv.st.repo.list_sightings(video_id="v1") == []
    assert srv.st.queue.list_tasks(task_type=TaskType.ARCHIVE_VIDEO) == []
    # The worker can still complete it properly.
    good = srv.http.post(
        f"/tasks/{wire}/complete",
        json={
            "sightings": [_sighting()],
            "elapsed_s": 1.5,
            "remote_tasks": [{"task_type": "ARCHIVE_VIDEO", "payload": {"video_id": "v1"}}],
        },
    )
    assert good.status_code == 200, good.text
    assert srv.http.get(f"/tasks/{task.id}").json()["status"] == "done"
    assert srv.http.get("/videos/v1").json()["status"] == "done"
    assert [s["plate_text"] for s in srv.http.get("/videos/v1/sightings").json()] == ["AB12CDE"]


def test_finding3_monitor_repairs_a_video_left_processing_by_a_two_step_completion(
    serve: Callable[..., ThreadServer],
) -> None:
    """An older server crashed between "task done" and "video done": the monitor mends it,
    with the sightings of the task's metadata.json."""
    srv = serve()
    out = srv.st.settings.heavy_output / "v1"
    out.mkdir(parents=True)
    (out / "metadata.json").write_text(json.dumps({"sightings": [_sighting()]}))
    srv.st.repo.upsert_video("v1", "/nas/v1.mp4", status=VideoStatus.PROCESSING)
    srv.st.queue.enqueue(H, {"video_id": "v1", "raw_video": "/nas/v1.mp4"}, video_id="v1")
    (t,) = srv.st.queue.claim([H], "old-worker")
    # the first of the old version's two transactions, and then the crash
    srv.st.queue.complete(t.id, t.lease_token or "", {"metadata_path": str(out / "metadata.json")})
    assert srv.http.get("/videos/v1").json()["status"] == "processing"
    monitor = Monitor(srv.st.queue)
    monitor.tick()
    video = srv.http.get("/videos/v1").json()
    assert (video["status"], video["output_dir"]) == ("done", str(out))
    assert [s["plate_text"] for s in srv.http.get("/videos/v1/sightings").json()] == ["AB12CDE"]
    assert monitor.repaired == 1
    monitor.tick()
    assert monitor.repaired == 1  # nothing left to mend


@pytest.mark.parametrize(
    ("field", "root"),
    [
        ("metadata_path", "heavy output root"),
        ("crops_dir", "heavy output root"),
        ("output_dir", "heavy output root"),
        ("archive_dir", "archive root"),
    ],
)
def test_finding4_paths_outside_the_servers_roots_are_refused_unread(
    serve: Callable[..., ThreadServer], tmp_path: Path, field: str, root: str
) -> None:
    srv = serve()
    secret = tmp_path / "secret.json"
    secret.write_text(json.dumps({"sightings": [_sighting("STOLEN1")]}))
    heavy = srv.st.settings.heavy_output
    heavy.mkdir(parents=True)
    os.symlink(tmp_path, heavy / "escape")  # inside by name, outside once resolved
    for path in ("/etc/passwd", str(secret), str(heavy / "escape" / "secret.json")):
        wire = _claimed(srv, f"v{abs(hash(path)) % 10_000}")
        r = srv.http.post(f"/tasks/{wire}/complete", json={field: path})
        assert r.status_code == 422, r.text
        assert f"outside the {root}" in r.json()["detail"]
    assert srv.st.repo.list_sightings() == []


def test_finding5_every_error_answer_matches_the_documented_error_model(
    serve: Callable[..., ThreadServer],
) -> None:
    srv = serve()
    spec = srv.http.get("/openapi.json").json()
    error = spec["components"]["schemas"]["ErrorBody"]
    assert error["properties"]["detail"]["type"] == "string"
    assert "HTTPValidationError" not in spec["components"]["schemas"]
    for path, ops in spec["paths"].items():
        for method, op in ops.items():
            codes = set(op["responses"])
            where = f"{method.upper()} {path}"
            if path != "/health":
                assert {"401", "422"} <= codes, where
            if "_id}" in path and method == "get":  # an unknown id is 404
                assert "404" in codes, where
            for code in codes - {"200", "201", "204"}:
                schema = op["responses"][code]["content"]["application/json"]["schema"]
                assert schema == {"$ref": "#/components/schemas/ErrorBody"}, (where, code)
    params = {
        (path, p["name"]): p["schema"]
        for path, ops in spec["paths"].items()
        for op in ops.values()
        for p in op.get("parameters", [])
    }
    assert params[("/plates/{plate}", "plate")]["maxLength"] == 32
    assert "pattern" in params[("/videos/{video_id}", "video_id")]
    plate_query = params[("/sightings", "plate")]["anyOf"][0]
    assert plate_query["maxLength"] == 32
    # the answers themselves: a 422 and a 404 and a 401 in the one model
    bad = srv.http.get("/sightings", params={"limit": "lots"}).json()
    assert isinstance(bad["detail"], str) and bad["errors"][0]["loc"] == ["query", "limit"]
    assert srv.http.get("/videos/nope").json() == {"detail": "no video nope"}
    assert isinstance(httpx.get(srv.url + "/videos").json()["detail"], str)


class _BadReport(Worker):
    kind = "test"
    task_types = (H,)

    def handle(self, task: ClaimedTask, ctx: TaskContext) -> Outcome:
        return Outcome(result={"elapsed_s": "fast"})


def test_a_refused_completion_fails_the_task_with_the_reason(tmp_path: Path) -> None:
    engine = make_engine(f"sqlite:///{tmp_path / 'q.db'}")
    queue, repo = TaskQueue(engine, backoff_base_s=60), ResultsRepository(engine)
    repo.upsert_video("v1", "/nas/v1.mp4", status=VideoStatus.QUEUED)
    task_id = queue.enqueue(H, {"video_id": "v1", "raw_video": "/nas/v1.mp4"}, video_id="v1")
    _BadReport(DirectQueueClient(queue, repo), poll_interval_s=0.05).run(until_idle=True)
    task = queue.get(task_id or 0)
    assert task is not None and task.status is TaskStatus.RETRY
    assert "completion refused" in (task.error or "") and "elapsed_s" in (task.error or "")
    video = repo.get_video("v1")
    assert video is not None and video.status is VideoStatus.QUEUED
