"""Before the frame path runs: check the inputs, derive ids, survey the dashcam's overlay,
load the GPS track and choose the clock that places the video in time."""

from __future__ import annotations

import logging
from dataclasses import dataclass
from datetime import UTC, datetime
from pathlib import Path

from dashcam.config import Settings
from dashcam.domain.gps import (
    GpsClock,
    GpsTrack,
    TrackTimeBase,
    gps_clock,
    overlaps,
    with_clock_offset,
    without_video_times,
)
from dashcam.domain.ids import is_valid_id, video_id_for
from dashcam.domain.video_clock import (
    ClockSource,
    VideoClock,
    camera_start,
    filename_time_ms,
    zone_shift_ms,
)
from dashcam.errors import DecodeError, GpsError, InputError
from dashcam.media.decode import VideoInfo, probe
from dashcam.media.telemetry import (
    TrackReadResult,
    find_track_for_video,
    read_embedded_track,
    read_track,
)
from dashcam.pipeline.overlay_survey import OverlaySurvey, OverlaySurveyor
from dashcam.stages.final_write import VideoFacts
from dashcam.store.paths import quick_content_hash

log = logging.getLogger(__name__)


@dataclass(frozen=True)
class VideoJob:
    """One video to process; ``gps_path`` None means "look inside, then next to the video"."""

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
    overlay: OverlaySurvey | None = None  # None: not surveyed

    @property
    def overlay_regions(self) -> tuple[tuple[float, float, float, float], ...]:
        """The dashcam's overlay regions (xyxy) found before the first frame."""
        return self.overlay.regions if self.overlay is not None else ()


def prepare(
    job: VideoJob, settings: Settings, surveyor: OverlaySurveyor | None = None
) -> PreparedVideo:
    """Validate one job (and, with ``surveyor``, survey its overlay). Raises
    DecodeError/GpsError/InputError naming the file."""
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
    creation_ms = (
        round(info.creation_time.timestamp() * 1000) if info.creation_time is not None else None
    )
    overlay = surveyor.survey(path, info) if surveyor is not None else None
    overlay_ms = overlay.clock.start_ms if overlay is not None and overlay.clock else None
    gps_path, result = _find_track(job, path, notes)
    track: GpsTrack | None = None
    clock: GpsClock | None = None
    if gps_path is not None and result is not None:
        track = result.track
        if gps_path.resolve() != path.resolve():
            track = without_video_times(track)  # another video's timeline is not this one's
        if settings.gps_clock_offset_s:
            track = with_clock_offset(track, settings.gps_clock_offset_s)
        if result.rejected:
            notes.append(f"{gps_path.name}: {result.rejected} GPS sample(s) rejected")
        duration_ms = round((info.duration_s or 0.0) * 1000)
        overlay_ms = _overlay_on_track(overlay_ms, creation_ms, track, duration_ms, notes)
        clock = gps_clock(
            track, source=result.source_format, creation_ms=creation_ms, overlay_ms=overlay_ms
        )
        first_ms = clock.start_utc_ms
        notes.extend(_clock_notes(clock))
        if clock.time_base is not TrackTimeBase.VIDEO and not overlaps(
            track, first_ms, first_ms + max(duration_ms, 1)
        ):
            raise GpsError(
                f"{gps_path}: GPS track does not overlap the video "
                f"(try --gps-offset / DASHCAM_GPS_CLOCK_OFFSET_S if the camera logs local time)"
            )
    elif job.gps_path is None:
        notes.append("no GPS track found inside or next to the video: positions unknown")
    video_clock = _video_clock(
        clock,
        {
            ClockSource.CONTAINER: creation_ms,
            ClockSource.OVERLAY: overlay_ms,
            ClockSource.FILENAME: filename_time_ms(path.stem),
        },
    )
    start_ms = video_clock.start_utc_ms if video_clock is not None else None
    if video_clock is not None and video_clock.source is ClockSource.OVERLAY:
        notes.append(_overlay_note(video_clock))
    facts = VideoFacts(
        video_id=video_id,
        path=str(path),
        width=info.width,
        height=info.height,
        fps=info.fps,
        duration_s=info.duration_s,
        recorded_at=None if start_ms is None else datetime.fromtimestamp(start_ms / 1000, UTC),
        start_utc_ms=start_ms,
        gps_path=str(gps_path) if gps_path else None,
        content_hash=content_hash,
        gps_clock=clock,
        clock=video_clock,
        overlay_regions=overlay.regions if overlay is not None else (),
        overlay_text=overlay.text if overlay is not None and overlay.regions else None,
    )
    return PreparedVideo(
        job=job, info=info, facts=facts, track=track, notes=tuple(notes), overlay=overlay
    )


def _overlay_on_track(
    overlay_ms: int | None,
    creation_ms: int | None,
    track: GpsTrack,
    duration_ms: int,
    notes: list[str],
) -> int | None:
    """The overlay's start on the GPS log's (UTC) clock: an overlay that will place a
    side-car log's frames but misses the log by whole quarter hours shows local time."""
    camera = camera_start(creation_ms, overlay_ms)
    if overlay_ms is None or track.on_video_timeline or camera is None:
        return overlay_ms
    if camera[0] is not ClockSource.OVERLAY or overlaps(
        track, overlay_ms, overlay_ms + max(duration_ms, 1)
    ):
        return overlay_ms
    shift = zone_shift_ms(
        overlay_ms, overlay_ms + max(duration_ms, 1), track.start_ms, track.end_ms
    )
    if shift is None:
        return overlay_ms
    notes.append(
        f"the overlay's clock is UTC{-shift / 3_600_000:+.2f} h: aligned to the GPS log by its zone"
    )
    return overlay_ms + shift


def _video_clock(
    gps: GpsClock | None, camera_starts: dict[ClockSource, int | None]
) -> VideoClock | None:
    """The clock that places the video: GPS when its track is on the video's timeline
    (or is all there is), else the camera's (container or overlay), else the file name."""
    starts = dict(camera_starts)
    independent = gps is not None and gps.time_base in (
        TrackTimeBase.VIDEO,
        TrackTimeBase.FIRST_FIX,
    )
    starts[ClockSource.GPS] = gps.start_utc_ms if gps is not None and independent else None
    if starts[ClockSource.GPS] is not None:
        return VideoClock.of(ClockSource.GPS, starts)
    camera = camera_start(starts[ClockSource.CONTAINER], starts[ClockSource.OVERLAY])
    if camera is not None:
        return VideoClock.of(camera[0], starts)
    if starts[ClockSource.FILENAME] is not None:
        return VideoClock.of(ClockSource.FILENAME, starts)
    return None


def _overlay_note(clock: VideoClock) -> str:
    container = clock.offsets_ms.get(ClockSource.CONTAINER)
    if container is None:
        return "video has no creation time: placed in time by the clock burned into its frames"
    return (
        f"the container's creation time is {container / 1000:+.0f} s from the clock burned "
        f"into the frames: placed in time by the overlay"
    )


def _find_track(
    job: VideoJob, path: Path, notes: list[str]
) -> tuple[Path | None, TrackReadResult | None]:
    """``--gps`` when given; else a track embedded in the video (its own timeline, read
    in Python only); else a side-car file beside it."""
    if job.gps_path is not None:
        return job.gps_path, read_track(job.gps_path)
    try:
        embedded = read_embedded_track(path)
    except GpsError as exc:
        notes.append(f"{exc}: not used")
        embedded = None
    if embedded is not None:
        return path, embedded
    side_car = find_track_for_video(path)
    return side_car, None if side_car is None else read_track(side_car)


def _clock_notes(clock: GpsClock) -> list[str]:
    if clock.time_base is TrackTimeBase.FIRST_FIX:
        # No recording time in the container: dashcams write one GPS log per clip,
        # so the log's first fix is taken as the clip's first frame.
        return ["video has no creation time: aligned to the GPS log's first fix"]
    diff = clock.gps_minus_creation_ms
    if clock.time_base is TrackTimeBase.VIDEO and diff is not None and abs(diff) >= 1000:
        return [
            f"GPS track inside the video ({clock.source}) aligned by video time; the GPS "
            f"clock is {diff / 1000:+.1f} s from the container's creation time"
        ]
    return []
