"""``dashcam relay`` (cameras -> jobs for connected workers) and ``dashcam cv-worker``."""

from __future__ import annotations

import asyncio
import contextlib
import os
import signal
import sys
import time
from enum import StrEnum
from pathlib import Path
from typing import TYPE_CHECKING

import typer

from dashcam.config import ENV_PREFIX, Settings, load_settings
from dashcam.errors import InputError

if TYPE_CHECKING:
    from dashcam.relay.sightings import SightingBuilder


class Backend(StrEnum):
    plates = "plates"
    vlm = "vlm"


def _echo(line: str) -> None:
    typer.echo(f"{time.strftime('%H:%M:%S')} {line}")


def sighting_builder(settings: Settings) -> SightingBuilder:
    """The relay's sighting thread, storing into ``settings.db_url`` (crops under
    ``<data_dir>/live/<camera>/crops``)."""
    from dashcam.relay.sightings import SightingBuilder
    from dashcam.services.live_sightings import SightingRecorder
    from dashcam.store.database import make_engine
    from dashcam.store.results import ResultsRepository

    repo = ResultsRepository(make_engine(settings.db_url))
    recorder = SightingRecorder(repo, settings.data_dir / "live")
    return SightingBuilder(recorder, close_after_s=settings.relay_track_close_s)


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
        sightings: bool | None = typer.Option(
            None,
            "--sightings/--no-sightings",
            help="Store the cameras' plates as sightings in the database (default on).",
        ),
        track_close_s: float | None = typer.Option(
            None, help="Seconds a plate is unseen before its sighting is stored (default 5)."
        ),
        access_log: bool | None = typer.Option(
            None, "--access-log/--no-access-log", help="Log every HTTP request (default off)."
        ),
    ) -> None:
        """Serve the live relay: cameras stream, frames become jobs, workers claim them;
        the plates they read become sightings in the database."""
        from dashcam.events.hub import EventHub, camera_discovery
        from dashcam.relay.cameras import CameraSpec
        from dashcam.relay.hub import Relay, RelayConfig
        from dashcam.relay.server import serve
        from dashcam.store.database import where

        if config is not None:
            if not config.is_file():
                raise InputError(f"{config}: config file not found")
            os.environ[ENV_PREFIX + "CONFIG"] = str(config)
        settings = load_settings(
            relay_fps=fps,
            auto_request_realtime_stream=auto_start,
            relay_host=host,
            relay_sightings=sightings,
            relay_track_close_s=track_close_s,
            relay_access_log=access_log,
        )
        specs = [CameraSpec.parse(c) for c in [*settings.relay_cameras, *camera]]
        builder: SightingBuilder | None = None
        if settings.relay_sightings:
            builder = sighting_builder(settings)
        hub = EventHub.from_settings(settings, role="relay")
        relay_core = Relay(
            RelayConfig.from_settings(settings),
            builder,
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
        if builder is not None:
            _echo(
                f"sightings -> {where(settings.db_url)} (a plate unseen for "
                f"{settings.relay_track_close_s:g} s is stored; crops in "
                f"{builder.recorder.crops_root})"
            )
        else:
            _echo("sightings off: results only go to /results/stream")
        try:
            serve(
                relay_core,
                settings.relay_host,
                bind_port,
                log_level=settings.log_level.lower(),
                access_log=settings.relay_access_log,
            )
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
        # Done: every job was finished or given back. Skip the interpreter's teardown of
        # the model libraries (a second or more), so SIGTERM ends the worker at once.
        sys.stdout.flush()
        sys.stderr.flush()
        os._exit(0)
