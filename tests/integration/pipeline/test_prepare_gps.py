"""Which GPS track a video gets before decoding, and the clock it is put on."""

from __future__ import annotations

import shutil
from pathlib import Path

import pytest

from dashcam.config import load_settings
from dashcam.domain.gps import TrackTimeBase
from dashcam.media.drive import nmea_lines
from dashcam.media.embedded import EmbeddedSource
from dashcam.media.synthetic import SyntheticClip, make_clip
from dashcam.pipeline.prepare import VideoJob, prepare


def _clip(root: Path, name: str, **kw: object) -> SyntheticClip:
    return make_clip(
        root, name=name, seed=5, duration_s=2.0, resolution_wh=(320, 240), fps=5, n_vehicles=1, **kw
    )  # type: ignore[arg-type]


@pytest.fixture(scope="module")
def gopro(tmp_path_factory: pytest.TempPathFactory) -> SyntheticClip:
    # a camera that writes UTC+1 local time as the container's creation time
    return _clip(
        tmp_path_factory.mktemp("gopro"),
        "gopro",
        telemetry=EmbeddedSource.GPMF,
        creation_offset_s=3600,
    )


def test_a_track_inside_the_video_is_used_on_its_timeline(
    gopro: SyntheticClip, tmp_path: Path
) -> None:
    video = tmp_path / "gopro.mp4"
    shutil.copy(gopro.video_path, video)
    # a side-car beside it loses to the track inside
    (tmp_path / "gopro.gps").write_text("\n".join(nmea_lines(gopro.fixes)) + "\n")
    p = prepare(VideoJob(video), load_settings(data_dir=tmp_path / "data"))
    clock = p.facts.gps_clock
    assert clock is not None and p.track is not None
    assert (clock.source, clock.time_base) == ("gpmf", TrackTimeBase.VIDEO)
    start_ms = round(gopro.start_utc.timestamp() * 1000)
    assert (clock.start_utc_ms, clock.gps_minus_creation_ms) == (start_ms, -3_600_000)
    assert p.facts.start_utc_ms == start_ms  # the GPS clock, not the hour-off creation time
    assert p.facts.gps_path == str(video) and p.track.on_video_timeline
    assert any("-3600.0 s from the container's creation time" in n for n in p.notes)


def test_a_side_car_is_used_when_nothing_is_inside(tmp_path: Path) -> None:
    clip = _clip(tmp_path, "plain")
    p = prepare(VideoJob(clip.video_path), load_settings(data_dir=tmp_path / "data"))
    clock = p.facts.gps_clock
    assert clock is not None and p.track is not None and not p.track.on_video_timeline
    assert (clock.source, clock.time_base) == ("nmea", TrackTimeBase.CREATION_TIME)
    assert clock.gps_minus_creation_ms is None
    assert p.facts.gps_path == str(clip.gps_path)


def test_another_videos_track_is_aligned_by_clock_not_by_its_video_time(
    gopro: SyntheticClip, tmp_path: Path
) -> None:
    other = _clip(tmp_path, "plain", creation_offset_s=0.5)
    job = VideoJob(other.video_path, gps_path=gopro.video_path)
    p = prepare(job, load_settings(data_dir=tmp_path / "data"))
    assert p.track is not None and not p.track.on_video_timeline
    assert p.facts.gps_clock is not None
    assert p.facts.gps_clock.time_base is TrackTimeBase.CREATION_TIME


def test_no_track_anywhere(tmp_path: Path) -> None:
    clip = _clip(tmp_path, "plain")
    clip.gps_path.unlink()
    p = prepare(VideoJob(clip.video_path), load_settings(data_dir=tmp_path / "data"))
    assert p.track is None and p.facts.gps_clock is None
    assert any("no GPS track found inside or next to the video" in n for n in p.notes)
