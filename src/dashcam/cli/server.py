"""``dashcam server``, ``ingest``, ``status``, ``tasks``, ``worker`` and ``workers setup``."""

from __future__ import annotations

import json
import logging
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
        """Register videos and queue one HEAVY_PROCESS_VIDEO each (same content: once)."""
        settings = settings_from()

        def scan() -> int:
            new = 0
            if server_url:
                headers = (
                    {"Authorization": f"Bearer {settings.api_key}"} if settings.api_key else {}
                )
                try:
                    r = httpx.post(
                        f"{server_url.rstrip('/')}/videos/ingest",
                        headers=headers,
                        json={"paths": [str(p.resolve()) for p in paths]},
                        timeout=600,
                    )
                except httpx.HTTPError as exc:
                    raise StoreError(f"server {server_url}: {exc}") from exc
                if r.status_code >= 400:
                    raise InputError(f"server refused: {r.json().get('detail', r.text)}")
                rows = r.json()
            else:
                from dashcam.store.video_tasks import ingest_video, iter_videos

                queue, repo = _local(settings)
                rows = [asdict(ingest_video(repo, queue, p)) for p in iter_videos(paths)]
            for row in rows:
                if row.get("task_id") is not None:
                    new += 1
                    console.print(f"queued {row['video_id']}  ({row['path']})")
                elif not watch:
                    console.print(f"known  {row['video_id']}  ({row['path']})")
            return new

        n = scan()
        console.print(f"{n} new video(s) queued")
        while watch:
            time.sleep(interval)
            n = scan()
            if n:
                console.print(f"{n} new video(s) queued")

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

    worker = typer.Typer(help="Run a durable-queue worker.", no_args_is_help=True)
    app.add_typer(worker, name="worker")

    def _client(settings: Settings, direct: bool):  # type: ignore[no-untyped-def]
        from dashcam.workers.clients import DirectQueueClient, HttpQueueClient

        if direct:
            queue, repo = _local(settings)
            return DirectQueueClient(queue, repo)
        return HttpQueueClient(settings.server_url, settings.api_key)

    direct_opt = typer.Option(
        False, "--direct", help="Use DASHCAM_DATABASE_URL directly instead of the server."
    )
    once_opt = typer.Option(False, "--once", help="Do at most one task, then exit.")
    idle_opt = typer.Option(False, "--until-idle", help="Exit when no task is ready.")

    @worker.command("heavy")
    def worker_heavy(
        direct: bool = direct_opt,
        once: bool = once_opt,
        until_idle: bool = idle_opt,
        skip_scratch_clean: bool = typer.Option(False, "--skip-scratch-clean"),
    ) -> None:
        """Workstation worker: HEAVY_PROCESS_VIDEO from DASHCAM_SERVER_URL."""
        from dashcam.workers.heavy import HeavyWorker

        settings = settings_from()
        logging.getLogger("dashcam").setLevel(logging.INFO)
        w = HeavyWorker(_client(settings, direct), settings, clean_scratch=not skip_scratch_clean)
        w.install_signal_handlers()
        console.print(
            f"{w.worker_id}: heavy worker polling "
            f"{'the database' if direct else settings.server_url}"
        )
        w.run(once=once, until_idle=until_idle)

    @worker.command("archive")
    def worker_archive(
        direct: bool = direct_opt, once: bool = once_opt, until_idle: bool = idle_opt
    ) -> None:
        """Archive worker: ARCHIVE_VIDEO to DASHCAM_ARCHIVE_ROOT (verified moves)."""
        from dashcam.workers.archive import ArchiveWorker

        settings = settings_from()
        logging.getLogger("dashcam").setLevel(logging.INFO)
        w = ArchiveWorker(_client(settings, direct), settings)
        w.install_signal_handlers()
        console.print(f"{w.worker_id}: archive worker")
        w.run(once=once, until_idle=until_idle)

    @worker.command("monitor")
    def worker_monitor(
        interval: float = typer.Option(5.0, "--interval"),
        once: bool = once_opt,
    ) -> None:
        """Reap expired leases and print the status; never runs tasks (needs the DB)."""
        import signal

        from dashcam.workers.monitor import Monitor

        settings = settings_from()
        queue, _ = _local(settings)
        mon = Monitor(
            queue, interval_s=interval, stale_after_s=max(3 * settings.heartbeat_interval_s, 30)
        )
        signal.signal(signal.SIGTERM, lambda *_: mon.stop())

        def report(s: SystemStatus) -> None:
            for t in _status_tables(s):
                out.print(t)

        try:
            mon.run(report, once=once)
        except KeyboardInterrupt:
            mon.stop()

    workers = typer.Typer(help="Supervised worker processes.", no_args_is_help=True)
    app.add_typer(workers, name="workers")

    @workers.command("setup")
    def workers_setup(
        config: Path = typer.Option(..., "--config", help="YAML with a 'workers:' section."),
        output: Path = typer.Option(Path("supervisord.conf"), "--output", "-o"),
    ) -> None:
        """Write a supervisord config that runs and restarts the configured workers."""
        from dashcam.store.paths import atomic_write_text
        from dashcam.workers.supervisor import (
            load_workers_config,
            programs_from,
            render_supervisor_config,
        )

        cfg = load_workers_config(config)
        run_dir = (config.parent / cfg.run_dir).resolve()
        run_dir.mkdir(parents=True, exist_ok=True)
        atomic_write_text(output, render_supervisor_config(programs_from(cfg), run_dir=run_dir))
        console.print(f"wrote {output}; start with: supervisord -c {output}")
