"""PLATE_SMOOTH: one finished track's reads → one sighting (or none)."""

from __future__ import annotations

from dashcam.domain.sighting import Sighting
from dashcam.domain.smoothing import Read, fuse_reads
from dashcam.stages.track import TrackEvidence


class SmoothStage:
    """Fuses a track's reads by character-aligned, confidence-weighted vote.

    A track becomes a sighting when it has at least ``min_reads`` reads, or one read of
    five or more characters whose confidence is at least ``single_read_confidence``.
    """

    def __init__(
        self, *, min_reads: int = 2, single_read_confidence: float = 0.95, ocr: bool = True
    ) -> None:
        self.min_reads = min_reads
        self.single_read_confidence = single_read_confidence
        self.ocr = ocr

    def run(self, ev: TrackEvidence) -> Sighting | None:
        obs = ev.observations
        if not obs:
            return None
        if self.ocr:
            fused = fuse_reads([Read(o.text, o.confidence, o.alternatives) for o in obs])
            if fused is None:
                return None
            text, conf, n = fused.text, fused.confidence, fused.n_reads
            matching = [o for o in obs if o.text == text] or obs
        else:
            text, n = "", len(obs)
            conf = sum(o.confidence for o in obs) / n
            matching = obs
        if n < self.min_reads and (conf < self.single_read_confidence or len(text) < 5):
            return None
        best = max(matching, key=lambda o: (o.confidence, o.xyxy[2] - o.xyxy[0]))
        return Sighting(
            video_id=ev.video_id,
            track_id=ev.track_id,
            plate_text=text,
            confidence=float(conf),
            first_s=min(o.pts_s for o in obs),
            last_s=max(o.pts_s for o in obs),
            best_frame_index=best.frame_index,
            best_xyxy=best.xyxy,
            best_s=best.pts_s,
            n_reads=n,
            best_crop_path=best.crop_path,
            vehicle_class=ev.vehicle_class,
            vehicle_xyxy=ev.vehicle_xyxy,
            reads=tuple(sorted(obs, key=lambda o: o.frame_index)),
        )
