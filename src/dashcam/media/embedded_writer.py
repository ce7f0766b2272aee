"""Put a known GPS track inside an MP4 the way cameras do (for tests and demos).

``embed_track`` rewrites a clip (e.g. one from ``make_clip``) with a GoPro ``gpmd``
track, a Google ``camm`` track, Novatek ``freeGPS`` blocks or a BlackVue ``free``
box, and returns the samples exactly as stored: what a reader must give back, with
UTC and video times and speeds in m/s. The samples follow ``track`` (any GPS track,
interpolated) with the video's first frame at UTC ``gps_start_ms``.

Rates: GPMF 18 Hz in 1.001 s payloads, CAMM 10 Hz, freeGPS 1 Hz, BlackVue 1 Hz at
half-second offsets (from half a second before the first frame) plus a 10 Hz
accelerometer; every source has a sample at or after the last frame.
"""

from __future__ import annotations

import io
import math
import os
import struct
import tempfile
from collections.abc import Callable, Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import NamedTuple

import numpy as np

from dashcam.domain.gps import GpsFix, GpsTrack, positions_at
from dashcam.errors import InputError
from dashcam.media import blackvue, camm, freegps, gpmf
from dashcam.media.blackvue import AccelSample
from dashcam.media.drive import nmea_coord_exact, nmea_lines
from dashcam.media.embedded import EmbeddedSource
from dashcam.media.mp4_boxes import (
    box,
    full_box,
    iter_boxes,
    sample_table,
    top_level,
)
from dashcam.media.nmea import KNOT_MPS

GPMF_PAYLOAD_MS = 1001
GPMF_RATE = 18
CAMM_STEP_MS = 100
_F32 = np.float32


@dataclass(frozen=True)
class EmbeddedTruth:
    """What was written: ``fixes`` as a reader must return them, ``accel`` (BlackVue)."""

    source: EmbeddedSource
    fixes: tuple[GpsFix, ...]
    accel: tuple[AccelSample, ...] = ()


def _f32(x: float) -> float:
    return float(_F32(x))


class _Row(NamedTuple):
    lat: float
    lon: float
    alt: float
    speed: float
    bearing: float


class _Sampler:
    """Positions of the drive at UTC times (times must lie on the track)."""

    def __init__(self, track: GpsTrack) -> None:
        self.track = track

    def at(self, utc_ms: Sequence[int]) -> list[_Row]:
        p = positions_at(self.track, np.array(utc_ms, dtype=np.int64), max_gap_s=1e9)
        if not p.known.all():
            raise InputError("embedded samples fall outside the GPS track")
        cols = [np.nan_to_num(c) for c in (p.lat, p.lon, p.altitude_m, p.speed_mps, p.bearing_deg)]
        return [_Row(*(float(c[i]) for c in cols)) for i in range(len(utc_ms))]


# --- the samples of each source, quantised as stored ------------------------------------


def _gpmf(
    s: _Sampler, gps_start_ms: int, duration_ms: int
) -> tuple[list[GpsFix], list[bytes], list[int]]:
    fixes: list[GpsFix] = []
    payloads: list[bytes] = []
    offsets = [GPMF_PAYLOAD_MS * k / GPMF_RATE for k in range(GPMF_RATE)]
    count = math.ceil((duration_ms - offsets[-1]) / GPMF_PAYLOAD_MS) + 1  # past the last frame
    for p in range(max(count, 1)):
        start = p * GPMF_PAYLOAD_MS
        rows = s.at([round(gps_start_ms + start + o) for o in offsets])
        stored = [
            (
                round(lat * 1e7) / 1e7,
                round(lon * 1e7) / 1e7,
                round(alt * 1e3) / 1e3,
                round(v * 1e3) / 1e3,
            )
            for lat, lon, alt, v, _ in rows
        ]
        payloads.append(gpmf.gps5_payload(stored, gps_start_ms + start))
        for o, (lat, lon, alt, v) in zip(offsets, stored, strict=True):
            fixes.append(
                GpsFix(round(gps_start_ms + start + o), lat, lon, v, None, alt, round(start + o))
            )
    return fixes, payloads, [GPMF_PAYLOAD_MS] * len(payloads)


def _camm(
    s: _Sampler, gps_start_ms: int, duration_ms: int
) -> tuple[list[GpsFix], list[bytes], list[int]]:
    times = list(range(0, duration_ms + CAMM_STEP_MS, CAMM_STEP_MS))
    rows = s.at([gps_start_ms + t for t in times])
    fixes: list[GpsFix] = []
    packets: list[bytes] = []
    for t, (lat, lon, alt, v, b) in zip(times, rows, strict=True):
        ve, vn = _f32(v * math.sin(math.radians(b))), _f32(v * math.cos(math.radians(b)))
        packets.append(camm.type6_packet(gps_start_ms + t, lat, lon, alt, (ve, vn)))
        speed = math.hypot(ve, vn)
        bearing = math.degrees(math.atan2(ve, vn)) % 360.0 if speed > 0 else None
        fixes.append(GpsFix(gps_start_ms + t, lat, lon, speed, bearing, _f32(alt), t))
    return fixes, packets, [CAMM_STEP_MS] * len(packets)


def _freegps(s: _Sampler, gps_start_ms: int, duration_ms: int) -> tuple[list[GpsFix], list[bytes]]:
    if gps_start_ms % 1000:
        raise InputError("freeGPS stores whole seconds: gps_start_ms must be a whole second")
    times = list(range(0, duration_ms + 1000, freegps.BLOCK_INTERVAL_MS))
    rows = s.at([gps_start_ms + t for t in times])
    fixes: list[GpsFix] = []
    blocks: list[bytes] = []
    for t, (lat, lon, _alt, v, b) in zip(times, rows, strict=True):
        blocks.append(freegps.block(gps_start_ms + t, lat, lon, v, b))
        fixes.append(
            GpsFix(
                gps_start_ms + t,
                freegps.ddmm_to_deg(_f32(freegps.deg_to_ddmm(lat)), "N" if lat >= 0 else "S"),
                freegps.ddmm_to_deg(_f32(freegps.deg_to_ddmm(lon)), "E" if lon >= 0 else "W"),
                _f32(v / KNOT_MPS) * KNOT_MPS,
                _f32(b),
                None,
                t,
            )
        )
    return fixes, blocks


def _blackvue(
    s: _Sampler, gps_start_ms: int, duration_ms: int
) -> tuple[list[GpsFix], bytes, list[AccelSample]]:
    if gps_start_ms % 10:
        raise InputError(
            "NMEA stores hundredths of a second: gps_start_ms must be a multiple of 10"
        )
    times = list(range(-500, duration_ms + 1000, 1000))
    rows = s.at([gps_start_ms + t for t in times])
    fixes = [
        GpsFix(
            gps_start_ms + t,
            nmea_coord_exact(lat, 2),
            nmea_coord_exact(lon, 3),
            round(v / KNOT_MPS, 2) * KNOT_MPS,
            round(b, 1),
            round(alt, 1),
            t,
        )
        for t, (lat, lon, alt, v, b) in zip(times, rows, strict=True)
    ]
    accel = [
        AccelSample(t, round(30 * math.sin(t / 700)), round(20 * math.cos(t / 900)), 100)
        for t in range(0, duration_ms, 100)
    ]
    return fixes, blackvue.free_box(gps_start_ms, nmea_lines(fixes), accel), accel


# --- the MP4 surgery -------------------------------------------------------------------------


def _shift_chunk_offsets(moov: bytearray, start: int, end: int, delta: int) -> None:
    """Add ``delta`` to every ``stco``/``co64`` entry inside ``moov[start:end]``."""
    fh = io.BytesIO(bytes(moov))
    for b in iter_boxes(fh, start, end):
        if b.kind in ("trak", "mdia", "minf", "stbl"):
            _shift_chunk_offsets(moov, b.payload_offset, b.end, delta)
        elif b.kind in ("stco", "co64"):
            wide = b.kind == "co64"
            (count,) = struct.unpack_from(">I", moov, b.payload_offset + 4)
            fmt, step = (">Q", 8) if wide else (">I", 4)
            for i in range(count):
                at = b.payload_offset + 8 + i * step
                (value,) = struct.unpack_from(fmt, moov, at)
                struct.pack_into(fmt, moov, at, value + delta)


def _trak(
    track_id: int,
    handler: str,
    handler_name: str,
    entry: bytes,
    durations: Sequence[int],
    sizes: Sequence[int],
    offsets: Sequence[int],
    movie_timescale: int,
) -> bytes:
    """A timed-metadata track, media time scale 1 kHz, one sample per chunk."""
    total = sum(durations)
    matrix = struct.pack(">9I", 0x10000, 0, 0, 0, 0x10000, 0, 0, 0, 0x40000000)
    tkhd = full_box(
        "tkhd",
        0,
        3,
        struct.pack(">IIIII", 0, 0, track_id, 0, total * movie_timescale // 1000)
        + bytes(8)
        + struct.pack(">hhhH", 0, 0, 0, 0)
        + matrix
        + struct.pack(">II", 0, 0),
    )
    mdhd = full_box("mdhd", 0, 0, struct.pack(">IIIIHH", 0, 0, 1000, total, 0x55C4, 0))
    hdlr = full_box(
        "hdlr", 0, 0, struct.pack(">I4s12x", 0, handler.encode()) + handler_name.encode() + b"\0"
    )
    dinf = box("dinf", full_box("dref", 0, 0, struct.pack(">I", 1) + full_box("url ", 0, 1, b"")))
    minf = box(
        "minf", full_box("nmhd", 0, 0, b"") + dinf + sample_table(entry, durations, sizes, offsets)
    )
    return box("trak", tkhd + box("mdia", mdhd + hdlr + minf))


def _rewrite(
    src: Path,
    dst: Path,
    *,
    top_extra: bytes = b"",
    samples: Sequence[bytes] = (),
    moov_extra: Callable[[list[int], int, int], bytes] | None = None,
) -> None:
    """``dst`` = ftyp, ``top_extra``, moov (+ ``moov_extra(offsets, next_track_id,
    movie_timescale)``), then mdat holding the video and ``samples`` at ``offsets``."""
    with src.open("rb") as fh:
        boxes = {b.kind: b for b in top_level(fh)}
        if not {"ftyp", "moov", "mdat"} <= boxes.keys():
            raise InputError(f"{src}: not an MP4 with ftyp, moov and mdat")
        fh.seek(boxes["ftyp"].offset)
        ftyp = fh.read(boxes["ftyp"].size)
        fh.seek(boxes["moov"].payload_offset)
        moov_body = bytearray(fh.read(boxes["moov"].payload_size))
        fh.seek(boxes["mdat"].payload_offset)
        media = fh.read(boxes["mdat"].payload_size)
    mvhd = next(
        b for b in iter_boxes(io.BytesIO(bytes(moov_body)), 0, len(moov_body)) if b.kind == "mvhd"
    )
    version = moov_body[mvhd.payload_offset]
    timescale = struct.unpack_from(">I", moov_body, mvhd.payload_offset + (20 if version else 12))[
        0
    ]
    next_id = struct.unpack_from(">I", moov_body, mvhd.end - 4)[0]
    struct.pack_into(">I", moov_body, mvhd.end - 4, next_id + 1)

    # new boxes go after the tracks but before udta, as cameras write them (ExifTool
    # reads a Novatek 'gps ' table only outside udta's metadata handler)
    udta = next(
        (
            b
            for b in iter_boxes(io.BytesIO(bytes(moov_body)), 0, len(moov_body))
            if b.kind == "udta"
        ),
        None,
    )
    cut = udta.offset if udta is not None else len(moov_body)

    def layout(offsets: list[int]) -> bytes:
        extra = moov_extra(offsets, next_id, timescale) if moov_extra else b""
        return box("moov", bytes(moov_body[:cut]) + extra + bytes(moov_body[cut:]))

    head_len = len(ftyp) + len(top_extra)
    moov_len = len(layout([0] * len(samples)))
    mdat = box("mdat", media + b"".join(samples))
    payload_at = head_len + moov_len + (len(mdat) - len(media) - sum(map(len, samples)))
    offsets, pos = [], payload_at + len(media)
    for s in samples:
        offsets.append(pos)
        pos += len(s)
    _shift_chunk_offsets(moov_body, 0, len(moov_body), payload_at - boxes["mdat"].payload_offset)
    moov = layout(offsets)
    if len(moov) != moov_len:
        raise AssertionError("moov changed size between layout passes")
    fd, tmp = tempfile.mkstemp(prefix=f".{dst.name}.", dir=dst.parent)
    try:
        with os.fdopen(fd, "wb") as out:
            out.write(ftyp + top_extra + moov + mdat)
        os.replace(tmp, dst)
    except BaseException:
        Path(tmp).unlink(missing_ok=True)
        raise


def embed_track(
    video: Path,
    source: EmbeddedSource,
    track: GpsTrack,
    *,
    gps_start_ms: int,
    duration_s: float,
    out: Path | None = None,
) -> EmbeddedTruth:
    """Write ``track`` into ``video`` (in place, or into ``out``) as ``source`` stores it.

    Example::

        truth = embed_track(clip.video_path, EmbeddedSource.GPMF, GpsTrack(clip.fixes),
                            gps_start_ms=start_ms, duration_s=clip.duration_s)
        len(truth.fixes)  # 18 per 1.001 s payload
    """
    video = Path(video)
    dst = Path(out) if out is not None else video
    sampler = _Sampler(track)
    duration_ms = round(duration_s * 1000)
    if source in (EmbeddedSource.GPMF, EmbeddedSource.CAMM):
        make = _gpmf if source is EmbeddedSource.GPMF else _camm
        fixes, samples, durations = make(sampler, gps_start_ms, duration_ms)
        handler, name, kind = (
            ("meta", "GoPro MET", "gpmd")
            if source is EmbeddedSource.GPMF
            else ("camm", "CameraMetadataMotionHandler", "camm")
        )
        entry = box(kind, bytes(6) + struct.pack(">H", 1) + (bytes(4) if kind == "gpmd" else b""))

        def trak(offsets: list[int], track_id: int, timescale: int) -> bytes:
            sizes = [len(s) for s in samples]
            return _trak(track_id, handler, name, entry, durations, sizes, offsets, timescale)

        _rewrite(video, dst, samples=samples, moov_extra=trak)
        return EmbeddedTruth(source, tuple(fixes))
    if source is EmbeddedSource.FREEGPS:
        fixes, blocks = _freegps(sampler, gps_start_ms, duration_ms)

        def table(offsets: list[int], _id: int, _ts: int) -> bytes:
            return box(
                "gps ", freegps.table([(o, len(b)) for o, b in zip(offsets, blocks, strict=True)])
            )

        _rewrite(video, dst, samples=blocks, moov_extra=table)
        return EmbeddedTruth(source, tuple(fixes))
    fixes, free, accel = _blackvue(sampler, gps_start_ms, duration_ms)
    _rewrite(video, dst, top_extra=free)
    return EmbeddedTruth(source, tuple(fixes), tuple(accel))
