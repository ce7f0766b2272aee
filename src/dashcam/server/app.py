"""The FastAPI application of ``dashcam server``."""

from __future__ import annotations

import contextlib
import ipaddress
import logging
import threading
from collections.abc import AsyncIterator
from typing import Any

from fastapi import FastAPI

from dashcam.config import Settings
from dashcam.errors import (
    ConfigError,
    DashcamError,
    InputError,
    LeaseLost,
    PathEscapeError,
    StoreError,
    TaskNotFound,
)
from dashcam.events.announcer import Announcer
from dashcam.events.hub import EventHub
from dashcam.http_errors import error_responses, install_error_handlers
from dashcam.server import dashboard, events, sightings, tasks, videos, workers
from dashcam.server.deps import ServerState
from dashcam.server.incoming import IncomingScanner
from dashcam.server.metrics import Metrics
from dashcam.store.database import make_engine
from dashcam.store.results import ResultsRepository
from dashcam.store.status import worker_views
from dashcam.store.task_queue import TaskQueue

log = logging.getLogger(__name__)

_STATUS = (
    (LeaseLost, 409),
    (TaskNotFound, 404),
    (PathEscapeError, 422),
    (InputError, 422),
    (StoreError, 503),
)


def _reaper(st: ServerState, every_s: float, stop: threading.Event) -> None:
    while not stop.wait(every_s):
        try:
            for task_type, n in st.queue.reap_counts().items():
                st.metrics.lease_expiries.labels(task_type.value).inc(n)
                log.warning("reaper: %d expired %s lease(s) requeued", n, task_type.value)
        except DashcamError as exc:
            log.warning("reaper: %s", exc)


def create_app(settings: Settings, *, sweep_interval_s: float = 1.0) -> FastAPI:
    """The server app for ``settings`` (database, API key, lease length)."""
    engine = make_engine(settings.db_url)
    st = ServerState(
        settings=settings,
        queue=TaskQueue(engine, lease_s=settings.lease_s, max_attempts=settings.max_attempts),
        repo=ResultsRepository(engine),
        metrics=Metrics(),
        stale_after_s=settings.stale_after_s,
    )
    st.events = Announcer(
        EventHub(),
        st.repo,
        settings=settings,
        server_url=settings.server_url,
        workers=lambda: worker_views(st.queue, stale_after_s=st.stale_after_s),
        check_every_s=min(5.0, settings.heartbeat_interval_s),
    )
    st.metrics.watch_events(st.events)

    @contextlib.asynccontextmanager
    async def lifespan(app: FastAPI) -> AsyncIterator[None]:
        stop = threading.Event()
        threads = [
            threading.Thread(
                target=_reaper, args=(st, sweep_interval_s, stop), name="reaper", daemon=True
            )
        ]
        if settings.nas_scan_interval_s > 0:
            assert settings.nas_mount is not None  # filled in by Settings
            scanner = IncomingScanner(st.repo, st.queue, settings.nas_mount / "videos" / "incoming")
            threads.append(
                threading.Thread(
                    target=scanner.run,
                    args=(settings.nas_scan_interval_s, stop),
                    name="incoming-scan",
                    daemon=True,
                )
            )
        for t in threads:
            t.start()
        assert st.events is not None
        st.events.hub.open(settings, role="server")
        st.events.start()
        try:
            yield
        finally:
            stop.set()
            for t in threads:
                t.join(timeout=5)
            st.events.close(timeout_s=5.0)
            st.events.hub.close(timeout_s=5.0)
            engine.dispose()

    app = FastAPI(
        title="dashcam server",
        description="Durable task queue, videos, sightings and plate search.",
        lifespan=lifespan,
    )
    app.state.dashcam = st
    app.state.metrics = st.metrics

    install_error_handlers(app, _STATUS)

    @app.get("/health", tags=["health"], responses=error_responses(503))
    def health() -> dict[str, Any]:
        return {"status": "ok", "db_time_s": st.queue.now()}

    app.include_router(tasks.router)
    app.include_router(workers.router)
    app.include_router(videos.router)
    app.include_router(sightings.router)
    app.include_router(dashboard.router)
    app.include_router(events.router)
    return app


def is_loopback(host: str) -> bool:
    """True for addresses only this machine reaches (``127.0.0.1``, ``::1``, ``localhost``).

    >>> is_loopback("127.0.0.1"), is_loopback("[::1]"), is_loopback("0.0.0.0"), is_loopback("nas")
    (True, True, False, False)
    """
    if host == "localhost":
        return True
    try:
        return ipaddress.ip_address(host.strip("[]")).is_loopback
    except ValueError:  # a host name: it may resolve to any interface
        return False


def check_exposure(host: str, api_key: str | None, *, insecure_no_key: bool = False) -> None:
    """Refuse to serve every video, crop and task to the network without a key."""
    if is_loopback(host) or api_key or insecure_no_key:
        return
    raise ConfigError(
        f"refusing to listen on {host} without an API key: set DASHCAM_API_KEY "
        "(workers and dashboards then send it), or pass --insecure-no-key to serve "
        "the network without one"
    )


def app_from_env() -> FastAPI:
    """App factory for ``uvicorn --factory`` / several worker processes: settings from env."""
    from dashcam.config import load_settings

    return create_app(load_settings())
