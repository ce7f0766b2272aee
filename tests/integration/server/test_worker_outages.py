"""Remote workers ride out a server that is away: they keep polling, and a finished task's
completion is delivered once the server is back (exactly once, follow-ups included)."""

from __future__ import annotations

import socket
import threading
import time
from collections.abc import Callable, Iterator
from pathlib import Path

import httpx
import pytest
import uvicorn

from dashcam.config import Settings, load_settings
from dashcam.errors import ConfigError
from dashcam.server.app import create_app
from dashcam.store.database import make_engine
from dashcam.store.results import ResultsRepository
from dashcam.store.schema import VideoStatus
from dashcam.store.task_queue import TaskQueue
from dashcam.store.task_records import FollowUp
from dashcam.store.task_schema import TaskStatus, TaskType
from dashcam.workers.base import ClaimedTask, Outcome, TaskContext, Worker
from dashcam.workers.clients import HttpQueueClient

H = TaskType.HEAVY_PROCESS_VIDEO


def _free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return int(s.getsockname()[1])


class _Server:
    """The server app under uvicorn in a thread, on a port chosen by the test."""

    def __init__(self, settings: Settings, port: int) -> None:
        cfg = uvicorn.Config(
            create_app(settings, sweep_interval_s=0.2),
            host="127.0.0.1",
            port=port,
            log_level="warning",
        )
        self.server = uvicorn.Server(cfg)
        self.thread = threading.Thread(target=self.server.run, daemon=True)

    def start(self) -> _Server:
        self.thread.start()
        deadline = time.time() + 20
        while not self.server.started:
            assert time.time() < deadline, "server did not start"
            time.sleep(0.05)
        return self

    def stop(self) -> None:
        self.server.should_exit = True
        self.thread.join(timeout=10)
        assert not self.thread.is_alive()


class _GatedWorker(Worker):
    """Finishes each task when the test opens the gate; publishes one ARCHIVE_VIDEO."""

    kind = "test"
    task_types = (H,)

    def __init__(self, *args: object, **kwargs: object) -> None:
        super().__init__(*args, **kwargs)  # type: ignore[arg-type]
        self.started = threading.Event()
        self.gate = threading.Event()
        self.gate.set()

    def handle(self, task: ClaimedTask, ctx: TaskContext) -> Outcome:
        self.started.set()
        assert self.gate.wait(30)
        vid = str(task.video_id)  # the wire moves video_id out of the inputs
        return Outcome(
            result={"video_id": vid},
            follow_ups=[FollowUp(TaskType.ARCHIVE_VIDEO, {"video_id": vid}, video_id=vid)],
        )


@pytest.fixture
def settings(tmp_path: Path) -> Settings:
    return load_settings(data_dir=tmp_path / "data", api_key="k3y", lease_s=30.0)


@pytest.fixture
def queue(settings: Settings) -> Iterator[TaskQueue]:
    engine = make_engine(settings.db_url)
    yield TaskQueue(engine)
    engine.dispose()


def _wait(cond: Callable[[], bool], timeout_s: float = 20.0) -> None:
    deadline = time.time() + timeout_s
    while not cond():
        assert time.time() < deadline, "condition not met in time"
        time.sleep(0.05)


def _run_in_thread(worker: Worker) -> tuple[threading.Thread, list[BaseException]]:
    errors: list[BaseException] = []

    def target() -> None:
        try:
            worker.run()
        except BaseException as exc:
            errors.append(exc)

    t = threading.Thread(target=target, daemon=True)
    t.start()
    return t, errors


def test_worker_started_before_its_server_keeps_polling(
    settings: Settings, queue: TaskQueue
) -> None:
    tid = queue.enqueue(H, {"video_id": "v1", "raw_video": "/nas/v1.mp4"}, video_id="v1")
    port = _free_port()
    worker = _GatedWorker(
        HttpQueueClient(f"http://127.0.0.1:{port}", "k3y", timeout_s=5),
        poll_interval_s=0.1,
        heartbeat_interval_s=1.0,
    )
    thread, errors = _run_in_thread(worker)
    time.sleep(0.6)  # several claims refused: nobody listens on the port yet
    assert thread.is_alive() and not errors
    srv = _Server(settings, port).start()
    try:
        _wait(lambda: worker.done == 1)
    finally:
        worker.stop()
        thread.join(timeout=10)
        srv.stop()
    assert not errors and not thread.is_alive()
    task = queue.get(tid or 0)
    assert task is not None and task.status is TaskStatus.DONE


def test_completion_sent_while_the_server_is_down_arrives_once(
    settings: Settings, queue: TaskQueue
) -> None:
    tid = queue.enqueue(H, {"video_id": "v2", "raw_video": "/nas/v2.mp4"}, video_id="v2")
    port = _free_port()
    srv = _Server(settings, port).start()
    worker = _GatedWorker(
        HttpQueueClient(f"http://127.0.0.1:{port}", "k3y", timeout_s=5),
        poll_interval_s=0.1,
        heartbeat_interval_s=0.5,
    )
    worker.gate.clear()
    thread, errors = _run_in_thread(worker)
    try:
        assert worker.started.wait(20)
        srv.stop()  # the worker finishes while its server is away
        worker.gate.set()
        time.sleep(1.5)  # completions and heartbeats are refused meanwhile
        task = queue.get(tid or 0)
        assert task is not None and task.status is TaskStatus.RUNNING
        srv = _Server(settings, port).start()
        _wait(lambda: worker.done == 1)
    finally:
        worker.stop()
        thread.join(timeout=10)
        srv.stop()
    assert not errors
    task = queue.get(tid or 0)
    assert task is not None and task.status is TaskStatus.DONE and task.attempts == 1
    archive = queue.list_tasks(task_type=TaskType.ARCHIVE_VIDEO)
    assert [t.video_id for t in archive] == ["v2"]


def test_a_refused_api_key_stops_the_worker_with_a_readable_error(
    settings: Settings, queue: TaskQueue
) -> None:
    queue.enqueue(H, {"video_id": "v3", "raw_video": "/nas/v3.mp4"}, video_id="v3")
    port = _free_port()
    srv = _Server(settings, port).start()
    try:
        worker = _GatedWorker(
            HttpQueueClient(f"http://127.0.0.1:{port}", "wrong"), poll_interval_s=0.1
        )
        with pytest.raises(ConfigError, match=r"401.*DASHCAM_API_KEY"):
            worker.run()
    finally:
        srv.stop()
    assert worker.done == 0
    assert queue.list_tasks(status=TaskStatus.QUEUED)[0].video_id == "v3"


def test_replayed_completion_stores_results_the_first_delivery_never_stored(
    settings: Settings, queue: TaskQueue
) -> None:
    """The server committed the task, then died before storing the sightings; the client
    retries the same completion: the sightings arrive, the follow-up is not doubled."""
    repo = ResultsRepository(queue.engine)
    repo.upsert_video("v4", "/nas/v4.mp4")
    queue.enqueue(H, {"video_id": "v4", "raw_video": "/nas/v4.mp4"}, video_id="v4")
    (claimed,) = queue.claim([H], "seed-client")
    sighting = {
        "video_id": "v4",
        "track_id": 1,
        "plate_text": "AB123CD",
        "confidence": 0.9,
        "first_s": 0.0,
        "last_s": 0.5,
        "best_frame_index": 3,
        "best_xyxy": [10, 10, 90, 40],
        "n_reads": 4,
    }
    archive = {"task_type": "ARCHIVE_VIDEO", "inputs": {"video_id": "v4"}}
    # What the dead server had committed: the task done, its follow-up published.
    queue.complete(
        claimed.id,
        claimed.lease_token or "",
        {"video_id": "v4"},
        [FollowUp(TaskType.ARCHIVE_VIDEO, {"video_id": "v4"}, video_id="v4")],
    )
    port = _free_port()
    srv = _Server(settings, port).start()
    try:
        body = {
            "video_id": "v4",
            "task_id": claimed.wire_id,
            "sightings": [sighting],
            "remote_tasks": [archive],
        }
        r = httpx.post(
            f"http://127.0.0.1:{port}/tasks/{claimed.wire_id}/complete",
            json=body,
            headers={"Authorization": "Bearer k3y"},
        )
        assert r.status_code == 200, r.text
        found = httpx.get(
            f"http://127.0.0.1:{port}/plates/search",
            params={"q": "AB123CD"},
            headers={"Authorization": "Bearer k3y"},
        ).json()
    finally:
        srv.stop()
    assert [s["plate_text"] for s in found] == ["AB123CD"]
    v = repo.get_video("v4")
    assert v is not None and v.status is VideoStatus.DONE
    assert len(queue.list_tasks(task_type=TaskType.ARCHIVE_VIDEO)) == 1
