"""The deterministic train/val split of the miner's exports."""

from __future__ import annotations

import random

import pytest

from dashcam.errors import InputError
from dashcam.miner.export import split_frames
from dashcam.miner.schema import MinerFrameRow


def _frames(n: int, videos: int = 3) -> list[MinerFrameRow]:
    return [
        MinerFrameRow(
            id=i + 1,
            video_id=1 + i % videos,
            frame_index=i,
            path=f"frames/{i}.jpg",
            width=640,
            height=360,
        )
        for i in range(n)
    ]


@pytest.mark.parametrize(
    ("n", "fraction", "n_val"),
    [(100, 0.2, 20), (10, 0.25, 2), (10, 0.01, 1), (2, 0.5, 1), (1, 0.2, 0), (5, 0.0, 0)],
)
def test_split_sizes(n: int, fraction: float, n_val: int) -> None:
    split = split_frames(_frames(n), fraction)
    assert len(split["val"]) == n_val and len(split["train"]) == n - n_val
    train = {f.id for f in split["train"]}
    val = {f.id for f in split["val"]}
    assert not train & val and train | val == set(range(1, n + 1))


def test_split_is_the_same_every_time_and_for_any_order() -> None:
    frames = _frames(60)
    first = {k: [f.id for f in v] for k, v in split_frames(frames, 0.2).items()}
    shuffled = frames[:]
    random.Random(7).shuffle(shuffled)
    again = {k: sorted(f.id for f in v) for k, v in split_frames(shuffled, 0.2).items()}
    assert {k: sorted(v) for k, v in first.items()} == again
    # The frames keep their own order within each part.
    assert first["train"] == sorted(first["train"])
    # Not simply the first or last frames: the hash spreads val over the run.
    assert min(first["val"]) < 30 < max(first["val"])


@pytest.mark.parametrize("fraction", [-0.1, 1.0, 1.5])
def test_a_fraction_outside_0_to_1_is_refused(fraction: float) -> None:
    with pytest.raises(InputError, match="--val-fraction"):
        split_frames(_frames(4), fraction)
