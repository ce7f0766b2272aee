"""The miner's stage handlers: one per task type, each taking a claimed task to a result.

A handler gets a :class:`StageContext` (store, queue, settings), the task, and ``beat``
(call it during long work: it extends the lease and raises ``LeaseLost`` when the task was
taken away). It returns ``(result, follow_ups)``; the worker completes the task with them
in one transaction. Handlers are idempotent: a retry after a crash redoes the item.
"""

from __future__ import annotations

import logging
import time
from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import cv2
import numpy as np

from dashcam.config import Settings
from dashcam.errors import BackendUnavailable, DashcamError, InputError
from dashcam.media.telemetry import read_track
from dashcam.miner import dedup as dd
from dashcam.miner.backup import backup_tree
from dashcam.miner.download import fetch
from dashcam.miner.extract import extract_frames
from dashcam.miner.hashing import image_hash, to_signed, to_unsigned
from dashcam.miner.project import Label, NewFrame, Project, ProjectStore
from dashcam.miner.quality import measure, rejection
from dashcam.miner.schema import FrameState, MinerFrameRow, VideoState
from dashcam.miner.siglip import SiglipModel, text_decision
from dashcam.store.task_queue import TaskQueue
from dashcam.store.task_records import FollowUp, Task
from dashcam.store.task_schema import TaskType

log = logging.getLogger(__name__)

Beat = Callable[[], None]
Outcome = tuple[dict[str, Any], list[FollowUp]]


@dataclass
class StageContext:
    settings: Settings
    store: ProjectStore
    queue: TaskQueue
    _siglip: dict[str, SiglipModel] | None = None

    def siglip(self, model: str) -> SiglipModel:
        if self._siglip is None:
            self._siglip = {}
        if model not in self._siglip:
            self._siglip[model] = SiglipModel(model, threads=self.settings.model_threads)
        return self._siglip[model]


def _every(seconds: float, beat: Beat) -> Callable[[int], None]:
    last = [time.monotonic()]

    def tick(_: int) -> None:
        if time.monotonic() - last[0] >= seconds:
            last[0] = time.monotonic()
            beat()

    return tick


def _video_follow(task_type: TaskType, project: str, video_id: int) -> FollowUp:
    return FollowUp(
        task_type, {"project": project, "video_id": video_id}, video_id=f"{project}:{video_id}"
    )


def _read(project: Project, frame: MinerFrameRow) -> np.ndarray[Any, np.dtype[np.uint8]]:
    image = cv2.imread(str(project.root / frame.path), cv2.IMREAD_COLOR)
    if image is None:
        raise InputError(f"frame {frame.id}: cannot read {frame.path}")
    return image.astype(np.uint8, copy=False)


# --- per-video stages ---------------------------------------------------------------------
def download(ctx: StageContext, task: Task, beat: Beat) -> Outcome:
    name, vid = task.payload["project"], int(task.payload["video_id"])
    project = ctx.store.project(name)
    video = ctx.store.video(vid)
    try:
        got = fetch(
            video.source,
            project.root / "videos",
            f"v{vid:06d}",
            project.config.download,
            progress=_every(5.0, beat),
        )
    except InputError as exc:
        ctx.store.set_video(vid, state=VideoState.FAILED.value, error=str(exc))
        return {"error": str(exc)}, []
    if got.path is None:  # a playlist: one new source per entry
        added = 0
        for url in got.entries:
            new = ctx.store.add_video(name, url)
            if new is not None:
                added += 1
                ctx.queue.enqueue(
                    TaskType.MINER_DOWNLOAD,
                    {"project": name, "video_id": new},
                    video_id=f"{name}:{new}",
                    dedupe_key=f"miner:dl:{name}:{new}",
                )
        ctx.store.set_video(vid, state=VideoState.PLAYLIST.value)
        return {"playlist_entries": len(got.entries), "added": added}, []
    assert got.sha256 is not None
    twin = ctx.store.video_with_hash(name, got.sha256, vid)
    rel = got.path.relative_to(project.root).as_posix()
    gps = got.gps_path.relative_to(project.root).as_posix() if got.gps_path else None
    if twin is not None:
        ctx.store.set_video(
            vid,
            state=VideoState.DUPLICATE.value,
            duplicate_of=twin,
            content_hash=got.sha256,
            path=rel,
        )
        return {"duplicate_of": twin}, []
    ctx.store.set_video(
        vid, state=VideoState.DOWNLOADED.value, content_hash=got.sha256, path=rel, gps_path=gps
    )
    return {"path": rel, "sha256": got.sha256}, [_video_follow(TaskType.MINER_EXTRACT, name, vid)]


def extract(ctx: StageContext, task: Task, beat: Beat) -> Outcome:
    name, vid = task.payload["project"], int(task.payload["video_id"])
    project = ctx.store.project(name)
    video = ctx.store.video(vid)
    if video.path is None:
        raise InputError(f"video {vid} has no downloaded file")
    track = None
    if video.gps_path:
        try:
            track = read_track(project.root / video.gps_path).track
        except DashcamError as exc:
            log.warning("video %s: GPS ignored: %s", vid, exc)
    out_dir = project.root / "frames" / f"v{vid:06d}"
    frames = extract_frames(
        project.root / video.path,
        out_dir,
        project.config.extract,
        track=track,
        max_gap_s=ctx.settings.gps_max_gap_s,
        on_frame=_every(5.0, beat),
    )
    beat()
    ctx.store.replace_frames(
        name,
        vid,
        [
            NewFrame(
                f.frame_index,
                f.pts_s,
                f.path.relative_to(project.root).as_posix(),
                f.width,
                f.height,
                f.lat,
                f.lon,
                f.utc_ms,
            )
            for f in frames
        ],
    )
    ctx.store.set_video(vid, state=VideoState.EXTRACTED.value, n_frames=len(frames))
    return {"frames": len(frames)}, [_video_follow(TaskType.MINER_FILTER, name, vid)]


def filter_frames(ctx: StageContext, task: Task, beat: Beat) -> Outcome:
    name, vid = task.payload["project"], int(task.payload["video_id"])
    project = ctx.store.project(name)
    cfg = project.config
    frames = ctx.store.frames(name, video_id=vid)
    siglip = cfg.filter.siglip
    model = ctx.siglip(siglip.model) if siglip is not None else None
    emb_cfg = cfg.dedup.embedding
    emb_model = None
    if emb_cfg is not None:
        emb_name = emb_cfg.model or (siglip.model if siglip else None)
        if emb_name is None:
            raise InputError("dedup.embedding.model: needed when filter.siglip is not set")
        emb_model = ctx.siglip(emb_name)
    updates: list[dict[str, Any]] = []
    batch = siglip.batch_size if siglip else 32
    tick = _every(5.0, beat)
    for start in range(0, len(frames), batch):
        chunk = frames[start : start + batch]
        images = [_read(project, f) for f in chunk]
        rows: list[dict[str, Any]] = []
        for f, im in zip(chunk, images, strict=True):
            q = measure(im)
            why = rejection(q, cfg.filter.quality) if cfg.filter.quality else None
            rows.append(
                {
                    "id": f.id,
                    "sharpness": q.sharpness,
                    "brightness": q.brightness,
                    "entropy": q.entropy,
                    "reason": why,
                    "phash": to_signed(image_hash(im, cfg.dedup.hash)),
                    "state": (FrameState.REJECTED if why else FrameState.KEPT).value,
                }
            )
        if model is not None and siglip is not None:
            emb = model.image_embeddings(images)
            d = text_decision(
                model.scores(emb, siglip.positive),
                model.scores(emb, siglip.negative),
                threshold=siglip.threshold,
                margin=siglip.margin,
            )
            for row, keep, score, why in zip(rows, d.keep, d.score, d.reason, strict=True):
                row["text_score"] = float(score)
                if not keep and row["state"] == FrameState.KEPT.value:
                    row["state"], row["reason"] = FrameState.REJECTED.value, why
        if emb_model is not None:
            vecs = emb_model.image_embeddings(images)
            for row, v in zip(rows, vecs, strict=True):
                row["embedding"] = np.asarray(v, dtype=np.float32).tobytes()
        updates += rows
        tick(start)
    ctx.store.update_frames(updates)
    kept = sum(1 for u in updates if u["state"] == FrameState.KEPT.value)
    ctx.store.set_video(vid, state=VideoState.FILTERED.value, n_kept=kept)
    return {"frames": len(updates), "kept": kept}, []


# --- per-project stages -------------------------------------------------------------------
def dedup(ctx: StageContext, task: Task, beat: Beat) -> Outcome:
    name, epoch = task.payload["project"], int(task.payload["epoch"])
    project = ctx.store.project(name)
    cfg = project.config.dedup
    frames = ctx.store.frames(name, states=(FrameState.KEPT, FrameState.DUPLICATE))
    n = len(frames)
    hashes = np.array([to_unsigned(f.phash or 0) for f in frames], dtype=np.uint64)
    pairs = [dd.hash_pairs(hashes, cfg.max_distance, cfg.bands)]
    if cfg.embedding is not None:
        have = [f.embedding is not None for f in frames]
        if all(have) and n:
            vecs = np.stack([np.frombuffer(f.embedding or b"", dtype=np.float32) for f in frames])
            pairs.append(
                dd.embedding_pairs(vecs, cfg.embedding.min_similarity, cfg.embedding.neighbours)
            )
    beat()
    labels = dd.clusters(n, pairs)
    keep = dd.keep_best(labels, np.array([f.sharpness or 0.0 for f in frames]))
    ids = np.array([f.id for f in frames], dtype=np.int64)
    ctx.store.update_frames(
        [
            {
                "id": int(ids[i]),
                "cluster": int(ids[labels[i]]),
                "state": (FrameState.KEPT if keep[i] else FrameState.DUPLICATE).value,
                "reason": None if keep[i] else f"near-duplicate of frame {int(ids[labels[i]])}",
            }
            for i in range(n)
        ]
    )
    ctx.store.set_project(name, dedup_epoch=epoch)
    return {
        "frames": n,
        "pairs": int(sum(len(p) for p in pairs)),
        "duplicates": int(n - keep.sum()),
    }, []


def _detector(ctx: StageContext, project: Project) -> tuple[Any, list[str], str] | None:
    cfg = project.config.detect
    if not cfg.enabled:
        return None
    from dashcam.backends.weights import find_weights

    path = cfg.weights or find_weights(ctx.settings.models_dir, "vehicle")
    if path is None or not Path(path).is_file():
        where = cfg.weights or ctx.settings.models_dir
        raise BackendUnavailable(f"detect: no detector weights at {where}")
    if cfg.backend in ("auto", "yolo-onnx") and Path(path).suffix == ".onnx":
        from dashcam.backends.yolo_onnx import YoloOnnxDetector

        det = YoloOnnxDetector(Path(path), conf_threshold=cfg.min_confidence)
        return det, det.class_names, "yolo-onnx"
    if cfg.backend in ("auto", "yolo-ultralytics") and Path(path).suffix == ".pt":
        from dashcam.backends.yolo_ultralytics import YoloUltralyticsDetector

        det2: Any = YoloUltralyticsDetector(Path(path), conf_threshold=cfg.min_confidence)
        return det2, list(getattr(det2, "class_names", [])), "yolo-ultralytics"
    raise BackendUnavailable(f"detect.backend {cfg.backend!r} cannot run {path}")


def detect(ctx: StageContext, task: Task, beat: Beat) -> Outcome:
    name, epoch = task.payload["project"], int(task.payload["epoch"])
    project = ctx.store.project(name)
    try:
        found = _detector(ctx, project)
    except BackendUnavailable as exc:
        if not project.config.detect.optional:
            raise BackendUnavailable(
                f"{exc} (set detect.weights, or detect.optional: true to finish without labels)"
            ) from exc
        note = f"{exc}: finished without labels (detect.optional)"
        ctx.store.set_project(name, detect_epoch=epoch, detect_note=note)
        return {"labelled": 0, "note": note}, []
    if found is None:
        ctx.store.set_project(name, detect_epoch=epoch, detect_note="detection disabled")
        return {"labelled": 0}, []
    det, names, backend = found
    todo = [f for f in ctx.store.frames(name, states=(FrameState.KEPT,)) if not f.detected]
    tick = _every(5.0, beat)
    boxes = 0
    for start in range(0, len(todo), 16):
        out: dict[int, list[Label]] = {}
        for f in todo[start : start + 16]:
            d = det.detect(_read(project, f))
            out[f.id] = [
                Label(
                    names[c] if 0 <= c < len(names) else str(c),
                    int(c),
                    (float(b[0]), float(b[1]), float(b[2]), float(b[3])),
                    float(s),
                    backend,
                )
                for b, s, c in zip(d.xyxy, d.confidence, d.class_id.tolist(), strict=True)
            ]
            boxes += len(out[f.id])
        ctx.store.replace_labels(out)
        tick(start)
    ctx.store.set_project(name, detect_epoch=epoch, detect_note=None)
    return {"labelled": len(todo), "boxes": boxes}, []


def backup(ctx: StageContext, task: Task, beat: Beat) -> Outcome:
    name, epoch = task.payload["project"], int(task.payload["epoch"])
    project = ctx.store.project(name)
    if project.config.backup is None:
        return {"skipped": "no backup configured"}, []
    res = backup_tree(project.root, project.config.backup.remote, name, on_file=_every(5.0, beat))
    ctx.store.set_project(name, backup_epoch=epoch)
    return {"copied": res.copied, "skipped": res.skipped, "bytes": res.bytes_copied}, []


Handler = Callable[[StageContext, Task, Beat], Outcome]

HANDLERS: dict[TaskType, Handler] = {
    TaskType.MINER_DOWNLOAD: download,
    TaskType.MINER_EXTRACT: extract,
    TaskType.MINER_FILTER: filter_frames,
    TaskType.MINER_DEDUP: dedup,
    TaskType.MINER_DETECT: detect,
    TaskType.MINER_BACKUP: backup,
}

#: CLI stage names -> task type.
STAGES: dict[str, TaskType] = {
    "download": TaskType.MINER_DOWNLOAD,
    "extract": TaskType.MINER_EXTRACT,
    "filter": TaskType.MINER_FILTER,
    "dedup": TaskType.MINER_DEDUP,
    "detect": TaskType.MINER_DETECT,
    "backup": TaskType.MINER_BACKUP,
}
