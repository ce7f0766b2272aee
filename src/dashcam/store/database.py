"""Engines and schema creation for SQLite (default) and PostgreSQL."""

from __future__ import annotations

import contextlib
import importlib
import threading
from pathlib import Path
from typing import Any

from sqlalchemy import Engine, create_engine, event, inspect, make_url, text
from sqlalchemy.exc import SQLAlchemyError
from sqlalchemy.orm import DeclarativeBase

from dashcam.errors import InputError, StoreError

_LOCK_WAIT_S = 30.0


class Base(DeclarativeBase):
    """Declarative base shared by every table of dashcam (results and task queue)."""


def is_sqlite(url: str) -> bool:
    return url.startswith("sqlite")


def _normalise_url(url: str) -> str:
    # Plain postgresql:// URLs would pick psycopg2; we ship psycopg 3.
    if url.startswith("postgresql://") or url.startswith("postgres://"):
        return "postgresql+psycopg://" + url.split("://", 1)[1]
    return url


def make_engine(url: str, *, create: bool = True, **kwargs: Any) -> Engine:
    """An engine for ``url`` with the schema in place.

    SQLite: WAL journal, foreign keys, a 30 s busy timeout, and the folder created.
    PostgreSQL: a small pool with pre-ping. ``create=False`` skips ``create_all``.
    """
    url = _normalise_url(url)
    if is_sqlite(url):
        db_file = sqlite_file(url)
        if db_file is not None:
            db_file.parent.mkdir(parents=True, exist_ok=True)
        kwargs.setdefault("connect_args", {"timeout": 30, "check_same_thread": False})
        # Every transaction holds the process's writer lock (below), so a second
        # connection adds no concurrency; it costs a lot: a connection that did not make
        # the last write re-reads its pages (16 claimer threads: 400 -> 1,100 claims/s).
        kwargs.setdefault("pool_size", 1)
        kwargs.setdefault("max_overflow", 0)
        kwargs.setdefault("pool_timeout", _LOCK_WAIT_S)
        engine = create_engine(url, **kwargs)

        @event.listens_for(engine, "connect")
        def _sqlite_pragmas(dbapi_conn: Any, _record: Any) -> None:
            # Let SQLAlchemy not emit BEGIN itself, so BEGIN IMMEDIATE can be used.
            dbapi_conn.isolation_level = None
            cur = dbapi_conn.cursor()
            cur.execute("PRAGMA journal_mode=WAL")
            cur.execute("PRAGMA synchronous=NORMAL")
            cur.execute("PRAGMA foreign_keys=ON")
            cur.execute("PRAGMA busy_timeout=30000")
            cur.close()

        # SQLite has one writer. Threads of this process queue on a lock instead of
        # SQLite's busy handler, whose sleeps (up to 100 ms) make the tail latency; other
        # processes still wait through busy_timeout.
        writer = threading.Lock()

        @event.listens_for(engine, "begin")
        def _sqlite_begin(conn: Any) -> None:
            conn.info["dashcam_lock"] = writer.acquire(timeout=_LOCK_WAIT_S)
            try:
                conn.exec_driver_sql("BEGIN IMMEDIATE")
            except BaseException:
                _release(conn)
                raise

        def _release(conn: Any, *_: Any) -> None:
            if conn.info.pop("dashcam_lock", False):
                writer.release()

        event.listen(engine, "commit", _release)
        event.listen(engine, "rollback", _release)

    else:
        kwargs.setdefault("pool_pre_ping", True)
        kwargs.setdefault("pool_size", 10)
        kwargs.setdefault("max_overflow", 20)
        engine = create_engine(url, **kwargs)
    if create:
        init_schema(engine)
    return engine


def sqlite_file(url: str) -> Path | None:
    """The database file of a SQLite URL (None for other databases and ``:memory:``)."""
    url = _normalise_url(url)
    if not is_sqlite(url):
        return None
    db_path = url.split("///", 1)[-1]
    return Path(db_path) if db_path and db_path != ":memory:" else None


def where(url: str) -> str:
    """Where a URL's database is, for messages: a SQLite file's absolute path, else the
    URL without its password."""
    path = sqlite_file(url)
    if path is not None:
        return str(path.resolve())
    return make_url(_normalise_url(url)).render_as_string(hide_password=True)


def existing_engine(url: str) -> Engine:
    """An engine for a database that holds dashcam's tables already; never creates one.

    Raises :class:`InputError` naming where it looked when there is no such database.
    An older database still gets the columns and indexes added since (``init_schema``).
    """
    path = sqlite_file(url)
    if path is not None and not path.is_file():
        raise InputError(f"no dashcam database at {where(url)}")
    engine = make_engine(url, create=False)
    try:
        found = inspect(engine).has_table("videos")
    except SQLAlchemyError as exc:
        engine.dispose()
        raise StoreError(f"cannot open the database at {where(url)}") from exc
    if not found:
        engine.dispose()
        raise InputError(f"no dashcam tables in the database at {where(url)}")
    init_schema(engine)
    return engine


def init_schema(engine: Engine) -> None:
    """Create missing tables and add missing nullable columns (a light auto-migration)."""
    # Import the table modules so their classes are registered on Base.metadata.
    from dashcam.store import schema  # noqa: F401

    with contextlib.suppress(ModuleNotFoundError):
        importlib.import_module("dashcam.store.task_schema")
    with contextlib.suppress(ModuleNotFoundError):
        importlib.import_module("dashcam.miner.schema")
    with contextlib.suppress(ModuleNotFoundError):
        importlib.import_module("dashcam.store.watchlist")
    try:
        Base.metadata.create_all(engine)
        _add_missing_columns(engine)
    except SQLAlchemyError as exc:
        raise StoreError(f"cannot prepare the database at {engine.url!r}") from exc


def _add_missing_columns(engine: Engine) -> None:
    """Bring a database made by an older version up to date: missing nullable columns
    and missing indexes are added (``create_all`` only makes missing tables)."""
    with engine.begin() as conn:
        insp = inspect(conn)
        for table in Base.metadata.sorted_tables:
            have = {c["name"] for c in insp.get_columns(table.name)}
            for col in table.columns:
                if col.name not in have and col.nullable:
                    ddl = col.type.compile(dialect=engine.dialect)
                    conn.execute(text(f'ALTER TABLE {table.name} ADD COLUMN "{col.name}" {ddl}'))
            indexed = {ix["name"] for ix in insp.get_indexes(table.name)}
            for index in table.indexes:
                if index.name not in indexed:
                    index.create(conn)
