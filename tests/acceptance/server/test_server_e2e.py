"""Server, heavy worker and archive worker as separate processes on 127.0.0.1: two videos,
one with a GPS log beside it and one with its track inside, end archived and searchable,
each with the GPS clock the heavy worker found."""

from __future__ import annotations

import os
import socket
import subprocess
import sys
import time
from collections.abc import Iterator
from pathlib import Path

import httpx
import pytest

from dashcam.media.embedded import EmbeddedSource
from dashcam.media.synthetic import SyntheticClip, make_clip

pytestmark = pytest.mark.slow
KEY = "test-key-123"


def _free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return int(s.getsockname()[1])


def _spawn(args: list[str], env: dict[str, str], log: Path) -> subprocess.Popen[bytes]:
    return subprocess.Popen(
        [sys.executable, "-m", "dashcam", *args],
        env=env,
        stdout=log.open("wb"),
        stderr=subprocess.STDOUT,
    )


@pytest.fixture
def stack(tmp_path: Path) -> Iterator[tuple[httpx.Client, dict[str, str], Path]]:
    port = _free_port()
    env = {k: v for k, v in os.environ.items() if not k.startswith("DASHCAM_")}
    env.update(
        {
            "DASHCAM_DATA_DIR": str(tmp_path / "data"),
            "DASHCAM_NAS_MOUNT": str(tmp_path / "nas"),
            "DASHCAM_ARCHIVE_ROOT": str(tmp_path / "shed"),
            "DASHCAM_API_KEY": KEY,
            "DASHCAM_SERVER_PORT": str(port),
            "DASHCAM_SERVER_URL": f"http://127.0.0.1:{port}",
            "DASHCAM_POLL_INTERVAL": "0.5",
            "DASHCAM_HEARTBEAT_INTERVAL_S": "1",
        }
    )
    procs = [_spawn(["server"], env, tmp_path / "server.log")]
    client = httpx.Client(
        base_url=f"http://127.0.0.1:{port}", headers={"Authorization": f"Bearer {KEY}"}, timeout=30
    )
    deadline = time.time() + 60
    while True:
        try:
            if client.get("/health").status_code == 200:
                break
        except httpx.HTTPError:
            pass
        assert time.time() < deadline, (tmp_path / "server.log").read_text()
        time.sleep(0.3)
    procs.append(_spawn(["worker", "heavy"], env, tmp_path / "heavy.log"))
    procs.append(_spawn(["worker", "archive"], env, tmp_path / "archive.log"))
    try:
        yield client, env, tmp_path
    finally:
        for p in procs:
            p.terminate()
        for p in procs:
            try:
                p.wait(timeout=20)
            except subprocess.TimeoutExpired:
                p.kill()
        client.close()


def test_two_videos_end_archived_and_searchable(
    stack: tuple[httpx.Client, dict[str, str], Path],
) -> None:
    client, env, tmp = stack
    assert httpx.get(str(client.base_url) + "/videos").status_code == 401  # key required
    clips: list[SyntheticClip] = [
        make_clip(
            tmp / "nas" / "videos" / "incoming",
            name=f"drive{i}",
            seed=20 + i,
            duration_s=6.0,
            resolution_wh=(960, 540),
            telemetry=telemetry,
            creation_offset_s=2.0 if telemetry else 0.0,
        )
        for i, telemetry in enumerate((None, EmbeddedSource.GPMF))
    ]
    res = subprocess.run(
        [sys.executable, "-m", "dashcam", "ingest", str(tmp / "nas" / "videos" / "incoming")],
        env=env,
        capture_output=True,
        text=True,
        timeout=60,
    )
    assert res.returncode == 0, res.stderr
    assert "2 new video(s) queued" in res.stderr
    deadline = time.time() + 240
    while True:
        videos = client.get("/videos").json()
        if len(videos) == 2 and all(v["status"] == "archived" for v in videos):
            break
        assert time.time() < deadline, (
            videos,
            (tmp / "heavy.log").read_text()[-3000:],
            (tmp / "archive.log").read_text()[-3000:],
        )
        time.sleep(1)
    # The completion carried how each video's frames met its track (and so its start's clock).
    clocks = {v["id"].rsplit("-", 1)[0]: (v["gps_clock"], v["recorded_clock"]) for v in videos}
    starts = [round(c.start_utc.timestamp() * 1000) for c in clips]
    assert clocks == {
        "drive0": (
            {
                "source": "nmea",
                "time_base": "creation_time",
                "start_utc_ms": starts[0],
                "gps_minus_creation_s": None,
            },
            "container",
        ),
        "drive1": (
            {
                "source": "gpmf",
                "time_base": "video",
                "start_utc_ms": starts[1],
                "gps_minus_creation_s": -2.0,
            },
            "gps",
        ),
    }
    # ... and which clock placed each video, the others' offsets beside it
    assert {v["id"].rsplit("-", 1)[0]: v["clock"] for v in videos} == {
        "drive0": {"source": "container", "start_utc_ms": starts[0], "offsets_s": {}},
        "drive1": {"source": "gps", "start_utc_ms": starts[1], "offsets_s": {"container": 2.0}},
    }
    for v in videos:
        archive = Path(v["archive_dir"])
        assert (archive / "metadata.json").is_file() and any((archive / "crops").iterdir())
        heavy = tmp / "nas" / "videos" / "heavy_output" / v["id"]
        assert not heavy.exists()  # moved, not copied
    for clip in clips:
        for plate in clip.plates:
            wrong = plate.text[:-1] + ("X" if plate.text[-1] != "X" else "Y")
            hits = client.get("/plates/search", params={"q": wrong}).json()
            assert plate.text in [h["plate_text"] for h in hits], (plate.text, hits)
            sid = next(h["id"] for h in hits if h["plate_text"] == plate.text)
            crop = client.get(f"/sightings/{sid}/crop")
            assert crop.status_code == 200 and crop.content[:2] == b"\xff\xd8"
    tasks = client.get("/tasks", params={"status": "done"}).json()
    assert (
        sorted(t["task_type"] for t in tasks) == ["ARCHIVE_VIDEO"] * 2 + ["HEAVY_PROCESS_VIDEO"] * 2
    )
