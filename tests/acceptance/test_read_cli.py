"""``dashcam read`` as a user runs it: a subprocess, JSON lines on stdout, errors on stderr."""

from __future__ import annotations

import json
import subprocess
import sys
from pathlib import Path

import cv2
import pytest

from dashcam.media.synthetic import make_still, render_plate


def _dashcam(*args: str | Path) -> subprocess.CompletedProcess[str]:
    return subprocess.run(
        [sys.executable, "-m", "dashcam", *map(str, args)],
        capture_output=True,
        text=True,
        timeout=300,
    )


@pytest.fixture(scope="module")
def stills(tmp_path_factory: pytest.TempPathFactory) -> dict[Path, list[str]]:
    folder = tmp_path_factory.mktemp("stills")
    out: dict[Path, list[str]] = {}
    for seed, texts in enumerate([["ABC2345", "KX52ABC"], ["7XYZ234"]]):
        path = folder / f"scene{seed}.jpg"
        make_still(path, texts, seed=seed + 10)
        out[path] = texts
    return out


def test_read_prints_one_json_line_per_image_with_exact_plates(
    stills: dict[Path, list[str]],
) -> None:
    proc = _dashcam("read", *stills)
    assert proc.returncode == 0, proc.stderr
    lines = [json.loads(line) for line in proc.stdout.splitlines()]
    assert [line["file"] for line in lines] == [str(p) for p in stills]
    for line, texts in zip(lines, stills.values(), strict=True):
        assert sorted(p["text"] for p in line["plates"]) == sorted(texts)
        for plate in line["plates"]:
            x1, y1, x2, y2 = plate["xyxy"]
            assert 0 <= x1 < x2 <= 1280 and 0 <= y1 < y2 <= 720
            assert 0.5 <= plate["confidence"] <= 1.0


def test_read_crop_reads_tight_crops_and_reports_bad_files(tmp_path: Path) -> None:
    crop = tmp_path / "crop.png"
    cv2.imwrite(str(crop), render_plate("GC458LC", 48))
    blank = tmp_path / "blank.png"
    cv2.imwrite(str(blank), render_plate("X", 48)[:, :20] * 0 + 255)
    broken = tmp_path / "broken.png"
    broken.write_text("not an image")
    missing = tmp_path / "missing.jpg"

    proc = _dashcam("read", "--crop", missing, crop, broken, blank)

    assert proc.returncode != 0
    lines = [json.loads(line) for line in proc.stdout.splitlines()]
    assert lines == [
        {
            "file": str(crop),
            "plates": [
                {
                    "text": "GC458LC",
                    "confidence": lines[0]["plates"][0]["confidence"],
                    "xyxy": [0.0, 0.0, float(round(48 * 4.2)), 48.0],
                    "region": lines[0]["plates"][0]["region"],
                }
            ],
        },
        {"file": str(blank), "plates": []},
    ]
    assert lines[0]["plates"][0]["confidence"] > 0.8
    errors = proc.stderr.strip().splitlines()
    assert any(str(missing) in e for e in errors)
    assert any(str(broken) in e for e in errors)
    assert "2 of 4 images could not be read" in errors[-1]


def test_read_with_unknown_backend_names_it(stills: dict[Path, list[str]]) -> None:
    proc = _dashcam("read", "--reader", "tesseract9", next(iter(stills)))
    assert proc.returncode == 3
    assert proc.stdout == ""
    (line,) = proc.stderr.strip().splitlines()
    assert "unknown plate reader 'tesseract9'" in line and "rapidocr" in line


def test_read_top_lists_each_plates_best_texts_and_list_regions_names_them(
    tmp_path: Path,
) -> None:
    crop = tmp_path / "it.png"
    cv2.imwrite(str(crop), render_plate("AB 123 CD", 48, "it"))
    proc = _dashcam("read", "--crop", "--region", "it", "--top", "3", crop)
    assert proc.returncode == 0, proc.stderr
    (plate,) = json.loads(proc.stdout)["plates"]
    assert plate["text"] == "AB123CD" and plate["region"] == "it"
    cands = plate["candidates"]
    assert 1 <= len(cands) <= 3 and cands[0]["text"] == "AB123CD"
    assert all(c["region"] == "it" for c in cands)
    probs = [c["probability"] for c in cands]
    assert probs == sorted(probs, reverse=True) and abs(sum(probs) - 1) < 0.01

    listing = _dashcam("read", "--list-regions")
    assert listing.returncode == 0
    names = {line.split("\t")[0] for line in listing.stdout.splitlines()}
    assert {"auto", "any", "eu", "us", "uk", "latam", "it", "us-ca", "br", "ua"} <= names

    bad = _dashcam("read", "--region", "atlantis", crop)
    assert bad.returncode == 2
    assert "unknown plate region 'atlantis'" in bad.stderr and "--list-regions" in bad.stderr
