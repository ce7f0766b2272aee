"""The miner's project store: projects, videos, frames and labels in SQL (an edge module).

Every method is one short transaction on the shared engine (SQLite WAL or PostgreSQL),
so stage workers in separate processes can share it.
"""

from __future__ import annotations

import time
from collections.abc import Iterable, Mapping, Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from sqlalchemy import Engine, delete, func, select, update
from sqlalchemy.exc import IntegrityError, SQLAlchemyError
from sqlalchemy.orm import Session

from dashcam.errors import InputError, StoreError
from dashcam.miner.config import ProjectConfig, dump_config
from dashcam.miner.schema import (
    FrameState,
    MinerFrameRow,
    MinerLabelRow,
    MinerProjectRow,
    MinerVideoRow,
    ProjectState,
    VideoState,
)


@dataclass(frozen=True)
class Project:
    name: str
    root: Path
    config: ProjectConfig
    state: ProjectState
    epoch: int
    dedup_epoch: int
    detect_epoch: int
    backup_epoch: int
    detect_note: str | None


@dataclass(frozen=True)
class NewFrame:
    frame_index: int
    pts_s: float
    path: str  # relative to the project root
    width: int
    height: int
    lat: float | None = None
    lon: float | None = None
    utc_ms: int | None = None


@dataclass(frozen=True)
class Label:
    label: str
    class_id: int
    xyxy: tuple[float, float, float, float]
    confidence: float
    backend: str


def _project(row: MinerProjectRow) -> Project:
    return Project(
        name=row.name,
        root=Path(row.root),
        config=ProjectConfig.model_validate(row.config),
        state=ProjectState(row.state),
        epoch=row.epoch,
        dedup_epoch=row.dedup_epoch,
        detect_epoch=row.detect_epoch,
        backup_epoch=row.backup_epoch,
        detect_note=row.detect_note,
    )


class ProjectStore:
    def __init__(self, engine: Engine) -> None:
        self.engine = engine

    def _session(self) -> Session:
        return Session(self.engine, expire_on_commit=False)

    # --- projects ----------------------------------------------------------------------
    def create_project(self, cfg: ProjectConfig, root: Path, *, replace: bool = False) -> Project:
        """Register a project (``replace``: update the config of an existing one)."""
        now = time.time()
        with self._session() as s, s.begin():
            row = s.get(MinerProjectRow, cfg.name)
            if row is not None and not replace:
                raise InputError(f"project {cfg.name!r} exists (use --replace to update it)")
            if row is None:
                row = MinerProjectRow(
                    name=cfg.name,
                    root=str(root),
                    config=dump_config(cfg),
                    created_s=now,
                    updated_s=now,
                    state=ProjectState.POPULATING.value,
                    epoch=0,
                    dedup_epoch=-1,
                    detect_epoch=-1,
                    backup_epoch=-1,
                )
                s.add(row)
            else:
                row.config, row.root, row.updated_s = dump_config(cfg), str(root), now
            s.flush()
            return _project(row)

    def delete_project(self, name: str) -> None:
        """Remove a project's rows: its videos, frames and labels with it (files stay)."""
        with self._session() as s, s.begin():
            video_ids = select(MinerVideoRow.id).where(MinerVideoRow.project == name)
            frame_ids = select(MinerFrameRow.id).where(MinerFrameRow.project == name)
            s.execute(delete(MinerLabelRow).where(MinerLabelRow.frame_id.in_(frame_ids)))
            s.execute(delete(MinerFrameRow).where(MinerFrameRow.video_id.in_(video_ids)))
            s.execute(delete(MinerVideoRow).where(MinerVideoRow.project == name))
            s.execute(delete(MinerProjectRow).where(MinerProjectRow.name == name))

    def project(self, name: str) -> Project:
        with self._session() as s:
            row = s.get(MinerProjectRow, name)
            if row is None:
                raise InputError(f"no miner project {name!r} (create it: project create)")
            return _project(row)

    def projects(self) -> list[Project]:
        with self._session() as s:
            return [_project(r) for r in s.scalars(select(MinerProjectRow).order_by("name"))]

    def set_project(self, name: str, **values: Any) -> None:
        with self._session() as s, s.begin():
            s.execute(
                update(MinerProjectRow)
                .where(MinerProjectRow.name == name)
                .values(updated_s=time.time(), **values)
            )

    # --- videos ------------------------------------------------------------------------
    def add_video(self, project: str, source: str) -> int | None:
        """Add a source; its id, or None when the project already has it."""
        now = time.time()
        try:
            with self._session() as s, s.begin():
                row = MinerVideoRow(
                    project=project,
                    source=source,
                    created_s=now,
                    updated_s=now,
                    state=VideoState.PENDING.value,
                    n_frames=0,
                    n_kept=0,
                )
                s.add(row)
                s.flush()
                s.execute(
                    update(MinerProjectRow)
                    .where(MinerProjectRow.name == project)
                    .values(
                        epoch=MinerProjectRow.epoch + 1,
                        state=ProjectState.POPULATING.value,
                        updated_s=now,
                    )
                )
                return int(row.id)
        except IntegrityError:
            return None
        except SQLAlchemyError as exc:
            raise StoreError(f"cannot add {source!r} to {project!r}") from exc

    def video(self, video_id: int) -> MinerVideoRow:
        with self._session() as s:
            row = s.get(MinerVideoRow, video_id)
            if row is None:
                raise InputError(f"no miner video {video_id}")
            s.expunge(row)
            return row

    def videos(self, project: str) -> list[MinerVideoRow]:
        with self._session() as s:
            rows = list(
                s.scalars(
                    select(MinerVideoRow)
                    .where(MinerVideoRow.project == project)
                    .order_by(MinerVideoRow.id)
                )
            )
            for r in rows:
                s.expunge(r)
            return rows

    def set_video(self, video_id: int, **values: Any) -> None:
        with self._session() as s, s.begin():
            s.execute(
                update(MinerVideoRow)
                .where(MinerVideoRow.id == video_id)
                .values(updated_s=time.time(), **values)
            )

    def video_with_hash(self, project: str, content_hash: str, other_than: int) -> int | None:
        with self._session() as s:
            return s.scalar(
                select(MinerVideoRow.id)
                .where(
                    MinerVideoRow.project == project,
                    MinerVideoRow.content_hash == content_hash,
                    MinerVideoRow.id != other_than,
                    MinerVideoRow.state != VideoState.DUPLICATE.value,
                )
                .order_by(MinerVideoRow.id)
                .limit(1)
            )

    def video_counts(self, project: str) -> dict[VideoState, int]:
        with self._session() as s:
            q = (
                select(MinerVideoRow.state, func.count())
                .where(MinerVideoRow.project == project)
                .group_by(MinerVideoRow.state)
            )
            return {VideoState(st): int(n) for st, n in s.execute(q)}

    # --- frames ------------------------------------------------------------------------
    def replace_frames(self, project: str, video_id: int, frames: Sequence[NewFrame]) -> int:
        """Store a video's frames, replacing any from an earlier (interrupted) attempt."""
        with self._session() as s, s.begin():
            s.execute(delete(MinerFrameRow).where(MinerFrameRow.video_id == video_id))
            s.add_all(
                MinerFrameRow(
                    project=project,
                    video_id=video_id,
                    frame_index=f.frame_index,
                    pts_s=f.pts_s,
                    path=f.path,
                    width=f.width,
                    height=f.height,
                    lat=f.lat,
                    lon=f.lon,
                    utc_ms=f.utc_ms,
                    state=FrameState.EXTRACTED.value,
                    detected=0,
                )
                for f in frames
            )
        return len(frames)

    def frames(
        self,
        project: str,
        *,
        video_id: int | None = None,
        states: Iterable[FrameState] | None = None,
    ) -> list[MinerFrameRow]:
        q = select(MinerFrameRow).where(MinerFrameRow.project == project)
        if video_id is not None:
            q = q.where(MinerFrameRow.video_id == video_id)
        if states is not None:
            q = q.where(MinerFrameRow.state.in_([st.value for st in states]))
        with self._session() as s:
            rows = list(s.scalars(q.order_by(MinerFrameRow.id)))
            for r in rows:
                s.expunge(r)
            return rows

    def update_frames(self, updates: Sequence[dict[str, Any]]) -> None:
        """Bulk update: each dict has ``id`` plus the columns to set."""
        if not updates:
            return
        with self._session() as s, s.begin():
            s.execute(update(MinerFrameRow), list(updates))

    def frame_counts(self, project: str) -> dict[FrameState, int]:
        with self._session() as s:
            q = (
                select(MinerFrameRow.state, func.count())
                .where(MinerFrameRow.project == project)
                .group_by(MinerFrameRow.state)
            )
            return {FrameState(st): int(n) for st, n in s.execute(q)}

    # --- labels ------------------------------------------------------------------------
    def replace_labels(self, labels: Mapping[int, Sequence[Label]]) -> None:
        """Set the labels of frames (``frame_id -> labels``), marking them detected."""
        if not labels:
            return
        with self._session() as s, s.begin():
            ids = list(labels)
            s.execute(delete(MinerLabelRow).where(MinerLabelRow.frame_id.in_(ids)))
            s.add_all(
                MinerLabelRow(
                    frame_id=fid,
                    label=lb.label,
                    class_id=lb.class_id,
                    x1=lb.xyxy[0],
                    y1=lb.xyxy[1],
                    x2=lb.xyxy[2],
                    y2=lb.xyxy[3],
                    confidence=lb.confidence,
                    backend=lb.backend,
                )
                for fid, items in labels.items()
                for lb in items
            )
            s.execute(update(MinerFrameRow).where(MinerFrameRow.id.in_(ids)).values(detected=1))

    def labels(self, frame_ids: Sequence[int]) -> dict[int, list[Label]]:
        out: dict[int, list[Label]] = {i: [] for i in frame_ids}
        with self._session() as s:
            for start in range(0, len(frame_ids), 500):
                chunk = list(frame_ids[start : start + 500])
                q = select(MinerLabelRow).where(MinerLabelRow.frame_id.in_(chunk))
                for r in s.scalars(q.order_by(MinerLabelRow.id)):
                    out[r.frame_id].append(
                        Label(
                            r.label, r.class_id, (r.x1, r.y1, r.x2, r.y2), r.confidence, r.backend
                        )
                    )
        return out
