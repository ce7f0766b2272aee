"""Shared server state and the API-key check."""

from __future__ import annotations

import functools
import secrets
import time
from collections.abc import Callable
from dataclasses import dataclass
from datetime import UTC, datetime
from typing import Any, TypeVar

from fastapi import HTTPException, Request, status
from starlette.concurrency import run_in_threadpool

from dashcam.config import Settings
from dashcam.events.announcer import Announcer
from dashcam.server import session
from dashcam.server.metrics import Metrics
from dashcam.store.results import ResultsRepository
from dashcam.store.task_queue import TaskQueue


@dataclass
class ServerState:
    settings: Settings
    queue: TaskQueue
    repo: ResultsRepository
    metrics: Metrics
    stale_after_s: float
    events: Announcer | None = None  # events out (docs/events.md); set by create_app

    @property
    def inline_store(self) -> bool:
        """Queue calls run on the event loop (SQLite) rather than in the thread pool."""
        return self.queue.is_sqlite


R = TypeVar("R")


async def run_store(st: ServerState, fn: Callable[..., R], *args: Any, **kwargs: Any) -> R:
    """Run a short queue call for an ``async`` endpoint.

    SQLite: inline. Its statements take well under a millisecond and a server process
    has one connection (see ``store.database``), so a thread adds no concurrency, only
    its hop, which cost the worker protocol more than the database work (16 HTTP
    workers: about 300 -> 700 claim+complete/s). PostgreSQL: in the thread pool, where
    requests overlap their round trips on the connection pool. Long work (applying a
    heavy completion's sightings) always goes to the thread pool.
    """
    if st.inline_store:
        return fn(*args, **kwargs)
    return await run_in_threadpool(functools.partial(fn, *args, **kwargs))


def server_state(request: Request) -> ServerState:
    st: ServerState = request.app.state.dashcam
    return st


def check_key(request: Request) -> None:
    """``Authorization: Bearer <DASHCAM_API_KEY>`` or the dashboard's session cookie
    (see ``server.session``) when a key is configured; else 401."""
    key = server_state(request).settings.api_key
    if not key:
        return
    header = request.headers.get("authorization", "")
    scheme, _, given = header.partition(" ")
    if scheme.lower() == "bearer" and secrets.compare_digest(given.strip(), key):
        return
    if session.signed_in(request, key, time.time()):
        if not session.cross_site_safe(request):
            raise HTTPException(
                status_code=status.HTTP_403_FORBIDDEN,
                detail="a change signed in by cookie needs the X-Requested-With: dashcam header",
            )
        return
    raise HTTPException(
        status_code=status.HTTP_401_UNAUTHORIZED,
        detail="missing or wrong API key (Authorization: Bearer <DASHCAM_API_KEY>)",
        headers={"WWW-Authenticate": "Bearer"},
    )


# The dependencies are ``async def`` on purpose: they only read the request, and FastAPI
# runs a plain ``def`` dependency in the thread pool (a thread hop per dependency per
# request, which cost the worker protocol more than its database work).
async def state(request: Request) -> ServerState:
    """The server's shared state (dependency)."""
    return server_state(request)


async def require_key(request: Request) -> None:
    """The API-key check (dependency)."""
    check_key(request)


def iso(ts: float | None) -> str | None:
    """Epoch seconds as ISO 8601 UTC with a ``Z`` (``0.0`` -> ``1970-01-01T00:00:00Z``)."""
    if ts is None:
        return None
    return datetime.fromtimestamp(ts, UTC).isoformat().replace("+00:00", "Z")
