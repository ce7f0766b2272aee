"""GPS tracks inside real MP4s made by the synthetic clip maker, read back exactly,
with and without ExifTool on PATH; ExifTool's own reading of the same files agrees."""

from __future__ import annotations

import json
import shutil
import subprocess
from pathlib import Path

import av
import numpy as np
import pytest

from dashcam.domain.gps import GpsFix, GpsTrack
from dashcam.errors import GpsError
from dashcam.media.embedded import EmbeddedSource, read_embedded
from dashcam.media.embedded_writer import GPMF_RATE, embed_track
from dashcam.media.exiftool import fixes_from_exiftool_json
from dashcam.media.synthetic import SyntheticClip, make_clip
from dashcam.media.telemetry import read_track, render_track

SOURCES = list(EmbeddedSource)
HAS_EXIFTOOL = shutil.which("exiftool") is not None
DURATION_S = 3.0
T0 = 1_700_000_000_000


@pytest.fixture(scope="module")
def clips(tmp_path_factory: pytest.TempPathFactory) -> dict[EmbeddedSource, SyntheticClip]:
    root = tmp_path_factory.mktemp("embedded")
    return {
        s: make_clip(
            root,
            name=s.value,
            seed=3,
            duration_s=DURATION_S,
            resolution_wh=(320, 240),
            fps=10,
            n_vehicles=1,
            telemetry=s,
        )
        for s in SOURCES
    }


def assert_same_fixes(got: list[GpsFix], truth: list[GpsFix]) -> None:
    """Times on both clocks exactly; values to float rounding (1e-9 deg is 0.1 mm)."""
    assert len(got) == len(truth)
    for g, t in zip(got, truth, strict=True):
        assert (g.timestamp_ms, g.video_ms) == (t.timestamp_ms, t.video_ms)
        assert (g.lat, g.lon) == pytest.approx((t.lat, t.lon), abs=1e-9)
        for field in ("speed_mps", "bearing_deg", "altitude_m"):
            gv, tv = getattr(g, field), getattr(t, field)
            assert (gv is None) == (tv is None), field
            if tv is not None:
                assert gv == pytest.approx(tv, rel=1e-9, abs=1e-9), field


@pytest.fixture(params=["with exiftool", "without exiftool"])
def path_variant(
    request: pytest.FixtureRequest, monkeypatch: pytest.MonkeyPatch, tmp_path: Path
) -> str:
    if request.param == "without exiftool":
        monkeypatch.setenv("PATH", str(tmp_path / "empty-bin"))
        assert shutil.which("exiftool") is None
    elif not HAS_EXIFTOOL:
        pytest.skip("exiftool is not installed (apt-get install libimage-exiftool-perl)")
    return str(request.param)


@pytest.mark.parametrize("source", SOURCES, ids=str)
def test_read_back_exact_samples_times_and_units(
    clips: dict[EmbeddedSource, SyntheticClip], source: EmbeddedSource, path_variant: str
) -> None:
    clip = clips[source]
    assert clip.embedded is not None and clip.gps_path == clip.video_path
    assert not clip.video_path.with_suffix(".gps").exists()
    result = read_track(clip.video_path)
    assert (result.source_format, result.rejected) == (source.value, 0)
    truth = list(clip.embedded.fixes)
    assert_same_fixes(list(result.track), truth)
    assert result.track.on_video_timeline
    start_ms = round(clip.start_utc.timestamp() * 1000)
    # the first frame is at the clip's start on the GPS clock, on every source's time base
    assert {f.timestamp_ms - (f.video_ms or 0) for f in result.track} == {start_ms}
    video = [f.video_ms or 0 for f in truth]
    assert -1000 < min(video) <= 0 and DURATION_S * 1000 <= max(video) < DURATION_S * 1000 + 1000


def test_sample_rates_per_source(clips: dict[EmbeddedSource, SyntheticClip]) -> None:
    counts = {s: len(c.embedded.fixes) for s, c in clips.items() if c.embedded}
    assert counts == {
        EmbeddedSource.GPMF: 4 * GPMF_RATE,  # 18 Hz, all kept: 4 payloads of 1.001 s
        EmbeddedSource.CAMM: 31,  # 10 Hz, 0..3 s
        EmbeddedSource.BLACKVUE: 5,  # 1 Hz, -0.5..3.5 s
        EmbeddedSource.FREEGPS: 4,  # 1 Hz, 0..3 s
    }


def test_blackvue_accelerometer_is_read(clips: dict[EmbeddedSource, SyntheticClip]) -> None:
    clip = clips[EmbeddedSource.BLACKVUE]
    got = read_embedded(clip.video_path)
    assert got is not None and clip.embedded is not None
    assert got.accel == clip.embedded.accel and len(got.accel) == 30


@pytest.mark.parametrize("fmt", ["csv", "json", "geojson"])
def test_video_times_survive_a_round_trip(
    clips: dict[EmbeddedSource, SyntheticClip], fmt: str, tmp_path: Path
) -> None:
    track = read_track(clips[EmbeddedSource.CAMM].video_path).track
    out = tmp_path / f"t.{fmt}"
    out.write_text(render_track(track, fmt))  # type: ignore[arg-type]
    assert read_track(out).track == track


def test_a_video_with_no_known_track_and_no_exiftool_is_one_clear_error(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    clip = make_clip(tmp_path, name="plain", duration_s=1.0, resolution_wh=(160, 120), fps=5)
    monkeypatch.setenv("PATH", str(tmp_path / "empty-bin"))
    with pytest.raises(GpsError) as info:
        read_track(clip.video_path)
    message = str(info.value)
    assert message.startswith(f"{clip.video_path}: no GoPro GPMF, Google CAMM")
    assert "apt-get install libimage-exiftool-perl" in message and "\n" not in message


@pytest.mark.skipif(not HAS_EXIFTOOL, reason="exiftool is not installed")
def test_a_video_with_no_track_read_by_exiftool_has_no_fixes(tmp_path: Path) -> None:
    clip = make_clip(tmp_path, name="plain", duration_s=1.0, resolution_wh=(160, 120), fps=5)
    with pytest.raises(GpsError, match="no valid GPS fixes"):
        read_track(clip.video_path)


def _exiftool_version() -> tuple[int, int]:
    out = subprocess.run(["exiftool", "-ver"], capture_output=True, text=True, check=True)
    major, minor = out.stdout.strip().split(".")[:2]
    return int(major), int(minor)


@pytest.mark.skipif(not HAS_EXIFTOOL, reason="exiftool is not installed")
@pytest.mark.parametrize("source", SOURCES, ids=str)
def test_exiftool_reads_our_clips_as_we_do(
    clips: dict[EmbeddedSource, SyntheticClip], source: EmbeddedSource
) -> None:
    """The clips are made the way cameras make them: ExifTool, which knows the real
    cameras, finds the same samples (as far as its version reads them)."""
    clip = clips[source]
    assert clip.embedded is not None
    proc = subprocess.run(
        ["exiftool", "-ee", "-n", "-j", "-G3:0", str(clip.video_path)],
        capture_output=True,
        text=True,
        check=True,
    )
    theirs, rejected = fixes_from_exiftool_json(proc.stdout)
    assert rejected == 0 and theirs
    truth = list(clip.embedded.fixes)
    if source is EmbeddedSource.GPMF and _exiftool_version() < (13, 33):
        # older ExifTool keeps one sample of each payload (which one varies) at the
        # payload's time: all it gets right is a sample's position and the count
        assert len(theirs) == len(truth) // GPMF_RATE
        for f in theirs:
            assert any(abs(f.lat - t.lat) < 1e-9 and abs(f.lon - t.lon) < 1e-9 for t in truth)
        return
    # ExifTool reads CAMM times as GPS-epoch seconds without the 18 leap seconds
    shift = 18_000 if source is EmbeddedSource.CAMM else 0
    ours = {f.timestamp_ms + shift: f for f in truth}
    assert len(theirs) == len(ours)
    for f in theirs:
        mine = ours[f.timestamp_ms]
        assert (f.lat, f.lon) == pytest.approx((mine.lat, mine.lon), abs=1e-6)
        assert f.speed_mps == pytest.approx(mine.speed_mps, rel=1e-3, abs=1e-3)
        assert f.video_ms in (None, mine.video_ms)


def test_json_of_a_track_inside_a_video_keeps_video_ms(
    clips: dict[EmbeddedSource, SyntheticClip],
) -> None:
    track = read_track(clips[EmbeddedSource.FREEGPS].video_path).track
    doc = json.loads(render_track(track, "json"))
    assert [f["video_ms"] for f in doc["fixes"]] == [0, 1000, 2000, 3000]
    assert GpsTrack(track.fixes).on_video_timeline


@pytest.mark.skipif(not Path("/proc/self/io").exists(), reason="needs Linux /proc/self/io")
def test_reading_a_gpmf_track_reads_its_samples_not_the_whole_video(tmp_path: Path) -> None:
    """A GoPro file is gigabytes of video around a few kB of GPS: only the latter is read."""
    video = tmp_path / "noise.mp4"
    rng = np.random.default_rng(0)
    with av.open(str(video), "w") as out:
        stream = out.add_stream("libx264", rate=10, options={"preset": "ultrafast", "crf": "5"})
        stream.width, stream.height, stream.pix_fmt = 640, 480, "yuv420p"
        for i in range(30):
            frame = av.VideoFrame.from_ndarray(
                rng.integers(0, 256, (480, 640, 3), dtype=np.uint8), format="bgr24"
            )
            frame.pts = i
            out.mux(stream.encode(frame))
        out.mux(stream.encode(None))
    drive = GpsTrack(
        GpsFix(T0 + 1000 * i, 52.0 + i * 1e-4, 4.0, 10.0, 0.0, 1.0) for i in range(-2, 6)
    )
    truth = embed_track(video, EmbeddedSource.GPMF, drive, gps_start_ms=T0, duration_s=3.0)
    size = video.stat().st_size

    def bytes_read() -> int:
        io_stats = Path("/proc/self/io").read_text().splitlines()
        return int(next(line for line in io_stats if line.startswith("rchar")).split()[1])

    before = bytes_read()
    got = read_embedded(video)
    spent = bytes_read() - before
    assert got is not None and len(got.fixes) == len(truth.fixes)
    assert size > 5_000_000 and spent < size / 5, (spent, size)
