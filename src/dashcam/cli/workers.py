"""``dashcam worker heavy|archive|monitor``, ``dashcam workers`` (list) and
``dashcam workers setup`` (supervisord)."""

from __future__ import annotations

import json
import logging
from dataclasses import asdict
from pathlib import Path

import typer

from dashcam.cli.common import client, console, out, server_option, settings_from
from dashcam.cli.tables import status_tables, workers_table
from dashcam.config import Settings
from dashcam.store.database import make_engine
from dashcam.store.results import ResultsRepository
from dashcam.store.status import SystemStatus
from dashcam.store.task_queue import TaskQueue
from dashcam.workers.base import QueueClient


def _queue(settings: Settings) -> TaskQueue:
    engine = make_engine(settings.db_url)
    return TaskQueue(engine, lease_s=settings.lease_s, max_attempts=settings.max_attempts)


def _client(settings: Settings, direct: bool) -> QueueClient:
    from dashcam.workers.clients import DirectQueueClient, HttpQueueClient

    if direct:
        queue = _queue(settings)
        return DirectQueueClient(queue, ResultsRepository(queue.engine))
    return HttpQueueClient(settings.server_url, settings.api_key)


def register(app: typer.Typer) -> None:
    worker = typer.Typer(help="Run a durable-queue worker.", no_args_is_help=True)
    app.add_typer(worker, name="worker")

    direct_opt = typer.Option(
        False,
        "--direct",
        "--db",
        help="Use DASHCAM_DATABASE_URL directly instead of the server.",
    )
    once_opt = typer.Option(False, "--once", help="Do at most one task, then exit.")
    idle_opt = typer.Option(False, "--until-idle", help="Exit when no task is ready.")

    @worker.command("heavy")
    def worker_heavy(
        direct: bool = direct_opt,
        once: bool = once_opt,
        until_idle: bool = idle_opt,
        skip_scratch_clean: bool = typer.Option(False, "--skip-scratch-clean"),
        engine: bool = typer.Option(
            False, "--engine", help="Use the multiprocess engine instead of the inline runner."
        ),
    ) -> None:
        """Workstation worker: HEAVY_PROCESS_VIDEO from DASHCAM_SERVER_URL."""
        from dashcam.workers.heavy import HeavyWorker

        settings = settings_from()
        logging.getLogger("dashcam").setLevel(logging.INFO)
        w = HeavyWorker(
            _client(settings, direct),
            settings,
            clean_scratch=not skip_scratch_clean,
            use_engine=engine,
        )
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
        mon = Monitor(_queue(settings), interval_s=interval, stale_after_s=settings.stale_after_s)
        signal.signal(signal.SIGTERM, lambda *_: mon.stop())

        def report(s: SystemStatus) -> None:
            for t in status_tables(s):
                out.print(t)

        try:
            mon.run(report, once=once)
        except KeyboardInterrupt:
            mon.stop()

    workers = typer.Typer(
        help="The workers the queue has heard from; supervised worker processes.",
        invoke_without_command=True,
    )
    app.add_typer(workers, name="workers")

    @workers.callback()
    def workers_root(ctx: typer.Context) -> None:
        """Without a sub-command: the same as ``dashcam workers list``."""
        if ctx.invoked_subcommand is None:
            workers_list(server_url=None, as_json=False)

    @workers.command("list")
    def workers_list(
        server_url: str | None = server_option(),
        as_json: bool = typer.Option(False, "--json", help="One JSON object per worker."),
    ) -> None:
        """Workers by kind: host, state, current task, heartbeat age (stale in red)."""
        with client(server_url) as c:
            found = c.status().workers
            where = c.where
        if as_json:
            for w in found:
                print(json.dumps(asdict(w)))
            return
        out.print(workers_table(found))
        if not found:
            console.print(f"no worker has reported to {where}")

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
