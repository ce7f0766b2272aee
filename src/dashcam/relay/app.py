"""HTTP and WebSocket face of the relay (FastAPI).

``ws://HOST:PORT/connect`` for workers; ``/jobs/...`` to claim, fetch frames, complete and
fail; ``/services`` for cameras; ``/results/stream`` (Server-Sent Events) for dashboards.
"""

from __future__ import annotations

import asyncio
import contextlib
import time
from collections.abc import AsyncIterator
from contextlib import asynccontextmanager
from typing import Annotated, Any

from fastapi import FastAPI, Header, HTTPException, Path, Request, WebSocket
from fastapi.responses import Response, StreamingResponse

from dashcam.errors import InputError
from dashcam.http_errors import error_responses, install_error_handlers
from dashcam.relay.cameras import Camera, CameraSpec, CameraStatus
from dashcam.relay.connections import WorkerConnection
from dashcam.relay.hub import FrameGone, NotRegistered, Relay, job_view
from dashcam.relay.jobs import JobConflict, JobError, JobNotFound, NotJobOwner
from dashcam.relay.messages import (
    AddServiceRequest,
    ClaimRequest,
    CompleteRequest,
    FailRequest,
    HeartbeatAckMessage,
    RegisterMessage,
    WireError,
    error_message,
    parse_worker_message,
    wire_error_parts,
)

_MAX_BAD_MESSAGES = 20  # then the socket is closed with 1008 (policy violation)
_STATUS = (
    (JobNotFound, 404),
    (JobConflict, 409),
    (NotJobOwner, 403),
    (JobError, 400),
    (NotRegistered, 401),
    (FrameGone, 410),
    (InputError, 422),
)
_JOB_ERRORS = error_responses(401, 403, 404, 409)
Id = Annotated[str, Path(min_length=1, max_length=128)]


def create_app(relay: Relay) -> FastAPI:
    """The ASGI app serving ``relay``; the lifespan starts and stops its cameras."""

    @asynccontextmanager
    async def lifespan(_: FastAPI) -> AsyncIterator[None]:
        await relay.start()
        try:
            yield
        finally:
            await relay.stop()

    app = FastAPI(title="dashcam relay", lifespan=lifespan, responses=error_responses(422))
    app.state.relay = relay
    install_error_handlers(app, _STATUS)

    @app.get("/health")
    async def health() -> dict[str, Any]:
        return relay.health()

    @app.get("/services")
    async def services() -> list[CameraStatus]:
        return relay.services()

    @app.post("/services", status_code=201, responses=error_responses(400, 409))
    async def add_service(body: AddServiceRequest) -> CameraStatus:
        try:
            cam = relay.add_camera(CameraSpec.parse(f"{body.name}={body.url}"))
        except InputError as exc:
            raise HTTPException(409, str(exc)) from None
        return cam.status()

    @app.post("/services/{service_id}/start", responses=error_responses(404))
    async def start_service(service_id: Id) -> CameraStatus:
        cam = _camera(relay, service_id)
        cam.start()
        return cam.status()

    @app.post("/services/{service_id}/stop", responses=error_responses(404))
    async def stop_service(service_id: Id) -> CameraStatus:
        cam = _camera(relay, service_id)
        await asyncio.to_thread(cam.stop)
        return cam.status()

    @app.get("/workers")
    async def workers() -> list[dict[str, Any]]:
        return relay.worker_views()

    @app.get("/jobs/{job_id}", responses=error_responses(404))
    async def get_job(job_id: Id) -> dict[str, Any]:
        return job_view(relay.jobs.get(job_id))

    @app.post("/jobs/{job_id}/claim", responses={**_JOB_ERRORS, **error_responses(400)})
    async def claim(job_id: Id, body: ClaimRequest) -> dict[str, Any]:
        return job_view(relay.claim(job_id, body.worker_id))

    @app.get(
        "/jobs/{job_id}/frames/{frame_id}",
        response_class=Response,
        responses={200: {"content": {"image/jpeg": {}}}, **_JOB_ERRORS, **error_responses(410)},
    )
    async def frame(
        job_id: Id, frame_id: Id, x_worker_key: str | None = Header(None, max_length=256)
    ) -> Response:
        jpeg = relay.frame(job_id, frame_id, x_worker_key)
        return Response(jpeg, media_type="image/jpeg")

    @app.post("/jobs/{job_id}/complete", responses={**_JOB_ERRORS, **error_responses(400)})
    async def complete(job_id: Id, body: CompleteRequest) -> dict[str, Any]:
        return job_view(relay.complete(job_id, body.worker_id, body.result))

    @app.post("/jobs/{job_id}/fail", responses={**_JOB_ERRORS, **error_responses(400)})
    async def fail(job_id: Id, body: FailRequest) -> dict[str, Any]:
        return job_view(relay.fail(job_id, body.worker_id, body.error))

    @app.get(
        "/results/stream",
        response_class=StreamingResponse,
        responses={200: {"content": {"text/event-stream": {}}}},
    )
    async def results_stream(request: Request) -> StreamingResponse:
        queue = relay.subscribe()

        async def events() -> AsyncIterator[str]:
            try:
                yield ": connected\n\n"
                while not await request.is_disconnected():
                    try:
                        text = await asyncio.wait_for(queue.get(), 15.0)
                    except TimeoutError:
                        yield ": keep-alive\n\n"
                        continue
                    yield f"event: job\ndata: {text}\n\n"
            finally:
                relay.unsubscribe(queue)

        return StreamingResponse(
            events(), media_type="text/event-stream", headers={"Cache-Control": "no-cache"}
        )

    @app.websocket("/connect")
    async def connect(ws: WebSocket) -> None:
        await ws.accept()
        conn = WorkerConnection(
            ws.send_text, lambda code: ws.close(code), relay.config.worker_queue, time.time()
        )
        relay.connect(conn)
        pump = asyncio.create_task(conn.pump())
        try:
            await _receive_loop(relay, ws, conn)
        finally:
            relay.disconnect(conn)
            pump.cancel()
            with contextlib.suppress(asyncio.CancelledError):
                await pump

    return app


def _camera(relay: Relay, service_id: str) -> Camera:
    try:
        return relay.camera(service_id)
    except KeyError:
        raise HTTPException(404, f"no service {service_id!r}") from None


async def _receive_loop(relay: Relay, ws: WebSocket, conn: WorkerConnection) -> None:
    while True:
        event = await ws.receive()
        if event["type"] == "websocket.disconnect":
            return
        data = event.get("text")
        if data is None:
            data = event.get("bytes") or b""
        now = time.time()
        try:
            msg = parse_worker_message(data, relay.config.max_message_bytes)
        except WireError as exc:
            conn.errors += 1
            conn.offer(error_message(*wire_error_parts(exc)).model_dump_json())
            if conn.errors >= _MAX_BAD_MESSAGES:
                await conn.close(1008)
                return
            continue
        if isinstance(msg, RegisterMessage):
            relay.register(conn, msg.data.worker_id, now)
        elif conn.worker_id is None:
            conn.offer(error_message("not_registered", "send register first").model_dump_json())
        else:
            conn.last_seen = now
            conn.offer(HeartbeatAckMessage().model_dump_json())
