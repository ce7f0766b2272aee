"""Deterministic synthetic dashcam clips: a road scene with plated cars plus an NMEA log.

Drives ``dashcam demo`` and the tests; nothing is committed, everything is generated.
The scene is stylised perspective: a vehicle's on-screen width ``w`` (px) fixes its
depth, so its bottom edge sits at ``horizon + 0.67 w`` and the lane centres at
``cx + lane * 1.25 w``. Lane markings use the same mapping, so everything converges on
one vanishing point. Same ``seed`` gives the same plates, timings, track and frames.
"""

from __future__ import annotations

import itertools
import math
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

from dashcam.domain.gps import GpsFix
from dashcam.errors import InputError

__all__ = [
    "RenderedPlate",
    "SyntheticClip",
    "make_clip",
    "make_still",
    "nmea_lines",
    "plate_texts",
    "render_plate",
]

# Ground truth is unambiguous: no O/0, I/1 (and no Q, which reads as O).
LETTERS = "ABCDEFGHJKLMNPRSTUVWXYZ"
DIGITS = "23456789"
_FORMATS = ("LLLDDDD", "DLLLDDD", "LLDDLLL", "LLDDDLL")

PLATE_ASPECT = 4.2
PLATE_WIDTH_OF_CAR = 0.5  # stylised: real plates are ~0.29 of the car width
LEGIBLE_PLATE_PX = 24
LANE_OFFSET = 1.25  # lane centre spacing, in car widths at that depth
GROUND_SLOPE = 0.67  # bottom edge below horizon, in car widths (camera height / car width)
HORIZON = 0.42  # fraction of frame height

_BODY_COLOURS: tuple[tuple[int, int, int], ...] = (
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


def plate_texts(n: int, rng: np.random.Generator) -> list[str]:
    """``n`` distinct realistic plate strings such as ``ABC2345``, ``7XYZ234``, ``KX52ABC``."""
    out: list[str] = []
    while len(out) < n:
        fmt = _FORMATS[int(rng.integers(len(_FORMATS)))]
        text = "".join(
            LETTERS[int(rng.integers(len(LETTERS)))]
            if c == "L"
            else DIGITS[int(rng.integers(len(DIGITS)))]
            for c in fmt
        )
        if text not in out:
            out.append(text)
    return out


def render_plate(text: str, height_px: int = 60) -> NDArray[np.uint8]:
    """A BGR plate image (``height_px`` x ~4.2 * ``height_px``): white, thin dark border,
    dark bold Hershey characters filling ~65 % of the height.

    Rendered at 4x and area-downsampled so small plates stay crisp. Example::

        render_plate("ABC2345", 60).shape  # (60, 252, 3)
    """
    if height_px < 8:
        raise ValueError(f"height_px must be >= 8, got {height_px}")
    if not text:
        raise ValueError("plate text is empty")
    big_h = max(4 * height_px, 160)
    big_w = round(big_h * PLATE_ASPECT)
    plate = np.full((big_h, big_w, 3), (235, 240, 240), np.uint8)
    border = max(2, big_h // 30)
    cv2.rectangle(plate, (0, 0), (big_w - 1, big_h - 1), (30, 30, 30), border)
    font = cv2.FONT_HERSHEY_DUPLEX
    (_, th1), _ = cv2.getTextSize(text, font, 1.0, 1)
    scale = 0.65 * big_h / th1
    thick = max(2, round(scale * 2.4))
    (tw, th), base = cv2.getTextSize(text, font, scale, thick)
    canvas = np.full((th + base + 2 * thick, tw + 2 * thick, 3), (235, 240, 240), np.uint8)
    cv2.putText(canvas, text, (thick, th + thick), font, scale, (25, 25, 25), thick, cv2.LINE_AA)
    glyphs = canvas[: th + 2 * thick]
    # squeeze horizontally if the text is wider than the plate allows
    avail_w = int(big_w * 0.9)
    gw = min(glyphs.shape[1], avail_w)
    gh = glyphs.shape[0]
    glyphs = np.asarray(cv2.resize(glyphs, (gw, gh), interpolation=cv2.INTER_AREA), np.uint8)
    y0 = (big_h - gh) // 2
    x0 = (big_w - gw) // 2
    plate[y0 : y0 + gh, x0 : x0 + gw] = glyphs
    width_px = round(height_px * PLATE_ASPECT)
    small = cv2.resize(plate, (width_px, height_px), interpolation=cv2.INTER_AREA)
    return np.ascontiguousarray(small, dtype=np.uint8)


# --- scene geometry ---------------------------------------------------------------


@dataclass(frozen=True)
class _Vehicle:
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
class _Placed:
    vehicle: _Vehicle
    body_xyxy: tuple[int, int, int, int]
    plate_xyxy: tuple[int, int, int, int]
    w: float
    cx: float
    yb: float


class _Scene:
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

    def place(self, v: _Vehicle, t: float) -> _Placed:
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
        return _Placed(v, body, plate, w, cx, yb)

    def draw_vehicle(self, img: NDArray[np.uint8], p: _Placed) -> None:
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
        _paste(img, np.asarray(plate, np.uint8), x0, y0)


def _paste(img: NDArray[np.uint8], patch: NDArray[np.uint8], x0: int, y0: int) -> None:
    h, w = img.shape[:2]
    ph, pw = patch.shape[:2]
    cx0, cy0, cx1, cy1 = max(0, x0), max(0, y0), min(w, x0 + pw), min(h, y0 + ph)
    if cx1 <= cx0 or cy1 <= cy0:
        return
    img[cy0:cy1, cx0:cx1] = patch[cy0 - y0 : cy1 - y0, cx0 - x0 : cx1 - x0]


def _overlaps(a: tuple[int, int, int, int], b: tuple[int, int, int, int]) -> bool:
    return a[0] < b[2] and b[0] < a[2] and a[1] < b[3] and b[1] < a[3]


def _legible(p: _Placed, nearer: Sequence[_Placed], resolution_wh: tuple[int, int]) -> bool:
    x0, y0, x1, y1 = p.plate_xyxy
    if y1 - y0 < LEGIBLE_PLATE_PX:
        return False
    if x0 < 0 or y0 < 0 or x1 > resolution_wh[0] or y1 > resolution_wh[1]:
        return False
    return not any(_overlaps(p.plate_xyxy, q.body_xyxy) for q in nearer)


def _schedule(texts: Sequence[str], duration_s: float, rng: np.random.Generator) -> list[_Vehicle]:
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
    out: list[_Vehicle] = []
    for i, text in enumerate(texts):
        t0 = 0.1 + i * spacing
        lane = lanes[i % 3]
        if lane == 0:  # ahead in our lane, pulling away
            w0, w1 = float(rng.uniform(430, 470)), float(rng.uniform(90, 120))
        else:  # slower car in the next lane; we catch up and it leaves the frame sideways
            w0, w1 = float(rng.uniform(110, 130)), float(rng.uniform(500, 540))
        colour = _BODY_COLOURS[int(rng.integers(len(_BODY_COLOURS)))]
        out.append(_Vehicle(text, lane, t0, t0 + visible, w0, w1, colour, render_plate(text, 120)))
    return out


# --- GPS track --------------------------------------------------------------------


def _nmea_checksum(body: str) -> str:
    cs = 0
    for ch in body:
        cs ^= ord(ch)
    return f"{cs:02X}"


def _nmea_coord(value: float, deg_width: int, pos: str, neg: str) -> tuple[str, float]:
    """``ddmm.mmmmm`` text and the exact value that text encodes."""
    hemi = pos if value >= 0 else neg
    a = abs(value)
    total_min = round(a * 60, 5)
    deg = int(total_min // 60)
    minutes = total_min - deg * 60
    text = f"{deg:0{deg_width}d}{minutes:08.5f}"
    exact = deg + float(f"{minutes:.5f}") / 60
    return f"{text},{hemi}", exact if value >= 0 else -exact


def nmea_lines(fixes: Sequence[GpsFix]) -> list[str]:
    """Dashcam-style NMEA: ``[unix_ms]$GPRMC,...*hh`` then ``[unix_ms]$GPGGA,...*hh`` per fix."""
    lines: list[str] = []
    for f in fixes:
        when = datetime.fromtimestamp(f.timestamp_ms / 1000, UTC)
        hms = when.strftime("%H%M%S") + f".{when.microsecond // 10000:02d}"
        lat, _ = _nmea_coord(f.lat, 2, "N", "S")
        lon, _ = _nmea_coord(f.lon, 3, "E", "W")
        knots = (f.speed_mps or 0.0) / (1852 / 3600)
        course = f.bearing_deg or 0.0
        rmc = f"GPRMC,{hms},A,{lat},{lon},{knots:.2f},{course:.1f},{when:%d%m%y},,,A"
        alt = f.altitude_m or 0.0
        gga = f"GPGGA,{hms},{lat},{lon},1,09,0.9,{alt:.1f},M,47.0,M,,"
        for body in (rmc, gga):
            lines.append(f"[{f.timestamp_ms}]${body}*{_nmea_checksum(body)}")
    return lines


def _track(start_utc: datetime, duration_s: float, rng: np.random.Generator) -> list[GpsFix]:
    """1 Hz fixes from 3 s before the clip to 3 s after, along a gentle curve."""
    radius_m = 6_371_000.0
    t_first = math.floor(start_utc.timestamp()) - 3
    t_last = math.ceil(start_utc.timestamp() + duration_s) + 3
    lat, lon = (
        51.5007 + float(rng.uniform(-0.002, 0.002)),
        -0.1246 + float(rng.uniform(-0.002, 0.002)),
    )
    bearing = float(rng.uniform(40.0, 80.0))
    turn = float(rng.uniform(0.8, 1.6)) * float(rng.choice([-1.0, 1.0]))
    base_speed = float(rng.uniform(12.5, 14.5))
    altitude = float(rng.uniform(10.0, 30.0))
    fixes: list[GpsFix] = []
    for i, sec in enumerate(range(t_first, t_last + 1)):
        speed = round(base_speed + 0.8 * math.sin(i / 7.0), 2)
        heading = (bearing + turn * i) % 360.0
        _, lat_exact = _nmea_coord(lat, 2, "N", "S")
        _, lon_exact = _nmea_coord(lon, 3, "E", "W")
        knots = round(speed / (1852 / 3600), 2)
        fixes.append(
            GpsFix(
                timestamp_ms=sec * 1000,
                lat=lat_exact,
                lon=lon_exact,
                speed_mps=knots * (1852 / 3600),
                bearing_deg=round(heading, 1),
                altitude_m=round(altitude + 0.5 * math.sin(i / 5.0), 1),
            )
        )
        rad = math.radians(heading)
        lat += math.degrees(speed * math.cos(rad) / radius_m)
        lon += math.degrees(speed * math.sin(rad) / (radius_m * math.cos(math.radians(lat))))
    return fixes


# --- encoding ---------------------------------------------------------------------


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
) -> SyntheticClip:
    """Write ``<out_dir>/<name>.<container>`` and ``<out_dir>/<name>.gps``; return ground truth.

    ``plates`` overrides the generated plate texts (its length then sets the vehicle
    count). ``codec`` is any FFmpeg encoder (``libx264``, ``libx265``, ``mpeg4``,
    ``mjpeg``); ``container`` is the file extension (``mp4``, ``mov``, ``mkv``, ``avi``).
    Example::

        clip = make_clip(tmp, duration_s=6, n_vehicles=2)
        clip.plates[0].text  # 'KX52ABC'
    """
    width, height = resolution_wh
    if width < 160 or height < 120 or width % 2 or height % 2:
        raise InputError(f"resolution_wh must be even and at least 160x120, got {resolution_wh}")
    if duration_s <= 0.5 or fps <= 0:
        raise InputError(f"need duration_s > 0.5 and fps > 0, got {duration_s}, {fps}")
    rng = np.random.default_rng(seed)
    texts = list(plates) if plates is not None else plate_texts(n_vehicles, rng)
    if len(set(texts)) != len(texts):
        raise InputError(f"plate texts must be distinct, got {texts}")
    start = start_utc.astimezone(UTC) if start_utc is not None else _default_start(seed)
    scene = _Scene(resolution_wh, rng)
    vehicles = _schedule(texts, duration_s, rng)
    fixes = _track(start, duration_s, rng)

    out_dir = Path(out_dir)
    out_dir.mkdir(parents=True, exist_ok=True)
    video_path = out_dir / f"{name}.{container}"
    gps_path = out_dir / f"{name}.gps"
    gps_path.write_text("\n".join(nmea_lines(fixes)) + "\n", encoding="ascii")

    n_frames = round(duration_s * fps)
    spans: dict[str, list[float]] = {}
    options = {"movflags": "+faststart"} if container in ("mp4", "mov") else {}
    out = av.open(str(video_path), mode="w", options=options)
    try:
        out.metadata["creation_time"] = start.strftime("%Y-%m-%dT%H:%M:%S.%fZ")
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
        for i in range(n_frames):
            t = i / fps
            np.copyto(img, scene.background)
            travelled = sum_speed(fixes, start, t)
            scene.draw_dashes(img, travelled)
            placed = sorted(
                (scene.place(v, t) for v in vehicles if v.t0 <= t <= v.t1), key=lambda p: p.w
            )
            for j, p in enumerate(placed):
                scene.draw_vehicle(img, p)
                if _legible(p, placed[j + 1 :], resolution_wh):
                    span = spans.setdefault(p.vehicle.text, [t, t])
                    span[1] = t
            frame = av.VideoFrame.from_ndarray(img, format="bgr24")
            frame.pts = i
            frame.time_base = Fraction(1, fps)
            for packet in stream.encode(frame):
                out.mux(packet)
        for packet in stream.encode(None):
            out.mux(packet)
    finally:
        out.close()

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
    )


def sum_speed(fixes: Sequence[GpsFix], start: datetime, t: float) -> float:
    """Metres driven ``t`` seconds into the clip (speed of the fix before each second)."""
    t0_ms = start.timestamp() * 1000 + t * 1000
    dist = 0.0
    start_ms = start.timestamp() * 1000
    for a, b in itertools.pairwise(fixes):
        lo, hi = max(a.timestamp_ms, start_ms), min(b.timestamp_ms, t0_ms)
        if hi > lo:
            dist += (a.speed_mps or 0.0) * (hi - lo) / 1000
    return dist


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
    scene = _Scene(resolution_wh, rng)
    img = scene.background.copy()
    scene.draw_dashes(img, float(rng.uniform(0, 9)))
    lanes = [0, -1, 1][: len(plates)]
    results: list[tuple[str, tuple[int, int, int, int]]] = []
    placed: list[_Placed] = []
    for text, lane in zip(plates, lanes, strict=True):
        w = float(rng.uniform(330, 380)) if lane == 0 else float(rng.uniform(300, 340))
        colour = _BODY_COLOURS[int(rng.integers(len(_BODY_COLOURS)))]
        v = _Vehicle(text, lane, 0.0, 1.0, w, w, colour, render_plate(text, 120))
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
