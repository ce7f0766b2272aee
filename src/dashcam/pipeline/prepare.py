"""Before any frame is decoded: check the inputs, derive ids, load and fit the GPS track."""

from __future__ import annotations

import logging
from dataclasses import dataclass
from pathlib import Path

from dashcam.config import Settings
from dashcam.domain.gps import GpsTrack, overlaps, with_clock_offset
from dashcam.domain.ids import is_valid_id, video_id_for
from dashcam.errors import DecodeError, GpsError, InputError
from dashcam.media.decode import VideoInfo, probe
from dashcam.media.telemetry import find_track_for_video, read_track
from dashcam.stages.final_write import VideoFacts
from dashcam.store.paths import quick_content_hash

log = logging.getLogger(__name__)


@dataclass(frozen=True)
class VideoJob:
    """One video to process; ``gps_path`` None means "look next to the video"."""

    video_path: Path
    gps_path: Path | None = None
    video_id: str | None = None


@dataclass(frozen=True)
class PreparedVideo:
    job: VideoJob
    info: VideoInfo
    facts: VideoFacts
    track: GpsTrack | None
    notes: tuple[str, ...]


def prepare(job: VideoJob, settings: Settings) -> PreparedVideo:
    """Validate one job. Raises DecodeError/GpsError/InputError naming the file."""
    path = job.video_path
    if not path.exists():
        raise DecodeError(f"{path}: no such file")
    if path.is_dir():
        raise DecodeError(f"{path}: is a folder, not a video")
    info = probe(path)
    content_hash = quick_content_hash(path)
    video_id = job.video_id or video_id_for(path.stem, content_hash)
    if not is_valid_id(video_id):
        raise InputError(f"invalid video id {video_id!r}: use letters, digits, '.', '_' and '-'")
    notes: list[str] = []
    start_ms = (
        round(info.creation_time.timestamp() * 1000) if info.creation_time is not None else None
    )
    gps_path = job.gps_path or find_track_for_video(path)
    track: GpsTrack | None = None
    if gps_path is not None:
        result = read_track(gps_path)
        track = result.track
        if settings.gps_clock_offset_s:
            track = with_clock_offset(track, settings.gps_clock_offset_s)
        if result.rejected:
            notes.append(f"{gps_path.name}: {result.rejected} GPS line(s) rejected")
        if start_ms is None:
            # No recording time in the container: dashcams write one GPS log per clip,
            # so the log's first fix is taken as the clip's first frame.
            start_ms = track.start_ms
            notes.append("video has no creation time: aligned to the GPS log's first fix")
        duration_ms = round((info.duration_s or 0.0) * 1000)
        if not overlaps(track, start_ms, start_ms + max(duration_ms, 1)):
            raise GpsError(
                f"{gps_path}: GPS track does not overlap the video "
                f"(try --gps-offset / DASHCAM_GPS_CLOCK_OFFSET_S if the camera logs local time)"
            )
    elif job.gps_path is None:
        notes.append("no GPS track found next to the video: positions unknown")
    facts = VideoFacts(
        video_id=video_id,
        path=str(path),
        width=info.width,
        height=info.height,
        fps=info.fps,
        duration_s=info.duration_s,
        recorded_at=info.creation_time,
        start_utc_ms=start_ms,
        gps_path=str(gps_path) if gps_path else None,
        content_hash=content_hash,
    )
    return PreparedVideo(job=job, info=info, facts=facts, track=track, notes=tuple(notes))
