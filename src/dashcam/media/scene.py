"""Stylised road scene for synthetic clips: background, moving lane dashes, plated cars.

A vehicle's on-screen width ``w`` (px at 720p) fixes its depth: its bottom edge sits at
``horizon + 0.67 w`` and lane centres at ``cx + lane * 1.25 w``. Lane markings use the same
mapping, so everything converges on one vanishing point.
"""

from __future__ import annotations

from dataclasses import dataclass

import cv2
import numpy as np
from numpy.typing import NDArray

from dashcam.media.plates import PLATE_ASPECT

PLATE_WIDTH_OF_CAR = 0.5  # stylised: real plates are ~0.29 of the car width
LANE_OFFSET = 1.25  # lane centre spacing, in car widths at that depth
GROUND_SLOPE = 0.67  # bottom edge below horizon, in car widths (camera height / car width)
HORIZON = 0.42  # fraction of frame height

BODY_COLOURS: tuple[tuple[int, int, int], ...] = (
    (40, 40, 170),
    (160, 90, 30),
    (200, 200, 200),
    (35, 35, 35),
    (40, 120, 40),
    (30, 150, 210),
    (120, 120, 120),
    (90, 40, 90),
    (210, 180, 140),
)


@dataclass(frozen=True)
class Vehicle:
    text: str
    lane: int  # -1 left, 0 ours, +1 right
    t0: float
    t1: float
    w0: float  # on-screen width at t0 / t1, px at 720p
    w1: float
    colour: tuple[int, int, int]
    plate_big: NDArray[np.uint8]

    def width_at(self, t: float) -> float:
        u = (t - self.t0) / (self.t1 - self.t0)
        return self.w0 + (self.w1 - self.w0) * u


@dataclass(frozen=True)
class Placed:
    vehicle: Vehicle
    body_xyxy: tuple[int, int, int, int]
    plate_xyxy: tuple[int, int, int, int]
    w: float
    cx: float
    yb: float


class Scene:
    def __init__(self, resolution_wh: tuple[int, int], rng: np.random.Generator) -> None:
        self.width, self.height = resolution_wh
        self.k = self.height / 720.0
        self.cx = self.width / 2.0 + float(rng.uniform(-0.02, 0.02)) * self.width
        self.horizon = HORIZON * self.height
        self.background = self._background(rng)

    def y_of(self, w: float) -> float:
        return self.horizon + GROUND_SLOPE * w

    def w_of(self, y: NDArray[np.float64]) -> NDArray[np.float64]:
        return (y - self.horizon) / GROUND_SLOPE

    def _background(self, rng: np.random.Generator) -> NDArray[np.uint8]:
        h, w = self.height, self.width
        img = np.empty((h, w, 3), np.uint8)
        hz = int(self.horizon)
        sky_t = np.linspace(0.0, 1.0, hz)[:, None]
        sky = (1 - sky_t) * np.array([215, 170, 120]) + sky_t * np.array([240, 225, 205])
        img[:hz] = sky[:, None, :].astype(np.uint8)
        ground_t = np.linspace(0.0, 1.0, h - hz)[:, None]
        grass = (1 - ground_t) * np.array([70, 110, 85]) + ground_t * np.array([45, 95, 60])
        img[hz:] = grass[:, None, :].astype(np.uint8)
        ys = np.arange(hz, h, dtype=np.float64)
        half = 2.3 * LANE_OFFSET * self.w_of(ys + 0.5) / 1.25 * 0.9
        xs = np.arange(w, dtype=np.float64)[None, :]
        road = np.abs(xs - self.cx) <= half[:, None]
        tone = (ys - hz) / max(1, h - hz)
        asphalt = (1 - tone)[:, None] * np.array([105, 105, 100]) + tone[:, None] * np.array(
            [80, 82, 80]
        )
        region = img[hz:]
        region[road] = np.broadcast_to(asphalt[:, None, :], (h - hz, w, 3))[road].astype(np.uint8)
        # distant tree line / buildings along the horizon
        for _ in range(int(28 * self.width / 1280)):
            x = int(rng.uniform(0, w))
            bw = int(rng.uniform(20, 90) * self.k)
            bh = int(rng.uniform(8, 45) * self.k)
            shade = int(rng.uniform(60, 120))
            cv2.rectangle(img, (x, hz - bh), (x + bw, hz), (shade, shade + 10, shade), -1)
        # solid road edge lines
        for side in (-1, 1):
            self._band(img, side * 1.875, 0.025, self.horizon + 1, h, (225, 225, 225))
        texture = rng.normal(0.0, 3.0, img.shape)
        return np.clip(img.astype(np.float64) + texture, 0, 255).astype(np.uint8)

    def _band(
        self,
        img: NDArray[np.uint8],
        lane_x: float,
        half_width: float,
        y_top: float,
        y_bottom: float,
        colour: tuple[int, int, int],
    ) -> None:
        """A painted line at ``lane_x`` (car widths) between two screen rows."""
        if y_bottom <= y_top:
            return
        w_t, w_b = (y_top - self.horizon) / GROUND_SLOPE, (y_bottom - self.horizon) / GROUND_SLOPE
        pts = np.array(
            [
                [self.cx + (lane_x - half_width) * w_t, y_top],
                [self.cx + (lane_x + half_width) * w_t, y_top],
                [self.cx + (lane_x + half_width) * w_b, y_bottom],
                [self.cx + (lane_x - half_width) * w_b, y_bottom],
            ]
        )
        cv2.fillPoly(img, [np.round(pts * 16).astype(np.int32)], colour, cv2.LINE_AA, 4)

    def draw_dashes(self, img: NDArray[np.uint8], travelled_m: float) -> None:
        """Dashed lane dividers moving towards the camera as we drive forward."""
        period, length = 9.0, 3.0
        scale = 460.0 * self.k * 5.0  # w(z) = scale / z: 460 px wide at 5 m (720p)
        phase = travelled_m % period
        for i in range(30):
            z_near = 2.0 + i * period - phase
            z_far = z_near + length
            if z_far <= 1.0:
                continue
            z_near = max(z_near, 1.0)
            y_top = self.y_of(scale / z_far)
            if y_top >= self.height:
                continue  # entirely below the frame
            y_bottom = min(self.y_of(scale / z_near), self.height + 10)
            if y_bottom - y_top < 0.5:
                break  # further dashes are sub-pixel
            for lane_x in (-0.625, 0.625):
                self._band(img, lane_x * LANE_OFFSET / 1.25, 0.02, y_top, y_bottom, (230, 230, 230))

    def place(self, v: Vehicle, t: float) -> Placed:
        w = v.width_at(t) * self.k
        cx = self.cx + v.lane * LANE_OFFSET * w
        yb = self.y_of(w)
        pw = PLATE_WIDTH_OF_CAR * w
        ph = pw / PLATE_ASPECT
        plate_top = yb - 0.36 * w
        body = (round(cx - 0.5 * w), round(yb - 0.86 * w), round(cx + 0.5 * w), round(yb))
        plate = (
            round(cx - pw / 2),
            round(plate_top),
            round(cx - pw / 2) + round(pw),
            round(plate_top) + round(ph),
        )
        return Placed(v, body, plate, w, cx, yb)

    def draw_vehicle(self, img: NDArray[np.uint8], p: Placed) -> None:
        w, cx, yb = p.w, p.cx, p.yb
        colour = p.vehicle.colour
        dark = tuple(int(c * 0.7) for c in colour)

        def rect(x0: float, y0: float, x1: float, y1: float, c: tuple[int, ...]) -> None:
            cv2.rectangle(img, (round(x0), round(y0)), (round(x1), round(y1)), c, -1)

        def poly(points: list[tuple[float, float]], c: tuple[int, ...]) -> None:
            arr = np.round(np.array(points) * 16).astype(np.int32)
            cv2.fillPoly(img, [arr], c, cv2.LINE_AA, 4)

        cv2.ellipse(
            img,
            (round(cx), round(yb)),
            (max(1, round(0.56 * w)), max(1, round(0.05 * w))),
            0,
            0,
            360,
            (30, 32, 30),
            -1,
        )
        for side in (-1, 1):
            rect(cx + side * 0.46 * w, yb - 0.16 * w, cx + side * 0.27 * w, yb, (22, 22, 22))
        poly(
            [
                (cx - 0.36 * w, yb - 0.86 * w),
                (cx + 0.36 * w, yb - 0.86 * w),
                (cx + 0.47 * w, yb - 0.55 * w),
                (cx - 0.47 * w, yb - 0.55 * w),
            ],
            dark,
        )
        poly(
            [
                (cx - 0.31 * w, yb - 0.82 * w),
                (cx + 0.31 * w, yb - 0.82 * w),
                (cx + 0.40 * w, yb - 0.59 * w),
                (cx - 0.40 * w, yb - 0.59 * w),
            ],
            (70, 55, 45),
        )
        rect(cx - 0.5 * w, yb - 0.56 * w, cx + 0.5 * w, yb - 0.09 * w, colour)
        for side in (-1, 1):
            rect(
                cx + side * 0.48 * w,
                yb - 0.50 * w,
                cx + side * 0.33 * w,
                yb - 0.41 * w,
                (30, 30, 190),
            )
        rect(cx - 0.5 * w, yb - 0.18 * w, cx + 0.5 * w, yb - 0.09 * w, (40, 40, 40))
        x0, y0, x1, y1 = p.plate_xyxy
        pw, ph = x1 - x0, y1 - y0
        if pw < 4 or ph < 2:
            return
        plate = cv2.resize(p.vehicle.plate_big, (pw, ph), interpolation=cv2.INTER_AREA)
        paste(img, np.asarray(plate, np.uint8), x0, y0)


def paste(img: NDArray[np.uint8], patch: NDArray[np.uint8], x0: int, y0: int) -> None:
    h, w = img.shape[:2]
    ph, pw = patch.shape[:2]
    cx0, cy0, cx1, cy1 = max(0, x0), max(0, y0), min(w, x0 + pw), min(h, y0 + ph)
    if cx1 <= cx0 or cy1 <= cy0:
        return
    img[cy0:cy1, cx0:cx1] = patch[cy0 - y0 : cy1 - y0, cx0 - x0 : cx1 - x0]


def overlaps(a: tuple[int, int, int, int], b: tuple[int, int, int, int]) -> bool:
    return a[0] < b[2] and b[0] < a[2] and a[1] < b[3] and b[1] < a[3]
