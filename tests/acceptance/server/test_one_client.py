"""The read and steer commands as a user runs them, against the local database and against
``dashcam server`` on 127.0.0.1 (``DASHCAM_SERVER_URL`` + ``DASHCAM_API_KEY``): the same
test body in both modes, the same output, exports that lose nothing, and sightings that
say which moment's time and place they show, and videos that say how their frames met their
GPS track (the "GPS clock")."""

from __future__ import annotations

import csv
import io
import json
import re
import shutil
import xml.etree.ElementTree as ET
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass
from pathlib import Path

import pytest
from server_stack import clean_env, cli, free_port, start_server, stop, without_creation_time

from dashcam.domain.gps import GpsFix, GpsTrack, haversine_m, position_at
from dashcam.media.embedded import EmbeddedSource
from dashcam.media.synthetic import SyntheticClip, make_clip
from dashcam.store.database import make_engine
from dashcam.store.task_queue import TaskQueue

pytestmark = pytest.mark.slow
KEY = "one-client-key"
MODES = ("local", "server")
# The GoPro clip's container says it was created 3 s after its GPS clock's first frame.
CREATION_OFFSET_S = 3


@dataclass(frozen=True)
class Seeded:
    data: Path  # a data folder with four processed videos
    drive: SyntheticClip  # container clock, GPS log beside it
    city: SyntheticClip  # processed without its creation time: the GPS clock
    lost: SyntheticClip  # processed without its GPS log: no positions
    gopro: SyntheticClip  # its track inside (GPMF): frames meet it by video time
    spare: Path  # a video nobody ingested yet


@pytest.fixture(scope="module")
def seeded(tmp_path_factory: pytest.TempPathFactory) -> Seeded:
    tmp = tmp_path_factory.mktemp("seed")
    size = (960, 540)
    drive = make_clip(tmp / "drive", name="drive", seed=31, duration_s=5.0, resolution_wh=size)
    city = make_clip(tmp / "city", name="city", seed=32, duration_s=5.0, resolution_wh=size)
    lost = make_clip(tmp / "lost", name="lost", seed=33, duration_s=5.0, resolution_wh=size)
    gopro = make_clip(
        tmp / "gopro",
        name="gopro",
        seed=35,
        duration_s=5.0,
        resolution_wh=size,
        n_vehicles=2,
        telemetry=EmbeddedSource.GPMF,
        creation_offset_s=CREATION_OFFSET_S,
    )
    city_video = without_creation_time(city.video_path, tmp / "city" / "city-noclock.mp4")
    shutil.copy(city.gps_path, tmp / "city" / "city-noclock.gps")
    (tmp / "nogps").mkdir()
    lost_video = Path(shutil.copy(lost.video_path, tmp / "nogps" / "lost.mp4"))
    spare = make_clip(tmp / "spare", name="spare", seed=34, duration_s=2.0).video_path
    env = clean_env(DASHCAM_DATA_DIR=str(tmp / "data"))
    res = cli(["process", drive.video_path, city_video, lost_video, gopro.video_path], env)
    assert res.returncode == 0, res.stderr
    # A worker that has reported, so `workers` has one to show.
    engine = make_engine(f"sqlite:///{tmp / 'data' / 'dashcam.db'}")
    TaskQueue(engine).worker_heartbeat("heavy-ws1-1", "heavy", host="ws1", pid=4242)
    engine.dispose()
    return Seeded(tmp / "data", drive, city, lost, gopro, spare)


@dataclass(frozen=True)
class Mode:
    name: str
    env: dict[str, str]
    cwd: Path  # a folder without a database of its own

    def run(self, *args: str | Path) -> tuple[int, str, str]:
        res = cli(list(args), self.env, cwd=self.cwd)
        return res.returncode, res.stdout, res.stderr


@contextmanager
def open_mode(name: str, seeded: Seeded, tmp: Path) -> Iterator[Mode]:
    """The CLI's environment for ``name``: the local database (a copy of the seeded one),
    or a server on that copy and nothing local but the server's URL and key."""
    data = tmp / name / "data"
    shutil.copytree(seeded.data, data)
    cwd = tmp / name / "elsewhere"
    cwd.mkdir()
    if name == "local":
        yield Mode(name, clean_env(DASHCAM_DATA_DIR=str(data)), cwd)
        return
    port = free_port()
    server_env = clean_env(
        DASHCAM_DATA_DIR=str(data),
        DASHCAM_API_KEY=KEY,
        DASHCAM_SERVER_PORT=str(port),
        # the shared folder the server ingests from (it refuses paths outside it)
        DASHCAM_NAS_MOUNT=str(seeded.spare.parent.parent),
    )
    proc = start_server(server_env, tmp / name / "server.log")
    env = clean_env(DASHCAM_SERVER_URL=f"http://127.0.0.1:{port}", DASHCAM_API_KEY=KEY)
    try:
        yield Mode(name, env, cwd)
    finally:
        stop(proc)
    assert not (cwd / "dashcam-data").exists()  # the server's client made nothing here


@pytest.fixture(params=MODES)
def mode(request: pytest.FixtureRequest, seeded: Seeded, tmp_path: Path) -> Iterator[Mode]:
    with open_mode(request.param, seeded, tmp_path) as m:
        yield m


def _one_wrong(plate: str) -> str:
    return plate[:-1] + ("X" if plate[-1] != "X" else "Y")


# Each seeded video's start clock (in "recorded (UTC)") and its "GPS clock" cell.
CLOCKS = {
    "drive": ("(container clock)", "nmea, creation time"),
    "city-noclock": ("(gps clock)", "nmea, first fix"),
    "lost": ("(container clock)", "—"),
    "gopro": ("(gps clock)", f"gpmf, video time, GPS -{CREATION_OFFSET_S:.1f} s vs creation"),
}


def _video_rows(table: str) -> dict[str, list[str]]:
    """The ``videos`` table's rows by video name (the id without its hash): their cells."""
    rows = {}
    for line in table.splitlines():
        cells = [c.strip() for c in line.strip().strip("│").split("│")]
        found = re.fullmatch(r"(\S+)-[0-9a-f]{8}", cells[0]) if len(cells) > 1 else None
        if found:
            rows[found.group(1)] = cells
    return rows


# --- item 1: one client ---------------------------------------------------------------------
def test_read_and_steer_commands_work_in_both_modes(mode: Mode, seeded: Seeded) -> None:
    rc, out, err = mode.run("videos")
    assert rc == 0, err
    rows = _video_rows(out)
    assert sorted(rows) == sorted(CLOCKS) and {r[1] for r in rows.values()} == {"done"}, out
    head = next(line for line in out.splitlines() if "┃" in line)
    header = [c.strip() for c in head.strip().strip("┃").split("┃")]
    recorded, gps = header.index("recorded (UTC)"), header.index("GPS clock")
    for name, (start_clock, gps_clock) in CLOCKS.items():
        # where each start came from, and how the frames met the track
        assert rows[name][recorded].endswith(start_clock), (name, out)
        assert rows[name][gps] == gps_clock, (name, out)

    target = seeded.drive.plates[0].text
    rc, out, err = mode.run("plates", "search", _one_wrong(target), "--json")
    assert rc == 0, err
    assert [json.loads(line)["plate_text"] for line in out.splitlines()] == [target]

    rc, out, err = mode.run("tasks", "list")
    assert rc == 0 and "no tasks" in err, (out, err)

    rc, out, err = mode.run("ingest", seeded.spare)
    assert rc == 0 and "1 new video(s) queued" in err, err
    rc, out, err = mode.run("ingest", seeded.spare)
    assert rc == 0 and "0 new video(s) queued" in err and "known" in err, err

    rc, out, err = mode.run("tasks", "list", "--type", "HEAVY_PROCESS_VIDEO")
    assert rc == 0, err
    (row,) = [ln.replace("│", " ").split() for ln in out.splitlines() if "HEAVY_PROC" in ln]
    task_id, _, status = row[:3]
    assert task_id.isdigit() and status == "queued", row

    rc, out, err = mode.run("status", "--json")
    assert rc == 0, err
    doc = json.loads(out)
    assert doc["tasks"]["HEAVY_PROCESS_VIDEO"] == {"queued": 1}
    assert doc["backlog"]["HEAVY_PROCESS_VIDEO"] == 1
    assert [w["worker_id"] for w in doc["workers"]] == ["heavy-ws1-1"]

    rc, out, err = mode.run("workers", "list", "--json")
    assert rc == 0, err
    (worker,) = [json.loads(line) for line in out.splitlines()]
    assert (worker["kind"], worker["host"], worker["pid"]) == ("heavy", "ws1", 4242)
    rc, out, err = mode.run("workers")
    assert rc == 0 and "heavy-ws1-1" in out, err

    rc, out, err = mode.run("tasks", "cancel", task_id)
    assert rc == 0 and f"task {task_id} cancelled" in err, err
    rc, out, err = mode.run("tasks", "cancel", task_id)
    assert rc == 2 and "is not queued, waiting or running" in err, err
    rc, out, err = mode.run("tasks", "requeue", task_id)
    assert rc == 0 and f"task {task_id} queued again" in err, err
    rc, out, err = mode.run("status")
    assert rc == 0 and "HEAVY_PROCESS_VIDEO" in out and "heavy-ws1-1" in out, err


def test_every_read_prints_the_same_in_both_modes(seeded: Seeded, tmp_path: Path) -> None:
    target = seeded.drive.plates[0].text
    commands: list[list[str]] = [
        ["videos"],
        ["plates", "search", _one_wrong(target)],
        ["plates", "search", _one_wrong(target), "--json"],
        ["export", "--format", "csv"],
        ["export", "--format", "geojson"],
        ["export", "--format", "gpx"],
        ["tasks", "list"],
    ]
    printed: dict[str, list[str]] = {}
    for name in MODES:
        with open_mode(name, seeded, tmp_path) as m:
            printed[name] = []
            for args in commands:
                rc, out, err = m.run(*args)
                assert rc == 0, (name, args, err)
                printed[name].append(out)
    for args, local, remote in zip(commands, printed["local"], printed["server"], strict=True):
        assert local == remote, args
        assert local.strip() or args == ["tasks", "list"], args
    videos = " ".join(printed["local"][0].split())
    assert all(gps_clock in videos for _, gps_clock in CLOCKS.values()), videos


def test_a_read_never_creates_a_database_and_says_where_it_looked(tmp_path: Path) -> None:
    env = clean_env()  # no data folder, no server: ./dashcam-data of the current folder
    for args in (
        ["videos"],
        ["plates", "search", "AB12CDE"],
        ["export"],
        ["tasks", "list"],
        ["tasks", "cancel", "1"],
        ["status"],
        ["workers"],
    ):
        res = cli(args, env, cwd=tmp_path)
        assert res.returncode == 2, (args, res.stderr)
        lines = res.stderr.strip().splitlines()
        assert len(lines) == 1 and lines[0].startswith("dashcam: error:"), res.stderr
        assert str(tmp_path / "dashcam-data" / "dashcam.db") in lines[0]
        assert "--server" in lines[0] and "nothing was created" in lines[0]
    assert list(tmp_path.iterdir()) == []
    gone = cli(["videos", "--server", f"http://127.0.0.1:{free_port()}"], env, cwd=tmp_path)
    assert gone.returncode == 1 and "unreachable" in gone.stderr
    assert list(tmp_path.iterdir()) == []


def test_a_wrong_api_key_is_a_config_error(seeded: Seeded, tmp_path: Path) -> None:
    with open_mode("server", seeded, tmp_path) as m:
        res = cli(["videos"], {**m.env, "DASHCAM_API_KEY": "wrong"}, cwd=m.cwd)
    assert res.returncode == 2 and "check DASHCAM_API_KEY" in res.stderr, res.stderr


# --- item 3: exports lose nothing -----------------------------------------------------------
def test_exports_keep_or_count_every_sighting(mode: Mode, seeded: Seeded) -> None:
    rc, out, err = mode.run("export", "--format", "csv")
    assert rc == 0, err
    rows = list(csv.DictReader(io.StringIO(out)))
    unplaced = [r for r in rows if not r["best_lat"]]
    lost_id = next(r["video_id"] for r in rows if r["video_id"].startswith("lost"))
    assert unplaced and {r["video_id"] for r in unplaced} == {lost_id}
    assert f"{len(rows)} row(s) written to stdout" in err

    rc, out, err = mode.run("export", "--format", "geojson")
    assert rc == 0, err
    features = json.loads(out)["features"]
    assert len(features) == len(rows)  # nothing dropped: null geometry instead
    assert sum(f["geometry"] is None for f in features) == len(unplaced)
    assert f"{len(rows)} feature(s) written to stdout" in err and "left out" not in err

    rc, out, err = mode.run("export", "--format", "geojson", "--located-only")
    assert rc == 0, err
    assert len(json.loads(out)["features"]) == len(rows) - len(unplaced)
    assert f"{len(unplaced)} sighting(s) without a position left out" in err

    target = mode.cwd / "out.gpx"
    rc, out, err = mode.run("export", "--format", "gpx", "-o", target)
    assert rc == 0 and out == "", err
    wpts = ET.parse(target).getroot().findall("{http://www.topografix.com/GPX/1/1}wpt")
    assert len(wpts) == len(rows) - len(unplaced)
    assert f"{len(wpts)} waypoint(s) written to {target}" in err
    assert f"{len(unplaced)} sighting(s) without a position left out" in err


# --- item 4: first, best and last time and place ---------------------------------------------
def test_sightings_carry_first_best_and_last_time_and_place(mode: Mode, seeded: Seeded) -> None:
    # drive: a GPS log beside it, frames at creation time + pts; gopro: the track inside,
    # frames met by video time (the creation time is 3 s off; by video time it is on the
    # track, so within 1 m as the positions of its own frames).
    for clip, within_m in ((seeded.drive, 10.0), (seeded.gopro, 1.0)):
        track = GpsTrack(clip.fixes)
        start_ms = round(clip.start_utc.timestamp() * 1000)  # the first frame, GPS clock
        for plate in clip.plates:
            rc, out, err = mode.run("plates", "search", plate.text, "-k", "0", "--json")
            assert rc == 0, err
            (s,) = [json.loads(line) for line in out.splitlines()]
            assert s["first_s"] <= s["best_s"] <= s["last_s"]
            assert s["first_utc_ms"] <= s["best_utc_ms"] <= s["last_utc_ms"]
            for key, when, at_s in (
                ("first_position", "first_utc_ms", "first_s"),
                ("position", "best_utc_ms", "best_s"),
                ("last_position", "last_utc_ms", "last_s"),
            ):
                pos = s[key]
                assert abs(pos["timestamp_ms"] - s[when]) <= 1, (plate.text, key)
                truth = position_at(track, start_ms + round(s[at_s] * 1000), max_gap_s=5)
                assert truth is not None
                off = haversine_m(GpsFix(0, pos["lat"], pos["lon"]), truth)
                assert off < within_m, (plate.text, key, off)

    rc, out, err = mode.run("plates", "search", seeded.drive.plates[0].text)
    assert rc == 0, err
    for header in ("first", "best", "last", "best UTC", "best lat", "best lon"):
        assert header in out
    assert "time and place of the best read" in " ".join(out.split())
    rc, out, err = mode.run("export", "--format", "csv")
    header = out.splitlines()[0].split(",")
    for col in ("first_utc", "best_utc", "last_utc", "first_lat", "best_lat", "last_lat"):
        assert col in header
    rc, out, err = mode.run("export", "--format", "geojson")
    props = [f["properties"] for f in json.loads(out)["features"]]
    assert {p["geometry_at"] for p in props} == {"best"}
