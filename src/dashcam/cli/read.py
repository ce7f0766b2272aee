"""``dashcam read IMAGE...``: recognise plates in still images, one JSON line per image."""

from __future__ import annotations

import json
from pathlib import Path

import typer

from dashcam.backends.protocols import ImageBGR
from dashcam.config import load_settings
from dashcam.errors import DecodeError
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


def result_json(result: PlateResult) -> dict[str, object]:
    return {
        "text": result.text,
        "confidence": round(result.confidence, 4),
        "xyxy": [round(v, 1) for v in result.xyxy],
    }


def register(app: typer.Typer) -> None:
    @app.command("read")
    def read(
        images: list[Path] = typer.Argument(..., help="Image files (jpg, png, ...)."),
        crop: bool = typer.Option(
            False, "--crop", help="Each image is a tight plate crop: only OCR runs."
        ),
        region: str | None = typer.Option(
            None, "--region", "-r", help="Plate format rules: auto, us, eu, uk, any."
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

        Example: dashcam read car.jpg --region us
        """
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
            line = {"file": str(path), "plates": [result_json(r) for r in results]}
            typer.echo(json.dumps(line))
        if failed:
            raise DecodeError(f"{failed} of {len(images)} images could not be read")
