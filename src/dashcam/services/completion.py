"""What claiming, completing and failing a task means for its video, in the queue's own
transaction: a claimed heavy task's video is processing; a completion's task state,
video state, sightings, reads and follow-up tasks commit together or not at all; a dead
heavy task's video is failed. Both transports (HTTP and direct) go through here.

``repair_videos`` mends what older versions (two transactions per completion) could
leave behind after a crash: a video still processing although its heavy task is done.
"""

from __future__ import annotations

import logging
from collections.abc import Sequence
from dataclasses import replace
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

from pydantic import ValidationError
from sqlalchemy import Connection

from dashcam.domain.sighting import Sighting
from dashcam.errors import DashcamError, InputError, PathEscapeError, describe_fields
from dashcam.services.task_results import MetadataDoc, TaskResult
from dashcam.store.results import (
    ResultsRepository,
    VideoRecord,
    gps_clock_columns,
    video_clock_columns,
)
from dashcam.store.schema import VideoStatus
from dashcam.store.task_queue import TaskQueue
from dashcam.store.task_records import Failed, Finished, FollowUp, Task
from dashcam.store.task_schema import TaskStatus, TaskType

log = logging.getLogger(__name__)
H = TaskType.HEAVY_PROCESS_VIDEO


def confined(path_text: str, root: Path, what: str) -> Path:
    """``path_text`` resolved (links followed) when it lies below ``root``, else
    :class:`PathEscapeError` naming ``what`` (a field and its root)."""
    path = Path(path_text).resolve()
    if root.resolve() not in path.parents:
        raise PathEscapeError(f"{what}: {path_text[:200]!r} is outside {root}")
    return path


def check_paths(result: TaskResult, *, heavy_root: Path, archive_root: Path) -> None:
    """The paths a remote worker reports must lie in the server's roots: heavy outputs
    below ``heavy_root``, an archive below ``archive_root`` (else :class:`PathEscapeError`,
    and no file is opened)."""
    for field in ("metadata_path", "crops_dir", "output_dir"):
        if (text := getattr(result, field)) is not None:
            confined(text, heavy_root, f"{field} outside the heavy output root")
    if result.archive_dir is not None:
        confined(result.archive_dir, archive_root, "archive_dir outside the archive root")


def load_sightings(metadata_path: Path) -> list[Sighting] | None:
    """The sightings in a heavy output's ``metadata.json`` (None: no such file).
    A file that is not one is :class:`InputError`."""
    if not metadata_path.is_file():
        return None
    try:
        doc = MetadataDoc.model_validate_json(metadata_path.read_bytes())
    except OSError as exc:
        raise InputError(f"metadata_path {metadata_path}: cannot read ({exc})") from None
    except ValidationError as exc:
        what = describe_fields(exc.errors())
        raise InputError(f"metadata_path {metadata_path}: not a metadata.json: {what}") from None
    return [s.to_domain(s.video_id) for s in doc.sightings]


def sightings_of(result: TaskResult) -> list[Sighting] | None:
    """A heavy completion's sightings: its ``sightings`` list, else those of the
    ``metadata.json`` at ``metadata_path``, else None."""
    if result.sightings is not None:
        return [s.to_domain(s.video_id) for s in result.sightings]
    if result.metadata_path is None:
        return None
    return load_sightings(Path(result.metadata_path))


def parse_result(data: dict[str, Any]) -> TaskResult:
    """A worker's result dict as a :class:`TaskResult`, or :class:`InputError` saying why."""
    try:
        return TaskResult.model_validate(data)
    except ValidationError as exc:
        raise InputError(f"invalid task result: {describe_fields(exc.errors())}") from None


# --- claim / complete / fail ----------------------------------------------------------------
def claim(
    queue: TaskQueue, repo: ResultsRepository, task_types: Sequence[TaskType], worker_id: str
) -> list[Task]:
    """Lease the next task; a heavy task's video is processing from the same transaction."""

    def started(c: Connection, tasks: list[Task]) -> None:
        for t in tasks:
            if t.task_type is H and t.video_id:
                repo.update_video(t.video_id, c, status=VideoStatus.PROCESSING, error=None)

    return queue.claim(task_types, worker_id, then=started)


def complete(
    queue: TaskQueue,
    repo: ResultsRepository,
    task_id: int,
    token: str,
    result: TaskResult,
    follow_ups: Sequence[FollowUp] = (),
    *,
    sightings: Sequence[Sighting] | None = None,
    inherit_video: bool = False,
) -> Finished:
    """Finish a task and record what it produced, in one transaction.

    ``sightings``: a heavy task's results, resolved by the caller (:func:`sightings_of`)
    before the transaction. A replay (same token, task already done) records them only if
    the first delivery never did, never over a video that has moved on.
    """

    def record(c: Connection, done: Finished) -> None:
        vid = done.video_id
        if not vid:
            return
        video = repo.get_video(vid, c)
        if done.replay and not _needs_apply(video, done.task_type):
            return
        if done.task_type is H:
            _record_heavy(repo, c, vid, video, result, sightings)
        elif done.task_type is TaskType.ARCHIVE_VIDEO and result.archive_dir and video:
            repo.update_video(vid, c, status=VideoStatus.ARCHIVED, archive_dir=result.archive_dir)

    return queue.finish(
        task_id,
        token,
        result.stored(),
        follow_ups,
        inherit_video=inherit_video,
        then=record,
    )


def fail(
    queue: TaskQueue,
    repo: ResultsRepository,
    task_id: int,
    token: str,
    error: str,
    *,
    retry: bool = True,
) -> Failed:
    """Record a failure; a heavy task's video is queued again, or failed when it is dead."""
    seen: list[Failed] = []

    def record(c: Connection, failed: Failed) -> None:
        seen.append(failed)
        if failed.task_type is H and failed.video_id:
            dead = failed.status is TaskStatus.DEAD
            status = VideoStatus.FAILED if dead else VideoStatus.QUEUED
            repo.update_video(failed.video_id, c, status=status, error=failed.error)

    queue.fail(task_id, token, error, retry=retry, then=record)
    return seen[0]


def _needs_apply(video: VideoRecord | None, task_type: TaskType) -> bool:
    if video is None:
        return False
    if task_type is H:
        return video.status not in (VideoStatus.DONE, VideoStatus.ARCHIVED)
    return task_type is TaskType.ARCHIVE_VIDEO and video.status is not VideoStatus.ARCHIVED


def _record_heavy(
    repo: ResultsRepository,
    c: Connection,
    video_id: str,
    video: VideoRecord | None,
    result: TaskResult,
    sightings: Sequence[Sighting] | None,
) -> None:
    """The video is done with its output folder; ``sightings`` replace its old ones."""
    if sightings is None and video is None:
        return  # an unknown video and no results: nothing to record
    if video is None:
        repo.ensure_video(c, video_id, result.raw_video or "")
    repo.update_video(video_id, c, **_done_fields(result))
    repo.replace_sightings(
        video_id,
        [s if s.video_id == video_id else replace(s, video_id=video_id) for s in sightings or ()],
        c,
    )


def _done_fields(result: TaskResult) -> dict[str, Any]:
    output_dir = result.output_dir or (
        str(Path(result.metadata_path).parent) if result.metadata_path else None
    )
    fields: dict[str, Any] = {
        "status": VideoStatus.DONE,
        "output_dir": output_dir,
        "progress": 1.0,
        "error": None,
        "processed_at": datetime.now(UTC),
    }
    for key in ("frames_processed", "duration_s", "width", "height", "fps"):
        if (value := getattr(result, key)) is not None:
            fields[key] = value
    if result.recorded_at is not None:
        fields["recorded_at"] = result.recorded_at
    if "gps_clock" in result.model_fields_set:  # how the frames met the track (None: no track)
        clock = result.gps_clock.to_domain() if result.gps_clock else None
        fields.update(gps_clock_columns(clock))
    if "clock" in result.model_fields_set:  # which clock placed the video
        fields.update(video_clock_columns(result.clock.to_domain() if result.clock else None))
    if result.track is not None:
        fields["track"] = [list(p) for p in result.track]
    return fields


# --- repair -----------------------------------------------------------------------------
def repair_videos(queue: TaskQueue, repo: ResultsRepository) -> int:
    """Videos left ``processing`` whose latest heavy task is done (marked done, with the
    sightings of its ``metadata.json`` when it is still there) or dead (marked failed).
    Returns how many were repaired."""
    repaired = 0
    for video in repo.list_videos(status=VideoStatus.PROCESSING, limit=10_000):
        tasks = queue.list_tasks(video_id=video.id, task_type=H, limit=1)
        if not tasks or tasks[0].status not in (TaskStatus.DONE, TaskStatus.DEAD):
            continue
        task = tasks[0]
        try:
            with repo.transaction() as c:
                if task.status is TaskStatus.DEAD:
                    repo.update_video(video.id, c, status=VideoStatus.FAILED, error=task.error)
                else:
                    _repair_done(repo, c, video.id, task)
        except DashcamError as exc:
            log.warning("repair of video %s failed: %s", video.id, exc)
            continue
        log.warning("repaired video %s: its heavy task is %s", video.id, task.status.value)
        repaired += 1
    return repaired


def _repair_done(repo: ResultsRepository, c: Connection, video_id: str, task: Task) -> None:
    result = parse_result(task.result or {})
    sightings = None
    if result.metadata_path:
        try:
            sightings = load_sightings(Path(result.metadata_path))
        except InputError as exc:
            log.warning("video %s: sightings not restored: %s", video_id, exc)
    repo.update_video(video_id, c, **_done_fields(result))
    if sightings is not None:
        repo.replace_sightings(video_id, [replace(s, video_id=video_id) for s in sightings], c)
