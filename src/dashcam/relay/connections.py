"""Connected workers: per-connection bounded send queues and per-connection keys.

A broadcast never awaits a socket: each connection has its own bounded queue drained by
its own sender task, so a slow or stuck worker only loses (and counts) its own messages.
Keys are random per connection, stored only as sha256 digests, and forgotten the moment
the connection is unregistered.
"""

from __future__ import annotations

import asyncio
import contextlib
import hashlib
import itertools
import secrets
from collections.abc import Awaitable, Callable
from dataclasses import dataclass

_ids = itertools.count(1)


def hash_key(key: str) -> str:
    return hashlib.sha256(key.encode("utf-8")).hexdigest()


class WorkerConnection:
    """One WebSocket: its bounded outbox, counters and (once registered) worker id."""

    def __init__(
        self,
        send: Callable[[str], Awaitable[None]],
        close: Callable[[int], Awaitable[None]],
        queue_size: int,
        now: float,
    ) -> None:
        self.conn_id = next(_ids)
        self._send = send
        self._close = close
        self._queue: asyncio.Queue[str] = asyncio.Queue(maxsize=queue_size)
        self.worker_id: str | None = None
        self.key_hash: str | None = None
        self.connected_at = now
        self.last_seen = now
        self.sent = 0
        self.dropped = 0
        self.errors = 0
        self.closed = False

    def offer(self, text: str) -> bool:
        """Queue a message without waiting; a full queue drops it and counts the drop."""
        if self.closed:
            return False
        try:
            self._queue.put_nowait(text)
        except asyncio.QueueFull:
            self.dropped += 1
            return False
        return True

    @property
    def queued(self) -> int:
        return self._queue.qsize()

    async def pump(self) -> None:
        """Send queued messages in order until the socket fails or the task is cancelled."""
        while True:
            text = await self._queue.get()
            try:
                await self._send(text)
            except Exception:  # the socket went away; the receive loop cleans up
                self.closed = True
                return
            self.sent += 1

    async def close(self, code: int = 1000, timeout_s: float = 2.0) -> None:
        """Close the socket, giving a peer that never reads at most ``timeout_s``."""
        self.closed = True
        with contextlib.suppress(Exception):
            await asyncio.wait_for(self._close(code), timeout_s)


@dataclass(frozen=True)
class Registration:
    worker_id: str
    key: str
    replaced: WorkerConnection | None


class WorkerRegistry:
    """``worker_id -> connection`` and ``sha256(key) -> worker_id``, one entry per live socket."""

    def __init__(self) -> None:
        self._by_worker: dict[str, WorkerConnection] = {}
        self._by_key_hash: dict[str, str] = {}

    def __len__(self) -> int:
        return len(self._by_worker)

    def connections(self) -> list[WorkerConnection]:
        return list(self._by_worker.values())

    def get(self, worker_id: str) -> WorkerConnection | None:
        return self._by_worker.get(worker_id)

    def register(self, conn: WorkerConnection, worker_id: str) -> Registration:
        """Give ``conn`` a fresh key; a previous socket of the same worker is replaced."""
        if conn.worker_id is not None:
            self.unregister(conn)
        replaced = self._by_worker.get(worker_id)
        if replaced is not None:
            self.unregister(replaced)
        key = secrets.token_urlsafe(32)
        conn.worker_id = worker_id
        conn.key_hash = hash_key(key)
        self._by_worker[worker_id] = conn
        self._by_key_hash[conn.key_hash] = worker_id
        return Registration(worker_id, key, replaced)

    def unregister(self, conn: WorkerConnection) -> str | None:
        """Forget the connection and its key; returns the worker id it held, if any."""
        if conn.key_hash is not None:
            self._by_key_hash.pop(conn.key_hash, None)
        worker_id = conn.worker_id
        conn.key_hash = None
        if worker_id is not None and self._by_worker.get(worker_id) is conn:
            del self._by_worker[worker_id]
            return worker_id
        return None

    def worker_for_key(self, key: str | None) -> str | None:
        if not key:
            return None
        return self._by_key_hash.get(hash_key(key))
