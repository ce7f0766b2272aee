"""Deterministic synthetic dashcam clips: a road scene with plated cars plus a GPS track.

The track goes to an NMEA side-car log, or inside the video the way a camera stores it
(GoPro GPMF, Google CAMM, Novatek freeGPS, BlackVue; ``media/embedded_writer.py``).

Drives ``dashcam demo`` and the tests; nothing is committed, everything is generated.
The scene lives in ``media/scene.py``, plates in ``media/plates.py``, the GPS drive in
``media/drive.py``. Same ``seed`` gives the same plates, timings, track and frames.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta
from fractions import Fraction
from pathlib import Path
from typing import Any

import av
import cv2
import numpy as np
from numpy.typing import NDArray

from dashcam.domain.gps import GpsFix, GpsTrack
from dashcam.errors import InputError
from dashcam.media.drive import distance_travelled_m, drive_track, nmea_lines
from dashcam.media.embedded import EmbeddedSource
from dashcam.media.embedded_writer import EmbeddedTruth, embed_track
from dashcam.media.overlay_burn import ClipOverlay, burn_overlay, overlay_line
from dashcam.media.plates import plate_texts, render_plate
from dashcam.media.scene import BODY_COLOURS, Placed, Scene, Vehicle, overlaps

__all__ = [
    "ClipOverlay",
    "RenderedPlate",
    "SyntheticClip",
    "make_clip",
    "make_still",
    "nmea_lines",
    "plate_texts",
    "render_plate",
]

LEGIBLE_PLATE_PX = 24


@dataclass(frozen=True)
class RenderedPlate:
    """A plate in a clip: visible, unoccluded and >= 24 px high from ``first_s`` to ``last_s``."""

    text: str
    first_s: float
    last_s: float


@dataclass(frozen=True)
class SyntheticClip:
    video_path: Path
    gps_path: Path
    plates: tuple[RenderedPlate, ...]
    fps: float
    resolution_wh: tuple[int, int]
    duration_s: float
    start_utc: datetime
    fixes: tuple[GpsFix, ...]
    embedded: EmbeddedTruth | None = None


def _legible(p: Placed, nearer: Sequence[Placed], resolution_wh: tuple[int, int]) -> bool:
    x0, y0, x1, y1 = p.plate_xyxy
    if y1 - y0 < LEGIBLE_PLATE_PX:
        return False
    if x0 < 0 or y0 < 0 or x1 > resolution_wh[0] or y1 > resolution_wh[1]:
        return False
    return not any(overlaps(p.plate_xyxy, q.body_xyxy) for q in nearer)


def _schedule(texts: Sequence[str], duration_s: float, rng: np.random.Generator) -> list[Vehicle]:
    """Staggered vehicles, at most three on screen, never two in one lane at once."""
    n = len(texts)
    if n == 0:
        return []
    visible = float(np.clip(duration_s * 0.4, 2.5, 8.0))
    visible = min(visible, duration_s - 0.2)
    spacing = (duration_s - visible - 0.2) / max(1, n - 1) if n > 1 else 0.0
    if n > 1 and spacing * 3 < visible:
        visible = max(1.0, spacing * 3)
        spacing = (duration_s - visible - 0.2) / (n - 1)
    lanes = [int(x) for x in rng.permutation([-1, 0, 1])]
    out: list[Vehicle] = []
    for i, text in enumerate(texts):
        t0 = 0.1 + i * spacing
        lane = lanes[i % 3]
        if lane == 0:  # ahead in our lane, pulling away
            w0, w1 = float(rng.uniform(430, 470)), float(rng.uniform(90, 120))
        else:  # slower car in the next lane; we catch up and it leaves the frame sideways
            w0, w1 = float(rng.uniform(110, 130)), float(rng.uniform(500, 540))
        colour = BODY_COLOURS[int(rng.integers(len(BODY_COLOURS)))]
        out.append(Vehicle(text, lane, t0, t0 + visible, w0, w1, colour, render_plate(text, 120)))
    return out


def _default_start(seed: int) -> datetime:
    return datetime(2024, 5, 17, 8, 30, tzinfo=UTC) + timedelta(seconds=(seed * 977) % 86_400)


def make_clip(
    out_dir: Path,
    *,
    name: str = "demo",
    seed: int = 0,
    duration_s: float = 20.0,
    resolution_wh: tuple[int, int] = (1280, 720),
    fps: int = 30,
    n_vehicles: int = 4,
    codec: str = "libx264",
    plates: Sequence[str] | None = None,
    container: str = "mp4",
    start_utc: datetime | None = None,
    telemetry: EmbeddedSource | None = None,
    creation_offset_s: float | None = 0.0,
    overlay: ClipOverlay | None = None,
    shake_px: float = 0.0,
    lead_widths: tuple[float, float] | None = None,
) -> SyntheticClip:
    """Write ``<out_dir>/<name>.<container>`` and ``<out_dir>/<name>.gps``; return ground truth.

    ``plates`` overrides the generated plate texts (its length then sets the vehicle
    count). ``codec`` is any FFmpeg encoder (``libx264``, ``libx265``, ``mpeg4``,
    ``mjpeg``); ``container`` is the file extension (``mp4``, ``mov``, ``mkv``, ``avi``).
    With ``telemetry`` (MP4 only) the track goes inside the video instead of a side-car
    (``gps_path`` is then the video) and ``embedded`` holds the samples as stored, the
    first frame at ``start_utc`` on the GPS clock. ``creation_offset_s`` shifts the
    container's creation time from ``start_utc`` (3600: a camera writing UTC+1 local time;
    None: the container has no creation time). ``overlay`` burns a dashcam's clock (and
    speed, position) into the bottom of every frame (``media/overlay_burn.py``);
    ``shake_px`` shakes the camera by up to that many pixels (the overlay stays put).
    ``lead_widths`` puts a car ahead in our lane for the whole clip, carrying the first
    plate, its on-screen width going from the first to the second value (px at 720p):
    ``(800, 780)`` is a car close ahead at our speed, its plate just above the overlay.
    Example::

        clip = make_clip(tmp, duration_s=6, n_vehicles=2)
        clip.plates[0].text  # 'KX52ABC'
    """
    width, height = resolution_wh
    if telemetry is not None and container != "mp4":
        raise InputError(f"an embedded GPS track needs an mp4 container, got {container!r}")
    if width < 160 or height < 120 or width % 2 or height % 2:
        raise InputError(f"resolution_wh must be even and at least 160x120, got {resolution_wh}")
    if duration_s <= 0.5 or fps <= 0:
        raise InputError(f"need duration_s > 0.5 and fps > 0, got {duration_s}, {fps}")
    rng = np.random.default_rng(seed)
    texts = list(plates) if plates is not None else plate_texts(n_vehicles, rng)
    if len(set(texts)) != len(texts):
        raise InputError(f"plate texts must be distinct, got {texts}")
    start = start_utc.astimezone(UTC) if start_utc is not None else _default_start(seed)
    scene = Scene(resolution_wh, rng)
    if lead_widths is not None and texts:
        w0, w1 = lead_widths
        colour = BODY_COLOURS[int(rng.integers(len(BODY_COLOURS)))]
        lead = Vehicle(texts[0], 0, 0.0, duration_s, w0, w1, colour, render_plate(texts[0], 120))
        vehicles = [lead, *_schedule(texts[1:], duration_s, rng)]
    else:
        vehicles = _schedule(texts, duration_s, rng)
    fixes = drive_track(start, duration_s, rng)

    out_dir = Path(out_dir)
    out_dir.mkdir(parents=True, exist_ok=True)
    video_path = out_dir / f"{name}.{container}"
    gps_path = out_dir / f"{name}.gps" if telemetry is None else video_path
    if telemetry is None:
        gps_path.write_text("\n".join(nmea_lines(fixes)) + "\n", encoding="ascii")

    n_frames = round(duration_s * fps)
    spans: dict[str, list[float]] = {}
    options = {"movflags": "+faststart"} if container in ("mp4", "mov") else {}
    out = av.open(str(video_path), mode="w", options=options)
    try:
        if creation_offset_s is not None:
            created = start + timedelta(seconds=creation_offset_s)
            out.metadata["creation_time"] = created.strftime("%Y-%m-%dT%H:%M:%S.%fZ")
        stream: Any = out.add_stream(codec, rate=Fraction(fps))
        stream.width, stream.height = width, height
        stream.pix_fmt = "yuvj420p" if codec == "mjpeg" else "yuv420p"
        if codec == "libx264":
            stream.options = {"crf": "21", "preset": "veryfast"}
        elif codec == "libx265":
            stream.options = {"crf": "21", "preset": "veryfast", "x265-params": "log-level=error"}
        elif codec in ("mpeg4", "mjpeg"):
            stream.options = {"qscale": "3"}
            stream.codec_context.qmin = 2
            stream.codec_context.qmax = 4
        img = np.empty((height, width, 3), np.uint8)
        phases = rng.uniform(0, 2 * np.pi, 2) if shake_px else np.zeros(2)
        for i in range(n_frames):
            t = i / fps
            np.copyto(img, scene.background)
            travelled = distance_travelled_m(fixes, start, t)
            scene.draw_dashes(img, travelled)
            placed = sorted(
                (scene.place(v, t) for v in vehicles if v.t0 <= t <= v.t1), key=lambda p: p.w
            )
            for j, p in enumerate(placed):
                scene.draw_vehicle(img, p)
                if _legible(p, placed[j + 1 :], resolution_wh):
                    span = spans.setdefault(p.vehicle.text, [t, t])
                    span[1] = t
            if shake_px:
                _shake(img, shake_px, t, phases)
            if overlay is not None:
                now = start + timedelta(seconds=t)
                burn_overlay(img, overlay_line(overlay, now, _fix_at(fixes, now)))
            frame = av.VideoFrame.from_ndarray(img, format="bgr24")
            frame.pts = i
            frame.time_base = Fraction(1, fps)
            for packet in stream.encode(frame):
                out.mux(packet)
        for packet in stream.encode(None):
            out.mux(packet)
    finally:
        out.close()

    truth = None
    if telemetry is not None:
        truth = embed_track(
            video_path,
            telemetry,
            GpsTrack(fixes),
            gps_start_ms=round(start.timestamp() * 1000),
            duration_s=n_frames / fps,
        )
    rendered = tuple(
        RenderedPlate(text, round(spans[text][0], 4), round(spans[text][1], 4))
        for text in texts
        if text in spans
    )
    return SyntheticClip(
        video_path=video_path,
        gps_path=gps_path,
        plates=rendered,
        fps=float(fps),
        resolution_wh=(width, height),
        duration_s=n_frames / fps,
        start_utc=start,
        fixes=tuple(fixes),
        embedded=truth,
    )


def _fix_at(fixes: Sequence[GpsFix], t: datetime) -> GpsFix | None:
    """The last fix at or before ``t``."""
    t_ms = t.timestamp() * 1000
    before = [f for f in fixes if f.timestamp_ms <= t_ms]
    return before[-1] if before else None


def _shake(img: NDArray[np.uint8], shake_px: float, t: float, phases: NDArray[np.float64]) -> None:
    """Shift the frame by a wobble of up to ``shake_px`` (a camera on a bumpy road)."""
    dx = shake_px * np.sin(2 * np.pi * 1.3 * t + phases[0])
    dy = shake_px * np.sin(2 * np.pi * 1.9 * t + phases[1])
    m = np.array([[1.0, 0.0, dx], [0.0, 1.0, dy]], dtype=np.float32)
    h, w = img.shape[:2]
    img[:] = cv2.warpAffine(img, m, (w, h), borderMode=cv2.BORDER_REPLICATE)


def make_still(
    out_path: Path,
    plates: Sequence[str],
    seed: int = 0,
    resolution_wh: tuple[int, int] = (1280, 720),
) -> list[tuple[str, tuple[int, int, int, int]]]:
    """A still road scene with up to 3 plated cars side by side, written by suffix (JPEG/PNG).

    Returns ``[(text, (x0, y0, x1, y1)), ...]`` in pixel coordinates of the image.
    """
    if not 1 <= len(plates) <= 3:
        raise InputError(f"make_still draws 1 to 3 plates, got {len(plates)}")
    rng = np.random.default_rng(seed)
    scene = Scene(resolution_wh, rng)
    img = scene.background.copy()
    scene.draw_dashes(img, float(rng.uniform(0, 9)))
    lanes = [0, -1, 1][: len(plates)]
    results: list[tuple[str, tuple[int, int, int, int]]] = []
    placed: list[Placed] = []
    for text, lane in zip(plates, lanes, strict=True):
        w = float(rng.uniform(330, 380)) if lane == 0 else float(rng.uniform(300, 340))
        colour = BODY_COLOURS[int(rng.integers(len(BODY_COLOURS)))]
        v = Vehicle(text, lane, 0.0, 1.0, w, w, colour, render_plate(text, 120))
        placed.append(scene.place(v, 0.0))
    for p in sorted(placed, key=lambda p: p.w):
        scene.draw_vehicle(img, p)
    for p in placed:
        results.append((p.vehicle.text, p.plate_xyxy))
    out_path = Path(out_path)
    out_path.parent.mkdir(parents=True, exist_ok=True)
    params = [cv2.IMWRITE_JPEG_QUALITY, 95] if out_path.suffix.lower() in (".jpg", ".jpeg") else []
    if not cv2.imwrite(str(out_path), img, params):
        raise InputError(f"{out_path}: cannot write image (unknown suffix?)")
    return results
