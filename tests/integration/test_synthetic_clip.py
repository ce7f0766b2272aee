"""The synthetic dashcam clip: determinism, ground truth, GPS log, stills."""

from __future__ import annotations

import itertools
import math
import time
from datetime import UTC, datetime
from pathlib import Path

import cv2
import numpy as np
import pytest

from dashcam.domain.gps import haversine_m
from dashcam.errors import InputError
from dashcam.media.decode import iter_frames, probe
from dashcam.media.nmea import parse_nmea
from dashcam.media.synthetic import SyntheticClip, make_clip, make_still

RES = (960, 540)  # plates reach >= 24 px (legible) from about 540p up


@pytest.fixture(scope="module")
def clip(tmp_path_factory: pytest.TempPathFactory) -> SyntheticClip:
    return make_clip(tmp_path_factory.mktemp("a"), seed=11, duration_s=8.0, resolution_wh=RES)


def test_same_seed_same_plates_track_and_frames(clip: SyntheticClip, tmp_path: Path) -> None:
    again = make_clip(tmp_path, seed=11, duration_s=8.0, resolution_wh=RES)
    assert again.plates == clip.plates
    assert again.fixes == clip.fixes
    assert again.start_utc == clip.start_utc
    assert again.gps_path.read_bytes() == clip.gps_path.read_bytes()
    a = [f.image for f in iter_frames(clip.video_path, sample_rate=40)]
    b = [f.image for f in iter_frames(again.video_path, sample_rate=40)]
    assert len(a) == len(b) == 6
    for x, y in zip(a, b, strict=True):
        assert np.abs(x.astype(int) - y.astype(int)).mean() < 1.0


def test_other_seed_gives_other_plates_and_track(clip: SyntheticClip, tmp_path: Path) -> None:
    other = make_clip(tmp_path, seed=12, duration_s=2.0, resolution_wh=RES)
    assert {p.text for p in other.plates}.isdisjoint({p.text for p in clip.plates})
    assert other.fixes[0].lat != clip.fixes[0].lat


def test_plate_ground_truth_is_sane(clip: SyntheticClip) -> None:
    assert len(clip.plates) == 4
    assert len({p.text for p in clip.plates}) == 4
    for p in clip.plates:
        assert 0.0 <= p.first_s < p.last_s <= clip.duration_s
        # several frames at sample rate 10 (3 per second at 30 fps) see each plate
        assert p.last_s - p.first_s >= 1.0
    starts = sorted(p.first_s for p in clip.plates)
    assert starts[-1] - starts[0] > clip.duration_s / 3  # staggered, not all at once
    info = probe(clip.video_path)
    assert info.frame_count == 240 and clip.duration_s == pytest.approx(8.0)


def test_given_plates_are_used(tmp_path: Path) -> None:
    clip = make_clip(tmp_path, duration_s=6.0, resolution_wh=RES, plates=["ABC2345", "KX52ABC"])
    assert [p.text for p in clip.plates] == ["ABC2345", "KX52ABC"]
    with pytest.raises(InputError, match="distinct"):
        make_clip(tmp_path, duration_s=2.0, resolution_wh=RES, plates=["ABC2345", "ABC2345"])


def test_plate_pixels_appear_while_plate_is_legible(clip: SyntheticClip) -> None:
    """Mid-span frames contain a light plate-shaped blob with dark characters."""
    mids = {round((p.first_s + p.last_s) / 2 * clip.fps) for p in clip.plates}
    found = 0
    for f in iter_frames(clip.video_path):
        if f.frame_index not in mids:
            continue
        gray = cv2.cvtColor(f.image, cv2.COLOR_BGR2GRAY)
        _, light = cv2.threshold(gray, 200, 255, cv2.THRESH_BINARY)
        _n, _, stats, _ = cv2.connectedComponentsWithStats(light)
        plates = [
            s
            for s in stats[1:]
            if s[3] >= 10 and 3.0 <= s[2] / s[3] <= 5.0 and s[4] > 0.5 * s[2] * s[3]
        ]
        found += bool(plates)
    assert found == len(mids)


def test_gps_log_is_valid_nmea_covering_the_clip(clip: SyntheticClip) -> None:
    lines = clip.gps_path.read_text().splitlines()
    assert len(lines) == 2 * len(clip.fixes)
    assert lines[0].startswith(f"[{clip.fixes[0].timestamp_ms}]$GPRMC,")
    assert lines[1].startswith(f"[{clip.fixes[0].timestamp_ms}]$GPGGA,")
    start_ms = clip.start_utc.timestamp() * 1000
    assert clip.fixes[0].timestamp_ms <= start_ms - 2000
    assert clip.fixes[-1].timestamp_ms >= start_ms + clip.duration_s * 1000 + 2000
    steps = np.diff([f.timestamp_ms for f in clip.fixes])
    assert set(steps.tolist()) == {1000}
    for a, b in zip(clip.fixes, clip.fixes[1:], strict=False):
        assert a.speed_mps is not None and 11.0 <= a.speed_mps <= 16.0
        assert haversine_m(a, b) == pytest.approx(a.speed_mps, rel=0.02)
    assert math.dist((clip.fixes[0].lat, clip.fixes[0].lon), (51.5007, -0.1246)) < 0.01
    parsed, rejected = parse_nmea(clip.gps_path.read_text())
    assert rejected == 0
    assert len(parsed) == len(clip.fixes)
    for got, want in zip(parsed, clip.fixes, strict=True):
        assert got.timestamp_ms == want.timestamp_ms
        assert (got.lat, got.lon) == pytest.approx((want.lat, want.lon), abs=1e-9)
        assert got.speed_mps == pytest.approx(want.speed_mps, abs=1e-9)
        assert (got.bearing_deg, got.altitude_m) == (want.bearing_deg, want.altitude_m)


def test_creation_time_and_explicit_start(tmp_path: Path) -> None:
    when = datetime(2023, 1, 2, 3, 4, 5, tzinfo=UTC)
    clip = make_clip(tmp_path, duration_s=1.0, resolution_wh=RES, start_utc=when, n_vehicles=1)
    assert clip.start_utc == when
    assert probe(clip.video_path).creation_time == when


def test_bad_resolution_is_input_error(tmp_path: Path) -> None:
    with pytest.raises(InputError, match="resolution_wh"):
        make_clip(tmp_path, resolution_wh=(321, 200))


def test_still_returns_plate_boxes_on_light_plates(tmp_path: Path) -> None:
    texts = ["ABC2345", "7XYZ234", "KX52ABC"]
    boxes = make_still(tmp_path / "s.png", texts, seed=2)
    img = cv2.imread(str(tmp_path / "s.png"))
    assert img.shape == (720, 1280, 3)
    assert [t for t, _ in boxes] == texts
    for _, (x0, y0, x1, y1) in boxes:
        assert 0 <= x0 < x1 <= 1280 and 0 <= y0 < y1 <= 720
        assert 28 <= y1 - y0 <= 60 and 3.5 <= (x1 - x0) / (y1 - y0) <= 4.5
        crop = cv2.cvtColor(img[y0:y1, x0:x1], cv2.COLOR_BGR2GRAY)
        assert np.median(crop) > 200 and crop.min() < 80
    for (_, a), (_, b) in itertools.pairwise(boxes):
        assert a[2] <= b[0] or b[2] <= a[0]  # side by side, no overlap


@pytest.mark.slow
def test_default_clip_is_fast_enough(tmp_path: Path) -> None:
    t0 = time.perf_counter()
    clip = make_clip(tmp_path)
    elapsed = time.perf_counter() - t0
    assert elapsed < 30.0
    assert probe(clip.video_path).frame_count == 600
    assert len(clip.plates) == 4
