"""The archive worker: verified moves that survive a crash at any step, and that never
delete anything outside the heavy output root, whatever a task payload names."""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path

import pytest

from dashcam.config import Settings, load_settings
from dashcam.store.database import make_engine
from dashcam.store.paths import copy_tree_verified
from dashcam.store.results import ResultsRepository
from dashcam.store.schema import VideoStatus
from dashcam.store.task_queue import TaskQueue
from dashcam.store.task_schema import TaskStatus, TaskType
from dashcam.workers.archive import ArchiveWorker
from dashcam.workers.clients import DirectQueueClient

A = TaskType.ARCHIVE_VIDEO


@pytest.fixture
def settings(tmp_path: Path) -> Settings:
    return load_settings(data_dir=tmp_path / "data")


@pytest.fixture
def env(settings: Settings) -> Iterator[tuple[TaskQueue, ResultsRepository, ArchiveWorker]]:
    engine = make_engine(settings.db_url)
    queue, repo = TaskQueue(engine), ResultsRepository(engine)
    yield queue, repo, ArchiveWorker(DirectQueueClient(queue, repo), settings)
    engine.dispose()


def _outputs(folder: Path) -> dict[str, bytes]:
    (folder / "crops").mkdir(parents=True)
    files = {"metadata.json": b'{"sightings": []}', "crops/a.jpg": b"\xff\xd8jpeg"}
    for name, data in files.items():
        (folder / name).write_bytes(data)
    return files


def test_archive_after_a_crash_between_copy_and_complete(
    settings: Settings, env: tuple[TaskQueue, ResultsRepository, ArchiveWorker]
) -> None:
    queue, repo, worker = env
    src = settings.heavy_output / "cam-1"
    files = _outputs(src)
    repo.upsert_video("cam-1", "/nas/cam-1.mp4")
    tid = queue.enqueue(A, {"video_id": "cam-1", "heavy_output_dir": str(src)}, video_id="cam-1")
    # A first worker copied everything, then died before completing: lease expires.
    copy_tree_verified(src, settings.archive / "cam-1")
    (settings.archive / "cam-1" / "crops" / "a.jpg").write_bytes(b"torn")  # a bad copy
    assert worker.run(until_idle=True) == 1
    dst = settings.archive / "cam-1"
    assert {n: (dst / n).read_bytes() for n in files} == files  # the bad copy was redone
    assert not src.exists()
    v = repo.get_video("cam-1")
    assert v is not None and v.status is VideoStatus.ARCHIVED and v.archive_dir == str(dst)
    # Run again (a replayed task after the source is gone): completes, loses nothing.
    again = queue.enqueue(A, {"video_id": "cam-1"}, video_id="cam-1")
    assert worker.run(until_idle=True) == 2  # tasks done by this worker so far
    assert {n: (dst / n).read_bytes() for n in files} == files
    for t in (tid, again):
        task = queue.get(t or 0)
        assert task is not None and task.status is TaskStatus.DONE


@pytest.mark.parametrize("named", ["outside", "root"])
def test_a_payload_cannot_make_it_delete_outside_the_heavy_output_root(
    named: str,
    tmp_path: Path,
    settings: Settings,
    env: tuple[TaskQueue, ResultsRepository, ArchiveWorker],
) -> None:
    queue, _repo, worker = env
    own = settings.heavy_output / "cam-2"
    _outputs(own)
    other = settings.heavy_output / "cam-3"
    other_files = _outputs(other)
    victim = tmp_path / "precious" if named == "outside" else settings.heavy_output
    victim.mkdir(parents=True, exist_ok=True)
    (victim / "keep.txt").write_text("keep me")
    raw = tmp_path / "elsewhere" / "raw.mp4"
    raw.parent.mkdir()
    raw.write_bytes(b"raw video")
    payload = {
        "video_id": "cam-2",
        "heavy_output_dir": str(victim),
        "raw_video": str(raw),
        "archive_raw": True,
    }
    tid = queue.enqueue(A, payload, video_id="cam-2")
    assert worker.run(until_idle=True) == 1
    assert (victim / "keep.txt").read_text() == "keep me"
    assert {n: (other / n).read_bytes() for n in other_files} == other_files
    assert raw.read_bytes() == b"raw video"  # outside the NAS: copied, never deleted
    dst = settings.archive / "cam-2"
    assert (dst / "metadata.json").is_file() and (dst / "raw" / "raw.mp4").is_file()
    assert not (dst / "keep.txt").exists()
    assert not own.exists()  # the video's own outputs were moved
    task = queue.get(tid or 0)
    assert task is not None and task.status is TaskStatus.DONE
