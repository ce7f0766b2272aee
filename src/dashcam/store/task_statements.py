"""The task queue's hot-path statements, built once per queue: each call only binds
parameters (building a statement costs more than SQLite executing it)."""

from __future__ import annotations

from typing import Any, NamedTuple, cast

from sqlalchemy import ColumnElement, Float, Table, and_, bindparam, select, text, update
from sqlalchemy.sql import Select, Update

from dashcam.store.task_schema import READY_SQL, TaskRow, TaskStatus

T = cast(Table, TaskRow.__table__)


class HotStatements(NamedTuple):
    ready: Select[Any]  # claimable rows of one type, in claim order
    expired: Select[Any]  # running rows whose lease ran out
    claim: Update  # lease the chosen ids (RETURNING the rows)
    heartbeat: Update  # extend a held lease
    complete: Update  # finish a held task (RETURNING id, type, video)
    state: Select[Any]  # a task's status, token, type and video


def hot_statements(now: ColumnElement[float], *, for_update: bool) -> HotStatements:
    """The statements, with ``now`` the database clock; ``for_update`` locks claim
    candidates with ``FOR UPDATE SKIP LOCKED`` (PostgreSQL)."""
    running = TaskStatus.RUNNING.value
    # Candidates come from two indexed walks, not one OR (which makes SQLite and
    # PostgreSQL sort every claimable row): per type, the claimable rows in claim
    # order (the partial index ix_tasks_ready); and the running rows whose lease ran
    # out (their worker is gone; the reaper would requeue them).
    order = (T.c.priority.desc(), T.c.id)
    ready = (
        select(T.c.id, T.c.priority)
        .where(T.c.task_type == bindparam("type"), text(READY_SQL), T.c.run_after_s <= now)
        .order_by(*order)
        .limit(bindparam("limit"))
    )
    expired = (
        select(T.c.id, T.c.priority)
        .where(
            T.c.status == running,
            T.c.lease_expires_s < now,
            T.c.attempts < T.c.max_attempts,
            T.c.task_type.in_(bindparam("types", expanding=True)),
        )
        .order_by(*order)
        .limit(bindparam("limit"))
    )
    if for_update:
        ready = ready.with_for_update(skip_locked=True)
        expired = expired.with_for_update(skip_locked=True)
    claim = (
        update(T)
        .where(T.c.id.in_(bindparam("ids", expanding=True)))
        .values(
            status=running,
            lease_token=bindparam("token"),
            lease_expires_s=now + bindparam("lease", type_=Float()),
            worker_id=bindparam("worker"),
            attempts=T.c.attempts + 1,
            started_s=now,
            updated_s=now,
        )
        .returning(*T.c)
    )
    mine = and_(
        T.c.id == bindparam("tid"), T.c.lease_token == bindparam("tok"), T.c.status == running
    )
    heartbeat = (
        update(T)
        .where(mine)
        .values(lease_expires_s=now + bindparam("lease", type_=Float()), updated_s=now)
        .returning(T.c.lease_expires_s)
    )
    complete = (
        update(T)
        .where(mine)
        .values(
            status=TaskStatus.DONE.value,
            result=bindparam("result", type_=T.c.result.type),
            finished_s=now,
            updated_s=now,
            error=None,
        )
        .returning(T.c.id, T.c.task_type, T.c.video_id)
    )
    state = select(T.c.status, T.c.lease_token, T.c.task_type, T.c.video_id).where(
        T.c.id == bindparam("tid")
    )
    return HotStatements(ready, expired, claim, heartbeat, complete, state)
