"""The web dashboard: page shell and assets, ``/api/live`` (server-sent events), the
watchlist API and Prometheus ``/metrics``.

The page shell and its assets need no key (they hold no data); every data endpoint does
when ``DASHCAM_API_KEY`` is set: the bearer header, or the session cookie the page gets
when the key is given once (``/api/session``, or ``/?key=``; see ``server.session``).
``/api/live`` also takes the key as ``?key=`` for ``EventSource`` and ``curl -N``.
"""

from __future__ import annotations

import asyncio
import json
import re
import secrets
import threading
import time
from collections import Counter
from collections.abc import AsyncIterator
from pathlib import Path
from typing import Annotated, Any

from fastapi import APIRouter, Depends, FastAPI, HTTPException, Query, Request, Response
from fastapi import Path as PathParam
from fastapi.concurrency import run_in_threadpool
from fastapi.responses import FileResponse, RedirectResponse, StreamingResponse
from prometheus_client import CONTENT_TYPE_LATEST, generate_latest
from pydantic import BaseModel, Field

from dashcam.domain.ids import ID_PATTERN, is_valid_id
from dashcam.errors import PathEscapeError
from dashcam.http_errors import error_responses
from dashcam.server import session
from dashcam.server.deps import ServerState, check_key, require_key, server_state, state
from dashcam.server.live import LiveFeed, match_json
from dashcam.server.workers import workers_json
from dashcam.store.task_schema import TaskStatus, TaskType
from dashcam.store.watchlist import MAX_WATCH_DISTANCE, WatchEntry, WatchlistRepository

STATIC_DIR = Path(__file__).resolve().parent / "static"
LIVE_INTERVAL_S = 1.5
_ASSET = re.compile(r"^[a-z0-9_-]+\.(js|css|svg|png|ico)$")
_MEDIA = {
    "js": "text/javascript",
    "css": "text/css",
    "svg": "image/svg+xml",
    "png": "image/png",
    "ico": "image/x-icon",
}
_feed_lock = threading.Lock()  # guards the lazy creation of an app's LiveFeed
_metrics_lock = threading.Lock()  # gauges are cleared and refilled at each scrape

router = APIRouter(tags=["dashboard"], responses=error_responses(401, 422, 503))
State = Annotated[ServerState, Depends(state)]


class WatchRequest(BaseModel):
    plate: str = Field(min_length=1, max_length=64)
    note: str | None = Field(None, max_length=500)
    max_distance: float = Field(0.0, ge=0, le=MAX_WATCH_DISTANCE)


def live_feed(app: FastAPI) -> LiveFeed:
    """The app's live feed (created on first use; one per server process)."""
    with _feed_lock:
        feed: LiveFeed | None = getattr(app.state, "dashboard_feed", None)
        if feed is None:
            feed = LiveFeed(app.state.dashcam)
            app.state.dashboard_feed = feed
        return feed


def _watchlist(st: ServerState) -> WatchlistRepository:
    return WatchlistRepository(st.repo.engine)


def entry_json(e: WatchEntry) -> dict[str, Any]:
    return {
        "plate": e.plate,
        "note": e.note,
        "max_distance": e.max_distance,
        "created_at": e.created_at.isoformat() if e.created_at else None,
    }


# --- page and assets (no key) --------------------------------------------------------
@router.get("/", include_in_schema=False)
def index(request: Request, key: str | None = None) -> Response:
    """The page shell. ``/?key=<API key>`` signs this browser in (a session cookie) and
    redirects to the clean URL, so the key stays out of the address bar and history."""
    if key is None:
        return FileResponse(STATIC_DIR / "index.html", headers={"Cache-Control": "no-cache"})
    rest = request.url.remove_query_params("key")
    clean = RedirectResponse(
        rest.path + (f"?{rest.query}" if rest.query else ""),
        status_code=303,
        headers={"Cache-Control": "no-store", "Referrer-Policy": "no-referrer"},
    )
    want = server_state(request).settings.api_key
    if want and _same_key(key, want):
        session.sign_in(clean, request, want, time.time())
    return clean


def _same_key(given: str, want: str) -> bool:
    return secrets.compare_digest(given.encode(), want.encode())


# --- sign-in ---------------------------------------------------------------------------
class SignIn(BaseModel):
    key: str = Field(min_length=1, max_length=4096)


@router.get("/api/session")
def session_state(request: Request) -> dict[str, bool]:
    """Whether this server needs a key and whether this browser is signed in (no key)."""
    want = server_state(request).settings.api_key
    return {
        "key_required": bool(want),
        "signed_in": not want or session.signed_in(request, want, time.time()),
    }


@router.post("/api/session", status_code=204, responses=error_responses(400))
def sign_in(request: Request, body: SignIn) -> Response:
    """Sign this browser in with the API key: a session cookie, HttpOnly and SameSite."""
    want = server_state(request).settings.api_key
    if want and not _same_key(body.key, want):
        raise HTTPException(401, "wrong API key", headers={"WWW-Authenticate": "Bearer"})
    resp = Response(status_code=204)
    if want:
        session.sign_in(resp, request, want, time.time())
    return resp


@router.delete("/api/session", status_code=204)
def sign_out(request: Request) -> Response:
    """Sign this browser out: the session cookie is cleared."""
    resp = Response(status_code=204)
    session.sign_out(resp, request)
    return resp


@router.get("/static/{name}", include_in_schema=False)
def asset(name: str) -> FileResponse:
    path = STATIC_DIR / name
    if not _ASSET.match(name) or not path.is_file():
        raise HTTPException(404, f"no asset {name}")
    return FileResponse(
        path, media_type=_MEDIA[name.rsplit(".", 1)[1]], headers={"Cache-Control": "no-cache"}
    )


# --- live feed -------------------------------------------------------------------------
def check_stream_key(request: Request, key: str | None) -> None:
    want = server_state(request).settings.api_key
    if want and key is not None and "authorization" not in request.headers:
        if not _same_key(key, want):
            raise HTTPException(401, "wrong API key", headers={"WWW-Authenticate": "Bearer"})
        return
    check_key(request)


@router.get(
    "/api/live",
    response_class=StreamingResponse,
    responses={200: {"content": {"text/event-stream": {}}}},
)
async def live(
    request: Request, key: Annotated[str | None, Query(max_length=1024)] = None
) -> StreamingResponse:
    """Server-sent events: one ``live`` event every ~1.5 s with workers, queue counts,
    backlog, throughput per minute, recent failures and watchlist matches."""
    check_stream_key(request, key)
    feed = live_feed(request.app)

    async def events() -> AsyncIterator[str]:
        yield "retry: 2000\n\n"
        last = -1
        while not await request.is_disconnected():
            snap = feed.fresh()
            if snap is None:
                snap = await run_in_threadpool(feed.snapshot)
            if snap.seq != last:
                last = snap.seq
                yield f"id: {snap.seq}\nevent: live\ndata: {snap.json}\n\n"
            else:
                yield ": idle\n\n"
            await asyncio.sleep(LIVE_INTERVAL_S)

    return StreamingResponse(
        events(),
        media_type="text/event-stream",
        headers={"Cache-Control": "no-cache", "X-Accel-Buffering": "no"},
    )


@router.get("/api/config", dependencies=[Depends(require_key)])
def page_config(st: State) -> dict[str, Any]:
    """What the page needs to know: the optional map tile URL and the live interval."""
    return {
        "map_tile_url": st.settings.map_tile_url,
        "live_interval_s": LIVE_INTERVAL_S,
        "stale_after_s": st.stale_after_s,
    }


@router.get(
    "/api/videos/{video_id}/track",
    dependencies=[Depends(require_key)],
    responses=error_responses(404),
)
def video_track(
    st: State, video_id: Annotated[str, PathParam(pattern=ID_PATTERN)]
) -> dict[str, Any]:
    """The video's GPS track as ``[[t_ms, lat, lon], ...]``: the stored one, else the
    ``track`` of its ``metadata.json`` (output or archive folder), else empty."""
    if not is_valid_id(video_id):
        raise PathEscapeError(f"invalid video id {video_id!r}")
    v = st.repo.get_video(video_id)
    if v is None:
        raise HTTPException(404, f"no video {video_id}")
    stored = st.repo.get_track(video_id)
    if stored:
        return {"video_id": video_id, "track": stored, "source": "database"}
    for folder in (v.archive_dir, v.output_dir):
        meta = Path(folder) / "metadata.json" if folder else None
        if meta is not None and meta.is_file():
            try:
                track = json.loads(meta.read_text(encoding="utf-8")).get("track")
            except (OSError, ValueError):
                continue
            if isinstance(track, list) and track:
                return {"video_id": video_id, "track": track, "source": "metadata"}
    return {"video_id": video_id, "track": [], "source": None}


# --- watchlist ---------------------------------------------------------------------------
@router.get("/api/watchlist", dependencies=[Depends(require_key)])
def watchlist(st: State) -> dict[str, Any]:
    """Watched plates and their newest matching sightings."""
    wl = _watchlist(st)
    return {
        "entries": [entry_json(e) for e in wl.entries()],
        "matches": [match_json(m) for m in wl.matches(limit=200)],
    }


@router.post("/api/watchlist", dependencies=[Depends(require_key)], responses=error_responses(400))
def watch(st: State, req: WatchRequest) -> dict[str, Any]:
    """Watch a plate (normalised: ``ab-12 cde`` is ``AB12CDE``); again updates its note."""
    e = _watchlist(st).add(req.plate, note=req.note, max_distance=req.max_distance)
    if st.events is not None:
        st.events.watchlist_changed()
    return entry_json(e)


@router.delete(
    "/api/watchlist/{plate}", dependencies=[Depends(require_key)], responses=error_responses(404)
)
def unwatch(
    st: State, plate: Annotated[str, PathParam(min_length=1, max_length=64)]
) -> dict[str, Any]:
    if not _watchlist(st).remove(plate):
        raise HTTPException(404, f"plate {plate!r} is not on the watchlist")
    if st.events is not None:
        st.events.watchlist_changed()
    return {"plate": plate, "removed": True}


# --- Prometheus --------------------------------------------------------------------------
@router.get(
    "/metrics",
    dependencies=[Depends(require_key)],
    response_class=Response,
    responses={200: {"content": {CONTENT_TYPE_LATEST.split(";")[0]: {}}}},
)
def metrics(st: State) -> Response:
    """Prometheus text exposition. Needs the bearer key when one is set (Prometheus:
    ``authorization: {credentials: <key>}`` in the scrape config)."""
    counts = st.queue.counts()
    seen = Counter((w["kind"], "true" if w["stale"] else "false") for w in workers_json(st))
    m = st.metrics
    with _metrics_lock:
        for tt in TaskType:
            for s in TaskStatus:
                m.tasks.labels(tt.value, s.value).set(counts.get((tt, s), 0))
        m.workers_seen.clear()
        for (kind, stale), n in seen.items():
            m.workers_seen.labels(kind, stale).set(n)
        body = generate_latest(m.registry)
    return Response(body, media_type=CONTENT_TYPE_LATEST)
