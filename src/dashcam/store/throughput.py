"""Tasks finished per minute over the last minutes, per task type (one grouped query)."""

from __future__ import annotations

from typing import cast

from sqlalchemy import Engine, Integer, Table, func, select
from sqlalchemy import cast as sql_cast
from sqlalchemy.exc import SQLAlchemyError

from dashcam.errors import StoreError
from dashcam.store.task_schema import TaskRow, TaskStatus

T = cast(Table, TaskRow.__table__)


def finished_per_minute(engine: Engine, now_s: float, *, minutes: int = 10) -> dict[str, list[int]]:
    """Done tasks per minute for each task type, oldest minute first.

    ``now_s`` is the database clock (``TaskQueue.now()``); the last entry of each list is
    the minute ending at ``now_s``. Example: ``{"HEAVY_PROCESS_VIDEO": [0, 0, ..., 3, 5]}``.
    """
    age = (now_s - T.c.finished_s) / 60.0
    # Ages are >= 0, so truncation is the floor (SQLite has no portable floor()).
    bucket = sql_cast(age, Integer) if engine.dialect.name == "sqlite" else func.floor(age)
    q = (
        select(T.c.task_type, bucket.label("b"), func.count())
        .where(T.c.status == TaskStatus.DONE.value, T.c.finished_s > now_s - 60.0 * minutes)
        .group_by(T.c.task_type, "b")
    )
    out: dict[str, list[int]] = {}
    try:
        with engine.connect() as c:
            rows = list(c.execute(q))
    except SQLAlchemyError as exc:
        raise StoreError(f"throughput: database error ({type(exc).__name__})") from exc
    for task_type, b, n in rows:
        i = min(max(int(b), 0), minutes - 1)
        series = out.setdefault(str(task_type), [0] * minutes)
        series[minutes - 1 - i] += int(n)
    return out
