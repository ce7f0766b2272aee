"""A worker that never reads its socket must not delay anybody else."""

from __future__ import annotations

import asyncio
import socket
import time
from collections.abc import Callable

from relay_helpers import recv_type, register, tiny_jpeg

from dashcam.relay.server import RelayServer

BATCH = 16  # offers per burst, below the per-socket queue of 32
MAX_BATCHES = 3000


def test_stuck_worker_does_not_delay_the_others(start_relay: Callable[..., RelayServer]) -> None:
    server = start_relay(worker_queue=32, frames_per_job=32)
    jpegs = [tiny_jpeg()] * 32  # long offers fill the socket sooner

    def submit_batch() -> None:
        for _ in range(BATCH):
            server.relay.submit("cam", jpegs, (64, 48), time.time())

    async def main() -> tuple[int, int, int]:
        # a client with a tiny receive buffer that registers and then never reads again
        sock = socket.socket(socket.AF_INET, socket.SOCK_STREAM)
        sock.setsockopt(socket.SOL_SOCKET, socket.SO_RCVBUF, 4096)
        sock.connect(("127.0.0.1", server.port))
        sock.setblocking(False)
        stuck, _ = await register(server.ws_url, "stuck", sock=sock, max_queue=1)
        fast, _ = await register(server.ws_url, "fast")
        stuck_conn = server.relay.workers.get("stuck")
        assert stuck_conn is not None
        received = 0
        for _ in range(MAX_BATCHES):
            server.call(submit_batch)
            for _ in range(BATCH):
                await recv_type(fast, "job_available", timeout_s=5)
                received += 1
            if stuck_conn.dropped > 0:
                break
        # with the stuck worker's queue full, a further burst still reaches the reader whole
        after_full = 0
        server.call(submit_batch)
        for _ in range(BATCH):
            await recv_type(fast, "job_available", timeout_s=5)
            after_full += 1
        stuck.transport.abort()
        await fast.close()
        return received, after_full, stuck_conn.dropped

    received, after_full, stuck_dropped = asyncio.run(main())
    fast_conn_dropped = server.relay.messages_dropped - stuck_dropped
    assert stuck_dropped > 0, "the stuck worker never filled its queue"
    assert fast_conn_dropped == 0
    assert received % BATCH == 0 and received >= BATCH
    assert after_full == BATCH
