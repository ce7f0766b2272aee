"""The durable task queue: claim, heartbeat, complete, fail, reap — on SQLite or PostgreSQL.

Every state change is one transaction; leases are fenced by a fresh token per claim and
timed on the database clock. PostgreSQL claims with ``FOR UPDATE SKIP LOCKED``; SQLite
serialises writers (``BEGIN IMMEDIATE``, see ``store.database``). A claim picks its
candidates by index walks (claimable rows per type in claim order, and expired leases)
and takes them with one ``UPDATE ... RETURNING``, so its cost does not grow with the
backlog.
"""

from __future__ import annotations

import contextlib
import secrets
from collections.abc import Callable, Iterable, Iterator, Mapping, Sequence
from typing import Any, TypeVar, cast

from pydantic import BaseModel
from sqlalchemy import (
    ColumnElement,
    Connection,
    Engine,
    Select,
    Table,
    and_,
    func,
    insert,
    literal_column,
    select,
    update,
)
from sqlalchemy.dialects.postgresql import insert as pg_insert
from sqlalchemy.dialects.sqlite import insert as sqlite_insert
from sqlalchemy.exc import SQLAlchemyError

from dashcam.errors import InputError, LeaseLost, StoreError, TaskNotFound
from dashcam.store.task_records import (
    Failed,
    Finished,
    FollowUp,
    Task,
    WorkerInfo,
    task_from_row,
    worker_from_row,
)
from dashcam.store.task_schema import (
    TaskRow,
    TaskStatus,
    TaskType,
    WorkerRow,
    validate_payload,
)
from dashcam.store.task_statements import hot_statements

T = cast(Table, TaskRow.__table__)
W = cast(Table, WorkerRow.__table__)

_Q = TypeVar("_Q", bound=Select[Any])


def _payload_is(q: _Q, payload: Mapping[str, str] | None) -> _Q:
    """``q`` limited to tasks whose payload holds these string values (SQLite's
    ``json_extract``, PostgreSQL's ``->>``)."""
    for key, value in (payload or {}).items():
        q = q.where(T.c.payload[key].as_string() == value)
    return q


class TaskQueue:
    """One queue for every task type. Thread-safe; share one instance per process."""

    def __init__(
        self,
        engine: Engine,
        *,
        lease_s: float = 60.0,
        max_attempts: int = 3,
        backoff_base_s: float = 5.0,
        backoff_max_s: float = 600.0,
    ) -> None:
        self.engine = engine
        self.lease_s = lease_s
        self.max_attempts = max_attempts
        self.backoff_base_s = backoff_base_s
        self.backoff_max_s = backoff_max_s
        self.is_sqlite = engine.dialect.name == "sqlite"
        self._now: ColumnElement[float] = literal_column(
            "((julianday('now') - 2440587.5) * 86400.0)"
            if self.is_sqlite
            else "extract(epoch from clock_timestamp())::float8"
        )
        st = hot_statements(self._now, for_update=not self.is_sqlite)
        self._ready_stmt, self._expired_stmt, self._claim_stmt = st.ready, st.expired, st.claim
        self._heartbeat_stmt, self._complete_stmt, self._state_stmt = (
            st.heartbeat,
            st.complete,
            st.state,
        )

    # --- helpers ---------------------------------------------------------------------
    @contextlib.contextmanager
    def _tx(self) -> Iterator[Connection]:
        """One transaction; driver errors become :class:`StoreError`."""
        try:
            with self.engine.begin() as c:
                yield c
        except SQLAlchemyError as exc:
            raise StoreError(f"task queue: database error ({type(exc).__name__})") from exc

    def now(self) -> float:
        """The database clock, in epoch seconds."""
        with self._tx() as c:
            return float(c.execute(select(self._now)).scalar_one())

    def _insert(self, c: Connection, values: list[dict[str, Any]]) -> list[int]:
        if not values:
            return []
        ins = (sqlite_insert(T) if self.is_sqlite else pg_insert(T)).values(values)
        stmt = ins.on_conflict_do_nothing(index_elements=["dedupe_key"]).returning(T.c.id)
        return [int(r[0]) for r in c.execute(stmt)]

    def _row_values(
        self,
        task_type: TaskType,
        payload: dict[str, Any] | BaseModel,
        *,
        priority: int,
        max_attempts: int | None,
        video_id: str | None,
        dedupe_key: str | None,
        parent_id: int | None,
        delay_s: float,
    ) -> dict[str, Any]:
        return {
            "task_type": TaskType(task_type).value,
            "status": TaskStatus.QUEUED.value,
            "priority": priority,
            "payload": validate_payload(TaskType(task_type), payload),
            "attempts": 0,
            "max_attempts": max_attempts or self.max_attempts,
            "video_id": video_id,
            "dedupe_key": dedupe_key,
            "parent_id": parent_id,
            "run_after_s": self._now + delay_s,
            "created_s": self._now,
            "updated_s": self._now,
        }

    # --- producing ---------------------------------------------------------------------
    def enqueue(
        self,
        task_type: TaskType,
        payload: dict[str, Any] | BaseModel,
        *,
        priority: int = 0,
        max_attempts: int | None = None,
        video_id: str | None = None,
        dedupe_key: str | None = None,
        delay_s: float = 0.0,
    ) -> int | None:
        """Add a task; returns its id, or None when ``dedupe_key`` already exists."""
        try:
            values = self._row_values(
                task_type,
                payload,
                priority=priority,
                max_attempts=max_attempts,
                video_id=video_id,
                dedupe_key=dedupe_key,
                parent_id=None,
                delay_s=delay_s,
            )
        except ValueError as exc:
            raise InputError(f"invalid {task_type} payload: {exc}") from exc
        with self._tx() as c:
            ids = self._insert(c, [values])
        return ids[0] if ids else None

    def enqueue_many(
        self, task_type: TaskType, payloads: Iterable[dict[str, Any]], *, priority: int = 0
    ) -> list[int]:
        rows = [
            self._row_values(
                task_type,
                p,
                priority=priority,
                max_attempts=None,
                video_id=None,
                dedupe_key=None,
                parent_id=None,
                delay_s=0.0,
            )
            for p in payloads
        ]
        out: list[int] = []
        with self._tx() as c:
            for i in range(0, len(rows), 500):
                out += [
                    int(r[0])
                    for r in c.execute(insert(T).values(rows[i : i + 500]).returning(T.c.id))
                ]
        return out

    # --- consuming ---------------------------------------------------------------------
    def claim(
        self,
        task_types: Sequence[TaskType],
        worker_id: str,
        *,
        limit: int = 1,
        lease_s: float | None = None,
        then: Callable[[Connection, list[Task]], None] | None = None,
    ) -> list[Task]:
        """Lease up to ``limit`` ready tasks of these types to ``worker_id``.

        Ready: queued, or waiting for a retry whose backoff has passed, or running with
        an expired lease (its worker is gone; the reaper would requeue it). Highest
        priority first, then oldest. ``then(conn, tasks)`` runs inside the claim's
        transaction (what the claim means elsewhere, e.g. a video now processing).
        """
        types = list(dict.fromkeys(TaskType(t).value for t in task_types))
        params = {
            "token": secrets.token_hex(12),
            "lease": self.lease_s if lease_s is None else lease_s,
            "worker": worker_id,
        }
        with self._tx() as c:
            found = [
                (int(r.priority), int(r.id))
                for tt in types
                for r in c.execute(self._ready_stmt, {"type": tt, "limit": limit})
            ]
            found += [
                (int(r.priority), int(r.id))
                for r in c.execute(self._expired_stmt, {"types": types, "limit": limit})
            ]
            if not found:
                return []
            found.sort(key=lambda pr: (-pr[0], pr[1]))
            ids = [task_id for _, task_id in found[:limit]]
            rows = [task_from_row(r) for r in c.execute(self._claim_stmt, {**params, "ids": ids})]
            rows.sort(key=lambda t: (-t.priority, t.id))
            if then is not None:
                then(c, rows)
        return rows

    def heartbeat(self, task_id: int, token: str, *, lease_s: float | None = None) -> float:
        """Extend the lease; returns the new expiry. Raises LeaseLost for a stale token."""
        lease = self.lease_s if lease_s is None else lease_s
        with self._tx() as c:
            row = c.execute(
                self._heartbeat_stmt, {"tid": task_id, "tok": token, "lease": lease}
            ).first()
        if row is None:
            raise LeaseLost(f"task {task_id}: lease lost (reclaimed, finished or cancelled)")
        return float(row[0])

    def complete(
        self,
        task_id: int,
        token: str,
        result: dict[str, Any] | None = None,
        follow_ups: Sequence[FollowUp] = (),
    ) -> list[int]:
        """Finish a task and publish its follow-ups, in one transaction.

        A replay with the same token is a no-op (follow-ups are unique per parent and
        type); a stale token raises LeaseLost and changes nothing. Returns the ids of
        follow-ups created by this call.
        """
        return self.finish(task_id, token, result, follow_ups).follow_ups

    def finish(
        self,
        task_id: int,
        token: str,
        result: dict[str, Any] | None = None,
        follow_ups: Sequence[FollowUp] = (),
        *,
        inherit_video: bool = False,
        then: Callable[[Connection, Finished], None] | None = None,
    ) -> Finished:
        """:meth:`complete`, also saying what was finished and whether it was a replay;
        ``inherit_video`` gives follow-ups without a video the finished task's.
        ``then(conn, finished)`` runs inside the same transaction, replays included (the
        results a completion carries): when it raises, nothing of the completion stays."""
        with self._tx() as c:
            done = c.execute(
                self._complete_stmt, {"tid": task_id, "tok": token, "result": result}
            ).first()
            if done is None:
                row = c.execute(self._state_stmt, {"tid": task_id}).first()
                if row is None:
                    raise TaskNotFound(f"no task {task_id}")
                if row.status != TaskStatus.DONE.value or row.lease_token != token:
                    raise LeaseLost(f"task {task_id}: lease lost (status {row.status})")
                # replayed completion: its follow-ups are published already
                finished = Finished(TaskType(row.task_type), row.video_id, True, [])
            else:
                values = [
                    self._row_values(
                        f.task_type,
                        f.payload,
                        priority=f.priority,
                        max_attempts=None,
                        video_id=f.video_id or (done.video_id if inherit_video else None),
                        dedupe_key=f"{task_id}:{TaskType(f.task_type).value}",
                        parent_id=task_id,
                        delay_s=0.0,
                    )
                    for f in follow_ups
                ]
                created = self._insert(c, values)
                finished = Finished(TaskType(done.task_type), done.video_id, False, created)
            if then is not None:
                then(c, finished)
        return finished

    def complete_many(self, done: Sequence[tuple[int, str, dict[str, Any] | None]]) -> int:
        """Finish several leased tasks (no follow-ups) in one transaction; for workers that
        claim batches of small tasks. Returns how many were still held; tasks whose lease
        was lost are left as they are (their new holder finishes them)."""
        held = 0
        with self._tx() as c:
            for task_id, token, result in done:
                params = {"tid": task_id, "tok": token, "result": result}
                held += c.execute(self._complete_stmt, params).first() is not None
        return held

    def fail(
        self,
        task_id: int,
        token: str,
        error: str,
        *,
        retry: bool = True,
        then: Callable[[Connection, Failed], None] | None = None,
    ) -> TaskStatus:
        """Record a failure: retry after an exponential backoff, or ``dead`` once the
        attempts are used up (or ``retry=False``). The error text is kept.
        ``then(conn, failed)`` runs inside the same transaction."""
        with self._tx() as c:
            row = c.execute(
                select(T.c.attempts, T.c.max_attempts, T.c.task_type, T.c.video_id).where(
                    T.c.id == task_id,
                    T.c.lease_token == token,
                    T.c.status == TaskStatus.RUNNING.value,
                )
            ).first()
            if row is None:
                raise LeaseLost(f"task {task_id}: lease lost")
            dead = not retry or row.attempts >= row.max_attempts
            delay = min(self.backoff_base_s * 2 ** max(row.attempts - 1, 0), self.backoff_max_s)
            status = TaskStatus.DEAD if dead else TaskStatus.RETRY
            c.execute(
                update(T)
                .where(T.c.id == task_id)
                .values(
                    status=status.value,
                    error=error[:10_000],
                    updated_s=self._now,
                    run_after_s=self._now + (0 if dead else delay),
                    finished_s=self._now if dead else None,
                    lease_expires_s=None,
                )
            )
            if then is not None:
                then(c, Failed(TaskType(row.task_type), row.video_id, status, error[:10_000]))
        return status

    def release(self, task_id: int, token: str) -> None:
        """Give a task back unfinished (graceful stop): claimable again at once, and the
        attempt is not counted."""
        with self._tx() as c:
            res = c.execute(
                update(T)
                .where(
                    T.c.id == task_id,
                    T.c.lease_token == token,
                    T.c.status == TaskStatus.RUNNING.value,
                )
                .values(
                    status=TaskStatus.QUEUED.value,
                    lease_expires_s=None,
                    attempts=T.c.attempts - 1,
                    run_after_s=self._now,
                    updated_s=self._now,
                )
            )
        if res.rowcount == 0:
            raise LeaseLost(f"task {task_id}: lease lost")

    def reap(self) -> int:
        """Requeue (or kill, when out of attempts) tasks whose lease expired."""
        return sum(self.reap_counts().values())

    def reap_counts(self) -> dict[TaskType, int]:
        """:meth:`reap`, counted per task type (for the server's lease-expiry metrics)."""
        expired = and_(T.c.status == TaskStatus.RUNNING.value, T.c.lease_expires_s < self._now)
        counts: dict[TaskType, int] = {}
        with self._tx() as c:
            dead = c.execute(
                update(T)
                .where(expired, T.c.attempts >= T.c.max_attempts)
                .values(
                    status=TaskStatus.DEAD.value,
                    error="lease expired: worker lost",
                    finished_s=self._now,
                    updated_s=self._now,
                )
                .returning(T.c.task_type)
            ).all()
            back = c.execute(
                update(T)
                .where(expired)
                .values(
                    status=TaskStatus.QUEUED.value,
                    run_after_s=self._now,
                    updated_s=self._now,
                    lease_expires_s=None,
                )
                .returning(T.c.task_type)
            ).all()
        for (tt,) in [*dead, *back]:
            counts[TaskType(tt)] = counts.get(TaskType(tt), 0) + 1
        return counts

    # --- operators ---------------------------------------------------------------------
    def cancel(self, task_id: int) -> bool:
        with self._tx() as c:
            res = c.execute(
                update(T)
                .where(
                    T.c.id == task_id,
                    T.c.status.in_(
                        [TaskStatus.QUEUED.value, TaskStatus.RETRY.value, TaskStatus.RUNNING.value]
                    ),
                )
                .values(
                    status=TaskStatus.CANCELLED.value, finished_s=self._now, updated_s=self._now
                )
            )
        return bool(res.rowcount)

    def requeue(self, task_id: int) -> bool:
        """Operator requeue of a dead or cancelled task (attempts start over)."""
        with self._tx() as c:
            res = c.execute(
                update(T)
                .where(
                    T.c.id == task_id,
                    T.c.status.in_([TaskStatus.DEAD.value, TaskStatus.CANCELLED.value]),
                )
                .values(
                    status=TaskStatus.QUEUED.value,
                    attempts=0,
                    run_after_s=self._now,
                    finished_s=None,
                    updated_s=self._now,
                    lease_token=None,
                )
            )
        return bool(res.rowcount)

    # --- reading -----------------------------------------------------------------------
    def get(self, task_id: int) -> Task | None:
        with self._tx() as c:
            row = c.execute(select(T).where(T.c.id == task_id)).first()
        return None if row is None else task_from_row(row)

    def list_tasks(
        self,
        *,
        status: TaskStatus | None = None,
        task_type: TaskType | None = None,
        video_id: str | None = None,
        payload: Mapping[str, str] | None = None,
        limit: int = 100,
    ) -> list[Task]:
        """Newest first; ``payload`` keeps tasks whose payload has those string values
        (``{"project": "cars"}``)."""
        q = _payload_is(select(T).order_by(T.c.id.desc()).limit(limit), payload)
        if status is not None:
            q = q.where(T.c.status == status.value)
        if task_type is not None:
            q = q.where(T.c.task_type == task_type.value)
        if video_id is not None:
            q = q.where(T.c.video_id == video_id)
        with self._tx() as c:
            return [task_from_row(r) for r in c.execute(q)]

    def counts(
        self, *, payload: Mapping[str, str] | None = None
    ) -> dict[tuple[TaskType, TaskStatus], int]:
        """Tasks per (type, status); ``payload`` as in :meth:`list_tasks`."""
        q = select(T.c.task_type, T.c.status, func.count()).group_by(T.c.task_type, T.c.status)
        q = _payload_is(q, payload)
        with self._tx() as c:
            return {(TaskType(t), TaskStatus(s)): int(n) for t, s, n in c.execute(q)}

    def finished_since(self, window_s: float) -> dict[TaskType, int]:
        """Tasks done in the last ``window_s`` seconds, per type (throughput)."""
        q = (
            select(T.c.task_type, func.count())
            .where(T.c.status == TaskStatus.DONE.value, T.c.finished_s >= self._now - window_s)
            .group_by(T.c.task_type)
        )
        with self._tx() as c:
            return {TaskType(t): int(n) for t, n in c.execute(q)}

    # --- workers -----------------------------------------------------------------------
    def worker_heartbeat(
        self,
        worker_id: str,
        kind: str,
        *,
        host: str | None = None,
        pid: int | None = None,
        task_id: int | None = None,
        task_type: TaskType | None = None,
        state: str = "idle",
    ) -> None:
        """Record that a worker is alive (and what it is doing), on the DB clock."""
        values = {
            "kind": kind,
            "host": host,
            "pid": pid,
            "state": state,
            "task_id": task_id,
            "task_type": TaskType(task_type).value if task_type else None,
            "last_heartbeat_s": self._now,
        }
        with self._tx() as c:
            res = c.execute(update(W).where(W.c.id == worker_id).values(**values))
            if not res.rowcount:
                ins = sqlite_insert(W) if self.is_sqlite else pg_insert(W)
                c.execute(
                    ins.values(id=worker_id, started_s=self._now, **values).on_conflict_do_update(
                        index_elements=["id"], set_=values
                    )
                )

    def workers(self) -> list[WorkerInfo]:
        with self._tx() as c:
            now = float(c.execute(select(self._now)).scalar_one())
            rows = list(c.execute(select(W).order_by(W.c.kind, W.c.id)))
        return [worker_from_row(r, now) for r in rows]
