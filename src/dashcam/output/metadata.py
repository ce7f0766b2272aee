"""The heavy-output ``metadata.json``: (de)serialising sightings and detections."""

from __future__ import annotations

from typing import Any

from dashcam.domain.gps import GpsClock, TrackTimeBase
from dashcam.domain.sighting import PlateObservation, Position, Sighting
from dashcam.domain.video_clock import ClockSource, VideoClock

FORMAT_VERSION = 1


def _box(v: Any) -> tuple[float, float, float, float]:
    a, b, c, d = (float(x) for x in v)
    return (a, b, c, d)


def observation_to_dict(o: PlateObservation) -> dict[str, Any]:
    return {
        "frame_index": o.frame_index,
        "pts_s": round(o.pts_s, 4),
        "text": o.text,
        "confidence": round(o.confidence, 4),
        "xyxy": [round(v, 1) for v in o.xyxy],
        "detector_score": round(o.detector_score, 4),
        "track_id": o.track_id,
        "crop_path": o.crop_path,
    }


def observation_from_dict(d: dict[str, Any]) -> PlateObservation:
    return PlateObservation(
        frame_index=int(d["frame_index"]),
        pts_s=float(d["pts_s"]),
        text=str(d["text"]),
        confidence=float(d["confidence"]),
        xyxy=_box(d["xyxy"]),
        detector_score=float(d.get("detector_score", 0.0)),
        track_id=int(d.get("track_id", -1)),
        crop_path=d.get("crop_path"),
    )


def position_to_dict(pos: Position | None) -> dict[str, Any] | None:
    if pos is None:
        return None
    return {
        "lat": pos.lat,
        "lon": pos.lon,
        "speed_mps": pos.speed_mps,
        "bearing_deg": pos.bearing_deg,
        "timestamp_ms": pos.timestamp_ms,
    }


def position_from_dict(p: dict[str, Any] | None) -> Position | None:
    if not p:
        return None
    return Position(
        lat=float(p["lat"]),
        lon=float(p["lon"]),
        speed_mps=p.get("speed_mps"),
        bearing_deg=p.get("bearing_deg"),
        timestamp_ms=p.get("timestamp_ms"),
    )


def sighting_to_dict(s: Sighting) -> dict[str, Any]:
    """The sighting as JSON: ``position`` is the best crop's (at ``best_s``/``best_utc_ms``);
    ``first_position`` and ``last_position`` are where it was first and last read."""
    return {
        "video_id": s.video_id,
        "track_id": s.track_id,
        "plate_text": s.plate_text,
        "confidence": round(s.confidence, 4),
        "first_s": round(s.first_s, 3),
        "best_s": None if s.best_s is None else round(s.best_s, 3),
        "last_s": round(s.last_s, 3),
        "first_utc_ms": s.first_utc_ms,
        "best_utc_ms": s.best_utc_ms,
        "last_utc_ms": s.last_utc_ms,
        "position": position_to_dict(s.position),
        "first_position": position_to_dict(s.first_position),
        "last_position": position_to_dict(s.last_position),
        "best_frame_index": s.best_frame_index,
        "best_xyxy": [round(v, 1) for v in s.best_xyxy],
        "best_crop_path": s.best_crop_path,
        "n_reads": s.n_reads,
        "vehicle_class": s.vehicle_class,
        "vehicle_xyxy": list(s.vehicle_xyxy) if s.vehicle_xyxy else None,
        "reads": [observation_to_dict(o) for o in s.reads],
    }


def sighting_from_dict(d: dict[str, Any]) -> Sighting:
    """The inverse of :func:`sighting_to_dict` (keys added later may be missing)."""
    best_s = d.get("best_s")
    return Sighting(
        video_id=str(d["video_id"]),
        track_id=int(d["track_id"]),
        plate_text=str(d["plate_text"]),
        confidence=float(d["confidence"]),
        first_s=float(d["first_s"]),
        last_s=float(d["last_s"]),
        best_frame_index=int(d["best_frame_index"]),
        best_xyxy=_box(d["best_xyxy"]),
        n_reads=int(d["n_reads"]),
        first_utc_ms=d.get("first_utc_ms"),
        last_utc_ms=d.get("last_utc_ms"),
        position=position_from_dict(d.get("position")),
        best_crop_path=d.get("best_crop_path"),
        vehicle_class=d.get("vehicle_class"),
        vehicle_xyxy=_box(d["vehicle_xyxy"]) if d.get("vehicle_xyxy") else None,
        reads=tuple(observation_from_dict(o) for o in d.get("reads", [])),
        best_s=None if best_s is None else float(best_s),
        best_utc_ms=d.get("best_utc_ms"),
        first_position=position_from_dict(d.get("first_position")),
        last_position=position_from_dict(d.get("last_position")),
    )


def gps_clock_to_dict(clock: GpsClock | None) -> dict[str, Any] | None:
    """``metadata.json``'s ``video.gps_clock``: where the track came from, how frames
    meet it (``video`` timeline, ``creation_time`` or ``first_fix``), the UTC time of the
    first frame and the GPS clock minus the container's creation time in seconds."""
    if clock is None:
        return None
    diff = clock.gps_minus_creation_ms
    return {
        "source": clock.source,
        "time_base": clock.time_base.value,
        "start_utc_ms": clock.start_utc_ms,
        "gps_minus_creation_s": None if diff is None else diff / 1000,
    }


def gps_clock_from_dict(d: dict[str, Any] | None) -> GpsClock | None:
    """The inverse of :func:`gps_clock_to_dict`."""
    if not d:
        return None
    diff = d.get("gps_minus_creation_s")
    return GpsClock(
        time_base=TrackTimeBase(d["time_base"]),
        source=str(d["source"]),
        start_utc_ms=int(d["start_utc_ms"]),
        gps_minus_creation_ms=None if diff is None else round(float(diff) * 1000),
    )


def video_clock_to_dict(clock: VideoClock | None) -> dict[str, Any] | None:
    """``metadata.json``'s ``video.clock``: which clock placed the video in time
    (``gps``, ``container``, ``overlay`` or ``filename``), its start, and every other
    clock's start minus it in seconds, e.g. ``{"container": -185000000.0}``."""
    if clock is None:
        return None
    return {
        "source": clock.source.value,
        "start_utc_ms": clock.start_utc_ms,
        "offsets_s": {k.value: v / 1000 for k, v in clock.offsets_ms.items()},
    }


def video_clock_from_dict(d: dict[str, Any] | None) -> VideoClock | None:
    """The inverse of :func:`video_clock_to_dict`."""
    if not d:
        return None
    offsets = d.get("offsets_s") or {}
    return VideoClock(
        ClockSource(d["source"]),
        int(d["start_utc_ms"]),
        {ClockSource(k): round(float(v) * 1000) for k, v in offsets.items()},
    )


def detection_record(
    o: PlateObservation,
    *,
    start_utc_ms: int | None,
    gps: Position | None,
    ocr_enabled: bool,
) -> dict[str, Any]:
    """One entry of ``metadata.json``'s ``detections`` list (the seed's heavy-output format)."""
    ts_ms = round(o.pts_s * 1000)
    return {
        "frame_index": o.frame_index,
        "bbox": [round(v, 1) for v in o.xyxy],
        "score": round(o.detector_score, 4),
        "class_label": "license_plate",
        "timestamp_ms": ts_ms,
        "utc_ms": None if start_utc_ms is None else start_utc_ms + ts_ms,
        "track_id": o.track_id,
        "crop_path": o.crop_path,
        "ocr": {"text": o.text, "confidence": round(o.confidence, 4)} if ocr_enabled else None,
        "gps": None
        if gps is None
        else {
            "lat": gps.lat,
            "lon": gps.lon,
            "speed": gps.speed_mps,
            "bearing": gps.bearing_deg,
            "timestamp_ms": gps.timestamp_ms,
        },
    }
