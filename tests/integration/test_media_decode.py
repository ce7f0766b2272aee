"""Decoding real files: probe metadata, exact every-Nth sampling, caps, damaged input."""

from __future__ import annotations

from fractions import Fraction
from pathlib import Path

import av
import numpy as np
import pytest

from dashcam.errors import DecodeError
from dashcam.media.decode import FrameReader, iter_frames, probe
from dashcam.media.synthetic import SyntheticClip, make_clip

RES = (320, 192)


@pytest.fixture(scope="module")
def clip(tmp_path_factory: pytest.TempPathFactory) -> SyntheticClip:
    return make_clip(
        tmp_path_factory.mktemp("clip"), duration_s=3.0, resolution_wh=RES, fps=25, n_vehicles=2
    )


@pytest.fixture(scope="module")
def all_frames(clip: SyntheticClip) -> list[np.ndarray]:
    return [f.image for f in iter_frames(clip.video_path)]


def test_probe_reports_size_rate_duration_and_creation_time(clip: SyntheticClip) -> None:
    info = probe(clip.video_path)
    assert (info.width, info.height) == RES
    assert info.fps == pytest.approx(25.0)
    assert info.frame_count == 75
    assert info.duration_s == pytest.approx(3.0, abs=0.05)
    assert info.codec == "h264"
    assert info.creation_time == clip.start_utc
    assert info.creation_time is not None and info.creation_time.utcoffset() is not None


def test_full_decode_yields_every_frame_as_contiguous_bgr(
    clip: SyntheticClip, all_frames: list[np.ndarray]
) -> None:
    assert len(all_frames) == 75
    img = all_frames[0]
    assert img.shape == (RES[1], RES[0], 3) and img.dtype == np.uint8
    assert img.flags["C_CONTIGUOUS"]
    # BGR: the sky (top rows) is blue-dominant
    sky = img[:10].reshape(-1, 3).mean(axis=0)
    assert sky[0] > sky[2] + 20


@pytest.mark.parametrize("rate", [1, 7, 10, 80])
def test_sampling_keeps_every_nth_frame_with_true_index_and_pts(
    clip: SyntheticClip, all_frames: list[np.ndarray], rate: int
) -> None:
    with FrameReader(clip.video_path, sample_rate=rate) as reader:
        frames = list(reader)
    assert [f.frame_index for f in frames] == list(range(0, 75, rate))
    for f in frames:
        assert f.pts_s == pytest.approx(f.frame_index / 25.0, abs=1e-6)
        assert np.array_equal(f.image, all_frames[f.frame_index])
    assert reader.frames_decoded == 75
    assert reader.truncated is False and reader.errors == 0


def test_max_frames_caps_output_and_stops_decoding_early(clip: SyntheticClip) -> None:
    reader = FrameReader(clip.video_path, sample_rate=5, max_frames=3)
    with reader:
        frames = list(reader)
    assert [f.frame_index for f in frames] == [0, 5, 10]
    assert reader.frames_decoded < 30  # a few frames of decoder delay at most, not all 75
    assert reader.truncated is False


def test_variable_frame_rate_uses_timestamps_not_index(tmp_path: Path) -> None:
    path = tmp_path / "vfr.mkv"
    pts_ms = [0, 40, 80, 200, 240, 600, 640, 1000]
    with av.open(str(path), "w") as out:
        stream = out.add_stream("mpeg4", rate=25)
        stream.width, stream.height, stream.pix_fmt = 64, 48, "yuv420p"
        stream.time_base = Fraction(1, 1000)
        stream.codec_context.time_base = Fraction(1, 1000)
        for i, pts in enumerate(pts_ms):
            frame = av.VideoFrame.from_ndarray(np.full((48, 64, 3), i * 30, np.uint8), "bgr24")
            frame.pts, frame.time_base = pts, Fraction(1, 1000)
            for packet in stream.encode(frame):
                out.mux(packet)
        for packet in stream.encode(None):
            out.mux(packet)
    frames = list(iter_frames(path, sample_rate=2))
    assert [f.frame_index for f in frames] == [0, 2, 4, 6]
    assert [round(f.pts_s, 3) for f in frames] == [0.0, 0.08, 0.24, 0.64]


@pytest.mark.parametrize(("codec", "ext"), [("mjpeg", "avi"), ("mpeg4", "avi"), ("libx264", "mkv")])
def test_other_codecs_and_containers(tmp_path: Path, codec: str, ext: str) -> None:
    clip = make_clip(
        tmp_path,
        codec=codec,
        container=ext,
        duration_s=1.0,
        resolution_wh=RES,
        fps=20,
        n_vehicles=1,
    )
    info = probe(clip.video_path)
    assert (info.width, info.height, info.fps) == (*RES, 20.0)
    frames = list(iter_frames(clip.video_path, sample_rate=3))
    assert [f.frame_index for f in frames] == list(range(0, 20, 3))
    assert frames[-1].pts_s == pytest.approx(18 / 20, abs=1e-6)


def test_truncated_mp4_keeps_what_decodes(clip: SyntheticClip, tmp_path: Path) -> None:
    data = clip.video_path.read_bytes()
    half = tmp_path / "half.mp4"
    half.write_bytes(data[: len(data) // 2])
    with FrameReader(half) as reader:
        frames = list(reader)
    assert 0 < len(frames) < 75
    assert [f.frame_index for f in frames] == list(range(len(frames)))
    assert reader.truncated is True


def test_mp4_cut_before_any_frame_is_a_decode_error(clip: SyntheticClip, tmp_path: Path) -> None:
    stub = tmp_path / "stub.mp4"
    stub.write_bytes(clip.video_path.read_bytes()[:600])
    with pytest.raises(DecodeError, match=r"stub\.mp4"), FrameReader(stub) as reader:
        list(reader)


def _audio_only(path: Path) -> Path:
    with av.open(str(path), "w") as out:
        stream = out.add_stream("pcm_s16le", rate=8000)
        frame = av.AudioFrame.from_ndarray(
            np.zeros((1, 800), np.int16), format="s16", layout="mono"
        )
        frame.sample_rate = 8000
        for packet in stream.encode(frame):
            out.mux(packet)
        for packet in stream.encode(None):
            out.mux(packet)
    return path


@pytest.mark.parametrize(
    ("make", "message"),
    [
        (lambda d: d / "missing.mp4", "missing.mp4: no such file"),
        (lambda d: (d / "notes.txt").write_text("not a video\n") and d / "notes.txt", "notes.txt"),
        (lambda d: _audio_only(d / "sound.wav"), "sound.wav: no video stream"),
    ],
)
def test_unusable_inputs_raise_decode_error_naming_the_file(
    tmp_path: Path, make: object, message: str
) -> None:
    path = make(tmp_path)  # type: ignore[operator]
    with pytest.raises(DecodeError, match=message) as exc:
        probe(path)
    assert "\n" not in str(exc.value)
    with pytest.raises(DecodeError, match=message):
        FrameReader(path)


def test_bad_arguments(clip: SyntheticClip) -> None:
    with pytest.raises(ValueError, match="sample_rate"):
        FrameReader(clip.video_path, sample_rate=0)
    with pytest.raises(ValueError, match="max_frames"):
        FrameReader(clip.video_path, max_frames=-1)
