"""``dashcam server``, ``ingest``, ``status`` and ``tasks`` (operators).

``ingest``, ``status`` and ``tasks`` ask the server named by ``--server`` or
``DASHCAM_SERVER_URL`` when there is one, else the local database (see ``dashcam.client``).
"""

from __future__ import annotations

import contextlib
import json
import time
from dataclasses import asdict
from pathlib import Path

import typer

from dashcam.cli.common import client, console, out, server_option, settings_from
from dashcam.cli.tables import status_tables, tasks_table
from dashcam.errors import InputError
from dashcam.store.task_schema import TaskStatus, TaskType


def register(app: typer.Typer) -> None:
    @app.command()
    def server(
        host: str | None = typer.Option(None, "--host", help="Bind address (default 127.0.0.1)."),
        port: int | None = typer.Option(None, "--port", help="Port (default 8000)."),
        workers: int = typer.Option(
            1, "--workers", min=1, max=64, help="Server processes (they share the database)."
        ),
        insecure_no_key: bool = typer.Option(
            False,
            "--insecure-no-key",
            help="Listen on a non-loopback address without DASHCAM_API_KEY (anyone on the "
            "network can read and change everything).",
        ),
    ) -> None:
        """Run the central server: task queue API, videos, sightings, dashboard."""
        import uvicorn

        from dashcam.server.app import check_exposure, create_app

        settings = settings_from(server_host=host, server_port=port)
        check_exposure(settings.server_host, settings.api_key, insecure_no_key=insecure_no_key)
        console.print(
            f"dashcam server on http://{settings.server_host}:{settings.server_port} "
            f"({workers} process(es); database {settings.db_url}; API key "
            f"{'required' if settings.api_key else 'NOT SET'})"
        )
        if workers == 1:
            uvicorn.run(
                create_app(settings),
                host=settings.server_host,
                port=settings.server_port,
                log_level="warning",
            )
            return
        # Each process builds its app from the same environment (and DASHCAM_CONFIG file).
        uvicorn.run(
            "dashcam.server.app:app_from_env",
            factory=True,
            workers=workers,
            host=settings.server_host,
            port=settings.server_port,
            log_level="warning",
        )

    @app.command()
    def ingest(
        paths: list[Path] = typer.Argument(..., help="Video files or folders (scanned)."),
        server_url: str | None = server_option(),
        watch: bool = typer.Option(False, "--watch", help="Keep scanning for new videos."),
        interval: float = typer.Option(30.0, "--interval", help="Seconds between scans."),
    ) -> None:
        """Register videos and queue one HEAVY_PROCESS_VIDEO each (same content: once).

        With a server, the paths are sent as absolute paths: the server must see the files
        at the same place (a shared folder). With --watch, a file is taken once its size
        and mtime held still for one interval (a copy in progress is left alone until it
        is finished)."""
        from dashcam.media.decode import probe
        from dashcam.server.incoming import FileState, settled
        from dashcam.services.ingest import iter_videos

        with client(server_url, create=True) as c:

            def send(files: list[Path]) -> int:
                new = 0
                for row in c.ingest(files):
                    if row.task_id is not None:
                        new += 1
                        console.print(f"queued {row.video_id}  ({row.path})")
                    else:
                        console.print(f"known  {row.video_id}  ({row.path})")
                return new

            def readable(files: list[Path]) -> tuple[list[Path], list[str]]:
                """The files that decode (the check ``process`` makes), and why not the others."""
                good, bad = [], []
                for f in files:
                    try:
                        probe(f)
                        good.append(f)
                    except InputError as exc:
                        bad.append(str(exc))
                return good, bad

            if not watch:
                good, bad = readable(iter_videos(paths))
                for why in bad:
                    console.print(f"[red]refused[/] {why}")
                console.print(f"{send(good) if good else 0} new video(s) queued")
                if bad:
                    raise InputError(f"{len(bad)} file(s) not ingested: not readable videos")
                return
            previous: dict[Path, FileState] = {}
            done: set[Path] = set()
            console.print(
                f"watching {', '.join(map(str, paths))} every {interval:g} s for {c.where} "
                "(Ctrl-C stops)"
            )
            try:
                while True:
                    current: dict[Path, FileState] = {}
                    for f in iter_videos(paths):
                        with contextlib.suppress(OSError):
                            st = f.stat()
                            current[f] = (st.st_size, st.st_mtime_ns)
                    ready = settled(previous, current, done)
                    previous = current
                    good, bad = readable(ready)
                    for why in bad:
                        console.print(f"[red]refused[/] {why}")
                    if good:
                        send(good)
                    done.update(ready)  # refused ones too: they held still, they are complete
                    time.sleep(interval)
            except KeyboardInterrupt:
                console.print("stopped watching")

    @app.command()
    def status(
        server_url: str | None = server_option(),
        as_json: bool = typer.Option(False, "--json"),
    ) -> None:
        """Workers (heartbeat age, stale), backlog per task type and throughput."""
        with client(server_url) as c:
            s = c.status()
        if as_json:
            print(json.dumps(asdict(s), indent=1))
            return
        for t in status_tables(s):
            out.print(t)

    tasks = typer.Typer(help="Inspect and steer tasks (operators).", no_args_is_help=True)
    app.add_typer(tasks, name="tasks")

    @tasks.command("list")
    def tasks_list(
        status_: TaskStatus | None = typer.Option(None, "--status"),
        task_type: TaskType | None = typer.Option(None, "--type"),
        limit: int = typer.Option(50, "--limit", min=1, max=1000),
        server_url: str | None = server_option(),
    ) -> None:
        """Recent tasks, newest first, with their errors."""
        with client(server_url) as c:
            found = c.tasks(status=status_, task_type=task_type, limit=limit)
            where = c.where
        out.print(tasks_table(found))
        if not found:
            console.print(f"no tasks in {where}")

    @tasks.command("cancel")
    def tasks_cancel(task_id: int, server_url: str | None = server_option()) -> None:
        """Cancel a queued, waiting or running task."""
        with client(server_url) as c:
            if not c.cancel_task(task_id):
                raise InputError(f"task {task_id} is not queued, waiting or running")
        console.print(f"task {task_id} cancelled")

    @tasks.command("requeue")
    def tasks_requeue(task_id: int, server_url: str | None = server_option()) -> None:
        """Queue a dead or cancelled task again (attempts start over)."""
        with client(server_url) as c:
            if not c.requeue_task(task_id):
                raise InputError(f"task {task_id} is not dead or cancelled")
        console.print(f"task {task_id} queued again")
