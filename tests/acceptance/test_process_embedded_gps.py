"""``dashcam process`` on clips whose GPS track is inside the video: each sighting is
placed by its frame's video time, and the GPS clock is reported (subprocesses)."""

from __future__ import annotations

import json
import os
import subprocess
import sys
from pathlib import Path

import pytest

from dashcam.domain.gps import GpsFix, GpsTrack, haversine_m, position_at
from dashcam.media.embedded import EmbeddedSource
from dashcam.media.synthetic import make_clip

pytestmark = pytest.mark.slow

# The container's creation time (whole seconds in MP4) is 3 s off the GPS clock: a
# sighting placed by the creation time would be ~40 m off; by video time it is on the track.
CREATION_OFFSET_S = 3


def run(args: list[str], env: dict[str, str]) -> subprocess.CompletedProcess[str]:
    return subprocess.run(
        [sys.executable, "-m", "dashcam", *args],
        env=env,
        capture_output=True,
        text=True,
        timeout=300,
    )


@pytest.mark.parametrize("source", list(EmbeddedSource), ids=str)
def test_sightings_sit_on_the_track_at_their_frames_video_time(
    tmp_path: Path, source: EmbeddedSource
) -> None:
    clip = make_clip(
        tmp_path / "clip",
        name="drive",
        seed=7,
        duration_s=6.0,
        resolution_wh=(960, 540),
        n_vehicles=2,
        telemetry=source,
        creation_offset_s=CREATION_OFFSET_S,
    )
    env = {k: v for k, v in os.environ.items() if not k.startswith("DASHCAM_")}
    env["DASHCAM_DATA_DIR"] = str(tmp_path / "data")
    res = run(["process", str(clip.video_path)], env)
    assert res.returncode == 0, res.stderr
    (meta_path,) = (tmp_path / "data" / "videos" / "heavy_output").glob("*/metadata.json")
    meta = json.loads(meta_path.read_text())

    start_ms = round(clip.start_utc.timestamp() * 1000)
    assert meta["video"]["gps_clock"] == {
        "source": source.value,
        "time_base": "video",
        "start_utc_ms": start_ms,
        "gps_minus_creation_s": -float(CREATION_OFFSET_S),
    }
    drive = GpsTrack(clip.fixes)  # the synthetic track the samples were taken from
    sightings = meta["sightings"]
    assert sorted(s["plate_text"] for s in sightings) == sorted(p.text for p in clip.plates)
    for s in sightings:
        (best,) = (r for r in s["reads"] if r["frame_index"] == s["best_frame_index"])
        frame_utc_ms = start_ms + round(best["pts_s"] * 1000)
        truth = position_at(drive, frame_utc_ms, max_gap_s=5)
        pos = s["position"]
        assert truth is not None and pos is not None
        assert abs(pos["timestamp_ms"] - frame_utc_ms) <= 1
        assert haversine_m(GpsFix(0, pos["lat"], pos["lon"]), truth) < 1.0
        assert s["first_utc_ms"] == start_ms + round(s["first_s"] * 1000)

    listed = run(["videos"], env)
    assert listed.returncode == 0, listed.stderr
    assert f"{source.value}, video time, GPS -3.0 s vs creation" in " ".join(listed.stdout.split())
