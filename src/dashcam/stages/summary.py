"""SUMMARY: per video, put sightings on the clock and the map and merge split tracks."""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import replace

from dashcam.domain.gps import GpsTrack, position_at_frame
from dashcam.domain.plate_text import plate_distance
from dashcam.domain.sighting import Position, Sighting
from dashcam.domain.smoothing import is_partial_read


def _merge(a: Sighting, b: Sighting) -> Sighting:
    # The fuller read wins (a cut-off part never replaces the whole plate), then the surer.
    best = (
        a
        if (len(a.plate_text), a.n_reads, a.confidence)
        >= (len(b.plate_text), b.n_reads, b.confidence)
        else b
    )
    reads = tuple(sorted(a.reads + b.reads, key=lambda o: o.frame_index))
    return replace(
        best,
        first_s=min(a.first_s, b.first_s),
        last_s=max(a.last_s, b.last_s),
        n_reads=a.n_reads + b.n_reads,
        reads=reads,
    )


def merge_split_tracks(
    sightings: Sequence[Sighting], *, max_gap_s: float = 6.0, max_text_distance: float = 1.0
) -> list[Sighting]:
    """Join sightings of (nearly) the same plate whose time spans touch.

    A plate hidden for a moment ends its track and starts a new one; this puts the two
    halves back together so each plate on the road is reported once per pass.
    """
    ordered = sorted(sightings, key=lambda s: s.first_s)
    out: list[Sighting] = []
    for s in ordered:
        for i, prev in enumerate(out):
            if not s.plate_text or not prev.plate_text:
                continue
            close_in_time = s.first_s - prev.last_s <= max_gap_s
            same = plate_distance(prev.plate_text, s.plate_text) <= max_text_distance
            if close_in_time and (same or is_partial_read(prev.plate_text, s.plate_text)):
                out[i] = _merge(prev, s)
                break
        else:
            out.append(s)
    return sorted(out, key=lambda s: (s.first_s, s.track_id))


def position_on(
    track: GpsTrack | None, pts_s: float, start_utc_ms: int | None, max_gap_s: float
) -> Position | None:
    """Where the camera was ``pts_s`` seconds into the video: by video time on a track
    read from inside the video, else at the UTC time ``start_utc_ms + pts_s`` (None
    without a track, a time, or a fix within ``max_gap_s``)."""
    if track is None:
        return None
    fix = position_at_frame(track, pts_s, start_utc_ms=start_utc_ms, max_gap_s=max_gap_s)
    if fix is None:
        return None
    return Position(
        lat=fix.lat,
        lon=fix.lon,
        speed_mps=fix.speed_mps,
        bearing_deg=fix.bearing_deg,
        timestamp_ms=fix.timestamp_ms,
    )


def best_time_s(s: Sighting) -> float:
    """Video time of the best crop: ``best_s``, else its read's time, else ``first_s``."""
    if s.best_s is not None:
        return s.best_s
    return next((o.pts_s for o in s.reads if o.frame_index == s.best_frame_index), s.first_s)


class SummaryStage:
    """Aligns sightings to UTC and to GPS positions (interpolated, never across gaps).

    Each sighting gets the time and place of its first read, its best read (the crop's;
    ``position``) and its last read.
    """

    def __init__(self, *, max_gap_s: float = 5.0) -> None:
        self.max_gap_s = max_gap_s

    def run(
        self,
        sightings: Sequence[Sighting],
        *,
        start_utc_ms: int | None,
        track: GpsTrack | None,
    ) -> list[Sighting]:
        merged = merge_split_tracks(sightings)
        gap = self.max_gap_s
        out: list[Sighting] = []
        for s in merged:
            best_s = best_time_s(s)
            if start_utc_ms is None:
                out.append(replace(s, best_s=best_s))
                continue
            first_ms, best_ms, last_ms = (
                start_utc_ms + round(t * 1000) for t in (s.first_s, best_s, s.last_s)
            )
            out.append(
                replace(
                    s,
                    best_s=best_s,
                    first_utc_ms=first_ms,
                    best_utc_ms=best_ms,
                    last_utc_ms=last_ms,
                    first_position=position_on(track, s.first_s, start_utc_ms, gap),
                    position=position_on(track, best_s, start_utc_ms, gap),
                    last_position=position_on(track, s.last_s, start_utc_ms, gap),
                )
            )
        return out
