"""A small IoU + motion + text tracker for boxes seen on sampled frames (pure).

Sampled frames can be far apart (every 10th frame at 30 fps is 3 per second), so boxes
move a lot between looks: association uses IoU, centre distance relative to box size
(with a constant-velocity prediction) and, when both sides have text, plate similarity.
"""

from __future__ import annotations

from collections.abc import Callable, Collection, Sequence
from dataclasses import dataclass, field

import numpy as np

from dashcam.domain.detections import Detections, box_iou
from dashcam.domain.smoothing import is_partial_read

TextDistance = Callable[[str, str], float]


@dataclass
class Track:
    """One tracked object: boxes by sampled frame, plus the last motion estimate."""

    track_id: int
    frame_indices: list[int] = field(default_factory=list)
    boxes: list[tuple[float, float, float, float]] = field(default_factory=list)
    texts: list[str] = field(default_factory=list)
    misses: int = 0
    velocity: tuple[float, float] = (0.0, 0.0)  # centre px per source frame

    @property
    def last_box(self) -> tuple[float, float, float, float]:
        return self.boxes[-1]

    def predicted(self, frame_index: int) -> tuple[float, float, float, float]:
        dt = frame_index - self.frame_indices[-1]
        x1, y1, x2, y2 = self.last_box
        dx, dy = self.velocity[0] * dt, self.velocity[1] * dt
        return (x1 + dx, y1 + dy, x2 + dx, y2 + dy)


@dataclass(frozen=True)
class TrackerConfig:
    max_misses: int = 4  # sampled frames a track may go unseen before it ends
    min_iou: float = 0.05
    max_centre_shift: float = 3.0  # in box diagonals, after prediction
    max_text_distance: float = 2.5


def _centre(b: Sequence[float]) -> tuple[float, float]:
    return ((b[0] + b[2]) / 2.0, (b[1] + b[3]) / 2.0)


class BoxTracker:
    """Associates detections frame by frame; frames must arrive in increasing order.

    >>> t = BoxTracker()
    >>> ids = t.update(0, Detections.from_boxes([[0, 0, 10, 5]], [0.9]))
    >>> ids2 = t.update(10, Detections.from_boxes([[2, 0, 12, 5]], [0.9]))
    >>> bool(ids[0] == ids2[0])
    True
    """

    def __init__(
        self,
        config: TrackerConfig | None = None,
        text_distance: TextDistance | None = None,
    ) -> None:
        self.config = config or TrackerConfig()
        self.text_distance = text_distance
        self.active: list[Track] = []
        self.finished: list[Track] = []
        self._next_id = 1
        self._last_frame = -1

    def update(
        self, frame_index: int, dets: Detections, texts: Sequence[str] | None = None
    ) -> np.ndarray:
        """Assign track ids (returned, int64 (N,)) to the detections of one frame."""
        if frame_index <= self._last_frame:
            raise ValueError(
                f"frames must arrive in order: got {frame_index} after {self._last_frame}"
            )
        self._last_frame = frame_index
        texts = list(texts) if texts is not None else [""] * len(dets)
        ids = np.full(len(dets), -1, dtype=np.int64)
        pairs = self._candidate_pairs(frame_index, dets, texts)
        used_t: set[int] = set()
        used_d: set[int] = set()
        for _cost, ti, di in sorted(pairs):
            if ti in used_t or di in used_d:
                continue
            used_t.add(ti)
            used_d.add(di)
            self._extend(self.active[ti], frame_index, dets.xyxy[di], texts[di])
            ids[di] = self.active[ti].track_id
        for ti, track in enumerate(self.active):
            if ti not in used_t:
                track.misses += 1
        for di in range(len(dets)):
            if di not in used_d:
                track = Track(self._next_id)
                self._next_id += 1
                self._extend(track, frame_index, dets.xyxy[di], texts[di])
                self.active.append(track)
                ids[di] = track.track_id
        still: list[Track] = []
        for track in self.active:
            (self.finished if track.misses > self.config.max_misses else still).append(track)
        self.active = still
        return ids

    def pop_finished(self) -> list[Track]:
        """Tracks that ended since the last call (each returned once)."""
        done, self.finished = self.finished, []
        return done

    def end(self, track_ids: Collection[int]) -> None:
        """End the active tracks ``track_ids`` now (e.g. not seen for a while on a live
        camera); :meth:`pop_finished` returns them."""
        ending = [t for t in self.active if t.track_id in track_ids]
        self.active = [t for t in self.active if t.track_id not in track_ids]
        self.finished.extend(ending)

    def close(self) -> list[Track]:
        """End every track (end of video); returns all not yet popped."""
        self.finished.extend(self.active)
        self.active = []
        return self.pop_finished()

    def _candidate_pairs(
        self, frame_index: int, dets: Detections, texts: Sequence[str]
    ) -> list[tuple[float, int, int]]:
        if not self.active or len(dets) == 0:
            return []
        cfg = self.config
        pred = np.array([t.predicted(frame_index) for t in self.active], dtype=np.float32)
        iou = box_iou(pred, dets.xyxy)
        pairs: list[tuple[float, int, int]] = []
        for ti, track in enumerate(self.active):
            pb = pred[ti]
            diag = float(np.hypot(pb[2] - pb[0], pb[3] - pb[1])) or 1.0
            pc = _centre(pb)
            for di in range(len(dets)):
                dc = _centre(dets.xyxy[di])
                shift = float(np.hypot(dc[0] - pc[0], dc[1] - pc[1])) / diag
                if iou[ti, di] < cfg.min_iou and shift > cfg.max_centre_shift:
                    continue
                text_cost = 0.0
                last_text = next((t for t in reversed(track.texts) if t), "")
                if self.text_distance and last_text and texts[di]:
                    if is_partial_read(texts[di], last_text):
                        text_cost = 0.2
                    else:
                        d = self.text_distance(last_text, texts[di])
                        if d > cfg.max_text_distance:
                            continue
                        text_cost = d / max(len(last_text), 1)
                cost = (1.0 - float(iou[ti, di])) + 0.5 * shift + text_cost + 0.1 * track.misses
                pairs.append((cost, ti, di))
        return pairs

    @staticmethod
    def _extend(track: Track, frame_index: int, box: np.ndarray, text: str) -> None:
        b = (float(box[0]), float(box[1]), float(box[2]), float(box[3]))
        if track.frame_indices:
            dt = frame_index - track.frame_indices[-1]
            if dt > 0:
                c0, c1 = _centre(track.last_box), _centre(b)
                track.velocity = ((c1[0] - c0[0]) / dt, (c1[1] - c0[1]) / dt)
        track.frame_indices.append(frame_index)
        track.boxes.append(b)
        track.texts.append(text)
        track.misses = 0
