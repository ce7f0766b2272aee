"""ISO base media (MP4/MOV) boxes: walk them in a file, and build new ones.

Only what the telemetry readers and the synthetic clip writer need: box headers
(32-bit, 64-bit and to-end-of-file sizes), children of a container box, and the few
sample-table boxes a timed-metadata track is made of. Box types are four-character
codes as ``str`` (``"moov"``, ``"gps "``).
"""

from __future__ import annotations

import struct
from collections.abc import Iterator, Sequence
from dataclasses import dataclass
from typing import BinaryIO

# Container boxes whose payload is only child boxes (what ``find`` descends into).
CONTAINERS = frozenset({"moov", "trak", "mdia", "minf", "stbl", "dinf", "edts", "udta"})


@dataclass(frozen=True)
class Box:
    """One box: ``kind`` at file ``offset``, ``size`` bytes including its header."""

    kind: str
    offset: int
    header_size: int
    size: int

    @property
    def payload_offset(self) -> int:
        return self.offset + self.header_size

    @property
    def payload_size(self) -> int:
        return self.size - self.header_size

    @property
    def end(self) -> int:
        return self.offset + self.size


def iter_boxes(fh: BinaryIO, start: int, end: int) -> Iterator[Box]:
    """The boxes laid end to end in ``[start, end)`` of ``fh``; stops quietly at a
    truncated or nonsensical header (a damaged file keeps what came before)."""
    pos = start
    while pos + 8 <= end:
        fh.seek(pos)
        head = fh.read(8)
        if len(head) < 8:
            return
        size, raw_kind = struct.unpack(">I4s", head)
        header = 8
        if size == 1:
            big = fh.read(8)
            if len(big) < 8:
                return
            size = struct.unpack(">Q", big)[0]
            header = 16
        elif size == 0:
            size = end - pos
        if size < header or pos + size > end:
            return
        yield Box(raw_kind.decode("latin-1"), pos, header, size)
        pos += size


def file_size(fh: BinaryIO) -> int:
    fh.seek(0, 2)
    return fh.tell()


def children(fh: BinaryIO, box: Box) -> Iterator[Box]:
    """The child boxes of a container box."""
    return iter_boxes(fh, box.payload_offset, box.end)


def find(fh: BinaryIO, parent: Box, path: Sequence[str]) -> Box | None:
    """The first box along ``path`` below ``parent`` (``["mdia", "hdlr"]``), or None."""
    box: Box | None = parent
    for kind in path:
        if box is None:
            return None
        box = next((b for b in children(fh, box) if b.kind == kind), None)
    return box


def top_level(fh: BinaryIO) -> list[Box]:
    """Every top-level box of the file (``ftyp``, ``moov``, ``mdat``, ``free``...)."""
    return list(iter_boxes(fh, 0, file_size(fh)))


def read_payload(fh: BinaryIO, box: Box, limit: int | None = None) -> bytes:
    """The payload of ``box`` (at most ``limit`` bytes)."""
    fh.seek(box.payload_offset)
    n = box.payload_size if limit is None else min(limit, box.payload_size)
    return fh.read(n)


def sample_kinds(fh: BinaryIO, moov: Box) -> dict[int, str]:
    """``{track_ID: sample entry type}`` of every ``trak`` (``{1: "avc1", 2: "gpmd"}``);
    a demuxer's stream id is the track_ID."""
    out: dict[int, str] = {}
    for trak in children(fh, moov):
        if trak.kind != "trak":
            continue
        tkhd = find(fh, trak, ["tkhd"])
        stsd = find(fh, trak, ["mdia", "minf", "stbl", "stsd"])
        if tkhd is None or stsd is None:
            continue
        head = read_payload(fh, tkhd, 24)
        entry = read_payload(fh, stsd, 16)
        if len(head) < 24 or len(entry) < 16:
            continue
        track_id = struct.unpack_from(">I", head, 20 if head[0] == 1 else 12)[0]
        out[track_id] = entry[12:16].decode("latin-1")
    return out


def is_iso_media(head: bytes) -> bool:
    """True when ``head`` starts like an MP4/MOV file (a known first box type)."""
    return len(head) >= 8 and head[4:8] in (b"ftyp", b"moov", b"mdat", b"free", b"wide", b"skip")


# --- building boxes (the synthetic clip writer) ----------------------------------------


def box(kind: str, payload: bytes) -> bytes:
    """A box with a 32-bit size (or a 64-bit one when it does not fit)."""
    code = kind.encode("latin-1")
    if len(code) != 4:
        raise ValueError(f"box type must be 4 characters, got {kind!r}")
    if len(payload) + 8 < 2**32:
        return struct.pack(">I4s", len(payload) + 8, code) + payload
    return struct.pack(">I4sQ", 1, code, len(payload) + 16) + payload


def full_box(kind: str, version: int, flags: int, payload: bytes) -> bytes:
    """A box whose payload starts with a version byte and 24 bits of flags."""
    return box(kind, struct.pack(">I", (version << 24) | flags) + payload)


def sample_table(
    entry: bytes, durations: Sequence[int], sizes: Sequence[int], offsets: Sequence[int]
) -> bytes:
    """``stbl`` for one sample per chunk: description ``entry``, and per sample its
    duration (media time scale), size and file offset."""
    stsd = full_box("stsd", 0, 0, struct.pack(">I", 1) + entry)
    runs: list[tuple[int, int]] = []
    for d in durations:
        if runs and runs[-1][1] == d:
            runs[-1] = (runs[-1][0] + 1, d)
        else:
            runs.append((1, d))
    stts = full_box(
        "stts", 0, 0, struct.pack(">I", len(runs)) + b"".join(struct.pack(">II", *r) for r in runs)
    )
    stsc = full_box("stsc", 0, 0, struct.pack(">IIII", 1, 1, 1, 1))
    stsz = full_box("stsz", 0, 0, struct.pack(f">II{len(sizes)}I", 0, len(sizes), *sizes))
    if offsets and max(offsets) >= 2**32:
        chunk = full_box("co64", 0, 0, struct.pack(f">I{len(offsets)}Q", len(offsets), *offsets))
    else:
        chunk = full_box("stco", 0, 0, struct.pack(f">I{len(offsets)}I", len(offsets), *offsets))
    return box("stbl", stsd + stts + stsc + stsz + chunk)
