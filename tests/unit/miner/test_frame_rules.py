from __future__ import annotations

import numpy as np
import pytest

from dashcam.miner.config import QualityConfig
from dashcam.miner.extract import TimeSampler
from dashcam.miner.monitor import next_state
from dashcam.miner.quality import measure, rejection
from dashcam.miner.schema import ProjectState, VideoState
from dashcam.miner.siglip import text_decision

rng = np.random.default_rng(0)
TEXTURE = rng.integers(0, 255, (270, 480, 3), dtype=np.uint8)


@pytest.mark.parametrize(
    ("image", "why"),
    [
        (TEXTURE, None),
        ((TEXTURE // 16).astype(np.uint8), "dark"),
        (np.full((270, 480, 3), 128, np.uint8), "low information"),
        (np.full((270, 480, 3), 250, np.uint8), "bright"),
    ],
)
def test_quality_rules(image: np.ndarray, why: str | None) -> None:
    got = rejection(measure(image), QualityConfig())
    assert (got is None) if why is None else (got is not None and got.startswith(why))


def test_blur_is_rejected() -> None:
    import cv2

    blurred = cv2.GaussianBlur(TEXTURE, (31, 31), 12)
    q = measure(blurred)
    assert q.sharpness < measure(TEXTURE).sharpness / 50
    assert (
        rejection(q, QualityConfig(min_sharpness=20, min_entropy=0, min_std=0)) or ""
    ).startswith("blurry")


def test_text_decision_threshold_and_margin() -> None:
    pos = np.array([[0.9, 0.1], [0.6, 0.0], [0.3, 0.2]], np.float32)
    neg = np.array([[0.1], [0.55], [0.0]], np.float32)
    d = text_decision(pos, neg, threshold=0.5, margin=0.1)
    assert d.keep.tolist() == [True, False, False]
    assert "margin" in (d.reason[1] or "") and "threshold" in (d.reason[2] or "")


def test_time_sampler_every_half_second() -> None:
    s = TimeSampler(0.5)
    kept = [t for t in np.arange(0, 3, 1 / 30) if s.keep(float(t))]
    assert len(kept) == 6


@pytest.mark.parametrize(
    ("videos", "epochs", "state"),
    [
        ({}, (0, -1, -1), ProjectState.POPULATING),
        ({VideoState.PENDING: 1, VideoState.FILTERED: 1}, (2, -1, -1), ProjectState.POPULATING),
        ({VideoState.EXTRACTED: 1, VideoState.FILTERED: 1}, (2, -1, -1), ProjectState.FILTERING),
        ({VideoState.FILTERED: 2, VideoState.DUPLICATE: 1}, (3, -1, -1), ProjectState.DEDUP_READY),
        ({VideoState.FILTERED: 2}, (2, 2, -1), ProjectState.DETECT_READY),
        ({VideoState.FILTERED: 2}, (2, 2, 2), ProjectState.COMPLETE),
        ({VideoState.FILTERED: 2}, (3, 2, 2), ProjectState.DEDUP_READY),
    ],
)
def test_project_states(
    videos: dict[VideoState, int], epochs: tuple[int, int, int], state: ProjectState
) -> None:
    e, de, dt = epochs
    assert next_state(videos, epoch=e, dedup_epoch=de, detect_epoch=dt) == state
