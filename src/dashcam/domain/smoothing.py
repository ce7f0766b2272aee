"""Fuse every read of one track into one plate: confidence-weighted, character-aligned vote.

Reads of one plate disagree in single characters (``ABC1234`` / ``A8C1234``) and in
length (a dropped or doubled character). Each read is aligned to a consensus with an
edit-distance alignment, and each consensus position is decided by the summed
confidence of the characters aligned to it. The length is decided by vote first.

A read may carry its best texts under the plate formats with their probabilities
(``alternatives``, from format-aware decoding): each then votes with every one of them,
weighted by its probability, and the fused text is one of the texts some read offered
(the consensus itself when it is one, else the offered text nearest to it), so the vote
runs over layout-valid texts.
"""

from __future__ import annotations

from collections import defaultdict
from collections.abc import Sequence
from dataclasses import dataclass


@dataclass(frozen=True)
class Read:
    """One read: its text and confidence, and optionally its ``(text, probability)``
    alternatives, best first (probabilities summing to at most 1)."""

    text: str
    confidence: float
    alternatives: tuple[tuple[str, float], ...] = ()

    def votes(self) -> list[tuple[str, float]]:
        """``(text, weight)`` this read casts: each alternative at confidence x p."""
        conf = max(self.confidence, 1e-3)
        if not self.alternatives:
            return [(self.text, conf)] if self.text else []
        return [(t, conf * p) for t, p in self.alternatives if t and p > 0]


@dataclass(frozen=True)
class FusedPlate:
    text: str
    confidence: float  # 0..1: mean per-position agreement weighted by confidence
    n_reads: int
    support: float  # share of total read weight whose text equals ``text`` exactly


def _align(a: str, b: str) -> list[tuple[int | None, int | None]]:
    """Levenshtein alignment of a to b as (index in a | None, index in b | None) pairs."""
    n, m = len(a), len(b)
    dp = [[0] * (m + 1) for _ in range(n + 1)]
    for i in range(n + 1):
        dp[i][0] = i
    for j in range(m + 1):
        dp[0][j] = j
    for i in range(1, n + 1):
        for j in range(1, m + 1):
            sub = dp[i - 1][j - 1] + (a[i - 1] != b[j - 1])
            dp[i][j] = min(sub, dp[i - 1][j] + 1, dp[i][j - 1] + 1)
    pairs: list[tuple[int | None, int | None]] = []
    i, j = n, m
    while i > 0 or j > 0:
        if i > 0 and j > 0 and dp[i][j] == dp[i - 1][j - 1] + (a[i - 1] != b[j - 1]):
            pairs.append((i - 1, j - 1))
            i, j = i - 1, j - 1
        elif i > 0 and dp[i][j] == dp[i - 1][j] + 1:
            pairs.append((i - 1, None))
            i -= 1
        else:
            pairs.append((None, j - 1))
            j -= 1
    return pairs[::-1]


def fuse_reads(reads: Sequence[Read]) -> FusedPlate | None:
    """The consensus plate of ``reads`` (None when no read has text).

    >>> fuse_reads([Read("ABC123", 0.9), Read("A8C123", 0.5), Read("ABC123", 0.8)]).text
    'ABC123'
    >>> fuse_reads([Read("AB12CDE", 0.9, (("AB12CDE", 0.6), ("A812CDE", 0.4))),
    ...             Read("A812CDE", 0.9, (("A812CDE", 0.55), ("AB12CDE", 0.45)))]).text
    'AB12CDE'
    """
    usable = [r for r in reads if r.votes()]
    if not usable:
        return None
    votes = [v for r in usable for v in r.votes()]
    total = sum(w for _, w in votes)
    by_len: dict[int, float] = defaultdict(float)
    by_text: dict[str, float] = defaultdict(float)
    for text, w in votes:
        by_len[len(text)] += w
        by_text[text] += w
    length = max(by_len.items(), key=lambda kv: (kv[1], kv[0]))[0]
    # Seed: the heaviest text of the winning length.
    consensus = max((t for t in by_text if len(t) == length), key=lambda t: (by_text[t], t))
    position_votes: list[dict[str, float]] = []
    for _ in range(2):  # re-align once against the improved consensus
        position_votes = [defaultdict(float) for _ in range(length)]
        for text, w in votes:
            for ci, ri in _align(consensus, text):
                if ci is not None and ri is not None:
                    position_votes[ci][text[ri]] += w
        consensus = "".join(
            max(v.items(), key=lambda kv: (kv[1], kv[0]))[0] if v else consensus[k]
            for k, v in enumerate(position_votes)
        )
    if any(r.alternatives for r in usable) and consensus not in by_text:
        # a mix of characters no read offered: the offered text nearest to it
        consensus = min(by_text, key=lambda t: (_distance(consensus, t), -by_text[t], t))
    agreement = [(max(v.values()) / total) if v else 0.0 for v in position_votes]
    conf = sum(agreement) / max(len(agreement), 1)
    agreeing = [r.confidence for r in usable if r.text == consensus]
    mean_conf = sum(agreeing) / max(len(agreeing), 1)
    support = by_text.get(consensus, 0.0) / total
    # Confidence: how much the reads agree, scaled by how sure the agreeing reads were.
    fused_conf = conf * (mean_conf if mean_conf > 0 else max(r.confidence for r in usable))
    return FusedPlate(
        text=consensus,
        confidence=round(min(fused_conf, 1.0), 4),
        n_reads=len(usable),
        support=round(support, 4),
    )


def _distance(a: str, b: str) -> int:
    return sum(1 for i, j in _align(a, b) if i is None or j is None or a[i] != b[j])


def is_partial_read(short: str, long: str, min_len: int = 3) -> bool:
    """True when ``short`` reads like a cut-off part of ``long``.

    Plates entering or leaving the frame, or half-covered, are read in part
    (``42BA`` of ``RM442BA``); such reads belong to the same plate.

    >>> is_partial_read("42BA", "RM442BA"), is_partial_read("XY9", "RM442BA")
    (True, False)
    """
    if len(short) > len(long):
        short, long = long, short
    return len(short) >= min_len and short in long
