"""Single synthetic dashcam frames with known plates: near, far, by day and at night.

For measuring detection (``benchmarks/ocr_accuracy.py --sets dashcam``) and for tests:
cars at chosen distances on the stylised road of :mod:`dashcam.media.scene`, plates of
several countries' colours, and a night mode (dark scene, sensor noise, tail lights and
headlight glare, plates lit by our headlights).
"""

from __future__ import annotations

from dataclasses import dataclass

import cv2
import numpy as np
from numpy.typing import NDArray

from dashcam.media.plates import plate_texts, render_plate
from dashcam.media.scene import BODY_COLOURS, Placed, Scene, Vehicle

__all__ = ["RoadFrame", "road_frame"]

#: Plate colours drawn at random (country codes of ``plates.STYLES``).
STYLES = ("us", "de", "gb", "br", "fr", "ua", "nl", "it")


@dataclass(frozen=True)
class RoadFrame:
    """A frame and its legible plates, ``(text, plate box xyxy)``; ``hidden`` are the boxes
    of plates drawn but partly covered or cut by the frame edge (a read there is neither
    right nor wrong)."""

    image: NDArray[np.uint8]
    plates: tuple[tuple[str, tuple[int, int, int, int]], ...]
    night: bool
    hidden: tuple[tuple[int, int, int, int], ...] = ()


def _night(image: NDArray[np.uint8], placed: list[Placed], rng: np.random.Generator) -> None:
    """Darken the frame in place, keep the plates lit, add lights, glare and noise."""
    lit = image.astype(np.float32) * 0.22
    for p in placed:
        x0, y0, x1, y1 = p.plate_xyxy
        ys, xs = slice(max(0, y0), max(0, y1)), slice(max(0, x0), max(0, x1))
        lit[ys, xs] = image[ys, xs].astype(np.float32) * float(rng.uniform(0.55, 0.85))
        w, cx, yb = p.w, p.cx, p.yb
        for side in (-1, 1):  # tail lights with a glow
            centre = (round(cx + side * 0.40 * w), round(yb - 0.45 * w))
            cv2.circle(lit, centre, max(2, round(0.09 * w)), (40, 40, 180), -1)
            cv2.circle(lit, centre, max(1, round(0.04 * w)), (160, 170, 255), -1)
    h, w_img = image.shape[:2]
    for _ in range(int(rng.integers(1, 4))):  # oncoming headlights: glare
        centre = (int(rng.uniform(0, w_img)), int(rng.uniform(0.42 * h, 0.6 * h)))
        glare = np.zeros_like(lit)
        cv2.circle(glare, centre, int(rng.uniform(6, 18)), (255, 255, 255), -1)
        lit += cv2.GaussianBlur(glare, (0, 0), 12) * 0.8
    lit += rng.normal(0.0, 6.0, lit.shape)
    np.copyto(image, np.clip(lit, 0, 255).astype(np.uint8))


def road_frame(
    seed: int,
    *,
    n_vehicles: int = 2,
    car_width_px: tuple[float, float] = (90.0, 330.0),
    night: bool = False,
    roll_deg: float = 0.0,
    degrade: bool = False,
    resolution_wh: tuple[int, int] = (1280, 720),
) -> RoadFrame:
    """A 1280x720 (or ``resolution_wh``) road frame with 1-3 plated cars side by side.

    ``car_width_px`` bounds each car's on-screen width at 720p (the stylised plate is
    half of it: 45-165 px wide by default); ``roll_deg`` turns the frame by up to that
    much (a camera not mounted level) and ``degrade`` adds blur and JPEG compression.
    Same seed, same frame.
    """
    if not 1 <= n_vehicles <= 3:
        raise ValueError(f"n_vehicles must be 1..3, got {n_vehicles}")
    rng = np.random.default_rng(seed)
    scene = Scene(resolution_wh, rng)
    image = scene.background.copy()
    scene.draw_dashes(image, float(rng.uniform(0, 9)))
    texts = plate_texts(n_vehicles, rng)
    placed: list[Placed] = []
    for text, lane in zip(texts, rng.permutation([-1, 0, 1])[:n_vehicles].tolist(), strict=True):
        w = float(rng.uniform(*car_width_px))
        colour = BODY_COLOURS[int(rng.integers(len(BODY_COLOURS)))]
        style = STYLES[int(rng.integers(len(STYLES)))]
        v = Vehicle(text, int(lane), 0.0, 1.0, w, w, colour, render_plate(text, 120, style))
        placed.append(scene.place(v, 0.0))
    placed.sort(key=lambda p: p.w)
    visible: list[Placed] = []
    for k, p in enumerate(placed):
        scene.draw_vehicle(image, p)
        x0, y0, x1, y1 = p.plate_xyxy
        inside = x0 >= 0 and y0 >= 0 and x1 <= resolution_wh[0] and y1 <= resolution_wh[1]
        hidden = any(_overlaps(p.plate_xyxy, q.body_xyxy) for q in placed[k + 1 :])
        if inside and not hidden:
            visible.append(p)
    if night:
        _night(image, placed, rng)
    boxes = [p.plate_xyxy for p in placed]
    if roll_deg:
        boxes = _roll(image, float(rng.uniform(-roll_deg, roll_deg)), boxes)
    if degrade:
        _degrade(image, rng)
    where = dict(zip([id(p) for p in placed], boxes, strict=True))
    return RoadFrame(
        image,
        tuple((p.vehicle.text, where[id(p)]) for p in visible),
        night,
        tuple(where[id(p)] for p in placed if p not in visible),
    )


def _roll(
    image: NDArray[np.uint8], angle_deg: float, boxes: list[tuple[int, int, int, int]]
) -> list[tuple[int, int, int, int]]:
    """Turn the frame (a camera not mounted level) in place; the boxes' new bounds."""
    h, w = image.shape[:2]
    m = cv2.getRotationMatrix2D((w / 2, h / 2), angle_deg, 1.0)
    np.copyto(image, cv2.warpAffine(image, m, (w, h), borderMode=cv2.BORDER_REFLECT))
    out = []
    for x0, y0, x1, y1 in boxes:
        pts = np.array([[x0, y0, 1], [x1, y0, 1], [x1, y1, 1], [x0, y1, 1]], np.float64) @ m.T
        out.append(
            (int(pts[:, 0].min()), int(pts[:, 1].min()), int(pts[:, 0].max()), int(pts[:, 1].max()))
        )
    return out


def _degrade(image: NDArray[np.uint8], rng: np.random.Generator) -> None:
    """A cheap camera: a little blur and JPEG compression, in place."""
    sigma = float(rng.uniform(0.4, 1.2))
    blurred = cv2.GaussianBlur(image, (0, 0), sigma)
    quality = int(rng.integers(45, 80))
    ok, jpeg = cv2.imencode(".jpg", blurred, [cv2.IMWRITE_JPEG_QUALITY, quality])
    decoded = cv2.imdecode(jpeg, cv2.IMREAD_COLOR) if ok else None
    np.copyto(image, blurred if decoded is None else decoded)


def _overlaps(a: tuple[int, int, int, int], b: tuple[int, int, int, int]) -> bool:
    return a[0] < b[2] and b[0] < a[2] and a[1] < b[3] and b[1] < a[3]
