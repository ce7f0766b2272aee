"""``dashcam read IMAGE...``: recognise plates in still images, one JSON line per image."""

from __future__ import annotations

import json
from pathlib import Path

import typer

from dashcam.backends.protocols import ImageBGR
from dashcam.config import load_settings
from dashcam.errors import DecodeError, InputError
from dashcam.stages.recognise import PlateRecogniser, PlateResult


def load_image(path: Path) -> ImageBGR:
    """The image at ``path`` as BGR uint8; :class:`DecodeError` naming the file otherwise."""
    import cv2
    import numpy as np

    if not path.is_file():
        raise DecodeError(f"{path}: no such file")
    data = np.fromfile(str(path), dtype=np.uint8)
    image = cv2.imdecode(data, cv2.IMREAD_COLOR) if data.size else None
    if image is None:
        raise DecodeError(f"{path}: not a readable image")
    return np.ascontiguousarray(image)


def result_json(result: PlateResult, top: int = 0) -> dict[str, object]:
    """One plate as ``dashcam read`` prints it; ``top`` > 0 adds its best texts with
    their share of the probability among them (like ``alpr -n``)."""
    out: dict[str, object] = {
        "text": result.text,
        "confidence": round(result.confidence, 4),
        "xyxy": [round(v, 1) for v in result.xyxy],
        "region": result.region,
    }
    if top > 0:
        shares = result.alternatives(top)
        out["candidates"] = [
            {"text": c.text, "probability": p, "region": c.jurisdiction}
            for c, (_, p) in zip(result.candidates, shares, strict=False)
        ]
    return out


def regions_table() -> str:
    """Every value ``--region`` takes: the special ones, groups and jurisdictions."""
    from dashcam.resources import format_book

    book = format_book()
    lines = [
        "auto\tevery known format; plates fitting none are kept at a cost",
        "any\tno format rules: every text as read",
    ]
    for name in sorted(book.groups):
        codes = [j.code for j in book.select(name).jurisdictions]
        lines.append(f"{name}\tgroup of {len(codes)}: {', '.join(codes)}")
    for code, j in sorted(book.jurisdictions.items()):
        shapes = sorted({lay.pattern for lay in j.layouts})
        extra = " + vanity plates" if j.vanity else ""
        lines.append(f"{code}\t{j.name}: {' | '.join(shapes)}{extra}")
    return "\n".join(lines)


def register(app: typer.Typer) -> None:
    @app.command("read")
    def read(
        images: list[Path] = typer.Argument(None, help="Image files (jpg, png, ...)."),
        crop: bool = typer.Option(
            False, "--crop", help="Each image is a tight plate crop: only OCR runs."
        ),
        region: str | None = typer.Option(
            None,
            "--region",
            "-r",
            help="Plate formats: auto, any, a code (it, us-ca), a group (eu, us) or a "
            "list (hr,si,it). See --list-regions.",
        ),
        top: int = typer.Option(
            0, "--top", "-n", min=0, max=20, help="List each plate's N best texts."
        ),
        list_regions: bool = typer.Option(
            False, "--list-regions", help="Print every --region value and exit."
        ),
        detector: str | None = typer.Option(
            None, "--detector", help="Plate detector backend (default: DASHCAM_PLATE_DETECTOR)."
        ),
        reader: str | None = typer.Option(
            None, "--reader", help="Plate OCR backend (default: DASHCAM_PLATE_READER)."
        ),
    ) -> None:
        """Recognise licence plates in still images, like OpenALPR's ``alpr``.

        Prints one JSON object per image on stdout:
        {"file": ..., "plates": [{"text": ..., "confidence": ..., "xyxy": [x1, y1, x2, y2]}]}.
        An unreadable image is reported on stderr and the exit status is non-zero, but the
        other images are still read.

        Example: dashcam read car.jpg --region us --top 3
        """
        if list_regions:
            typer.echo(regions_table())
            return
        if not images:
            raise InputError("no images given (dashcam read IMAGE... ; --help for more)")
        settings = load_settings(
            plate_region=region, plate_detector=detector, plate_reader=reader, enable_ocr=True
        )
        recogniser = PlateRecogniser(settings)
        failed = 0
        for path in images:
            try:
                image = load_image(path)
            except DecodeError as exc:
                failed += 1
                typer.echo(f"dashcam: error: {exc}", err=True)
                continue
            results = recogniser.read_crops([image]) if crop else recogniser.recognise(image)
            if crop:
                results = [r for r in results if r.text]
            line = {"file": str(path), "plates": [result_json(r, top) for r in results]}
            typer.echo(json.dumps(line))
        if failed:
            raise DecodeError(f"{failed} of {len(images)} images could not be read")
