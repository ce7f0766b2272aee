"""The relay's worker protocol end to end: real uvicorn, real WebSocket and HTTP clients."""

from __future__ import annotations

import asyncio
import json
from collections.abc import Callable

import httpx
import pytest
import websockets
from relay_helpers import await_until, recv_job, recv_type, register, tiny_jpeg

from dashcam.relay.hub import Relay
from dashcam.relay.jobs import Job
from dashcam.relay.server import RelayServer

DEEP = "[" * 5000 + "]" * 5000  # 10 KB, deeper than the JSON parser recurses


def submit(server: RelayServer, n_frames: int = 1, service_id: str = "cam") -> Job:
    jpegs = [tiny_jpeg(value=i * 20) for i in range(n_frames)]
    return server.call(server.relay.submit, service_id, jpegs, (64, 48), 1000.0)


def test_register_gives_a_fresh_key_per_connection_stored_only_hashed(
    relay_server: RelayServer,
) -> None:
    async def main() -> list[str]:
        keys = []
        for _ in range(2):
            ws, key = await register(relay_server.ws_url, "w1")
            keys.append(key)
            await ws.close()
        return keys

    keys = asyncio.run(main())
    assert keys[0] != keys[1] and len(keys[0]) >= 32
    relay: Relay = relay_server.relay
    # nothing in the registry holds a key in clear text
    assert all(k not in repr(vars(relay.workers)) for k in keys)


def test_twenty_workers_race_for_one_job_exactly_one_wins(relay_server: RelayServer) -> None:
    async def main() -> list[int]:
        conns = [await register(relay_server.ws_url, f"w{i}") for i in range(20)]
        job = submit(relay_server)
        offers = await asyncio.gather(*(recv_job(ws, job.id) for ws, _ in conns))
        assert {o["id"] for o in offers} == {job.id}
        async with httpx.AsyncClient(base_url=relay_server.http_url) as http:
            responses = await asyncio.gather(
                *(
                    http.post(f"/jobs/{job.id}/claim", json={"worker_id": f"w{i}"})
                    for i in range(20)
                )
            )
            missing = await http.post("/jobs/nope/claim", json={"worker_id": "w0"})
            assert missing.status_code == 404
        for ws, _ in conns:
            await ws.close()
        return sorted(r.status_code for r in responses)

    codes = asyncio.run(main())
    assert codes == [200] + [409] * 19


def test_frame_download_needs_the_claimers_live_key(relay_server: RelayServer) -> None:
    async def main() -> None:
        (ws_a, key_a), (ws_b, key_b) = [await register(relay_server.ws_url, w) for w in "ab"]
        job = submit(relay_server, n_frames=2)
        await recv_job(ws_a, job.id)
        url = f"/jobs/{job.id}/frames/{job.frame_ids[1]}"
        async with httpx.AsyncClient(base_url=relay_server.http_url) as http:
            claim = await http.post(f"/jobs/{job.id}/claim", json={"worker_id": "a"})
            assert claim.status_code == 200
            assert (await http.get(url)).status_code == 401
            assert (await http.get(url, headers={"X-Worker-Key": "made-up"})).status_code == 401
            assert (await http.get(url, headers={"X-Worker-Key": key_b})).status_code == 403
            ok = await http.get(url, headers={"X-Worker-Key": key_a})
            assert ok.status_code == 200 and ok.headers["content-type"] == "image/jpeg"
            assert ok.content == tiny_jpeg(value=20)
            await ws_a.close()
            await await_until(lambda: relay_server.relay.workers.get("a") is None, what="close")
            assert (await http.get(url, headers={"X-Worker-Key": key_a})).status_code == 401
        await ws_b.close()

    asyncio.run(main())


def test_worker_killed_mid_job_the_job_is_offered_again_and_completed_once(
    relay_server: RelayServer,
) -> None:
    async def main() -> None:
        (ws_a, _), (ws_b, key_b) = [await register(relay_server.ws_url, w) for w in "ab"]
        job = submit(relay_server)
        await recv_job(ws_b, job.id)
        async with httpx.AsyncClient(base_url=relay_server.http_url) as http:
            assert (
                await http.post(f"/jobs/{job.id}/claim", json={"worker_id": "a"})
            ).status_code == 200
            ws_a.transport.abort()  # killed: no close handshake
            again = await recv_job(ws_b, job.id)
            assert again["metadata"]["attempt"] == 2
            assert (
                await http.post(f"/jobs/{job.id}/claim", json={"worker_id": "b"})
            ).status_code == 200
            frame = await http.get(
                f"/jobs/{job.id}/frames/{job.frame_ids[0]}", headers={"X-Worker-Key": key_b}
            )
            assert frame.status_code == 200
            done = await http.post(
                f"/jobs/{job.id}/complete", json={"worker_id": "b", "result": {"plates": []}}
            )
            assert done.status_code == 200
            late = await http.post(
                f"/jobs/{job.id}/complete", json={"worker_id": "a", "result": {"x": 1}}
            )
            assert late.status_code == 403
            twice = await http.post(
                f"/jobs/{job.id}/complete", json={"worker_id": "b", "result": {}}
            )
            assert twice.status_code == 409
            view = (await http.get(f"/jobs/{job.id}")).json()
        assert view["state"] == "completed" and view["result"] == {"plates": []}
        assert view["claimed_by"] == "b"
        assert relay_server.relay.jobs.counts["completed"] == 1
        await ws_b.close()

    asyncio.run(main())


def test_silent_worker_is_dropped_and_its_job_offered_again(
    start_relay: Callable[..., RelayServer],
) -> None:
    server = start_relay(heartbeat_timeout_s=0.6)

    async def main() -> None:
        ws_silent, _ = await register(server.ws_url, "silent")
        ws_live, _ = await register(server.ws_url, "live")

        async def beat() -> None:
            while True:
                await ws_live.send(json.dumps({"type": "heartbeat"}))
                await asyncio.sleep(0.1)

        beating = asyncio.create_task(beat())
        job = submit(server)
        await recv_job(ws_live, job.id)
        async with httpx.AsyncClient(base_url=server.http_url) as http:
            r = await http.post(f"/jobs/{job.id}/claim", json={"worker_id": "silent"})
            assert r.status_code == 200
        again = await recv_job(ws_live, job.id, timeout_s=5)
        assert again["metadata"]["attempt"] == 2
        assert server.relay.workers.get("silent") is None
        assert server.relay.workers.get("live") is not None
        beating.cancel()
        await ws_live.close()
        await ws_silent.close()

    asyncio.run(main())


def test_unclaimed_jobs_expire(start_relay: Callable[..., RelayServer]) -> None:
    server = start_relay(job_ttl_s=0.3)
    job = submit(server)
    with httpx.Client(base_url=server.http_url) as http:
        assert http.get(f"/jobs/{job.id}").json()["state"] == "pending"
        asyncio.run(await_until(lambda: server.relay.jobs.get(job.id).state == "expired"))
        assert http.get(f"/jobs/{job.id}").json()["state"] == "expired"
        assert http.post(f"/jobs/{job.id}/claim", json={"worker_id": "w"}).status_code in (401, 409)
    assert len(server.relay.frames) == 0


def test_frames_are_held_in_bounded_memory_oldest_dropped(
    start_relay: Callable[..., RelayServer],
) -> None:
    frame_bytes = len(tiny_jpeg(value=0))  # what submit() sends
    server = start_relay(max_frame_bytes=frame_bytes * 10)
    jobs = [submit(server) for _ in range(50)]
    health = httpx.get(f"{server.http_url}/health").json()
    assert health["now"]["frame_bytes"] <= frame_bytes * 10
    assert health["now"]["frames_held"] == 10
    assert health["now"]["jobs_open"] == {"pending": 10, "claimed": 0}
    assert health["totals"]["frames_dropped"] == 40
    assert server.relay.jobs.get(jobs[0].id).state == "expired"
    assert server.relay.jobs.get(jobs[-1].id).state == "pending"


@pytest.mark.parametrize(
    ("payload", "error"),
    [
        ("not json at all", "invalid_json"),
        (DEEP, "invalid_json"),
        (json.dumps({"type": "dance"}), "unknown_type"),
        (json.dumps([1, 2]), "invalid_message"),
        (json.dumps({"type": "register", "data": {"worker_id": "bad id!"}}), "invalid_message"),
        (json.dumps({"type": "heartbeat", "pad": "x" * 100_000}), "message_too_large"),
        (json.dumps({"type": "heartbeat"}), "not_registered"),
    ],
)
def test_bad_messages_get_an_error_and_the_relay_keeps_serving(
    relay_server: RelayServer, payload: str, error: str
) -> None:
    async def main() -> None:
        async with websockets.connect(relay_server.ws_url, ping_interval=None) as ws:
            await ws.send(payload)
            msg = await recv_type(ws, "error")
            assert msg["data"]["error"] == error
            # the same socket still works
            await ws.send(json.dumps({"type": "register", "data": {"worker_id": "ok"}}))
            assert (await recv_type(ws, "registered"))["data"]["worker_id"] == "ok"

    asyncio.run(main())


def test_deeply_nested_messages_are_invalid_json_and_count_toward_the_limit(
    relay_server: RelayServer,
) -> None:
    async def main() -> None:
        async with websockets.connect(relay_server.ws_url, ping_interval=None) as ws:
            for _ in range(20):
                await ws.send(DEEP)
                assert (await recv_type(ws, "error"))["data"]["error"] == "invalid_json"
            with pytest.raises(websockets.exceptions.ConnectionClosed) as closed:
                await asyncio.wait_for(ws.recv(), 5)
            assert closed.value.rcvd is not None and closed.value.rcvd.code == 1008

    asyncio.run(main())
    assert httpx.get(f"{relay_server.http_url}/health").json()["status"] == "ok"


def test_a_frame_bigger_than_the_socket_limit_closes_only_that_socket(
    relay_server: RelayServer,
) -> None:
    async def main() -> None:
        ws = await websockets.connect(relay_server.ws_url, ping_interval=None, max_size=None)
        await ws.send("x" * (2 * 1024 * 1024))
        with pytest.raises(websockets.exceptions.ConnectionClosed):
            await asyncio.wait_for(ws.recv(), 5)
        ws2, key = await register(relay_server.ws_url, "after")
        assert key
        await ws2.close()

    asyncio.run(main())
    assert httpx.get(f"{relay_server.http_url}/health").json()["status"] == "ok"


def test_results_stream_reports_completed_jobs(relay_server: RelayServer) -> None:
    async def main() -> dict[str, object]:
        ws, _ = await register(relay_server.ws_url, "w")
        job = submit(relay_server)
        async with (
            httpx.AsyncClient(base_url=relay_server.http_url, timeout=10) as http,
            http.stream("GET", "/results/stream") as stream,
        ):
            lines = stream.aiter_lines()
            assert (await anext(lines)).startswith(":")
            await http.post(f"/jobs/{job.id}/claim", json={"worker_id": "w"})
            await http.post(f"/jobs/{job.id}/complete", json={"worker_id": "w", "result": {"n": 3}})
            async for line in lines:
                if line.startswith("data: "):
                    event = json.loads(line[6:])
                    break
        await ws.close()
        assert event["id"] == job.id
        return dict(event)

    event = asyncio.run(main())
    assert event["state"] == "completed" and event["result"] == {"n": 3}
