"""The multiprocess engine against the inline runner, under pressure and worker deaths."""

from __future__ import annotations

import os
import signal
import subprocess
import sys
import threading
import time
from pathlib import Path

import pytest
from pipeline_helpers import Reference, engine_settings, sighting_facts

from dashcam.pipeline.engine import Engine, EngineOptions
from dashcam.pipeline.frame_store import leftover_segments
from dashcam.pipeline.inline import VideoJob
from dashcam.pipeline.status import W_BUSY, W_DONE, W_PID
from dashcam.stages.category import WorkerKind

QUIET = EngineOptions(log_interval_s=0, hud=False)


def test_same_sightings_as_inline_for_several_videos(reference: Reference, tmp_path: Path) -> None:
    settings = engine_settings(tmp_path, num_gpu_workers=2, num_cpu_workers=2, num_video_readers=2)
    engine = Engine(settings, repo=None, options=QUIET)
    results = engine.run([VideoJob(c.video_path) for c in reference.clips])

    assert [r.video_id for r in results] == [r.video_id for r in reference.results]
    for got, want in zip(results, reference.results, strict=True):
        assert sighting_facts(got) == sighting_facts(want)
        assert got.frames_processed == want.frames_processed
        assert len(got.detections) == len(want.detections)
        assert got.complete and got.notes == want.notes
        assert (got.output_dir / "metadata.json").is_file()
        crops = sorted(p.name for p in got.crops_dir.iterdir())
        assert crops == sorted(p.name for p in want.crops_dir.iterdir())
    assert engine.stats.scheduler_saw_idle
    assert engine.stats.worker_restarts == 0
    assert leftover_segments(os.getpid()) == []


def test_slow_stages_never_push_a_queue_past_the_hard_limit(
    reference: Reference, tmp_path: Path
) -> None:
    # One detector worker is far slower than decoding: the readers must wait.
    settings = engine_settings(
        tmp_path,
        num_gpu_workers=1,
        num_cpu_workers=1,
        max_gpu_backlog=16,
        queue_soft_limit=2,
        queue_hard_limit=4,
    )
    engine = Engine(settings, repo=None, options=QUIET)
    (result,) = engine.run([VideoJob(reference.clips[0].video_path)])

    stats = engine.stats
    assert max(stats.backlog_high_water.values()) == 4  # pressure reached the limit ...
    assert max(stats.queue_high_water.values()) <= 4  # ... and no queue went past it
    assert stats.reader_blocked_s > 0 and stats.reader_slowed > 0
    assert stats.peak_slots_in_use <= 4 < stats.pool_slots
    assert sighting_facts(result) == sighting_facts(reference.results[0])


def test_frame_pool_bounds_memory_whatever_the_video_length(
    reference: Reference, tmp_path: Path
) -> None:
    peaks = []
    for max_frames in (6, 0):  # a few frames, then the whole clip
        settings = engine_settings(
            tmp_path / str(max_frames),
            num_gpu_workers=1,
            num_cpu_workers=1,
            num_video_readers=1,
            max_gpu_backlog=1,
            max_frames=max_frames,
        )
        engine = Engine(settings, repo=None, options=QUIET)
        (result,) = engine.run([VideoJob(reference.clips[0].video_path)])
        peaks.append((engine.stats.peak_slots_in_use, engine.stats.pool_slots, result))
    (short_peak, slots, short), (long_peak, slots_long, long) = peaks
    assert slots == slots_long == 1 + 2 + 1
    assert long.frames_processed == 24 > short.frames_processed == 6
    assert short_peak <= slots and long_peak <= slots
    assert sighting_facts(long) == sighting_facts(reference.results[0])


def _kill_busy_workers(
    engine: Engine, kinds: list[WorkerKind], killed: list[int], done: threading.Event
) -> None:
    """SIGKILL one busy worker of each kind once it has done some work."""
    deadline = time.monotonic() + 60
    while kinds and not done.is_set() and time.monotonic() < deadline:
        board = getattr(engine, "board", None)
        if board is not None:
            for i in range(board.layout.workers):
                kind = board.worker_kind(i)
                pid = int(board.workers[i, W_PID])
                if (
                    kind in kinds
                    and pid
                    and board.workers[i, W_BUSY]
                    and board.workers[i, W_DONE] >= 3
                ):
                    os.kill(pid, signal.SIGKILL)
                    killed.append(pid)
                    kinds.remove(kind)
                    break
        time.sleep(0.01)


def test_killed_workers_are_replaced_and_results_stay_complete(
    reference: Reference, tmp_path: Path
) -> None:
    settings = engine_settings(tmp_path, num_gpu_workers=2, num_cpu_workers=1)
    engine = Engine(settings, repo=None, options=QUIET)
    killed: list[int] = []
    done = threading.Event()
    killer = threading.Thread(
        target=_kill_busy_workers,
        args=(engine, [WorkerKind.DETECTOR, WorkerKind.CPU], killed, done),
    )
    killer.start()
    try:
        (result,) = engine.run([VideoJob(reference.clips[0].video_path)])
    finally:
        done.set()
        killer.join()

    assert len(killed) == 2, "the test must kill a detector and a CPU worker mid-run"
    assert engine.stats.worker_restarts == 2
    assert engine.stats.requeued_tasks >= 1
    assert result.complete
    assert sighting_facts(result) == sighting_facts(reference.results[0])


@pytest.mark.parametrize("stop_after_frames", [3])
def test_stop_drains_and_writes_partial_results(
    reference: Reference, tmp_path: Path, stop_after_frames: int
) -> None:
    settings = engine_settings(tmp_path, num_gpu_workers=1, num_cpu_workers=1)
    stop = threading.Event()

    def progress_for(job: VideoJob):  # type: ignore[no-untyped-def]
        def update(done: int, total: int | None) -> None:
            if done >= stop_after_frames:
                stop.set()

        return update

    engine = Engine(settings, repo=None, stop=stop, progress_for=progress_for, options=QUIET)
    (result,) = engine.run([VideoJob(reference.clips[0].video_path)])

    assert not result.complete
    assert stop_after_frames <= result.frames_processed < 24
    assert any("stopped early" in n for n in result.notes)
    assert (result.output_dir / "metadata.json").is_file()
    assert not engine.stats.terminated


def test_workers_that_cannot_start_end_the_run_with_an_error(
    reference: Reference, tmp_path: Path
) -> None:
    # A script whose workers die while starting (here: re-running the script fails in
    # the child, as an import only the parent can make would). The run must stop with
    # an error, not restart them forever.
    script = tmp_path / "broken_start.py"
    script.write_text(
        "import sys\n"
        "if __name__ == '__mp_main__':\n"
        "    raise RuntimeError('this worker cannot start')\n"
        "from pathlib import Path\n"
        "from dashcam.config import load_settings\n"
        "from dashcam.errors import DashcamError\n"
        "from dashcam.pipeline.engine import Engine, EngineOptions\n"
        "from dashcam.pipeline.inline import VideoJob\n"
        "if __name__ == '__main__':\n"
        "    import os\n"
        "    print('pid', os.getpid(), flush=True)\n"
        "    settings = load_settings(data_dir=Path(sys.argv[2]), num_gpu_workers=1,\n"
        "                             num_cpu_workers=1)\n"
        "    engine = Engine(settings, repo=None,\n"
        "                    options=EngineOptions(log_interval_s=0, hud=False))\n"
        "    try:\n"
        "        engine.run([VideoJob(Path(sys.argv[1]))])\n"
        "    except DashcamError as exc:\n"
        "        print('error:', exc)\n"
        "        raise SystemExit(1)\n"
    )
    video = reference.clips[0].video_path
    res = subprocess.run(
        [sys.executable, str(script), str(video), str(tmp_path / "data")],
        capture_output=True,
        text=True,
        timeout=180,
    )
    assert res.returncode == 1, res.stderr[-2000:]
    assert "died 3 times while starting" in res.stdout
    assert "this worker cannot start" in res.stderr  # the cause is shown
    pid = int(res.stdout.split()[1])
    assert leftover_segments(pid) == []
