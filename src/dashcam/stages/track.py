"""VEHICLE_TRACK: associate plate (and vehicle) boxes across one video's sampled frames.

Stateful per video: one :class:`TrackStage` must see every frame of its video, in order.
It also learns where the dashcam burns its own text into the frame
(:class:`~dashcam.domain.overlay.OverlayMask`): boxes there are not tracked, and a track
that turns out to be overlay gives no sighting and no reads.
"""

from __future__ import annotations

from dataclasses import dataclass, field

import numpy as np
from numpy.typing import NDArray

from dashcam.domain.overlay import OverlayMask
from dashcam.domain.plate_text import plate_distance
from dashcam.domain.sighting import PlateObservation
from dashcam.domain.tracking import BoxTracker, Track, TrackerConfig
from dashcam.stages.records import FrameAnalysis


@dataclass
class TrackEvidence:
    """Every read of one finished track, plus its best crop."""

    video_id: str
    track_id: int
    observations: list[PlateObservation]
    best_crop: NDArray[np.uint8] | None = None
    vehicle_class: str | None = None
    vehicle_xyxy: tuple[float, float, float, float] | None = None


@dataclass
class _Open:
    observations: list[PlateObservation] = field(default_factory=list)
    best_crop: NDArray[np.uint8] | None = None
    best_score: float = -1.0
    vehicle_class: str | None = None
    vehicle_xyxy: tuple[float, float, float, float] | None = None


def crop_name(frame_index: int, k: int) -> str:
    """Relative path of the k-th plate crop of a frame inside the output folder."""
    return f"crops/f{frame_index:07d}_{k}.jpg"


def _keep_plates(analysis: FrameAnalysis, keep: list[int]) -> None:
    """Keep only the plates at indices ``keep`` (and their parallel lists)."""
    analysis.plates = analysis.plates[np.asarray(keep, dtype=np.int64)]
    for name in (
        "plate_texts",
        "plate_confidences",
        "plate_raw_texts",
        "plate_crops",
        "plate_alternatives",
    ):
        values = getattr(analysis, name)
        setattr(analysis, name, [values[k] for k in keep if k < len(values)])


def _vehicle_for(plate: NDArray[np.float32], analysis: FrameAnalysis) -> int:
    if len(analysis.vehicles) == 0:
        return -1
    cx, cy = (plate[0] + plate[2]) / 2, (plate[1] + plate[3]) / 2
    v = analysis.vehicles.xyxy
    inside = (v[:, 0] <= cx) & (cx <= v[:, 2]) & (v[:, 1] <= cy) & (cy <= v[:, 3])
    if not inside.any():
        return -1
    areas = analysis.vehicles.area
    idx = np.where(inside)[0]
    return int(idx[np.argmin(areas[idx])])


class TrackStage:
    """Feeds frames to a tracker; returns the tracks that ended with that frame."""

    def __init__(self, video_id: str, tracker: TrackerConfig | None = None) -> None:
        self.video_id = video_id
        self.tracker = BoxTracker(tracker, text_distance=plate_distance)
        self._open: dict[int, _Open] = {}
        self.overlay = OverlayMask()
        #: Tracks found to be the dashcam's overlay (their reads are not plates).
        self.overlay_tracks: set[int] = set()

    def run(self, analysis: FrameAnalysis) -> tuple[list[PlateObservation], list[TrackEvidence]]:
        """Track one frame: its observations (with track ids) and the tracks it ended.

        Boxes inside learned overlay regions are dropped from ``analysis`` first."""
        if analysis.overlay:
            self.overlay.seed(analysis.overlay)  # found by the survey before the first frame
        self.overlay.observe(analysis.pts_s, [tuple(b) for b in analysis.plates.xyxy.tolist()])
        if self.overlay.regions and len(analysis.plates):
            keep = [k for k, b in enumerate(analysis.plates.xyxy.tolist())
                    if not self.overlay.covers(b)]  # fmt: skip
            if len(keep) < len(analysis.plates):
                _keep_plates(analysis, keep)
        ids = self.tracker.update(analysis.frame_index, analysis.plates, analysis.plate_texts)
        observations: list[PlateObservation] = []
        for k, track_id in enumerate(ids.tolist()):
            box = analysis.plates.xyxy[k]
            obs = PlateObservation(
                frame_index=analysis.frame_index,
                pts_s=analysis.pts_s,
                text=analysis.plate_texts[k] if k < len(analysis.plate_texts) else "",
                confidence=analysis.plate_confidences[k]
                if k < len(analysis.plate_confidences)
                else float(analysis.plates.confidence[k]),
                xyxy=(float(box[0]), float(box[1]), float(box[2]), float(box[3])),
                detector_score=float(analysis.plates.confidence[k]),
                track_id=int(track_id),
                crop_path=crop_name(analysis.frame_index, k),
                alternatives=analysis.plate_alternatives[k]
                if k < len(analysis.plate_alternatives)
                else (),
            )
            observations.append(obs)
            state = self._open.setdefault(int(track_id), _Open())
            state.observations.append(obs)
            score = obs.confidence * (1.0 + 1e-4 * (box[2] - box[0]))
            if score > state.best_score and k < len(analysis.plate_crops):
                state.best_score = float(score)
                state.best_crop = analysis.plate_crops[k]
                vi = _vehicle_for(box, analysis)
                if vi >= 0:
                    cid = int(analysis.vehicles.class_id[vi])
                    names = analysis.vehicle_class_names
                    state.vehicle_class = names[cid] if 0 <= cid < len(names) else str(cid)
                    vb = analysis.vehicles.xyxy[vi]
                    state.vehicle_xyxy = (float(vb[0]), float(vb[1]), float(vb[2]), float(vb[3]))
        return observations, self._evidence(self.tracker.pop_finished())

    def close(self) -> list[TrackEvidence]:
        """End of video: every open track is finished."""
        return self._evidence(self.tracker.close())

    def close_unseen_since(self, before_s: float) -> list[TrackEvidence]:
        """End the tracks last seen before ``before_s`` (pts seconds): a live camera's
        tracks end by time, not by the end of a video."""
        stale = {tid for tid, st in self._open.items() if st.observations[-1].pts_s < before_s}
        if stale:
            self.tracker.end(stale)
        return self._evidence(self.tracker.pop_finished())

    @property
    def open_tracks(self) -> int:
        return len(self._open)

    def oldest_open_frame(self) -> int | None:
        """The first frame index of the oldest open track (None when none is open)."""
        firsts = [st.observations[0].frame_index for st in self._open.values()]
        return min(firsts) if firsts else None

    def kept(self, observations: list[PlateObservation]) -> list[PlateObservation]:
        """``observations`` without those of tracks found to be overlay."""
        return [o for o in observations if o.track_id not in self.overlay_tracks]

    def _evidence(self, tracks: list[Track]) -> list[TrackEvidence]:
        out = []
        for t in tracks:
            state = self._open.pop(t.track_id, None)
            if state is None:
                continue
            covered = sum(self.overlay.covers(b) for b in t.boxes)
            if self.overlay.regions and covered * 2 >= len(t.boxes):
                self.overlay_tracks.add(t.track_id)
                continue
            out.append(
                TrackEvidence(
                    video_id=self.video_id,
                    track_id=t.track_id,
                    observations=state.observations,
                    best_crop=state.best_crop,
                    vehicle_class=state.vehicle_class,
                    vehicle_xyxy=state.vehicle_xyxy,
                )
            )
        return out
