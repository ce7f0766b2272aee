"""``dashcam gps`` as a subprocess: conversion to stdout/-o, summary on stderr, errors."""

from __future__ import annotations

import json
import os
import subprocess
import sys
from pathlib import Path

import pytest

from dashcam.media.embedded import EmbeddedSource
from dashcam.media.nmea import checksum
from dashcam.media.synthetic import make_clip

T0 = 1_700_000_000_000


def run(
    *args: str | Path, cwd: Path, env: dict[str, str] | None = None
) -> subprocess.CompletedProcess[str]:
    return subprocess.run(
        [sys.executable, "-m", "dashcam", "gps", *map(str, args)],
        capture_output=True,
        text=True,
        cwd=cwd,
        env=dict(os.environ) if env is None else env,
        timeout=60,
    )


@pytest.fixture
def dashcam_log(tmp_path: Path) -> Path:
    """10 fixes at 1 Hz heading north (~11 m apart), one bad checksum, one void line."""
    lines = []
    for i in range(10):
        lat_min = 6.0 + i * 0.006  # 0.0001° = ~11 m per second
        body = f"GPRMC,2213{20 + i:02d}.000,A,52{lat_min:07.4f},N,00418.0000,E,21.4,0.0,141123,,,A"
        lines.append(f"[{T0 + i * 1000}]${body}*{checksum(body)}")
    lines.append(f"[{T0}]$GPRMC,221330.000,A,5206.0000,N,00418.0000,E,0,0,141123,,,A*00")
    void = "GPRMC,221331.000,V,,,,,,,141123,,,N"
    lines.append(f"[{T0}]${void}*{checksum(void)}")
    path = tmp_path / "FILE0001.GPS"
    path.write_text("\n".join(lines) + "\n")
    return path


def test_converts_to_geojson_on_stdout_with_summary(dashcam_log: Path, tmp_path: Path) -> None:
    proc = run(dashcam_log, "--format", "geojson", cwd=tmp_path)
    assert proc.returncode == 0, proc.stderr
    doc = json.loads(proc.stdout)
    coords = doc["features"][0]["geometry"]["coordinates"]
    assert len(coords) == 10 and coords[0] == pytest.approx([4.3, 52.1])
    summary = proc.stderr.strip().splitlines()
    assert len(summary) == 1
    assert "10 fixes kept" in summary[0] and "2 lines rejected" in summary[0]
    assert "2023-11-14T22:13:20.000Z..2023-11-14T22:13:29.000Z (9.0 s)" in summary[0]
    assert "0.10 km" in summary[0]  # 9 × 0.0001° of latitude ≈ 100 m


def test_writes_file_with_format_from_extension_and_clock_offset(
    dashcam_log: Path, tmp_path: Path
) -> None:
    out = tmp_path / "trip.csv"
    proc = run(dashcam_log, "-o", out, "--clock-offset", "-3600", cwd=tmp_path)
    assert proc.returncode == 0, proc.stderr
    assert proc.stdout == ""
    rows = out.read_text().splitlines()
    assert rows[0] == "timestamp_ms,time_utc,lat,lon,speed_mps,bearing_deg,altitude_m"
    assert rows[1].startswith(f"{T0 - 3_600_000},2023-11-14T21:13:20.000Z,52.1,")
    # and the CSV reads back as a track
    back = run(out, "--format", "gpx", cwd=tmp_path)
    assert back.returncode == 0, back.stderr
    assert back.stdout.count("<trkpt") == 10 and "0 lines rejected" in back.stderr


@pytest.mark.parametrize(
    ("content", "message"),
    [(None, "no such GPS file"), ("", "GPS file is empty"), ("nothing here\n", "not a recognised")],
)
def test_bad_input_exits_2_with_one_line(tmp_path: Path, content: str | None, message: str) -> None:
    path = tmp_path / "trip.gps"
    if content is not None:
        path.write_text(content)
    proc = run(path, cwd=tmp_path)
    assert proc.returncode == 2
    assert proc.stdout == ""
    lines = proc.stderr.strip().splitlines()
    assert len(lines) == 1 and message in lines[0] and "trip.gps" in lines[0]


@pytest.mark.parametrize("source", list(EmbeddedSource), ids=str)
def test_prints_every_sample_of_a_track_inside_a_video_without_exiftool(
    tmp_path: Path, source: EmbeddedSource
) -> None:
    clip = make_clip(
        tmp_path,
        name="cam",
        duration_s=2.0,
        resolution_wh=(160, 120),
        fps=5,
        n_vehicles=1,
        telemetry=source,
    )
    assert clip.embedded is not None
    env = dict(os.environ, PATH=str(tmp_path / "empty-bin"))  # no exiftool to lean on
    proc = run(clip.video_path, "--format", "csv", cwd=tmp_path, env=env)
    assert proc.returncode == 0, proc.stderr
    rows = proc.stdout.splitlines()
    assert rows[0].endswith(",altitude_m,video_ms")
    truth = clip.embedded.fixes
    assert len(rows) == len(truth) + 1  # every sample, one row each
    for row, fix in zip(rows[1:], truth, strict=True):
        cells = row.split(",")
        assert (int(cells[0]), int(cells[-1])) == (fix.timestamp_ms, fix.video_ms)
        assert float(cells[4]) == pytest.approx(fix.speed_mps)  # m/s whatever the source
    (summary,) = proc.stderr.strip().splitlines()
    assert f"cam.mp4 ({source}): {len(truth)} fixes kept, 0 samples rejected" in summary
    last_s = max(f.video_ms or 0 for f in truth) / 1000
    assert summary.endswith(f", video {truth[0].video_ms / 1000:.1f}..{last_s:.1f} s")
