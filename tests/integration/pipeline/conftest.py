"""Clips and inline reference results shared by the pipeline engine tests."""

from __future__ import annotations

from collections.abc import Iterator

import pytest
from pipeline_helpers import Reference, engine_settings

from dashcam.media.synthetic import make_clip
from dashcam.pipeline.frame_store import leftover_segments
from dashcam.pipeline.inline import VideoJob, process_videos


@pytest.fixture(scope="session")
def reference(tmp_path_factory: pytest.TempPathFactory) -> Reference:
    """Two 8 s 640x360 clips with GPS logs, and what the inline runner makes of them."""
    root = tmp_path_factory.mktemp("clips")
    clips = [
        make_clip(root, name=f"clip{seed}", seed=seed, duration_s=8.0, resolution_wh=(640, 360))
        for seed in (1, 2)
    ]
    settings = engine_settings(tmp_path_factory.mktemp("inline-data"))
    results = process_videos([VideoJob(c.video_path) for c in clips], settings, repo=None)
    assert all(r.sightings for r in results), "the reference clips must contain sightings"
    return Reference(clips=clips, results=results)


@pytest.fixture(autouse=True)
def no_shm_leftovers() -> Iterator[None]:
    """Every engine test must leave nothing of ours in /dev/shm."""
    before = set(leftover_segments())
    yield
    assert set(leftover_segments()) - before == set()
