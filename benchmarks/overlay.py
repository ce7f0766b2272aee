"""The dashcam's burned-in overlay: sightings and reads it causes, ms per frame, its clock.

Makes a synthetic clip with a clock and speed burned into the bottom of every frame
(``7/27/2018 4:11:12 PM  31 MPH`` style by default), a shaking camera and no creation
time in the container, then processes it with the inline runner at default settings
twice over, alternating: with the overlay survey off (``DASHCAM_OVERLAY_SURVEY_S=0``:
only the track stage's online learner) and on. Reports per run: plates found of those
rendered, sightings that are no rendered plate, reads whose box lies in the overlay band,
ms per analysed frame (prepare included: the survey is part of the cost) and, with the
survey, the clock's source and its error in seconds. Prints one JSON object.

Usage: python benchmarks/overlay.py [--duration 20] [--format mdy_12] [--repeats 2]
"""

from __future__ import annotations

import _syspath  # noqa: F401  (first: keeps queue.py from shadowing the stdlib)

# isort: split
import argparse
import json
import tempfile
import time
from pathlib import Path
from typing import Any

from dashcam.config import load_settings
from dashcam.media.overlay_burn import ClockFormat
from dashcam.media.synthetic import ClipOverlay, SyntheticClip, make_clip
from dashcam.pipeline.inline import DetectorStages, VideoJob, VideoResult, process_video

OVERLAY_TOP_PX = 660  # the burned-in line lies below this on a 720p frame


def score(clip: SyntheticClip, result: VideoResult, seconds: float) -> dict[str, Any]:
    rendered = {p.text for p in clip.plates}
    found = {s.plate_text for s in result.sightings}
    clock = result.facts.clock if result.facts else None
    return {
        "plates_found": len(rendered & found),
        "plates_rendered": len(rendered),
        "overlay_sightings": sorted(found - rendered),
        "overlay_reads": sum(1 for d in result.detections if d["bbox"][3] > OVERLAY_TOP_PX),
        "ms_per_frame": round(1000 * seconds / max(result.frames_processed, 1), 1),
        "clock_source": clock.source.value if clock else None,
        "clock_error_s": None
        if clock is None
        else round(clock.start_utc_ms / 1000 - clip.start_utc.timestamp(), 3),
    }


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__)
    ap.add_argument("--duration", type=float, default=20.0)
    ap.add_argument("--format", default="MDY_12", choices=[f.name for f in ClockFormat])
    ap.add_argument("--repeats", type=int, default=2)
    ap.add_argument("--seed", type=int, default=7)
    args = ap.parse_args()
    runs: dict[str, list[dict[str, Any]]] = {"survey_off": [], "survey_on": []}
    with tempfile.TemporaryDirectory() as tmp:
        root = Path(tmp)
        clip = make_clip(
            root / "clip",
            name="overlay",
            seed=args.seed,
            duration_s=args.duration,
            overlay=ClipOverlay(ClockFormat[args.format], speed="mph"),
            shake_px=1.5,
            creation_offset_s=None,
        )
        stages = {
            name: DetectorStages(
                load_settings(data_dir=root / "data", overlay_survey_s=0.0 if off else 3.0)
            )
            for name, off in (("survey_off", True), ("survey_on", False))
        }  # model loading is not part of the cost
        for k in range(args.repeats):
            for name, st in stages.items():
                t0 = time.perf_counter()
                result = process_video(
                    VideoJob(clip.video_path, clip.gps_path),
                    st.settings,
                    repo=None,
                    output_root=root / f"out-{name}-{k}",
                    stages=st,
                )
                runs[name].append(score(clip, result, time.perf_counter() - t0))
    summary = {
        name: {**rs[-1], "ms_per_frame": min(r["ms_per_frame"] for r in rs)}
        for name, rs in runs.items()
    }
    off, on = summary["survey_off"]["ms_per_frame"], summary["survey_on"]["ms_per_frame"]
    print(
        json.dumps(
            {
                "clip": {
                    "resolution": "1280x720",
                    "duration_s": args.duration,
                    "overlay": ClockFormat[args.format].value + "  31 MPH",
                    "plates": [p.text for p in clip.plates],
                },
                **summary,
                "ms_per_frame_on_over_off": round(on / off, 3),
                "runs": runs,
            },
            indent=1,
        )
    )


if __name__ == "__main__":
    main()
