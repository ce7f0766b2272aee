"""``dashcam server``, ``ingest``, ``status`` and ``tasks`` (operators)."""

from __future__ import annotations

import contextlib
import json
import time
from dataclasses import asdict
from pathlib import Path

import httpx
import typer
from rich.table import Table

from dashcam.cli.common import console, out, settings_from
from dashcam.config import Settings
from dashcam.errors import InputError, StoreError
from dashcam.store.database import make_engine
from dashcam.store.results import ResultsRepository
from dashcam.store.task_queue import TaskQueue
from dashcam.store.task_schema import TaskStatus, TaskType
from dashcam.workers.monitor import SystemStatus, status_from_queue, status_from_server


def _local(settings: Settings) -> tuple[TaskQueue, ResultsRepository]:
    engine = make_engine(settings.db_url)
    return (
        TaskQueue(engine, lease_s=settings.lease_s, max_attempts=settings.max_attempts),
        ResultsRepository(engine),
    )


def _status_tables(s: SystemStatus) -> list[Table]:
    w = Table(title="Workers")
    for col in ("worker", "kind", "state", "task", "heartbeat age"):
        w.add_column(col)
    for x in s.workers:
        age = f"{x['heartbeat_age_s']:.0f} s"
        w.add_row(
            x["worker_id"],
            x["kind"],
            x["state"],
            f"{x['task_type']} #{x['task_id']}" if x.get("task_id") else "—",
            f"[red]{age} STALE[/]" if x.get("stale") else age,
        )
    q = Table(title="Queue")
    for col in ("task type", "backlog", "running", "done", "retry", "dead", "per min"):
        q.add_column(col, justify="right")
    for tt, counts in sorted(s.tasks.items()):
        q.add_row(
            tt,
            str(s.backlog.get(tt, 0)),
            str(counts.get("running", 0)),
            str(counts.get("done", 0)),
            str(counts.get("retry", 0)),
            str(counts.get("dead", 0)),
            f"{s.throughput_per_min.get(tt, 0):.1f}",
        )
    return [w, q]


def register(app: typer.Typer) -> None:
    @app.command()
    def server(
        host: str | None = typer.Option(None, "--host", help="Bind address (default 127.0.0.1)."),
        port: int | None = typer.Option(None, "--port", help="Port (default 8000)."),
        workers: int = typer.Option(
            1, "--workers", min=1, max=64, help="Server processes (they share the database)."
        ),
    ) -> None:
        """Run the central server: task queue API, videos, sightings, dashboard."""
        import uvicorn

        from dashcam.server.app import create_app

        settings = settings_from(server_host=host, server_port=port)
        console.print(
            f"dashcam server on http://{settings.server_host}:{settings.server_port} "
            f"(database {settings.db_url}; API key "
            f"{'required' if settings.api_key else 'not set'})"
        )
        uvicorn.run(
            create_app(settings),
            host=settings.server_host,
            port=settings.server_port,
            log_level="warning",
        )

    @app.command()
    def ingest(
        paths: list[Path] = typer.Argument(..., help="Video files or folders (scanned)."),
        server_url: str | None = typer.Option(None, "--server", help="Ingest via this server."),
        watch: bool = typer.Option(False, "--watch", help="Keep scanning for new videos."),
        interval: float = typer.Option(30.0, "--interval", help="Seconds between scans."),
    ) -> None:
        """Register videos and queue one HEAVY_PROCESS_VIDEO each (same content: once).

        With --watch, a file is taken once its size and mtime held still for one interval
        (a copy in progress is left alone until it is finished)."""
        from dashcam.server.incoming import FileState, settled
        from dashcam.store.video_tasks import ingest_video, iter_videos

        settings = settings_from()

        def send(files: list[Path]) -> int:
            if server_url:
                headers = (
                    {"Authorization": f"Bearer {settings.api_key}"} if settings.api_key else {}
                )
                try:
                    r = httpx.post(
                        f"{server_url.rstrip('/')}/videos/ingest",
                        headers=headers,
                        json={"paths": [str(p.resolve()) for p in files]},
                        timeout=600,
                    )
                except httpx.HTTPError as exc:
                    raise StoreError(f"server {server_url}: {exc}") from exc
                if r.status_code >= 400:
                    raise InputError(f"server refused: {r.json().get('detail', r.text)}")
                rows = r.json()
            else:
                queue, repo = _local(settings)
                rows = [asdict(ingest_video(repo, queue, p)) for p in files]
            new = 0
            for row in rows:
                if row.get("task_id") is not None:
                    new += 1
                    console.print(f"queued {row['video_id']}  ({row['path']})")
                else:
                    console.print(f"known  {row['video_id']}  ({row['path']})")
            return new

        if not watch:
            console.print(f"{send(iter_videos(paths))} new video(s) queued")
            return
        previous: dict[Path, FileState] = {}
        done: set[Path] = set()
        console.print(f"watching {', '.join(map(str, paths))} every {interval:g} s (Ctrl-C stops)")
        try:
            while True:
                current: dict[Path, FileState] = {}
                for f in iter_videos(paths):
                    with contextlib.suppress(OSError):
                        st = f.stat()
                        current[f] = (st.st_size, st.st_mtime_ns)
                ready = settled(previous, current, done)
                previous = current
                if ready:
                    send(ready)
                    done.update(ready)
                time.sleep(interval)
        except KeyboardInterrupt:
            console.print("stopped watching")

    @app.command()
    def status(
        server_url: str | None = typer.Option(None, "--server", help="Ask this server."),
        as_json: bool = typer.Option(False, "--json"),
    ) -> None:
        """Workers (heartbeat age, stale), backlog per task type and throughput."""
        settings = settings_from()
        if server_url:
            s = status_from_server(server_url, settings.api_key)
        else:
            queue, _ = _local(settings)
            s = status_from_queue(queue, stale_after_s=max(3 * settings.heartbeat_interval_s, 30))
        if as_json:
            print(json.dumps(asdict(s), indent=1))
            return
        for t in _status_tables(s):
            out.print(t)

    tasks = typer.Typer(help="Inspect and steer tasks (operators).", no_args_is_help=True)
    app.add_typer(tasks, name="tasks")

    @tasks.command("list")
    def tasks_list(
        status_: TaskStatus | None = typer.Option(None, "--status"),
        task_type: TaskType | None = typer.Option(None, "--type"),
        limit: int = typer.Option(50, "--limit"),
    ) -> None:
        """Recent tasks, newest first, with their errors."""
        queue, _ = _local(settings_from())
        t = Table(title="Tasks")
        for col in ("id", "type", "status", "video", "attempts", "worker", "error"):
            t.add_column(col)
        for x in queue.list_tasks(status=status_, task_type=task_type, limit=limit):
            t.add_row(
                str(x.id),
                x.task_type.value,
                x.status.value,
                x.video_id or "—",
                f"{x.attempts}/{x.max_attempts}",
                x.worker_id or "—",
                (x.error or "")[:80],
            )
        out.print(t)

    @tasks.command("cancel")
    def tasks_cancel(task_id: int) -> None:
        """Cancel a queued, waiting or running task."""
        queue, _ = _local(settings_from())
        if not queue.cancel(task_id):
            raise InputError(f"task {task_id} is not queued, waiting or running")
        console.print(f"task {task_id} cancelled")

    @tasks.command("requeue")
    def tasks_requeue(task_id: int) -> None:
        """Queue a dead or cancelled task again (attempts start over)."""
        queue, _ = _local(settings_from())
        if not queue.requeue(task_id):
            raise InputError(f"task {task_id} is not dead or cancelled")
        console.print(f"task {task_id} queued again")
