"""``/api/events``: the event stream (server-sent events, what ``dashcam events tail``
reads), and ``/api/events/status``: how each destination (MQTT, webhooks) is doing."""

from __future__ import annotations

import asyncio
from collections.abc import AsyncIterator
from typing import Annotated, Any

from fastapi import APIRouter, Depends, Header, HTTPException, Query, Request
from fastapi.responses import StreamingResponse

from dashcam.domain.events import EventType
from dashcam.events.announcer import Announcer
from dashcam.http_errors import error_responses
from dashcam.server.dashboard import check_stream_key
from dashcam.server.deps import ServerState, require_key, server_state, state

POLL_S = 0.2  # how often a stream looks for new events
PING_S = 15.0  # a comment line this often keeps proxies from closing an idle stream

router = APIRouter(tags=["events"], responses=error_responses(401, 422, 503))
State = Annotated[ServerState, Depends(state)]


def announcer(st: ServerState) -> Announcer:
    if st.events is None:
        raise HTTPException(503, "events are not running")
    return st.events


@router.get(
    "/api/events",
    response_class=StreamingResponse,
    responses={200: {"content": {"text/event-stream": {}}}},
)
async def event_stream(
    request: Request,
    key: Annotated[str | None, Query(max_length=1024)] = None,
    types: Annotated[list[EventType] | None, Query(alias="type")] = None,
    last_event_id: Annotated[str | None, Header(max_length=32)] = None,
    backlog: Annotated[int, Query(ge=0, le=500)] = 0,
) -> StreamingResponse:
    """Server-sent events: each event as ``event: <type>``, ``id: <seq>``, ``data: <JSON>``
    (the payloads of docs/events.md). ``type`` filters (repeatable); ``backlog`` first
    replays that many recent events; ``Last-Event-ID`` resumes after a reconnect."""
    check_stream_key(request, key)
    hub = announcer(server_state(request)).hub
    wanted = set(types or EventType)
    after = hub.last_seq
    if last_event_id is not None and last_event_id.isdigit():
        after = int(last_event_id)
    elif backlog:
        after = max(0, hub.last_seq - backlog)

    async def stream() -> AsyncIterator[str]:
        nonlocal after
        yield "retry: 2000\n\n"
        idle_s = 0.0
        while not await request.is_disconnected():
            fresh = hub.since(after)
            for n in fresh:
                after = n.seq
                if n.event.type in wanted:
                    yield f"id: {n.seq}\nevent: {n.event.type.value}\ndata: {n.json}\n\n"
            if fresh:
                idle_s = 0.0
            else:
                idle_s += POLL_S
                if idle_s >= PING_S:
                    idle_s = 0.0
                    yield ": idle\n\n"
            await asyncio.sleep(POLL_S)

    return StreamingResponse(
        stream(),
        media_type="text/event-stream",
        headers={"Cache-Control": "no-cache", "X-Accel-Buffering": "no"},
    )


@router.get("/api/events/status", dependencies=[Depends(require_key)])
def events_status(st: State, recent: Annotated[int, Query(ge=0, le=100)] = 10) -> dict[str, Any]:
    """Events published so far, each destination's state (connected, queued,
    delivered, dropped, failed, last error) and the newest events."""
    return announcer(st).hub.summary(recent)
