"""The CV worker: connects to a relay, logs the jobs it is offered and (optionally) does them.

Use it from the CLI (``dashcam cv-worker``) or as a library with your own model::

    class MyModel:
        async def handle(self, job: JobOffer, frames: list[bytes]) -> dict[str, Any]:
            return {"n_frames": len(frames)}

    worker = CVWorker(relay_url="ws://127.0.0.1:7010/connect", handler=MyModel())
    asyncio.run(worker.run())      # until worker.stop() (thread-safe, idempotent)

Without a handler it only logs. With one it claims each job it is offered (one at a time by
default), downloads the frames with its per-connection key, runs the handler and reports
``complete`` with the returned dict, or ``fail`` with the handler's error. When the relay
goes away it reconnects with backoff, registers again and gets a new key.
"""

from __future__ import annotations

import asyncio
import contextlib
import json
import logging
import os
import socket
from collections.abc import Callable
from typing import Any, Protocol
from urllib.parse import urlsplit

import httpx
import websockets
from websockets.asyncio.client import ClientConnection

from dashcam.relay.messages import (
    ErrorMessage,
    JobAvailableMessage,
    JobOffer,
    RegisterData,
    RegisteredMessage,
    RegisterMessage,
    parse_relay_message,
)

log = logging.getLogger(__name__)


class JobHandler(Protocol):
    """Your model: JPEG bytes of every frame of a job in, a JSON-able result dict out."""

    async def handle(self, job: JobOffer, frames: list[bytes]) -> dict[str, Any]: ...


def http_url_for(relay_url: str) -> str:
    """``ws://host:7010/connect`` -> ``http://host:7010`` (``wss`` -> ``https``)."""
    parts = urlsplit(relay_url)
    scheme = "https" if parts.scheme == "wss" else "http"
    return f"{scheme}://{parts.netloc}"


def describe_job(job: JobOffer) -> str:
    """The log line of an offered job: id, type, service, time, frame count and ids, metadata."""
    return (
        f"job {job.id} type={job.type} service={job.service_id} timestamp={job.timestamp:.3f} "
        f"frames={len(job.frames)} [{', '.join(job.frames)}] "
        f"metadata={job.metadata.model_dump_json(exclude_none=True)}"
    )


class CVWorker:
    """One worker connection to one relay; ``run()`` until ``stop()``."""

    def __init__(
        self,
        *,
        relay_url: str = "ws://127.0.0.1:7010/connect",
        http_url: str | None = None,
        worker_id: str | None = None,
        handler: JobHandler | None = None,
        claim: bool | None = None,
        heartbeat_interval_s: float = 10.0,
        reconnect_initial_s: float = 0.5,
        reconnect_max_s: float = 30.0,
        max_concurrent_jobs: int = 1,
        request_timeout_s: float = 30.0,
        emit: Callable[[str], None] | None = None,
    ) -> None:
        self.relay_url = relay_url
        self.http_url = (http_url or http_url_for(relay_url)).rstrip("/")
        self.worker_id = worker_id or f"{socket.gethostname()}-{os.getpid()}"
        self.handler = handler
        self.claiming = handler is not None if claim is None else claim
        if self.claiming and handler is None:
            raise ValueError("claiming jobs needs a handler")
        self.heartbeat_interval_s = heartbeat_interval_s
        self.reconnect_initial_s = reconnect_initial_s
        self.reconnect_max_s = reconnect_max_s
        self.max_concurrent_jobs = max_concurrent_jobs
        self.request_timeout_s = request_timeout_s
        self._emit = emit or log.info
        self.key: str | None = None
        self.registrations = 0
        self.jobs_seen = 0
        self.jobs_claimed = 0
        self.jobs_lost = 0
        self.jobs_completed = 0
        self.jobs_failed = 0
        self._stop: asyncio.Event | None = None
        self._loop: asyncio.AbstractEventLoop | None = None
        self._active: set[asyncio.Task[None]] = set()
        self._stop_requested = False

    # --- control -------------------------------------------------------------------
    def stop(self) -> None:
        """Ask ``run()`` to return; safe from any thread, any number of times."""
        self._stop_requested = True
        loop, ev = self._loop, self._stop
        if loop is not None and ev is not None and not loop.is_closed():
            with contextlib.suppress(RuntimeError):
                loop.call_soon_threadsafe(ev.set)

    async def run(self) -> None:
        self._loop = asyncio.get_running_loop()
        self._stop = asyncio.Event()
        if self._stop_requested:
            return
        mode = "claiming" if self.claiming else "log-only"
        self._emit(f"dashcam cv-worker {self.worker_id} ({mode}) -> {self.relay_url}")
        backoff = self.reconnect_initial_s
        http = httpx.AsyncClient(base_url=self.http_url, timeout=self.request_timeout_s)
        async with http:
            while not self._stop.is_set():
                try:
                    self._emit(f"connecting to {self.relay_url}")
                    async with websockets.connect(
                        self.relay_url,
                        open_timeout=10,
                        close_timeout=1,
                        ping_interval=None,
                        max_size=2**20,
                    ) as ws:
                        self._emit("connected")
                        if await self._session(ws, http):
                            backoff = self.reconnect_initial_s
                except (OSError, websockets.exceptions.WebSocketException, TimeoutError) as exc:
                    self._emit(f"connection lost: {type(exc).__name__}: {exc}")
                self.key = None
                if self._stop.is_set():
                    break
                self._emit(f"reconnecting in {backoff:.1f} s")
                with contextlib.suppress(TimeoutError):
                    await asyncio.wait_for(self._stop.wait(), backoff)
                backoff = min(self.reconnect_max_s, backoff * 2)
            for task in list(self._active):
                task.cancel()
            await asyncio.gather(*self._active, return_exceptions=True)
        self._emit("stopped")

    # --- one connection --------------------------------------------------------------
    async def _session(self, ws: ClientConnection, http: httpx.AsyncClient) -> bool:
        """Register, heartbeat and handle messages until the socket or the worker stops."""
        assert self._stop is not None
        register = RegisterMessage(data=RegisterData(worker_id=self.worker_id))
        await ws.send(register.model_dump_json())
        beat = asyncio.create_task(self._heartbeats(ws))
        stopper = asyncio.create_task(self._stop.wait())
        registered = False
        try:
            while True:
                recv = asyncio.create_task(ws.recv())
                done, _ = await asyncio.wait({recv, stopper}, return_when=asyncio.FIRST_COMPLETED)
                if stopper in done:
                    recv.cancel()
                    await ws.close()
                    return registered
                try:
                    msg = parse_relay_message(recv.result())
                except ValueError as exc:  # includes pydantic's ValidationError
                    self._emit(f"unreadable message from relay: {exc!s:.200}")
                    continue
                if isinstance(msg, RegisteredMessage):
                    self.key = msg.data.key
                    self.registrations += 1
                    registered = True
                    self._emit(f"registered as {msg.data.worker_id}")
                elif isinstance(msg, JobAvailableMessage):
                    self._on_job(msg.job, http)
                elif isinstance(msg, ErrorMessage):
                    self._emit(f"relay error: {msg.data.error} {msg.data.detail}")
        finally:
            beat.cancel()
            stopper.cancel()

    async def _heartbeats(self, ws: ClientConnection) -> None:
        while True:
            await asyncio.sleep(self.heartbeat_interval_s)
            await ws.send('{"type":"heartbeat"}')
            self._emit("heartbeat")

    def _on_job(self, job: JobOffer, http: httpx.AsyncClient) -> None:
        self.jobs_seen += 1
        self._emit(describe_job(job))
        if not self.claiming or self.key is None:
            return
        if len(self._active) >= self.max_concurrent_jobs:
            return  # busy: leave it to another worker
        task = asyncio.create_task(self._do_job(job, self.key, http))
        self._active.add(task)
        task.add_done_callback(self._active.discard)

    async def _do_job(self, job: JobOffer, key: str, http: httpx.AsyncClient) -> None:
        assert self.handler is not None
        try:
            r = await http.post(f"/jobs/{job.id}/claim", json={"worker_id": self.worker_id})
            if r.status_code != 200:
                self.jobs_lost += 1
                return
            self.jobs_claimed += 1
            self._emit(f"claimed {job.id}")
            frames = []
            for fid in job.frames:
                fr = await http.get(f"/jobs/{job.id}/frames/{fid}", headers={"X-Worker-Key": key})
                fr.raise_for_status()
                frames.append(fr.content)
        except httpx.HTTPError as exc:
            self._emit(f"job {job.id}: {type(exc).__name__}: {exc}")
            return
        try:
            result = await self.handler.handle(job, frames)
        except asyncio.CancelledError:
            raise
        except Exception as exc:
            self.jobs_failed += 1
            error = f"{type(exc).__name__}: {exc}"
            self._emit(f"job {job.id} failed: {error}")
            with contextlib.suppress(httpx.HTTPError):
                body = {"worker_id": self.worker_id, "error": error[:4000]}
                await http.post(f"/jobs/{job.id}/fail", json=body)
            return
        with contextlib.suppress(httpx.HTTPError):
            r = await http.post(
                f"/jobs/{job.id}/complete", json={"worker_id": self.worker_id, "result": result}
            )
            if r.status_code == 200:
                self.jobs_completed += 1
                self._emit(f"completed {job.id}: {_brief(result)}")
            else:
                self._emit(f"complete {job.id} refused: HTTP {r.status_code}")


def _brief(result: dict[str, Any], limit: int = 300) -> str:
    """The result as one line of JSON, cut to ``limit`` characters for the log."""
    text = json.dumps(result, separators=(",", ":"), default=str)
    return text if len(text) <= limit else text[: limit - 1] + "…"
