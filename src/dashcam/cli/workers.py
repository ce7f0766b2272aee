"""``dashcam worker heavy|archive|monitor`` and ``dashcam workers setup`` (supervisord)."""

from __future__ import annotations

import logging
from pathlib import Path

import typer

from dashcam.cli.common import console, out, settings_from
from dashcam.cli.server import _local, _status_tables
from dashcam.config import Settings
from dashcam.workers.base import QueueClient
from dashcam.workers.monitor import SystemStatus


def _client(settings: Settings, direct: bool) -> QueueClient:
    from dashcam.workers.clients import DirectQueueClient, HttpQueueClient

    if direct:
        queue, repo = _local(settings)
        return DirectQueueClient(queue, repo)
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
