"""Where a project stands and what must run next (pure), plus the monitor's tick (edge).

:func:`next_state` moves a project POPULATING -> FILTERING -> DEDUP_READY ->
DETECT_READY -> COMPLETE from its video counts and which epoch dedup/detect last covered.
New videos bump the project's epoch, which sends it back to POPULATING.
"""

from __future__ import annotations

import logging
from collections.abc import Mapping
from dataclasses import dataclass

from dashcam.miner.schema import ProjectState, VideoState

log = logging.getLogger(__name__)

_BEFORE_EXTRACT = (VideoState.PENDING, VideoState.DOWNLOADED)
_SETTLED = (VideoState.FILTERED, VideoState.DUPLICATE, VideoState.FAILED, VideoState.PLAYLIST)


def next_state(
    videos: Mapping[VideoState, int], *, epoch: int, dedup_epoch: int, detect_epoch: int
) -> ProjectState:
    """The state a project is in.

    >>> next_state({VideoState.FILTERED: 2}, epoch=2, dedup_epoch=2, detect_epoch=-1)
    <ProjectState.DETECT_READY: 'DETECT_READY'>
    """
    if any(videos.get(s, 0) for s in _BEFORE_EXTRACT) or not sum(videos.values()):
        return ProjectState.POPULATING
    if any(n for s, n in videos.items() if s not in _SETTLED):
        return ProjectState.FILTERING
    if dedup_epoch < epoch:
        return ProjectState.DEDUP_READY
    if detect_epoch < epoch:
        return ProjectState.DETECT_READY
    return ProjectState.COMPLETE


@dataclass(frozen=True)
class Progress:
    """Per-stage counts for ``status``."""

    state: ProjectState
    videos: dict[VideoState, int]
    frames: dict[str, int]
