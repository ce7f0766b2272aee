from __future__ import annotations

import pytest

from dashcam.domain.smoothing import Read, fuse_reads


@pytest.mark.parametrize(
    ("reads", "expected"),
    [
        ([("ABC1234", 0.9)], "ABC1234"),
        ([("ABC1234", 0.9), ("A8C1234", 0.6), ("ABC1234", 0.7)], "ABC1234"),
        # Every read has one error, at a different place: the vote repairs all of them.
        ([("XBC1234", 0.8), ("AXC1234", 0.8), ("ABX1234", 0.8), ("ABC1X34", 0.8)], "ABC1234"),
        # A dropped and an inserted character do not shift the other positions.
        ([("ABC1234", 0.6), ("ABC234", 0.9), ("ABC12234", 0.5), ("ABC1234", 0.7)], "ABC1234"),
        # A confident minority loses to a consistent majority.
        ([("KX52ABC", 0.5), ("KX52ABC", 0.5), ("KX52ABC", 0.5), ("KX52A8C", 0.95)], "KX52ABC"),
    ],
)
def test_fuse_reads(reads: list[tuple[str, float]], expected: str) -> None:
    fused = fuse_reads([Read(t, c) for t, c in reads])
    assert fused is not None
    assert fused.text == expected
    assert 0.0 < fused.confidence <= 1.0
    assert fused.n_reads == len(reads)


def test_no_text_gives_none() -> None:
    assert fuse_reads([Read("", 0.9)]) is None
    assert fuse_reads([]) is None


def test_agreement_raises_confidence() -> None:
    agree = fuse_reads([Read("ABC123", 0.8)] * 3)
    split = fuse_reads([Read("ABC123", 0.8), Read("XYZ789", 0.8), Read("ABC123", 0.8)])
    assert agree is not None and split is not None
    assert agree.confidence > split.confidence


def test_reads_vote_with_their_layout_valid_alternatives() -> None:
    # Two of three frames read a 0 where the layout (Italian LLDDDLL) wants a letter:
    # their decoder still gave the layout-valid text most of the probability.
    reads = [
        Read("AB123CD", 0.9, (("AB123CD", 0.7), ("AB1230D", 0.3))),
        Read("AB1230D", 0.9, (("AB123CD", 0.6), ("AB1230D", 0.4))),
        Read("AB1230D", 0.9, (("AB123CD", 0.55), ("AB1230D", 0.45))),
    ]
    fused = fuse_reads(reads)
    assert fused is not None and fused.text == "AB123CD"
    assert fused.n_reads == 3
    # text-only reads of the same plate keep the old character vote (majority wins)
    plain = fuse_reads([Read(r.text, r.confidence) for r in reads])
    assert plain is not None and plain.text == "AB1230D"


def test_the_fused_text_is_one_a_read_offered() -> None:
    # A character-wise vote could mix AB12 (one read) with CDE of another; with
    # alternatives the result is always an offered text.
    reads = [
        Read("AB12CDE", 0.9, (("AB12CDE", 0.5), ("A812CDE", 0.5))),
        Read("XY34ZZZ", 0.9, (("XY34ZZZ", 1.0),)),
    ]
    fused = fuse_reads(reads)
    assert fused is not None and fused.text in {"AB12CDE", "A812CDE", "XY34ZZZ"}
