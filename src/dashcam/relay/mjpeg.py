"""Pure helpers for camera streams: MJPEG multipart parsing, JPEG size, frame sampling.

MJPEG over HTTP is ``multipart/x-mixed-replace; boundary=X`` where every part is one JPEG.
Cameras disagree about headers and line endings, so the parser simply looks for the JPEG
start/end markers between boundaries; it is fed arbitrary chunks and yields whole images.
"""

from __future__ import annotations

from collections.abc import Iterator

SOI = b"\xff\xd8"
EOI = b"\xff\xd9"


class MjpegParser:
    """Feed bytes, get complete JPEGs.

    >>> p = MjpegParser()
    >>> list(p.feed(b"--x\\r\\nContent-Type: image/jpeg\\r\\n\\r\\n\\xff\\xd8ab"))
    []
    >>> list(p.feed(b"c\\xff\\xd9\\r\\n--x"))
    [b'\\xff\\xd8abc\\xff\\xd9']
    """

    def __init__(self, max_frame_bytes: int = 16 * 1024 * 1024) -> None:
        self._buf = bytearray()
        self.max_frame_bytes = max_frame_bytes
        self.discarded = 0

    def feed(self, chunk: bytes) -> Iterator[bytes]:
        self._buf += chunk
        while True:
            start = self._buf.find(SOI)
            if start < 0:
                # keep a trailing 0xff that may begin a marker
                del self._buf[: max(0, len(self._buf) - 1)]
                return
            end = self._buf.find(EOI, start + 2)
            if end < 0:
                if start:
                    del self._buf[:start]
                if len(self._buf) > self.max_frame_bytes:
                    self._buf.clear()
                    self.discarded += 1
                return
            yield bytes(self._buf[start : end + 2])
            del self._buf[: end + 2]


def jpeg_size(jpeg: bytes) -> tuple[int, int] | None:
    """``(width, height)`` from a JPEG's start-of-frame header, or ``None`` if not found."""
    if not jpeg.startswith(SOI):
        return None
    i = 2
    n = len(jpeg)
    while i + 9 < n:
        if jpeg[i] != 0xFF:
            i += 1
            continue
        marker = jpeg[i + 1]
        if marker in (0xD8, 0x01) or 0xD0 <= marker <= 0xD7 or marker == 0xFF:
            i += 1 if marker == 0xFF else 2
            continue
        length = int.from_bytes(jpeg[i + 2 : i + 4], "big")
        if 0xC0 <= marker <= 0xCF and marker not in (0xC4, 0xC8, 0xCC):
            height = int.from_bytes(jpeg[i + 5 : i + 7], "big")
            width = int.from_bytes(jpeg[i + 7 : i + 9], "big")
            return width, height
        i += 2 + length
    return None


class FrameSampler:
    """Keep frames at ``fps`` on a given time axis (seconds); the rest are skipped.

    >>> s = FrameSampler(fps=2.0)
    >>> [t for t in (0.0, 0.1, 0.5, 0.6, 1.0, 1.2) if s.take(t)]
    [0.0, 0.5, 1.0]
    """

    def __init__(self, fps: float) -> None:
        if fps <= 0:
            raise ValueError(f"fps must be positive, got {fps}")
        self.period_s = 1.0 / fps
        self._next: float | None = None

    def take(self, t: float) -> bool:
        if self._next is None or t + 1e-9 >= self._next:
            base = t if self._next is None or t - self._next > self.period_s else self._next
            self._next = base + self.period_s
            return True
        return False

    def reset(self) -> None:
        self._next = None
