"""Helpers of the CLI-against-a-server tests: the CLI and ``dashcam server`` as processes
on 127.0.0.1, a clean environment, a video without its container creation time."""

from __future__ import annotations

import os
import socket
import subprocess
import sys
import time
from pathlib import Path

import av
import httpx


def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return int(s.getsockname()[1])


def clean_env(**extra: str) -> dict[str, str]:
    """This process's environment without any ``DASHCAM_*``, plus ``extra``."""
    env = {k: v for k, v in os.environ.items() if not k.startswith("DASHCAM_")}
    env.update(extra)
    return env


def cli(
    args: list[str | Path], env: dict[str, str], cwd: Path | None = None, timeout: float = 300
) -> subprocess.CompletedProcess[str]:
    return subprocess.run(
        [sys.executable, "-m", "dashcam", *map(str, args)],
        env=env,
        cwd=cwd,
        capture_output=True,
        text=True,
        timeout=timeout,
    )


def start_server(env: dict[str, str], log: Path, timeout_s: float = 60) -> subprocess.Popen[bytes]:
    """``dashcam server`` with ``env`` (it names the port), once ``/health`` answers."""
    proc = subprocess.Popen(
        [sys.executable, "-m", "dashcam", "server"],
        env=env,
        stdout=log.open("wb"),
        stderr=subprocess.STDOUT,
    )
    url = f"http://127.0.0.1:{env['DASHCAM_SERVER_PORT']}"
    deadline = time.time() + timeout_s
    while True:
        try:
            if httpx.get(url + "/health", timeout=5).status_code == 200:
                return proc
        except httpx.HTTPError:
            pass
        if proc.poll() is not None or time.time() > deadline:
            stop(proc)
            raise AssertionError(f"server did not start:\n{log.read_text()}")
        time.sleep(0.2)


def stop(*procs: subprocess.Popen[bytes]) -> None:
    for p in procs:
        p.terminate()
    for p in procs:
        try:
            p.wait(timeout=20)
        except subprocess.TimeoutExpired:
            p.kill()


def without_creation_time(src: Path, dst: Path) -> Path:
    """``src`` remuxed to ``dst`` (same frames) with no container metadata, as cameras
    that never set their clock write it."""
    with av.open(str(src)) as inp, av.open(str(dst), mode="w") as out:
        stream = inp.streams.video[0]
        copy = out.add_stream_from_template(stream)
        for packet in inp.demux(stream):
            if packet.dts is None:
                continue
            packet.stream = copy
            out.mux(packet)
    return dst
