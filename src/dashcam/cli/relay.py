"""``dashcam relay`` (cameras -> jobs for connected workers) and ``dashcam cv-worker``."""

from __future__ import annotations

import asyncio
import contextlib
import os
import signal
import time
from enum import StrEnum
from pathlib import Path

import typer

from dashcam.config import ENV_PREFIX, load_settings
from dashcam.errors import InputError


class Backend(StrEnum):
    plates = "plates"
    vlm = "vlm"


def _echo(line: str) -> None:
    typer.echo(f"{time.strftime('%H:%M:%S')} {line}")


def register(app: typer.Typer) -> None:
    @app.command("relay")
    def relay(
        camera: list[str] = typer.Option(
            [], "--camera", "-c", help="NAME=URL: rtsp://..., http://... (MJPEG) or a video file."
        ),
        host: str | None = typer.Option(None, help="Interface to bind (default 127.0.0.1)."),
        port: int | None = typer.Option(None, help="Port (default 7010)."),
        config: Path | None = typer.Option(None, "--config", help="YAML settings file."),
        fps: float | None = typer.Option(None, help="Frames extracted per second per camera."),
        auto_start: bool | None = typer.Option(
            None,
            "--auto-start/--no-auto-start",
            help="Start extraction when a camera is added (AUTO_REQUEST_REALTIME_STREAM).",
        ),
    ) -> None:
        """Serve the live relay: cameras stream, frames become jobs, workers claim them."""
        from dashcam.events.hub import EventHub, camera_discovery
        from dashcam.relay.cameras import CameraSpec
        from dashcam.relay.hub import Relay, RelayConfig
        from dashcam.relay.server import serve

        if config is not None:
            if not config.is_file():
                raise InputError(f"{config}: config file not found")
            os.environ[ENV_PREFIX + "CONFIG"] = str(config)
        settings = load_settings(
            relay_fps=fps, auto_request_realtime_stream=auto_start, relay_host=host
        )
        specs = [CameraSpec.parse(c) for c in [*settings.relay_cameras, *camera]]
        hub = EventHub.from_settings(settings, role="relay")
        relay_core = Relay(
            RelayConfig.from_settings(settings),
            publisher=hub,
            cameras_changed=camera_discovery(hub, settings),
        )
        for spec in specs:
            relay_core.add_camera(spec)
        bind_port = port or settings.relay_port
        start = "at once" if settings.auto_request_realtime_stream else "on POST /services/ID/start"
        _echo(
            f"dashcam relay on ws://{settings.relay_host}:{bind_port}/connect "
            f"({len(specs)} camera(s), extraction {start})"
        )
        for spec in specs:
            _echo(f"camera {spec.name}: {spec.kind.value} {spec.url}")
        try:
            serve(relay_core, settings.relay_host, bind_port, log_level=settings.log_level.lower())
        finally:
            hub.close(timeout_s=5.0)

    @app.command("cv-worker")
    def cv_worker(
        relay_url: str = typer.Option(
            "ws://127.0.0.1:7010/connect", "--relay", help="Relay WebSocket URL."
        ),
        http_url: str | None = typer.Option(
            None, "--http", help="Relay HTTP base URL (default: from --relay)."
        ),
        worker_id: str | None = typer.Option(None, help="Worker id (default host-pid)."),
        claim: bool = typer.Option(False, "--claim", help="Claim jobs and run the backend."),
        backend: Backend = typer.Option(Backend.plates, help="Model used with --claim."),
        vlm_url: str = typer.Option(
            "http://127.0.0.1:8000/v1", help="OpenAI-compatible API root (vLLM, Ollama)."
        ),
        model: str = typer.Option("Qwen/Qwen3-VL-8B-Instruct", help="Model for --backend vlm."),
        prompt: str | None = typer.Option(None, help="Prompt for --backend vlm."),
        api_key: str | None = typer.Option(
            None, envvar="DASHCAM_VLM_API_KEY", help="Bearer key for the VLM endpoint."
        ),
        heartbeat_interval_s: float = typer.Option(10.0, help="Seconds between heartbeats."),
    ) -> None:
        """Connect to a relay; log offered jobs, or with --claim do them with a backend."""
        from dashcam.relay.handlers import make_handler
        from dashcam.relay.worker import CVWorker, JobHandler

        handler: JobHandler | None = None
        if claim:
            if backend is Backend.vlm:
                handler = make_handler(
                    "vlm", base_url=vlm_url, model=model, prompt=prompt, api_key=api_key
                )
            else:
                handler = make_handler("plates", settings=load_settings())
        worker = CVWorker(
            relay_url=relay_url,
            http_url=http_url,
            worker_id=worker_id,
            handler=handler,
            heartbeat_interval_s=heartbeat_interval_s,
            emit=_echo,
        )

        async def main() -> None:
            loop = asyncio.get_running_loop()
            for sig in (signal.SIGINT, signal.SIGTERM):
                with contextlib.suppress(NotImplementedError):
                    loop.add_signal_handler(sig, worker.stop)
            await worker.run()

        asyncio.run(main())
