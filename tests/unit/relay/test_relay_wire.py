"""Wire parsing, MJPEG splitting, JPEG size, frame sampling and camera specs."""

from __future__ import annotations

import cv2
import numpy as np
import pytest

from dashcam.errors import InputError
from dashcam.relay.cameras import CameraSpec, SourceKind
from dashcam.relay.messages import (
    HeartbeatMessage,
    RegisterMessage,
    WireError,
    parse_worker_message,
    wire_error_parts,
)
from dashcam.relay.mjpeg import FrameSampler, MjpegParser, jpeg_size


@pytest.mark.parametrize(
    ("text", "expected"),
    [
        ('{"type":"heartbeat"}', HeartbeatMessage()),
        (
            '{"type":"register","data":{"worker_id":"w-1"}}',
            RegisterMessage.model_validate({"data": {"worker_id": "w-1"}}),
        ),
        ("{nope", "invalid_json"),
        ('{"type":"launch"}', "unknown_type"),
        ('{"type":7}', "invalid_message"),
        ('{"type":"register","data":{}}', "invalid_message"),
        ('{"type":"register","data":{"worker_id":"../etc"}}', "invalid_message"),
        ('{"type":"heartbeat","x":"' + "a" * 2000 + '"}', "message_too_large"),
    ],
)
def test_parse_worker_message(text: str, expected: object) -> None:
    if isinstance(expected, str):
        with pytest.raises(WireError) as info:
            parse_worker_message(text, max_bytes=1024)
        assert wire_error_parts(info.value)[0] == expected
    else:
        assert parse_worker_message(text, max_bytes=1024) == expected


def _jpeg(w: int, h: int) -> bytes:
    return bytes(cv2.imencode(".jpg", np.zeros((h, w, 3), np.uint8))[1].tobytes())


def test_mjpeg_parser_yields_whole_jpegs_from_arbitrary_chunks() -> None:
    a, b = _jpeg(32, 16), _jpeg(20, 10)
    stream = b"".join(b"--bnd\r\nContent-Type: image/jpeg\r\n\r\n" + j + b"\r\n" for j in (a, b, a))
    parser = MjpegParser()
    out = [img for i in range(0, len(stream), 7) for img in parser.feed(stream[i : i + 7])]
    assert out == [a, b, a]
    assert [jpeg_size(j) for j in out] == [(32, 16), (20, 10), (32, 16)]
    assert jpeg_size(b"not a jpeg") is None


def test_frame_sampler_keeps_the_configured_rate() -> None:
    sampler = FrameSampler(fps=5)
    times = [i / 30 for i in range(90)]  # 3 s of 30 fps
    assert sum(sampler.take(t) for t in times) == 15


@pytest.mark.parametrize(
    ("text", "kind"),
    [
        ("front=rtsp://10.0.0.5/s1", SourceKind.rtsp),
        ("yard=http://cam/video.mjpg", SourceKind.mjpeg),
        ("test=./clip.mp4", SourceKind.file),
        ("x=file:///tmp/a.mp4", SourceKind.file),
    ],
)
def test_camera_spec_kind_follows_the_url(text: str, kind: SourceKind) -> None:
    assert CameraSpec.parse(text).kind is kind


@pytest.mark.parametrize("text", ["no-equals", "=rtsp://x", "bad name=x.mp4", "a="])
def test_bad_camera_specs_are_refused(text: str) -> None:
    with pytest.raises(InputError):
        CameraSpec.parse(text)
