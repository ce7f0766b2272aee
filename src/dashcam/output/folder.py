"""One video's output folder, built beside its final place and swapped in at the end.

Readers see the previous complete folder or the new complete one, never a half-written
one; an aborted run leaves nothing behind.
"""

from __future__ import annotations

import os
import shutil
import tempfile
from pathlib import Path

import cv2
import numpy as np
from numpy.typing import NDArray

from dashcam.errors import StoreError
from dashcam.store.paths import atomic_write_text, safe_child


class OutputFolder:
    """``<root>/<video_id>/`` with ``metadata.json``, ``report.html`` and ``crops/``."""

    def __init__(self, root: Path, video_id: str) -> None:
        self.root = root
        self.final = safe_child(root, video_id)
        try:
            root.mkdir(parents=True, exist_ok=True)
            self.staging = Path(tempfile.mkdtemp(dir=root, prefix=f".{video_id}.partial-"))
        except OSError as exc:
            raise StoreError(f"cannot write outputs under {root}") from exc
        (self.staging / "crops").mkdir()
        self._done = False

    def write_crop(self, rel_path: str, image: NDArray[np.uint8]) -> None:
        if image.size == 0:
            return
        ok, buf = cv2.imencode(".jpg", image, [cv2.IMWRITE_JPEG_QUALITY, 92])
        if ok:
            (self.staging / rel_path).write_bytes(buf.tobytes())

    def write_text(self, rel_path: str, text: str) -> None:
        atomic_write_text(self.staging / rel_path, text)

    def commit(self) -> Path:
        """Swap the staged folder into place (replacing an earlier run's folder)."""
        old = None
        try:
            if self.final.exists():
                old = self.final.with_name(f".{self.final.name}.old-{os.getpid()}")
                os.replace(self.final, old)
            os.replace(self.staging, self.final)
        except OSError as exc:
            if old is not None and not self.final.exists():
                os.replace(old, self.final)
            raise StoreError(f"cannot publish outputs to {self.final}") from exc
        if old is not None:
            shutil.rmtree(old, ignore_errors=True)
        self._done = True
        return self.final

    def abort(self) -> None:
        if not self._done:
            shutil.rmtree(self.staging, ignore_errors=True)
            self._done = True
