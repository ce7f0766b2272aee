"""A three-video project through every stage, each stage worker its own process, on SQLite."""

from __future__ import annotations

import json
import os
import signal
import subprocess
import sys
import time
from pathlib import Path

import av
import pytest
import yaml

from dashcam.media.synthetic import make_clip

sys.path.insert(0, str(Path(__file__).resolve().parents[2] / "integration" / "miner"))
from tiny_siglip import build_tiny_siglip

pytestmark = pytest.mark.slow

CLI = [sys.executable, "-m", "dashcam", "miner"]
STAGES = ["download", "extract", "filter", "dedup", "detect", "backup", "monitor"]


def cut(src: Path, dst: Path, until_s: float) -> Path:
    """Re-encode the first ``until_s`` seconds of ``src`` (new bytes, same pictures)."""
    with av.open(str(src)) as inp, av.open(str(dst), "w") as out:
        ins = inp.streams.video[0]
        st = out.add_stream("libx264", rate=int(ins.average_rate or 30))
        st.width, st.height, st.pix_fmt = ins.width, ins.height, "yuv420p"
        for frame in inp.decode(ins):
            if frame.time is not None and frame.time >= until_s:
                break
            img = frame.to_ndarray(format="bgr24")
            for pkt in st.encode(av.VideoFrame.from_ndarray(img, format="bgr24")):
                out.mux(pkt)
        for pkt in st.encode():
            out.mux(pkt)
    return dst


def cli(*args: str, env: dict[str, str], check: bool = True) -> subprocess.CompletedProcess[str]:
    res = subprocess.run([*CLI, *args], env=env, capture_output=True, text=True, timeout=120)
    if check and res.returncode != 0:
        raise AssertionError(f"{args}: rc {res.returncode}\n{res.stdout}\n{res.stderr}")
    return res


def test_three_videos_through_every_stage(tmp_path: Path) -> None:
    clips = tmp_path / "clips"
    a = make_clip(clips, name="a", seed=1, duration_s=4, resolution_wh=(960, 540))
    b = make_clip(clips, name="b", seed=2, duration_s=4, resolution_wh=(960, 540))
    c = cut(a.video_path, clips / "c.mp4", 3.0)
    model = build_tiny_siglip(tmp_path / "siglip")
    remote = tmp_path / "remote"
    cfg = {
        "name": "cars",
        "sources": [str(a.video_path), str(b.video_path)],
        "extract": {"mode": "time", "every_s": 0.5},
        "filter": {
            "quality": {"min_sharpness": 1.0},
            "siglip": {
                "model": str(model),
                "positive": ["a photo of a car"],
                "negative": ["a photo of a dog"],
                "threshold": 0.0,
                "margin": -1.0,
            },
        },
        "dedup": {"max_distance": 6},
        "detect": {"optional": True},
        "backup": {"remote": str(remote)},
        "workers": {"lease_s": 10, "heartbeat_interval_s": 1, "poll_interval_s": 0.3},
    }
    (tmp_path / "config.yaml").write_text(yaml.safe_dump(cfg))
    env = {**os.environ, "DASHCAM_DATA_DIR": str(tmp_path / "data")}
    cli("project", "create", "--config", str(tmp_path / "config.yaml"), env=env)
    cli("add", str(c), str(a.video_path), env=env)  # a again: already in the project
    procs = [
        subprocess.Popen(
            [*CLI, "worker", s],
            env=env,
            stdout=subprocess.DEVNULL,
            stderr=subprocess.PIPE,
            text=True,
        )
        for s in STAGES
    ]
    try:
        deadline = time.monotonic() + 100
        while True:
            doc = json.loads(cli("status", "--json", env=env).stdout)
            backed = doc["stages"]["backup"].get("done", 0)
            if doc["state"] == "COMPLETE" and backed:
                break
            assert time.monotonic() < deadline, doc
            assert all(p.poll() is None for p in procs), [
                p.stderr.read() for p in procs if p.poll() is not None
            ]
            time.sleep(0.5)
    finally:
        for p in procs:
            p.send_signal(signal.SIGTERM)
        for p in procs:
            p.wait(timeout=30)
    assert all(p.returncode == 0 for p in procs)
    assert doc["videos"] == {"filtered": 3}
    frames = doc["frames"]
    # c's 6 frames are a's first 6: each pair collapses to one kept frame
    assert frames.get("duplicate", 0) >= 6
    assert frames["kept"] >= 8
    assert "no detector weights" in doc["detect_note"]

    cli("export", "--format", "coco", env=env)
    cli("export", "--format", "yolo", env=env)
    root = tmp_path / "data" / "miner" / "cars"
    coco_dir = root / "export" / "coco"
    parts = {
        part: json.loads((coco_dir / "annotations" / f"instances_{part}.json").read_text())
        for part in ("train", "val")
    }
    assert sum(len(d["images"]) for d in parts.values()) == frames["kept"]
    assert {"images", "annotations", "categories"} <= set(parts["train"])
    for part, coco in parts.items():
        for im in coco["images"]:
            assert (coco_dir / "images" / part / im["file_name"]).is_file()
            assert (im["width"], im["height"]) == (960, 540)
    assert any(im["lat"] is not None for d in parts.values() for im in d["images"])  # a, b
    for part in ("train", "val"):
        labels = sorted((root / "export" / "yolo" / "labels" / part).glob("*.txt"))
        images = sorted((root / "export" / "yolo" / "images" / part).iterdir())
        assert labels and [p.stem for p in labels] == [p.stem for p in images]
    data = yaml.safe_load((root / "export" / "yolo" / "data.yaml").read_text())
    assert (data["train"], data["val"]) == ("images/train", "images/val")
    manifest = json.loads((remote / "cars" / "MANIFEST.json").read_text())["files"]
    assert any(k.startswith("frames/") for k in manifest)
