"""A live camera's tracks: closed by time, fused like recorded footage, best crop kept."""

from __future__ import annotations

import numpy as np
import pytest

from dashcam.domain.ids import camera_of, camera_source
from dashcam.stages.live import CameraTracks, LiveRead

T0 = 1_700_000_000.0  # Unix seconds


def _crop(value: int) -> np.ndarray:
    return np.full((20, 60, 3), value, np.uint8)


def _pass(
    tracks: CameraTracks,
    first_frame: int,
    t0: float,
    texts: list[str],
    dt: float = 0.2,
    x0: float = 100.0,
) -> list[object]:
    """A plate crossing the frame, read as ``texts`` on consecutive frames."""
    closed: list[object] = []
    for k, text in enumerate(texts):
        x = x0 + 15 * k
        read = LiveRead(text, 0.8 + 0.01 * k, (x, 300, x + 90, 325))
        closed += tracks.add(first_frame + k, t0 + k * dt, [read], [_crop(10 * k)])
    return closed


def test_a_track_closes_only_after_it_is_unseen_for_the_close_time() -> None:
    tracks = CameraTracks("gate", close_after_s=2.0)
    assert _pass(tracks, 0, T0, ["AB12CDE", "AB12CDE", "A812CDE", "AB12CDE"]) == []
    last_seen = T0 + 0.6
    assert tracks.close_unseen(last_seen + 1.9) == []
    assert tracks.open_tracks == 1
    (closed,) = tracks.close_unseen(last_seen + 2.1)
    sg = closed.sighting
    assert (closed.camera, sg.video_id, sg.plate_text) == ("gate", "camera:gate", "AB12CDE")
    assert sg.n_reads == 4 and len(sg.reads) == 4
    assert (sg.first_utc_ms, sg.last_utc_ms) == (round(T0 * 1000), round(last_seen * 1000))
    # the crop is the one of the read the fusion chose: the surest read with the fused text
    assert sg.best_utc_ms == round(last_seen * 1000)
    assert closed.crop is not None and int(closed.crop[0, 0, 0]) == 30
    assert tracks.open_tracks == 0


def test_frames_without_the_plate_close_its_track_on_their_own_clock() -> None:
    tracks = CameraTracks("gate", close_after_s=1.0)
    _pass(tracks, 0, T0, ["KX52ABC", "KX52ABC"])
    assert tracks.add(2, T0 + 0.8, [], []) == []
    (closed,) = tracks.add(3, T0 + 1.3, [], [])
    assert closed.sighting.plate_text == "KX52ABC"


def test_a_plate_back_after_the_close_time_is_a_second_sighting() -> None:
    tracks = CameraTracks("gate", close_after_s=1.0)
    _pass(tracks, 0, T0, ["KX52ABC", "KX52ABC"])
    closed = _pass(tracks, 2, T0 + 5.0, ["KX52ABC", "KX52ABC"])
    assert [c.sighting.plate_text for c in closed] == ["KX52ABC"]
    assert [c.sighting.plate_text for c in tracks.close()] == ["KX52ABC"]


def test_two_plates_at_once_are_two_tracks_and_close_gives_both() -> None:
    tracks = CameraTracks("yard", close_after_s=3.0)
    for k in range(3):
        reads = [
            LiveRead("KX52ABC", 0.9, (100 + 10 * k, 300, 190 + 10 * k, 325)),
            LiveRead("LM07PQR", 0.9, (800 - 10 * k, 320, 890 - 10 * k, 345)),
        ]
        tracks.add(k, T0 + 0.2 * k, reads, [_crop(1), _crop(2)])
    assert sorted(c.sighting.plate_text for c in tracks.close()) == ["KX52ABC", "LM07PQR"]


def test_one_unsure_read_is_no_sighting_like_recorded_footage() -> None:
    tracks = CameraTracks("gate", close_after_s=1.0)
    tracks.add(0, T0, [LiveRead("KX52ABC", 0.5, (100, 300, 190, 325))], [_crop(1)])
    assert tracks.close() == []


def test_format_alternatives_vote_in_the_fusion() -> None:
    tracks = CameraTracks("gate", close_after_s=1.0)
    alts = (("AB12CDE", 0.6), ("A812CDE", 0.4))
    for k in range(2):
        read = LiveRead("A812CDE", 0.9, (100 + 5 * k, 300, 190 + 5 * k, 325), alts)
        tracks.add(k, T0 + 0.2 * k, [read], [_crop(1)])
    assert [c.sighting.plate_text for c in tracks.close()] == ["AB12CDE"]


@pytest.mark.parametrize(
    ("crops", "error"),
    [([], "crops: expected 1"), ([_crop(1), _crop(2)], "crops: expected 1")],
)
def test_crops_must_match_the_reads(crops: list[np.ndarray], error: str) -> None:
    tracks = CameraTracks("gate", close_after_s=1.0)
    with pytest.raises(ValueError, match=error):
        tracks.add(0, T0, [LiveRead("KX52ABC", 0.9, (1, 1, 50, 20))], crops)


def test_close_time_must_be_positive() -> None:
    with pytest.raises(ValueError, match="close_after_s"):
        CameraTracks("gate", close_after_s=0)


def test_camera_source_ids_never_meet_video_ids() -> None:
    assert camera_source("gate") == "camera:gate"
    assert camera_of("camera:gate") == "gate"
    assert camera_of("gate-1a2b3c4d") is None
