"""The archive worker: heavy outputs (and optionally the raw video) to cold storage.

Order: copy into the archive and verify every checksum, complete the task (which switches
the recorded location), then delete the source. A crash at any step leaves either the
source, or a verified copy, or both: running it again finishes the job.
"""

from __future__ import annotations

import logging
import shutil
from pathlib import Path
from typing import Any

from dashcam.config import Settings
from dashcam.store.paths import copy_tree_verified, file_sha256, safe_child
from dashcam.store.task_schema import ArchiveVideoPayload, TaskType
from dashcam.workers.base import (
    ClaimedTask,
    Outcome,
    Permanent,
    QueueClient,
    TaskContext,
    Worker,
)

log = logging.getLogger(__name__)


def _copy_file_verified(src: Path, dst: Path) -> None:
    if dst.exists() and file_sha256(dst) == file_sha256(src):
        return
    tmp = dst.with_name(f".{dst.name}.partial")
    dst.parent.mkdir(parents=True, exist_ok=True)
    shutil.copy2(src, tmp)
    if file_sha256(tmp) != file_sha256(src):
        tmp.unlink(missing_ok=True)
        raise OSError(f"checksum mismatch copying {src}")
    tmp.replace(dst)


def _strictly_inside(path: Path, root: Path) -> bool:
    """True when ``path`` lies below ``root`` (not ``root`` itself), links resolved."""
    return root.resolve() in path.resolve().parents


class ArchiveWorker(Worker):
    kind = "archive"
    task_types = (TaskType.ARCHIVE_VIDEO,)

    def __init__(self, client: QueueClient, settings: Settings, **kwargs: Any) -> None:
        kwargs.setdefault("poll_interval_s", settings.poll_interval)
        kwargs.setdefault("heartbeat_interval_s", settings.heartbeat_interval_s)
        super().__init__(client, **kwargs)
        self.settings = settings

    def _paths(self, task: ClaimedTask) -> tuple[ArchiveVideoPayload, Path, Path]:
        p = ArchiveVideoPayload.model_validate({"video_id": task.video_id, **task.payload})
        src = safe_child(self.settings.heavy_output, p.video_id)
        if p.heavy_output_dir and _strictly_inside(
            Path(p.heavy_output_dir), self.settings.heavy_output
        ):
            src = Path(p.heavy_output_dir).resolve()
        elif p.heavy_output_dir and Path(p.heavy_output_dir).resolve() != src:
            # The source gets deleted: only ever a folder below our heavy output root (a
            # workstation may name its own mount of it; the layout is the same).
            log.warning(
                "%s: heavy_output_dir %s is outside %s: archiving %s",
                p.video_id,
                p.heavy_output_dir,
                self.settings.heavy_output,
                src,
            )
        dst = safe_child(self.settings.archive, p.video_id)
        return p, src, dst

    def handle(self, task: ClaimedTask, ctx: TaskContext) -> Outcome:
        p, src, dst = self._paths(task)
        if src.is_dir():
            sums = copy_tree_verified(src, dst)
        elif (dst / "metadata.json").is_file():
            log.info("%s: already archived (source gone): completing", p.video_id)
            sums = {}
        else:
            raise Permanent(f"{p.video_id}: neither {src} nor an archive copy exists")
        raw_archived = None
        if p.archive_raw and p.raw_video and Path(p.raw_video).is_file():
            raw = Path(p.raw_video)
            raw_archived = dst / "raw" / raw.name
            _copy_file_verified(raw, raw_archived)
        return Outcome(
            result={
                "video_id": p.video_id,
                "archive_dir": str(dst),
                "files_verified": len(sums),
                "raw_video": str(raw_archived) if raw_archived else None,
            }
        )

    def after_complete(self, task: ClaimedTask, outcome: Outcome) -> None:
        p, src, dst = self._paths(task)
        if src.is_dir() and src.resolve() != dst.resolve():
            shutil.rmtree(src, ignore_errors=True)
        raw = Path(p.raw_video) if p.raw_video else None
        if outcome.result.get("raw_video") and raw is not None:
            nas = self.settings.nas_mount
            if nas is not None and _strictly_inside(raw, nas):
                raw.unlink(missing_ok=True)
            else:
                log.warning(
                    "%s: raw video %s is outside %s: kept (copied only)", p.video_id, raw, nas
                )
