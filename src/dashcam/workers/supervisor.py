"""supervisord configuration for long-running workers (``dashcam workers setup``)."""

from __future__ import annotations

import shlex
from collections.abc import Mapping, Sequence
from pathlib import Path
from typing import Any

import yaml
from pydantic import BaseModel, ConfigDict, Field, ValidationError

from dashcam.errors import ConfigError


class ProgramSpec(BaseModel):
    """One ``[program:...]``: a command run ``numprocs`` times."""

    model_config = ConfigDict(extra="forbid")
    name: str = Field(pattern=r"^[A-Za-z0-9_.-]+$")
    command: str
    numprocs: int = Field(default=1, ge=1, le=64)
    autorestart: bool = True
    startsecs: int = Field(default=5, ge=0)
    stopwaitsecs: int = Field(default=60, ge=1)
    environment: dict[str, str] = Field(default_factory=dict)
    directory: str | None = None


class WorkerEntry(BaseModel):
    model_config = ConfigDict(extra="forbid")
    kind: str = Field(pattern=r"^(heavy|archive|monitor)$")
    count: int = Field(default=1, ge=1, le=64)
    args: list[str] = Field(default_factory=list)
    stopwaitsecs: int = Field(default=120, ge=1)


class WorkersConfig(BaseModel):
    """The ``workers:`` section of config.yaml."""

    model_config = ConfigDict(extra="forbid")
    server_url: str | None = None
    api_key_env: str | None = None
    environment: dict[str, str] = Field(default_factory=dict)
    programs: list[WorkerEntry] = Field(min_length=1)
    run_dir: str = "supervisor"
    dashcam: str = "dashcam"


def load_workers_config(path: Path) -> WorkersConfig:
    try:
        data = yaml.safe_load(path.read_text(encoding="utf-8")) or {}
    except (OSError, yaml.YAMLError) as exc:
        raise ConfigError(f"{path}: cannot read: {exc}") from exc
    section = data.get("workers") if isinstance(data, dict) else None
    if section is None:
        raise ConfigError(f"{path}: no 'workers:' section")
    try:
        return WorkersConfig.model_validate(section)
    except ValidationError as exc:
        msgs = [
            "workers." + ".".join(str(p) for p in e["loc"]) + f": {e['msg']}" for e in exc.errors()
        ]
        raise ConfigError(f"{path}: " + "; ".join(msgs)) from None


def programs_from(cfg: WorkersConfig) -> list[ProgramSpec]:
    env = dict(cfg.environment)
    if cfg.server_url:
        env.setdefault("DASHCAM_SERVER_URL", cfg.server_url)
    return [
        ProgramSpec(
            name=f"dashcam-{p.kind}",
            command=" ".join(shlex.quote(a) for a in [cfg.dashcam, "worker", p.kind, *p.args]),
            numprocs=p.count,
            stopwaitsecs=p.stopwaitsecs,
            environment=env,
        )
        for p in cfg.programs
    ]


def _env(env: Mapping[str, str]) -> str:
    return ",".join(f'{k}="{v}"' for k, v in sorted(env.items()))


def render_supervisor_config(programs: Sequence[ProgramSpec], *, run_dir: Path) -> str:
    """A standalone supervisord.conf: supervisord, its control socket, one program each."""
    run = run_dir.resolve()
    lines = [
        "; written by `dashcam workers setup` - edit the YAML and run it again",
        "[unix_http_server]",
        f"file={run / 'supervisor.sock'}",
        "",
        "[supervisord]",
        f"logfile={run / 'supervisord.log'}",
        f"pidfile={run / 'supervisord.pid'}",
        f"childlogdir={run}",
        "nodaemon=false",
        "",
        "[rpcinterface:supervisor]",
        "supervisor.rpcinterface_factory = supervisor.rpcinterface:make_main_rpcinterface",
        "",
        "[supervisorctl]",
        f"serverurl=unix://{run / 'supervisor.sock'}",
        "",
    ]
    for p in programs:
        body: dict[str, Any] = {
            "command": p.command,
            "process_name": "%(program_name)s-%(process_num)02d",
            "numprocs": p.numprocs,
            "autostart": "true",
            "autorestart": "true" if p.autorestart else "false",
            "startsecs": p.startsecs,
            "stopwaitsecs": p.stopwaitsecs,
            "stopsignal": "TERM",
            "stopasgroup": "true",
            "killasgroup": "true",
            "redirect_stderr": "true",
            "stdout_logfile": str(run / f"{p.name}-%(process_num)02d.log"),
        }
        if p.directory:
            body["directory"] = p.directory
        if p.environment:
            body["environment"] = _env(p.environment)
        lines.append(f"[program:{p.name}]")
        lines += [f"{k}={v}" for k, v in body.items()]
        lines.append("")
    return "\n".join(lines)
