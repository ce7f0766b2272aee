"""The dashcam's burned-in overlay on real synthetic clips: never a plate, and a clock.

Clips come from the clip maker with a clock (and speed) burned into the bottom of every
frame; the camera shakes a little, as it does on a road.
"""

from __future__ import annotations

import json
from pathlib import Path

import pytest
from pipeline_helpers import engine_settings, sighting_facts

from dashcam.config import Settings
from dashcam.domain.video_clock import ClockSource
from dashcam.media.overlay_burn import ClockFormat, clock_text
from dashcam.media.synthetic import ClipOverlay, SyntheticClip, make_clip
from dashcam.pipeline.engine import Engine, EngineOptions
from dashcam.pipeline.inline import VideoJob, VideoResult, process_videos
from dashcam.pipeline.overlay_survey import OverlaySurveyor
from dashcam.pipeline.prepare import prepare

OVERLAY_TOP_PX = 660  # the burned-in line sits below this on a 720p frame


def settings_for(data_dir: Path, **overrides: object) -> Settings:
    return engine_settings(data_dir, frame_sample_rate=12, **overrides)


@pytest.fixture(scope="module")
def clock_clip(tmp_path_factory: pytest.TempPathFactory) -> SyntheticClip:
    """7 s, 720p, three plates, ``7/27/2018 4:11:12 PM  31 MPH`` at the bottom, no
    creation time in the container, a shaking camera."""
    return make_clip(
        tmp_path_factory.mktemp("overlay-clip"),
        name="clock",
        seed=7,
        duration_s=7.0,
        n_vehicles=3,
        overlay=ClipOverlay(ClockFormat.MDY_12, speed="mph"),
        shake_px=1.5,
        creation_offset_s=None,
    )


@pytest.fixture(scope="module")
def inline_result(
    clock_clip: SyntheticClip, tmp_path_factory: pytest.TempPathFactory
) -> VideoResult:
    settings = settings_for(tmp_path_factory.mktemp("inline"))
    (result,) = process_videos([VideoJob(clock_clip.video_path)], settings, repo=None)
    return result


def overlay_reads(result: VideoResult) -> list[dict[str, object]]:
    """Detections (every kept read) whose box lies in the overlay's band."""
    return [d for d in result.detections if d["bbox"][3] > OVERLAY_TOP_PX]  # type: ignore[index]


def test_inline_reports_every_plate_and_no_overlay(
    clock_clip: SyntheticClip, inline_result: VideoResult
) -> None:
    assert {s.plate_text for s in inline_result.sightings} == {p.text for p in clock_clip.plates}
    assert overlay_reads(inline_result) == []
    video = json.loads(inline_result.metadata_path.read_text())["video"]
    assert video["overlay"]["regions"]
    assert all(r[1] >= 600 for r in video["overlay"]["regions"])
    # what the first frame showed, read with its separators
    assert clock_text(ClockFormat.MDY_12, clock_clip.start_utc) in video["overlay"]["text"]


def test_engine_matches_inline_without_overlay(
    clock_clip: SyntheticClip, inline_result: VideoResult, tmp_path: Path
) -> None:
    settings = settings_for(tmp_path, num_gpu_workers=1, num_cpu_workers=1)
    engine = Engine(settings, repo=None, options=EngineOptions(log_interval_s=0, hud=False))
    (result,) = engine.run([VideoJob(clock_clip.video_path)])
    assert overlay_reads(result) == []
    assert sighting_facts(result) == sighting_facts(inline_result)
    assert result.facts is not None and inline_result.facts is not None
    assert result.facts.clock == inline_result.facts.clock


def test_clock_from_the_overlay_when_the_container_has_none(
    clock_clip: SyntheticClip, inline_result: VideoResult
) -> None:
    video = json.loads(inline_result.metadata_path.read_text())["video"]
    assert video["clock"]["source"] == "overlay"
    error_s = video["clock"]["start_utc_ms"] / 1000 - clock_clip.start_utc.timestamp()
    assert abs(error_s) < 0.5
    # the side-car GPS log is met at the overlay's clock
    assert video["gps_clock"]["time_base"] == "overlay"
    assert inline_result.sightings and all(s.position for s in inline_result.sightings)


@pytest.mark.parametrize(
    ("fmt", "creation_offset_s", "source"),
    [
        (ClockFormat.YMD_24, 0.0, ClockSource.CONTAINER),  # they agree
        (ClockFormat.YMD_DASH_24, 7200.0, ClockSource.CONTAINER),  # overlay in another zone
        (ClockFormat.DMY_24, -3 * 365 * 86_400.0, ClockSource.OVERLAY),  # years off
        (ClockFormat.MDY_12, 420.0, ClockSource.OVERLAY),  # seven minutes off
    ],
)
def test_clock_source_follows_the_container_and_the_overlay(
    tmp_path: Path, fmt: ClockFormat, creation_offset_s: float, source: ClockSource
) -> None:
    clip = make_clip(
        tmp_path,
        name="c",
        seed=3,
        duration_s=3.5,
        n_vehicles=1,
        overlay=ClipOverlay(fmt),
        creation_offset_s=creation_offset_s,
    )
    (tmp_path / "c.gps").unlink()  # no GPS log: the camera's clocks decide
    settings = settings_for(tmp_path / "data")
    p = prepare(VideoJob(clip.video_path), settings, OverlaySurveyor(settings))
    clock = p.facts.clock
    assert clock is not None and clock.source is source
    starts = {k: clock.start_utc_ms + v for k, v in clock.offsets_ms.items()}
    starts[clock.source] = clock.start_utc_ms
    truth_ms = clip.start_utc.timestamp() * 1000
    assert abs(starts[ClockSource.OVERLAY] - truth_ms) < 500  # read in each format
    assert abs(starts[ClockSource.CONTAINER] - (truth_ms + creation_offset_s * 1000)) <= 1


def test_overlay_in_local_time_is_aligned_to_the_gps_log(tmp_path: Path) -> None:
    """No creation time; the overlay shows UTC+2; the side-car log is UTC."""
    clip = make_clip(
        tmp_path,
        name="local",
        seed=4,
        duration_s=3.5,
        n_vehicles=1,
        overlay=ClipOverlay(ClockFormat.YMD_24, utc_offset_s=7200),
        creation_offset_s=None,
    )
    settings = settings_for(tmp_path / "data")
    p = prepare(VideoJob(clip.video_path), settings, OverlaySurveyor(settings))
    assert p.facts.clock is not None and p.facts.clock.source is ClockSource.OVERLAY
    assert abs(p.facts.clock.start_utc_ms - clip.start_utc.timestamp() * 1000) < 500
    assert any("UTC+2.00 h" in n for n in p.notes)


def test_a_plate_close_ahead_at_our_speed_is_still_reported(tmp_path: Path) -> None:
    """A car ahead at our speed: its plate barely moves, just above the overlay band."""
    clip = make_clip(
        tmp_path,
        name="lead",
        seed=5,
        duration_s=6.0,
        plates=["KX52ABC"],
        lead_widths=(800, 770),
        overlay=ClipOverlay(ClockFormat.DMY_24),
    )
    settings = settings_for(tmp_path / "data")
    (result,) = process_videos([VideoJob(clip.video_path)], settings, repo=None)
    assert [s.plate_text for s in result.sightings] == ["KX52ABC"]
    frames = {d["frame_index"] for d in result.detections}
    assert len(frames) >= result.frames_processed - 2  # read on (almost) every frame
    assert overlay_reads(result) == []
    assert result.facts is not None and result.facts.clock is not None
    assert result.facts.clock.source is ClockSource.CONTAINER
    assert result.facts.clock.start_utc_ms == round(clip.start_utc.timestamp() * 1000)
