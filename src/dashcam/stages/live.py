"""LIVE_TRACK: one live camera's plate reads, frame by frame in capture order -> sightings.

The live face of the recorded pipeline's VEHICLE_TRACK and PLATE_SMOOTH stages: the same
:class:`~dashcam.stages.track.TrackStage` (tracker, learned overlay) and
:class:`~dashcam.stages.smooth.SmoothStage` (format-aware fusion), fed one camera's frames.
A camera has no end of video, so a track ends by time: when no read has joined it for
``close_after_s`` seconds of the camera's clock. Then it becomes one sighting, with the
crop of the read the fusion chose as best.

Pure: reads, crops and times in (Unix seconds, passed by the caller), records out.
"""

from __future__ import annotations

import sys
from collections.abc import Sequence
from dataclasses import dataclass, replace

import numpy as np
from numpy.typing import NDArray

from dashcam.domain.detections import Detections
from dashcam.domain.ids import camera_source
from dashcam.domain.sighting import Sighting
from dashcam.domain.tracking import TrackerConfig
from dashcam.stages.records import FrameAnalysis
from dashcam.stages.smooth import SmoothStage
from dashcam.stages.track import TrackEvidence, TrackStage

Box = tuple[float, float, float, float]


@dataclass(frozen=True)
class LiveRead:
    """One plate read on one frame of a camera, as a worker reported it."""

    text: str
    confidence: float
    xyxy: Box
    #: The read's best texts under the plate formats with their probabilities.
    alternatives: tuple[tuple[str, float], ...] = ()


@dataclass(frozen=True)
class LiveSighting:
    """A closed track of a camera: its sighting (times on the Unix clock, ``video_id``
    the camera's source id) and the BGR crop of its best read (None when not kept)."""

    camera: str
    sighting: Sighting
    crop: NDArray[np.uint8] | None


def _ms(t_s: float | None) -> int | None:
    return None if t_s is None else round(t_s * 1000)


class CameraTracks:
    """Tracks of one camera. Frames must come in capture order (``frame_index`` rising).

    >>> tracks = CameraTracks("gate", close_after_s=2.0)
    >>> crop = np.zeros((20, 60, 3), np.uint8)
    >>> for k in range(3):
    ...     _ = tracks.add(k, 100.0 + k * 0.2, [LiveRead("AB12CDE", 0.9, (10, 10, 70, 30))], [crop])
    >>> tracks.close_unseen(101.0), [s.sighting.plate_text for s in tracks.close_unseen(103.0)]
    ([], ['AB12CDE'])
    """

    def __init__(
        self, camera: str, *, close_after_s: float, smooth: SmoothStage | None = None
    ) -> None:
        if close_after_s <= 0:
            raise ValueError(f"close_after_s: expected > 0, got {close_after_s}")
        self.camera = camera
        self.close_after_s = close_after_s
        self.source = camera_source(camera)
        # tracks end by time (close_unseen), never by a count of frames without them
        self.stage = TrackStage(self.source, TrackerConfig(max_misses=sys.maxsize))
        self.smooth = smooth or SmoothStage()
        self._crops: dict[str, tuple[int, NDArray[np.uint8]]] = {}
        self._last_frame = -1

    @property
    def open_tracks(self) -> int:
        return self.stage.open_tracks

    def add(
        self,
        frame_index: int,
        timestamp_s: float,
        reads: Sequence[LiveRead],
        crops: Sequence[NDArray[np.uint8]],
    ) -> list[LiveSighting]:
        """One frame's reads (``crops`` parallel to them) -> the sightings it closed.

        Tracks unseen for ``close_after_s`` before this frame close first, so a plate that
        comes back after that is a new sighting."""
        if len(crops) != len(reads):
            raise ValueError(f"crops: expected {len(reads)} (one per read), got {len(crops)}")
        closed = self.close_unseen(timestamp_s)
        self._last_frame = frame_index
        analysis = FrameAnalysis(
            video_id=self.source,
            frame_index=frame_index,
            pts_s=timestamp_s,
            plates=Detections.from_boxes(
                [r.xyxy for r in reads] or np.zeros((0, 4)), [r.confidence for r in reads]
            ),
            plate_texts=[r.text for r in reads],
            plate_confidences=[r.confidence for r in reads],
            plate_raw_texts=[r.text for r in reads],
            plate_alternatives=[r.alternatives for r in reads],
            plate_crops=list(crops),
        )
        observations, ended = self.stage.run(analysis)
        # run() dropped overlay boxes from ``analysis``: its crops are the observations'
        for obs, crop in zip(observations, analysis.plate_crops, strict=False):
            if obs.crop_path is not None:
                self._crops[obs.crop_path] = (frame_index, crop)
        return closed + self._sightings(ended)

    def close_unseen(self, now_s: float) -> list[LiveSighting]:
        """Close the tracks no read has joined since ``now_s - close_after_s``."""
        return self._sightings(self.stage.close_unseen_since(now_s - self.close_after_s))

    def close(self) -> list[LiveSighting]:
        """Close every open track (the relay is stopping)."""
        return self._sightings(self.stage.close())

    def _sightings(self, evidence: list[TrackEvidence]) -> list[LiveSighting]:
        out: list[LiveSighting] = []
        for ev in evidence:
            sg = self.smooth.run(ev)
            if sg is None:
                continue
            kept = self._crops.get(sg.best_crop_path or "")
            sg = replace(
                sg,
                first_utc_ms=_ms(sg.first_s),
                last_utc_ms=_ms(sg.last_s),
                best_utc_ms=_ms(sg.best_s),
                best_crop_path=None,
            )
            out.append(LiveSighting(self.camera, sg, kept[1] if kept else None))
        if self._crops:  # keep only the crops of reads of tracks still open
            oldest = self.stage.oldest_open_frame()
            horizon = self._last_frame + 1 if oldest is None else oldest
            self._crops = {k: v for k, v in self._crops.items() if v[0] >= horizon}
        return out
