"""``data-miner`` / ``dashcam miner``: data-miner projects, stage workers, status, export."""

from __future__ import annotations

import json
import logging
import signal
import sys
import time
from pathlib import Path
from types import FrameType
from typing import Any

import typer

from dashcam.config import Settings, load_settings
from dashcam.errors import DashcamError, InputError, describe

log = logging.getLogger(__name__)

miner_app = typer.Typer(
    name="data-miner",
    help="Build clean, de-duplicated, labelled image sets from video.",
    no_args_is_help=True,
    pretty_exceptions_enable=False,
    add_completion=False,
)
project_app = typer.Typer(help="Create and update projects.", no_args_is_help=True)
workers_app = typer.Typer(help="Stage worker deployment.", no_args_is_help=True)
miner_app.add_typer(project_app, name="project")
miner_app.add_typer(workers_app, name="workers")

_verbose = False


@miner_app.callback()
def _root(
    verbose: bool = typer.Option(False, "--verbose", "-v", help="Tracebacks, debug logs"),
) -> None:
    global _verbose
    _verbose = verbose
    logging.basicConfig(
        level=logging.DEBUG if verbose else logging.WARNING,
        format="%(asctime)s %(levelname)s %(name)s: %(message)s",
    )


def _context(settings: Settings | None = None) -> Any:
    from dashcam.miner.project import ProjectStore
    from dashcam.miner.stages import StageContext
    from dashcam.store.database import make_engine
    from dashcam.store.task_queue import TaskQueue

    settings = settings or load_settings()
    engine = make_engine(settings.db_url)
    return StageContext(settings, ProjectStore(engine), TaskQueue(engine))


def _project_name(ctx: Any, name: str | None) -> str:
    if name:
        return name
    projects = ctx.store.projects()
    if len(projects) == 1:
        return str(projects[0].name)
    if not projects:
        raise InputError("no miner project yet: data-miner project create --config config.yaml")
    raise InputError(
        f"several projects: name one with --project ({', '.join(p.name for p in projects)})"
    )


def _checked_sources(sources: list[str]) -> list[str]:
    """Sources as stored: URLs as given, local paths resolved. Every missing file is named
    in one :class:`InputError`, before anything is written."""
    out: list[str] = []
    missing: list[str] = []
    for src in sources:
        if "://" in src:
            out.append(src)
            continue
        path = Path(src).expanduser()
        if path.is_file():
            out.append(str(path.resolve()))
        else:
            missing.append(src)
    if missing:
        raise InputError(f"no such file: {', '.join(missing)}")
    return out


def _enqueue_downloads(ctx: Any, name: str, sources: list[str]) -> int:
    from dashcam.store.task_schema import TaskType

    added = 0
    for src in _checked_sources(sources):
        vid = ctx.store.add_video(name, src)
        if vid is None:
            continue
        max_attempts = ctx.store.project(name).config.workers.max_attempts
        ctx.queue.enqueue(
            TaskType.MINER_DOWNLOAD,
            {"project": name, "video_id": vid},
            video_id=f"{name}:{vid}",
            dedupe_key=f"miner:dl:{name}:{vid}",
            max_attempts=max_attempts,
        )
        added += 1
    return added


@project_app.command("create")
def project_create(
    config: Path = typer.Option(..., "--config", "-c", help="The project's config.yaml"),
    replace: bool = typer.Option(False, help="Update an existing project's config"),
) -> None:
    """Register a project from its config (and add its ``sources``).

    All or nothing: a missing source file (or any other error) leaves no project behind
    (and, with --replace, the project as it was)."""
    from dashcam.miner.config import load_config

    cfg = load_config(config)
    try:
        sources = _checked_sources(list(cfg.sources))
    except InputError as exc:
        raise InputError(f"{config}: {exc}; project {cfg.name!r} not registered") from None
    ctx = _context()
    root = (cfg.output_dir or ctx.settings.data_dir / "miner" / cfg.name).resolve()
    new = cfg.name not in {p.name for p in ctx.store.projects()}
    ctx.store.create_project(cfg, root, replace=replace)
    try:
        added = _enqueue_downloads(ctx, cfg.name, sources)
        root.mkdir(parents=True, exist_ok=True)
    except BaseException:
        if new:
            _forget_project(ctx, cfg.name)
        raise
    typer.echo(f"project {cfg.name}: {root} ({added} sources added)")


def _forget_project(ctx: Any, name: str) -> None:
    """Undo a half-made project: cancel the tasks queued for it, drop its rows."""
    for task in ctx.queue.list_tasks(payload={"project": name}, limit=100_000):
        ctx.queue.cancel(task.id)
    ctx.store.delete_project(name)


@miner_app.command("add")
def add(
    sources: list[str] = typer.Argument(..., help="URLs (yt-dlp sites, http files) or paths"),
    project: str | None = typer.Option(None, "--project", "-p"),
) -> None:
    """Add videos to a project; each gets a download task."""
    ctx = _context()
    name = _project_name(ctx, project)
    added = _enqueue_downloads(ctx, name, sources)
    typer.echo(f"{added} added, {len(sources) - added} already in {name}")


@miner_app.command("status")
def status(
    project: str | None = typer.Option(None, "--project", "-p"),
    as_json: bool = typer.Option(False, "--json", help="Machine-readable output"),
) -> None:
    """Per-stage task counts, video and frame counts, project state."""
    from dashcam.miner.coordinator import MINER_TYPES

    ctx = _context()
    name = _project_name(ctx, project)
    p = ctx.store.project(name)
    counts = ctx.queue.counts(payload={"project": name})
    stages = {
        t.value.removeprefix("MINER_").lower(): {
            s.value: n for (tt, s), n in counts.items() if tt == t
        }
        for t in MINER_TYPES
    }
    doc = {
        "project": name,
        "state": p.state.value,
        "epoch": p.epoch,
        "videos": {k.value: v for k, v in ctx.store.video_counts(name).items()},
        "frames": {k.value: v for k, v in ctx.store.frame_counts(name).items()},
        "stages": stages,
        "detect_note": p.detect_note,
    }
    if as_json:
        typer.echo(json.dumps(doc, indent=1))
        return
    typer.echo(f"project {name}: {p.state.value}")
    typer.echo("videos: " + (", ".join(f"{k} {v}" for k, v in doc["videos"].items()) or "none"))
    typer.echo("frames: " + (", ".join(f"{k} {v}" for k, v in doc["frames"].items()) or "none"))
    for stage, c in stages.items():
        total = sum(c.values())
        done = c.get("done", 0)
        pct = f"{100 * done / total:.0f}%" if total else "-"
        typer.echo(
            f"  {stage:<9} {done}/{total} done ({pct}) "
            + " ".join(f"{k}={v}" for k, v in sorted(c.items()) if k != "done")
        )
    if p.detect_note:
        typer.echo(f"detect note: {p.detect_note}")


@workers_app.command("setup")
def workers_setup(
    config: Path = typer.Option(..., "--config", "-c"),
    out: Path | None = typer.Option(None, "--out", "-o", help="Default <project>/supervisord.conf"),
    command: str = typer.Option("", help="How to start the CLI (default: this Python)"),
) -> None:
    """Write a supervisord config: one program per stage, numprocs from the config."""
    from dashcam.miner.config import load_config
    from dashcam.miner.supervisor import render_supervisor
    from dashcam.store.paths import atomic_write_text

    cfg = load_config(config)
    settings = load_settings()
    root = (cfg.output_dir or settings.data_dir / "miner" / cfg.name).resolve()
    log_dir = root / "logs"
    log_dir.mkdir(parents=True, exist_ok=True)
    cmd = command or f"{sys.executable} -m dashcam miner"
    env = {
        "DASHCAM_DATA_DIR": str(settings.data_dir.resolve()),
        "DASHCAM_DATABASE_URL": settings.db_url,
    }
    target = out or root / "supervisord.conf"
    atomic_write_text(target, render_supervisor(cfg, command=cmd, log_dir=log_dir, env=env))
    typer.echo(f"wrote {target}: supervisord -c {target}")


def _install_signals(stop: Any) -> None:
    hits = [0]

    def handler(signum: int, _frame: FrameType | None) -> None:
        hits[0] += 1
        if hits[0] > 1:
            sys.exit(130)
        stop()

    signal.signal(signal.SIGTERM, handler)
    signal.signal(signal.SIGINT, handler)


@miner_app.command("worker")
def worker(
    stage: str = typer.Argument(..., help="download|extract|filter|dedup|detect|backup|monitor"),
    project: str | None = typer.Option(None, "--project", "-p", help="Settings from this one"),
    until_idle: bool = typer.Option(False, "--until-idle", help="Exit when nothing is ready"),
    lease_s: float | None = typer.Option(None, help="Override workers.lease_s"),
    heartbeat_s: float | None = typer.Option(None, help="Override heartbeat_interval_s"),
) -> None:
    """Run one stage worker (supervisord starts these); SIGTERM finishes the item first."""
    from dashcam.miner.coordinator import StageWorker, tick
    from dashcam.miner.stages import STAGES

    ctx = _context()
    w = ctx.store.project(_project_name(ctx, project)).config.workers
    if stage == "monitor":
        stopped = [False]
        _install_signals(lambda: stopped.__setitem__(0, True))
        while not stopped[0]:
            tick(ctx)
            if until_idle:
                break
            time.sleep(w.poll_interval_s)
        return
    if stage not in STAGES:
        raise InputError(f"unknown stage {stage!r}; one of: {', '.join([*STAGES, 'monitor'])}")
    sw = StageWorker(
        ctx,
        [STAGES[stage]],
        lease_s=lease_s or w.lease_s,
        heartbeat_interval_s=heartbeat_s or w.heartbeat_interval_s,
        poll_interval_s=w.poll_interval_s,
    )
    _install_signals(sw.stop)
    n = sw.run(until_idle=until_idle)
    typer.echo(f"{stage} worker: {n} tasks")


@miner_app.command("run")
def run(
    project: str | None = typer.Option(None, "--project", "-p"),
    until_done: bool = typer.Option(True, "--until-done/--once", help="Loop to COMPLETE"),
    timeout_s: float = typer.Option(0.0, help="Give up after this long (0 = never)"),
) -> None:
    """Every stage in this process, one task at a time (a laptop's whole pipeline)."""
    from dashcam.miner.coordinator import MINER_TYPES, StageWorker, tick
    from dashcam.miner.schema import ProjectState
    from dashcam.store.task_schema import CLAIMABLE, TaskStatus

    active = (*CLAIMABLE, TaskStatus.RUNNING)
    ctx = _context()
    name = _project_name(ctx, project)
    sw = StageWorker(ctx, MINER_TYPES, lease_s=ctx.store.project(name).config.workers.lease_s)
    _install_signals(sw.stop)
    start = time.monotonic()
    idle_in: ProjectState | None = None  # the state of the last pass that found no work
    while True:
        state = tick(ctx).get(name)
        ran = sw.run_one()
        if sw.stopping:
            raise DashcamError("interrupted")
        if ran:
            idle_in = None
            continue
        p = ctx.store.project(name)
        tasks = [
            t
            for t in ctx.queue.list_tasks(payload={"project": name}, limit=1000)
            if t.task_type in MINER_TYPES
        ]
        pending = [t for t in tasks if t.status in active]
        backup_due = p.config.backup is not None and p.backup_epoch < p.epoch
        if state == ProjectState.COMPLETE and not backup_due and not pending:
            break
        # tick() queues what the state needs; two idle passes in the same state with
        # nothing queued mean a stage gave up (a dead task) and nothing can move on.
        if not pending and (not until_done or state == idle_in):
            dead = [t for t in tasks if t.status is TaskStatus.DEAD]
            hint = "see data-miner status"
            if dead:
                d = dead[0]
                hint = (
                    f"{d.task_type} task {d.id} is dead: {d.error}; fix that (a changed "
                    f"config: data-miner project create --replace), then "
                    f"'dashcam tasks requeue {d.id}' and run again (docs/miner.md, Recovery)"
                )
            raise DashcamError(f"project {name} stuck in {state}: no task left to run ({hint})")
        idle_in = state if not pending else None
        if timeout_s and time.monotonic() - start > timeout_s:
            raise DashcamError(f"timed out after {timeout_s:.0f} s in state {state}")
        time.sleep(0.2)
    typer.echo(f"project {name}: COMPLETE")


@miner_app.command("export")
def export(
    fmt: str = typer.Option("coco", "--format", "-f", help="coco or yolo"),
    project: str | None = typer.Option(None, "--project", "-p"),
    out: Path | None = typer.Option(None, "--out", "-o", help="Default <project>/export/<fmt>"),
    val_fraction: float = typer.Option(
        0.2,
        "--val-fraction",
        help="Share of frames for validation (0 to below 1; a deterministic split).",
    ),
) -> None:
    """Write the kept frames and their labels, ready to train on, split into train and val
    (the same split on every export of the same frames)."""
    from dashcam.miner.export import ExportFormat, export_project

    try:
        kind = ExportFormat(fmt)
    except ValueError:
        raise InputError(f"--format: {fmt!r} is not one of coco, yolo") from None
    ctx = _context()
    res = export_project(
        ctx.store, _project_name(ctx, project), kind, out, val_fraction=val_fraction
    )
    typer.echo(
        f"exported {res.images} images ({res.train} train, {res.val} val), "
        f"{res.boxes} boxes to {res.out_dir}"
    )


def register(app: typer.Typer) -> None:
    app.add_typer(miner_app, name="miner")


def main() -> None:
    """The ``data-miner`` console script."""
    try:
        miner_app(standalone_mode=False)
    except DashcamError as exc:
        if _verbose:
            raise
        typer.echo(f"data-miner: error: {describe(exc)}", err=True)
        sys.exit(exc.exit_code)
    except KeyboardInterrupt:
        sys.exit(130)
    except Exception as exc:
        import click

        if isinstance(exc, click.exceptions.ClickException):
            exc.show()
            sys.exit(exc.exit_code)
        raise
