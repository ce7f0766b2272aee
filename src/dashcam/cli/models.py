"""``dashcam models list|get|verify|remove``: the catalogue of open models, installed on
request into ``DASHCAM_MODELS_DIR`` (docs/models.md)."""

from __future__ import annotations

import json
import time
from collections.abc import Sequence
from pathlib import Path

import typer
from rich.progress import (
    BarColumn,
    DownloadColumn,
    Progress,
    TaskID,
    TextColumn,
    TransferSpeedColumn,
)
from rich.table import Table

from dashcam.backends.catalogue import CATALOGUE, ModelSlot, ModelSpec
from dashcam.cli.common import console, out, settings_from
from dashcam.config import Settings
from dashcam.errors import InputError


def _specs(names: Sequence[str]) -> list[ModelSpec]:
    unknown = [n for n in names if n not in CATALOGUE]
    if unknown:
        raise InputError(
            f"unknown model {', '.join(unknown)}; known: {', '.join(CATALOGUE)} "
            "(dashcam models list)"
        )
    return [CATALOGUE[n] for n in dict.fromkeys(names)]


def in_use(settings: Settings) -> dict[ModelSlot, str | None]:
    """What each slot would run now (``auto`` resolved), without loading anything."""
    from dashcam.backends.registry import (
        resolve_plate_detector,
        resolve_plate_reader,
        resolve_vehicle_detector,
    )

    return {
        ModelSlot.VEHICLE_DETECTOR: resolve_vehicle_detector(settings),
        ModelSlot.PLATE_DETECTOR: resolve_plate_detector(settings),
        ModelSlot.PLATE_READER: resolve_plate_reader(settings) if settings.enable_ocr else None,
    }


def _mb(n_bytes: int) -> str:
    return f"{n_bytes / 1e6:.1f} MB"


def register(app: typer.Typer) -> None:
    models = typer.Typer(
        help="Open vehicle, plate and OCR models: list, get (download), verify, remove.",
        no_args_is_help=True,
    )
    app.add_typer(models, name="models")

    @models.command("list")
    def list_(
        as_json: bool = typer.Option(False, "--json", help="Machine-readable output."),
    ) -> None:
        """Every known model: slot, format, size, licence, source, installed, in use."""
        from dashcam.backends.model_store import read_manifest

        settings = settings_from()
        installed = read_manifest(settings.models_dir)
        using = in_use(settings)
        rows: list[dict[str, object]] = []
        table = Table(title=f"models ({settings.models_dir})")
        for col in ("name", "slot", "format", "licence", "size", "installed", "in use", "source"):
            table.add_column(col)
        for spec in CATALOGUE.values():
            got = installed.get(spec.name)
            size_bytes = sum(f.size_bytes for f in got.files) if got else None
            used = using[spec.slot] == spec.name
            rows.append(
                {
                    "name": spec.name,
                    "slot": str(spec.slot),
                    "format": str(spec.format),
                    "licence": spec.licence,
                    "publisher": spec.publisher,
                    "input_hw": list(spec.input_size),
                    "size_bytes": size_bytes,
                    "approx_mb": spec.approx_mb,
                    "source_url": spec.url,
                    "installed": got is not None,
                    "in_use": used,
                    "note": spec.note,
                }
            )
            size = _mb(size_bytes) if size_bytes is not None else f"~{spec.approx_mb} MB"
            table.add_row(
                spec.name, str(spec.slot), str(spec.format), spec.licence, size,
                "yes" if got else "-",
                "yes" if used else "", spec.url, style="green" if used else None,
            )  # fmt: skip
        if as_json:
            slots = {str(k): v for k, v in using.items()}
            print(json.dumps({"models_dir": str(settings.models_dir), "in_use": slots,
                              "models": rows}, indent=1))  # fmt: skip
            return
        out.print(table)
        for slot, name in using.items():
            out.print(f"{slot}: {name or 'none'}")
        if not installed:
            out.print(
                "Nothing installed: `dashcam models get yolo-v9-t-384-license-plate-end2end "
                "cct-xs-v2-global-model yolox-s` fetches a plate detector, a plate reader "
                "and a vehicle detector (about 50 MB)."
            )

    @models.command("get")
    def get(
        names: list[str] = typer.Argument(..., help="Model names (dashcam models list)."),
        force: bool = typer.Option(False, "--force", help="Download again even if installed."),
        timeout_s: float = typer.Option(30.0, "--timeout", help="Network timeout (s)."),
    ) -> None:
        """Download models into DASHCAM_MODELS_DIR, check them and record their sha256."""
        from dashcam.backends.installed import open_model
        from dashcam.backends.model_fetch import fetch

        settings = settings_from()
        specs = _specs(names)

        def probe(spec: ModelSpec, paths: Sequence[Path]) -> object:
            return open_model(spec, paths, threads=settings.model_threads)

        with Progress(
            TextColumn("{task.description}"), BarColumn(), DownloadColumn(),
            TransferSpeedColumn(), console=console, transient=True,
        ) as bar:  # fmt: skip
            tasks: dict[str, TaskID] = {}

            def progress(file_name: str, done: int, total: int | None) -> None:
                if file_name not in tasks:
                    tasks[file_name] = bar.add_task(file_name, total=total)
                bar.update(tasks[file_name], completed=done, total=total)

            for spec in specs:
                start = time.monotonic()
                entry, downloaded = fetch(
                    spec, settings.models_dir, mirror=settings.models_mirror, force=force,
                    probe=probe, progress=progress, timeout_s=timeout_s,
                )  # fmt: skip
                size = sum(f.size_bytes for f in entry.files)
                what = "installed" if downloaded else "already installed"
                out.print(
                    f"{what} {spec.name} ({spec.slot}, {spec.licence}, {_mb(size)}, "
                    f"sha256 {entry.files[0].sha256[:12]}…) in "
                    f"{entry.folder(settings.models_dir)}"
                    + (f" [{time.monotonic() - start:.1f} s]" if downloaded else "")
                )
        using = in_use(settings)
        for spec in specs:
            if using[spec.slot] != spec.name:
                out.print(
                    f"note: {spec.slot} runs {using[spec.slot] or 'none'}; "
                    f"DASHCAM_{str(spec.slot).upper()}={spec.name} chooses {spec.name}"
                )

    @models.command("verify")
    def verify(
        names: list[str] = typer.Argument(None, help="Models to check (default: all installed)."),
    ) -> None:
        """Check installed models' files against the sha256 and size recorded at download."""
        from dashcam.backends.model_store import problems, read_manifest

        settings = settings_from()
        installed = read_manifest(settings.models_dir)
        chosen = [s.name for s in _specs(names)] if names else list(installed)
        if not chosen:
            out.print(f"no models installed in {settings.models_dir}")
            return
        bad = 0
        for name in chosen:
            entry = installed.get(name)
            if entry is None:
                out.print(f"{name}: not installed")
                bad += 1
                continue
            wrong = problems(entry, settings.models_dir)
            if wrong:
                bad += 1
                out.print(f"{name}: FAILED: " + "; ".join(wrong))
            else:
                out.print(f"{name}: ok (sha256 {entry.files[0].sha256[:12]}…)")
        if bad:
            out.print(f"{bad} of {len(chosen)} failed; `dashcam models get --force NAME` repairs")
            raise typer.Exit(1)

    @models.command("remove")
    def remove(
        names: list[str] = typer.Argument(..., help="Installed models to delete."),
    ) -> None:
        """Delete installed models (their folder and manifest entry)."""
        from dashcam.backends.model_store import remove as remove_model

        settings = settings_from()
        for spec in _specs(names):
            gone = remove_model(settings.models_dir, spec.name)
            out.print(f"removed {spec.name}" if gone else f"{spec.name}: not installed")
