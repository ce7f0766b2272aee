"""A live camera becomes stored sightings: a real relay on 127.0.0.1 streaming a synthetic
clip, real plate workers, and the results store on SQLite and PostgreSQL."""

from __future__ import annotations

import asyncio
import os
import threading
import time
import uuid
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import cv2
import httpx
import pytest
from relay_helpers import register, wait_until
from sqlalchemy import create_engine, text

from dashcam.media.frames import road_frame
from dashcam.media.synthetic import make_clip
from dashcam.relay.cameras import CameraSpec
from dashcam.relay.handlers import make_handler
from dashcam.relay.hub import Relay, RelayConfig
from dashcam.relay.server import RelayServer
from dashcam.relay.sightings import SightingBuilder
from dashcam.relay.worker import CVWorker, JobHandler
from dashcam.services.live_sightings import SightingRecorder, StoredLiveSighting
from dashcam.store.database import make_engine
from dashcam.store.results import ResultsRepository
from dashcam.store.schema import VideoStatus
from dashcam.store.watchlist import WatchlistRepository

PG_URL = os.environ.get("DASHCAM_TEST_POSTGRES_URL")
POSTGRESQL = pytest.param(
    "postgresql",
    marks=pytest.mark.skipif(
        not PG_URL, reason="PostgreSQL tests need DASHCAM_TEST_POSTGRES_URL (set by .ci/run)"
    ),
)
PLATES = ["KX52ABC", "BD19XYZ", "LM07PQR"]


@pytest.fixture(params=["sqlite", POSTGRESQL])
def repo(request: pytest.FixtureRequest, tmp_path: Path) -> Iterator[ResultsRepository]:
    """The results store on a fresh SQLite file or a PostgreSQL schema of its own."""
    if request.param == "sqlite":
        engine = make_engine(f"sqlite:///{tmp_path / 'live.db'}")
        yield ResultsRepository(engine)
        engine.dispose()
        return
    assert PG_URL is not None
    schema = f"l_{uuid.uuid4().hex[:12]}"
    admin = create_engine(PG_URL)
    with admin.begin() as conn:
        conn.execute(text(f"CREATE SCHEMA {schema}"))
    sep = "&" if "?" in PG_URL else "?"
    engine = make_engine(f"{PG_URL}{sep}options=-csearch_path%3D{schema}")
    yield ResultsRepository(engine)
    engine.dispose()
    with admin.begin() as conn:
        conn.execute(text(f"DROP SCHEMA {schema} CASCADE"))
    admin.dispose()


class Workers:
    """Real CV workers, each on its own asyncio loop in a thread."""

    def __init__(self, ws_url: str) -> None:
        self.ws_url = ws_url
        self.workers: list[CVWorker] = []
        self.threads: list[threading.Thread] = []

    def start(self, worker_id: str, handler: JobHandler) -> CVWorker:
        worker = CVWorker(relay_url=self.ws_url, worker_id=worker_id, handler=handler)
        thread = threading.Thread(target=asyncio.run, args=(worker.run(),), daemon=True)
        thread.start()
        self.workers.append(worker)
        self.threads.append(thread)
        wait_until(lambda: worker.key is not None, 30, f"{worker_id} registered")
        return worker

    def stop(self) -> None:
        for w in self.workers:
            w.stop()
        for t in self.threads:
            t.join(10)


def _relay(
    repo: ResultsRepository, crops: Path, close_after_s: float, **config: Any
) -> tuple[Relay, list[StoredLiveSighting]]:
    """A relay storing sightings into ``repo``, and what its hook handed on."""
    seen: list[StoredLiveSighting] = []
    recorder = SightingRecorder(repo, crops, listeners=[seen.append])
    builder = SightingBuilder(recorder, close_after_s=close_after_s)
    return Relay(RelayConfig(**config), builder), seen


def _quiet(relay: Relay) -> bool:
    now = relay.health()["now"]
    return (
        now["open_tracks"] == 0
        and now["sightings_queued"] == 0
        and now["jobs_open"]["claimed"] == 0
        and now["sightings_jobs_waiting"] == 0
    )


@pytest.mark.slow
def test_each_passing_plate_is_one_stored_sighting_with_its_camera_times_and_crop(
    repo: ResultsRepository, tmp_path: Path
) -> None:
    clip = make_clip(
        tmp_path, name="gate", duration_s=20, resolution_wh=(960, 540), fps=10, plates=PLATES
    )
    assert [p.text for p in clip.plates] == PLATES
    watch = WatchlistRepository(repo.engine)
    watch.add(PLATES[1], note="stolen")
    # workers on a busy 2-core machine take seconds a frame: reads of one plate can be
    # seconds apart, so the close time is longer than any plate is in view
    relay, handed = _relay(repo, tmp_path / "live", close_after_s=8.0, fps=2.0, job_ttl_s=5.0)
    relay.add_camera(CameraSpec.parse(f"gate={clip.video_path}"))
    with RelayServer(relay) as server:
        workers = Workers(server.ws_url)
        try:
            workers.start("w1", make_handler("plates"))
            cam = relay.camera("gate")
            started_s = time.time()
            cam.start()
            # a second worker joins mid-stream: it shares the jobs, it adds no sighting
            wait_until(lambda: cam.frames >= 12, 60, "a third of the clip")
            workers.start("w2", make_handler("plates"))
            # one pass of the clip (it loops forever): 20 s at 2 fps
            wait_until(lambda: cam.frames >= 40, 60, "the whole clip")
            cam.stop()
            ended_s = time.time()
            wait_until(lambda: _quiet(relay), 120, "every track closed and stored")
            health = httpx.get(f"{server.http_url}/health").json()
        finally:
            workers.stop()

    assert sum(w.jobs_completed for w in workers.workers[1:]) > 0, "w2 did some of the jobs"
    stored = repo.list_sightings(video_id="camera:gate", with_reads=True)
    by_text = {p: [s for s in stored if s.sighting.plate_text == p] for p in PLATES}
    assert {p: len(found) for p, found in by_text.items()} == {p: 1 for p in PLATES}
    assert len(stored) == len(PLATES), [s.sighting.plate_text for s in stored]
    truth = {p.text: p for p in clip.plates}
    for found in by_text.values():
        sg = found[0].sighting
        assert sg.first_utc_ms is not None and sg.last_utc_ms is not None
        assert started_s * 1000 <= sg.first_utc_ms <= sg.last_utc_ms <= ended_s * 1000
        # seen while the plate was in view in the clip, on the camera's clock (OCR reads a
        # plate a little before the clip maker counts it legible; the camera starts late)
        span = truth[sg.plate_text]
        assert sg.first_utc_ms / 1000 - started_s <= span.last_s + 3
        assert sg.last_utc_ms / 1000 - started_s >= span.first_s - 3
        assert sg.n_reads == len(sg.reads) >= 1
        assert all(r.text for r in sg.reads)
        assert sg.best_crop_path is not None
        video = repo.get_video("camera:gate")
        assert video is not None and video.status is VideoStatus.LIVE
        assert video.output_dir is not None and video.path == str(clip.video_path)
        crop = cv2.imread(str(Path(video.output_dir) / sg.best_crop_path))
        assert crop is not None and crop.shape[1] > crop.shape[0] > 5

    # search and the watchlist read the same table as for recorded footage
    (hit,) = [s for s, _ in repo.search_plates("BD19XY2") if s.sighting.video_id == "camera:gate"]
    assert hit.sighting.plate_text == "BD19XYZ"
    (alert,) = watch.matches()
    assert (alert.plate_text, alert.video_id, alert.note) == ("BD19XYZ", "camera:gate", "stolen")
    # every stored sighting was handed on once, to the one hook
    assert sorted(h.stored.id for h in handed) == sorted(s.id for s in stored)
    assert {h.camera for h in handed} == {"gate"}
    assert health["totals"]["sightings"]["stored"] == len(PLATES)
    assert health["now"]["workers"] == 2


@pytest.mark.slow
def test_a_relay_restart_closes_open_tracks_as_sightings(
    repo: ResultsRepository, tmp_path: Path
) -> None:
    frame = road_frame(5, n_vehicles=1)
    ((plate, _),) = frame.plates
    ok, jpeg = cv2.imencode(".jpg", frame.image)
    assert ok
    relay, _ = _relay(repo, tmp_path / "live", close_after_s=3600.0)
    with RelayServer(relay) as server:
        workers = Workers(server.ws_url)
        try:
            worker = workers.start("w1", make_handler("plates"))
            t0 = time.time()
            for k in range(2):
                server.call(relay.submit, "door", [jpeg.tobytes()], (1280, 720), t0 + k)
                wait_until(lambda k=k: worker.jobs_completed == k + 1, 60, f"job {k}")
            wait_until(lambda: relay.health()["now"]["open_tracks"] == 1, 30, "an open track")
            assert repo.list_sightings(video_id="camera:door") == []
        finally:
            workers.stop()
    # the relay stopped long before the track's close time: its sighting is stored anyway
    (stored,) = repo.list_sightings(video_id="camera:door")
    assert (stored.sighting.plate_text, stored.sighting.n_reads) == (plate, 2)


@pytest.mark.slow
def test_a_job_whose_worker_dies_is_done_again_and_its_read_joins_the_sighting(
    repo: ResultsRepository, tmp_path: Path
) -> None:
    frame = road_frame(7, n_vehicles=1)
    ((plate, _),) = frame.plates
    ok, jpeg = cv2.imencode(".jpg", frame.image)
    assert ok
    relay, _ = _relay(repo, tmp_path / "live", close_after_s=3600.0)
    with RelayServer(relay) as server:
        workers = Workers(server.ws_url)
        try:

            async def die_holding_a_job() -> tuple[str, CVWorker]:
                ws, _key = await register(server.ws_url, "dies")
                job = server.call(relay.submit, "door", [jpeg.tobytes()], (1280, 720), time.time())
                claimed = httpx.post(
                    f"{server.http_url}/jobs/{job.id}/claim", json={"worker_id": "dies"}
                )
                assert claimed.status_code == 200
                # a plate worker is up; then the first worker is gone with the job it held
                worker = await asyncio.to_thread(workers.start, "w1", make_handler("plates"))
                await ws.close()
                return job.id, worker

            first, worker = asyncio.run(die_holding_a_job())
            wait_until(lambda: worker.jobs_completed == 1, 60, "the job done again")
            assert relay.jobs.get(first).attempt == 2
            server.call(relay.submit, "door", [jpeg.tobytes()], (1280, 720), time.time())
            wait_until(lambda: worker.jobs_completed == 2, 60, "the next frame")
            wait_until(lambda: relay.health()["now"]["open_tracks"] == 1, 30, "one open track")
        finally:
            workers.stop()
    (stored,) = repo.list_sightings(video_id="camera:door", with_reads=True)
    assert stored.sighting.plate_text == plate
    assert [r.frame_index for r in stored.sighting.reads] == [0, 1]
