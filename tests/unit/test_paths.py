from __future__ import annotations

from pathlib import Path

import pytest

from dashcam.domain.ids import is_valid_id, slugify, video_id_for
from dashcam.errors import PathEscapeError
from dashcam.store.paths import copy_tree_verified, quick_content_hash, safe_child


@pytest.mark.parametrize(
    ("value", "ok"),
    [
        ("front-2024_01.mp4", True),
        ("../etc", False),
        ("a/b", False),
        ("", False),
        (".hidden", False),
        ("x" * 129, False),
        ("a..b", False),
    ],
)
def test_is_valid_id(value: str, ok: bool) -> None:
    assert is_valid_id(value) is ok


def test_video_ids() -> None:
    assert slugify("My Drive 2024.MP4") == "my-drive-2024-mp4"
    assert video_id_for("My Drive", "abcdef0123") == "my-drive-abcdef01"


def test_safe_child_refuses_escape(tmp_path: Path) -> None:
    assert safe_child(tmp_path, "v1") == (tmp_path / "v1").resolve()
    with pytest.raises(PathEscapeError):
        safe_child(tmp_path, "../v1")


def test_copy_tree_verified_is_repeatable(tmp_path: Path) -> None:
    src = tmp_path / "src"
    (src / "crops").mkdir(parents=True)
    (src / "metadata.json").write_text("{}")
    (src / "crops" / "a.jpg").write_bytes(b"\xff" * 100)
    dst = tmp_path / "dst"
    sums = copy_tree_verified(src, dst)
    assert set(sums) == {"metadata.json", "crops/a.jpg"}
    assert copy_tree_verified(src, dst) == sums  # second run keeps the verified copy
    assert (dst / "crops" / "a.jpg").read_bytes() == b"\xff" * 100


def test_quick_hash_differs_for_different_content(tmp_path: Path) -> None:
    a, b = tmp_path / "a", tmp_path / "b"
    a.write_bytes(b"x" * 10_000_000)
    b.write_bytes(b"x" * 9_999_999 + b"y")
    assert quick_content_hash(a) != quick_content_hash(b)
