"""The server over real HTTP on 127.0.0.1: incoming-folder scan, sighting filters, crops,
metrics per task type, workers' staleness."""

from __future__ import annotations

import shutil
import time
from collections.abc import Callable
from pathlib import Path
from typing import Any

import httpx
from server_helpers import ThreadServer

from dashcam.domain.sighting import PlateObservation, Sighting
from dashcam.media.synthetic import make_clip
from dashcam.server.incoming import IncomingScanner, settled
from dashcam.store.schema import VideoStatus
from dashcam.store.task_schema import TaskType

H = TaskType.HEAVY_PROCESS_VIDEO


def _wait(cond: Callable[[], Any], timeout_s: float = 10.0) -> Any:
    deadline = time.monotonic() + timeout_s
    while not (got := cond()):
        assert time.monotonic() < deadline, "condition not met in time"
        time.sleep(0.05)
    return got


def _tiny_clip(folder: Path, name: str, seed: int) -> Path:
    """A real, short, small video (distinct content per seed)."""
    clip = make_clip(folder, name=name, seed=seed, duration_s=1.0, resolution_wh=(160, 120), fps=5)
    clip.gps_path.unlink()
    return clip.video_path


def test_settled_needs_two_equal_scans() -> None:
    a, b = Path("/nas/a.mp4"), Path("/nas/b.mp4")
    assert settled({}, {a: (5, 1)}, set()) == []
    assert settled({a: (5, 1), b: (3, 1)}, {a: (5, 1), b: (4, 2)}, set()) == [a]
    assert settled({a: (5, 1)}, {a: (5, 1)}, {a}) == []


def test_server_scan_of_incoming_queues_each_new_video_once(
    serve: Callable[..., ThreadServer], tmp_path: Path
) -> None:
    nas = tmp_path / "nas"
    incoming = nas / "videos" / "incoming"
    incoming.mkdir(parents=True)
    srv = serve(nas_mount=nas, nas_scan_interval_s=0.1)
    _tiny_clip(incoming / "cam1", "a", 1)
    (incoming / "notes.txt").write_text("not a video")
    videos = _wait(lambda: srv.http.get("/videos").json())
    assert [v["path"] for v in videos] == [str((incoming / "cam1" / "a.mp4").resolve())]
    # The same content under another name is the same video: no second task.
    shutil.copy(incoming / "cam1" / "a.mp4", incoming / "copy.mp4")
    _tiny_clip(incoming, "b", 2)
    _wait(lambda: len(srv.http.get("/videos").json()) == 2)
    time.sleep(0.5)  # several more scans
    tasks = srv.http.get("/tasks", params={"task_type": H.value}).json()
    assert len(tasks) == 2
    assert {t["video_id"] for t in tasks} == {v["id"] for v in srv.http.get("/videos").json()}


def test_scanner_waits_for_a_file_to_stop_growing(tmp_path: Path) -> None:
    from dashcam.store.database import make_engine
    from dashcam.store.results import ResultsRepository
    from dashcam.store.task_queue import TaskQueue

    engine = make_engine(f"sqlite:///{tmp_path / 'q.db'}")
    scanner = IncomingScanner(ResultsRepository(engine), TaskQueue(engine), tmp_path / "in")
    assert scanner.scan() == []  # no folder yet: nothing, no error
    whole = _tiny_clip(tmp_path / "src", "rec", 3).read_bytes()
    (tmp_path / "in").mkdir()
    f = tmp_path / "in" / "rec.mp4"
    f.write_bytes(whole[: len(whole) // 2])
    assert scanner.scan() == []  # first sight
    with f.open("ab") as fh:
        fh.write(whole[len(whole) // 2 :])  # still being copied
    assert scanner.scan() == []
    (got,) = scanner.scan()
    assert got.task_id is not None and got.path == f.resolve()
    assert scanner.scan() == []  # never twice


def _sighting(video_id: str, plate: str, utc_ms: int, crop: str | None) -> Sighting:
    read = PlateObservation(
        frame_index=0, pts_s=0.0, text=plate, confidence=0.9, xyxy=(1, 2, 3, 4), track_id=1
    )
    return Sighting(
        video_id=video_id,
        track_id=1,
        plate_text=plate,
        confidence=0.9,
        first_s=0.0,
        last_s=1.0,
        best_frame_index=0,
        best_xyxy=(1, 2, 3, 4),
        n_reads=1,
        first_utc_ms=utc_ms,
        last_utc_ms=utc_ms + 1000,
        best_crop_path=crop,
        reads=(read,),
    )


def test_sightings_filters_search_and_crops_stay_inside_the_output_root(
    serve: Callable[..., ThreadServer], tmp_path: Path
) -> None:
    srv = serve()
    out = tmp_path / "data" / "heavy" / "v1"
    (out / "crops").mkdir(parents=True)
    (out / "crops" / "ab12cde.jpg").write_bytes(b"\xff\xd8jpeg\xff\xd9")
    (tmp_path / "secret.jpg").write_bytes(b"not yours")
    repo = srv.st.repo
    repo.upsert_video("v1", "/nas/v1.mp4", status=VideoStatus.DONE, output_dir=str(out))
    t0 = 1_714_550_400_000  # 2024-05-01T08:00:00Z
    repo.replace_sightings(
        "v1",
        [
            _sighting("v1", "AB12CDE", t0, "crops/ab12cde.jpg"),
            _sighting("v1", "XY99ZZZ", t0 + 3_600_000, "../../../secret.jpg"),
        ],
    )
    got = srv.http.get("/sightings", params={"since": "2024-05-01T08:30:00Z"}).json()
    assert [s["plate_text"] for s in got] == ["XY99ZZZ"]
    got = srv.http.get("/sightings", params={"until": "2024-05-01T08:30:00"}).json()
    assert [s["plate_text"] for s in got] == ["AB12CDE"]
    assert srv.http.get("/sightings", params={"plate": "ab12cde"}).json()[0]["id"] > 0
    bad = srv.http.get("/sightings", params={"since": "yesterday-ish"})
    assert bad.status_code == 422 and "since" in bad.json()["detail"]
    hits = srv.http.get("/plates/search", params={"q": "AB12CDF", "max_distance": 1}).json()
    assert [h["plate_text"] for h in hits] == ["AB12CDE"]
    ok, esc = (
        srv.http.get(f"/sightings/{s['id']}/crop")
        for s in srv.http.get("/videos/v1/sightings").json()
    )
    assert ok.status_code == 200 and ok.content.startswith(b"\xff\xd8")
    assert ok.headers["content-type"] == "image/jpeg"
    assert esc.status_code == 422 and "escapes" in esc.json()["detail"]
    assert httpx.get(srv.url + "/sightings").status_code == 401


def test_metrics_count_claims_completions_and_lease_expiries_per_type(
    serve: Callable[..., ThreadServer],
) -> None:
    srv = serve()
    srv.st.queue.lease_s = 0.2
    srv.st.queue.enqueue(H, {"video_id": "v1", "raw_video": "/nas/v1.mp4"}, video_id="v1")
    first = srv.http.get("/tasks/next", params={"task_type": H.value}).json()
    reg = srv.app.state.metrics.registry

    def sample(name: str) -> float:
        return reg.get_sample_value(name, {"task_type": H.value}) or 0.0

    _wait(lambda: sample("dashcam_lease_expiries_total") == 1.0)
    second = srv.http.get("/tasks/next", params={"task_type": H.value}).json()
    assert second["task_id"] != first["task_id"]
    srv.http.post(f"/tasks/{second['task_id']}/heartbeat").raise_for_status()
    done = srv.http.post(f"/tasks/{second['task_id']}/complete", json={"video_id": "v1"})
    assert done.status_code == 200
    assert sample("dashcam_task_claims_total") == 2.0
    assert sample("dashcam_task_completions_total") == 1.0
    assert srv.http.post(f"/tasks/{first['task_id']}/heartbeat").status_code == 409
    stats = srv.http.get("/queue/stats").json()
    assert stats["tasks"][H.value] == {"done": 1}


def test_workers_report_heartbeats_and_go_stale(serve: Callable[..., ThreadServer]) -> None:
    srv = serve(heartbeat_interval_s=0.1)
    srv.st.stale_after_s = 0.3
    beat = {"worker_id": "heavy-ws1-42", "kind": "heavy", "host": "ws1", "pid": 42}
    assert srv.http.post("/workers/heartbeat", json=beat).status_code == 200
    (w,) = srv.http.get("/workers").json()
    assert (w["worker_id"], w["stale"]) == ("heavy-ws1-42", False)
    time.sleep(0.5)
    (w,) = srv.http.get("/workers").json()
    assert w["stale"] is True and w["heartbeat_age_s"] >= 0.3
    bad = srv.http.post("/workers/heartbeat", json={"kind": "heavy"})
    assert bad.status_code == 422 and "worker_id" in bad.json()["detail"]
