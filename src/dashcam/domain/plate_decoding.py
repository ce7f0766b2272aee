"""Format-aware decoding: the most probable plate text that fits an allowed layout.

A CTC line recogniser gives, per step, a probability for "no character" (blank) and for
each character. Greedy decoding takes the best class per step and reads ``0`` where the
layout wants the letter ``O``. Here a constrained best-path (Viterbi) search runs over
every selected layout at once: for a layout of ``K`` positions the path must emit
exactly ``K`` characters, each from the set its position allows, with blanks between
(and always between two equal characters, as CTC requires). Each layout's best path
scores ``log p(path) + log prior(layout)``; texts fitting no layout are kept as the
greedy read at the cost of the selection's vanity prior. ``O``/``0``, ``I``/``1``,
``B``/``8`` ... are therefore settled by the layout and the model's own probabilities,
never by a blanket swap.

Pure numpy; the probabilities come from a backend (see ``backends/rapidocr_reader``).

>>> import numpy as np
>>> steps = CtcSteps.from_text("AB1Z3CD")   # a read of AB123CD with a 2/Z doubt
>>> from dashcam.domain.plate_formats import FormatBook
>>> book = FormatBook.from_mapping({"jurisdictions": [
...     {"code": "it", "name": "Italy", "layouts": ["LL DDD LL"]}]})
>>> decode(steps, book.select("it"))[0].text
'AB123CD'
"""

from __future__ import annotations

import math
from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field
from typing import Any

import numpy as np
from numpy.typing import NDArray

from dashcam.domain.plate_formats import Candidate, Jurisdiction, Selection
from dashcam.domain.plate_text import confusable_with

__all__ = [
    "ALPHABET",
    "CtcSteps",
    "PlateHints",
    "TextCandidate",
    "combine",
    "decode",
    "greedy",
]

#: Characters a plate text is made of, in the order of :attr:`CtcSteps.probs`' columns 2..
ALPHABET = "0123456789ABCDEFGHIJKLMNOPQRSTUVWXYZ"
_INDEX = {ch: i for i, ch in enumerate(ALPHABET)}
_NEG = -1e9  # log of "impossible" that stays finite in sums
#: Steps this sure of "no character" are merged with their neighbours before the search.
_SURE_BLANK = 0.995
#: Characters never more probable than this in any step are left out of the search.
_MIN_CHAR_P = 1e-3
#: Floor of a reader's country guess (a wrong guess costs at most this much).
_MIN_COUNTRY_P = 0.02
#: Layouts the exact search runs on; more are ranked by a cheap bound first.
_EXACT_LAYOUTS = 16
#: Log prior of a read that fits neither a layout nor a vanity plate of the selection.
_UNFIT_LOG_PRIOR = -30.0


@dataclass(frozen=True)
class CtcSteps:
    """Per-step class probabilities of one text line: ``probs`` is ``(T, 2 + 36)``:
    column 0 blank, column 1 "some other symbol" (punctuation, a non-Latin glyph: prints
    nothing for plates), columns 2.. :data:`ALPHABET`. Rows sum to at most 1."""

    probs: NDArray[np.float32]

    def __post_init__(self) -> None:
        if self.probs.ndim != 2 or self.probs.shape[1] != 2 + len(ALPHABET):
            raise ValueError(
                f"CtcSteps.probs: expected shape (T, {2 + len(ALPHABET)}), got {self.probs.shape}"
            )

    @classmethod
    def join(cls, lines: Sequence[CtcSteps]) -> CtcSteps:
        """Lines read one by one (a two-line plate, top first) as one line: their steps
        in order with a sure blank between, so the last character of one line and the
        first of the next stay two characters."""
        blank = np.zeros((1, 2 + len(ALPHABET)), np.float32)
        blank[0, 0] = 1.0
        parts: list[NDArray[np.float32]] = []
        for k, line in enumerate(lines):
            if k:
                parts.append(blank)
            parts.append(line.probs)
        return cls(np.concatenate(parts).astype(np.float32))

    @classmethod
    def from_text(cls, text: str, confidence: float = 0.9) -> CtcSteps:
        """Steps for a text-only read (a backend without probabilities): each character
        gets ``confidence``, the rest shared by the characters it is confused with."""
        rows: list[NDArray[np.float32]] = []
        blank = np.zeros(2 + len(ALPHABET), np.float32)
        blank[0] = 1.0
        rows.append(blank)
        for ch in text.upper():
            if ch not in _INDEX:
                continue
            row = np.zeros_like(blank)
            alts = list(confusable_with(ch))
            row[2 + _INDEX[ch]] = confidence
            rest = 1.0 - confidence
            for alt in alts:
                row[2 + _INDEX[alt]] = rest / len(alts)
            if not alts:
                row[0] = rest
            rows.append(row)
            rows.append(blank)
        return cls(np.stack(rows).astype(np.float32))


@dataclass(frozen=True)
class PlateHints:
    """What else the image or the reader says about the plate, beyond its characters.

    ``aspect`` is the width/height of the box read and ``sigma`` how much to trust it (in
    log aspect: ~0.25 for a tight crop, more for a detector's box): jurisdictions whose
    plates have another shape cost more (a 2:1 US plate is not read as a 4.7:1 European
    one). ``countries`` is a reader's own guess of the plate's country (ISO code ->
    probability, e.g. a recogniser with a region head): the others cost more.
    """

    aspect: float | None = None
    sigma: float = 0.3
    countries: Mapping[str, float] | None = None

    def log_likelihood(self, j: Jurisdiction, lines: int = 1) -> float:
        out = 0.0
        if self.aspect is not None:
            out += j.aspect_log_likelihood(self.aspect, lines, self.sigma)
        if self.countries:
            out += math.log(max(self.countries.get(j.country, 0.0), _MIN_COUNTRY_P))
        return out


@dataclass(frozen=True)
class TextCandidate:
    """One text a line could say: ``log_score`` = log p(best path) + log prior;
    ``confidence`` the mean per-character probability on that path; ``jurisdiction``
    and ``layout`` name the layout it fits (None: fits none, kept as read)."""

    text: str
    log_score: float
    confidence: float
    char_confidences: tuple[float, ...]
    jurisdiction: str | None = None
    layout: str | None = None


def _log(x: NDArray[np.float32]) -> NDArray[np.float64]:
    return np.log(np.maximum(x.astype(np.float64), 1e-12))


def greedy(steps: CtcSteps) -> tuple[str, float, tuple[float, ...]]:
    """Best class per step, repeats merged, blanks and other symbols dropped:
    ``(text, log p(path), per-character confidence)``."""
    probs = steps.probs
    best = probs.argmax(axis=1)
    best_p = probs[np.arange(len(probs)), best]
    text: list[str] = []
    confs: list[float] = []
    prev = -1
    for k, p in zip(best.tolist(), best_p.tolist(), strict=True):
        if k >= 2:
            if k != prev:
                text.append(ALPHABET[k - 2])
                confs.append(p)
            else:
                confs[-1] = max(confs[-1], p)
        prev = k
    return "".join(text), float(_log(best_p).sum()), tuple(round(c, 4) for c in confs)


def _compress(probs: NDArray[np.float32]) -> tuple[NDArray[np.float64], NDArray[np.float64]]:
    """Log blank (T',) and log char (T', 36) with runs of sure-blank steps merged (one
    step per run keeps the blank that separates equal characters)."""
    blank = np.clip(probs[:, 0] + probs[:, 1], 0.0, 1.0)
    chars = probs[:, 2:]
    keep_blank: list[float] = []
    keep_chars: list[NDArray[np.float32]] = []
    run_lb = 0.0
    run_chars: NDArray[np.float32] | None = None
    for t in range(len(probs)):
        if blank[t] >= _SURE_BLANK:
            run_lb += math.log(max(float(blank[t]), 1e-12))
            run_chars = chars[t] if run_chars is None else np.maximum(run_chars, chars[t])
            continue
        if run_chars is not None:
            keep_blank.append(run_lb)
            keep_chars.append(run_chars)
            run_lb, run_chars = 0.0, None
        keep_blank.append(math.log(max(float(blank[t]), 1e-12)))
        keep_chars.append(chars[t])
    if run_chars is not None:
        keep_blank.append(run_lb)
        keep_chars.append(run_chars)
    return np.asarray(keep_blank, np.float64), _log(np.stack(keep_chars))


def _viterbi(
    lb: NDArray[np.float64],
    la: NDArray[np.float64],
    allowed: NDArray[np.bool_],
    lengths: NDArray[np.int64],
) -> tuple[NDArray[np.float64], _Trace]:
    """Best path per layout, all layouts in one pass.

    ``lb`` (T,) log blank, ``la`` (T, A) log char, ``allowed`` (N, K, A) with positions
    past a layout's length (``lengths`` (N,)) allowing nothing. Returns the best log p
    per layout (N,) and the trace :func:`_backtrack` reads a layout's path from.
    """
    n_lay, k_len, n_chr = allowed.shape
    steps = len(lb)
    rows = np.arange(n_lay)
    mask = np.where(allowed, 0.0, _NEG)
    c = np.full((n_lay, k_len, n_chr), _NEG)
    b = np.full((n_lay, k_len + 1), _NEG)
    c[:, 0, :] = la[0] + mask[:, 0, :]
    b[:, 0] = lb[0]
    ptr_c = np.zeros((steps, n_lay, k_len, n_chr), np.int8)
    ptr_b = np.zeros((steps, n_lay, k_len + 1), np.bool_)
    arg1 = np.zeros((steps, n_lay, k_len), np.int64)
    arg2 = np.zeros((steps, n_lay, k_len), np.int64)
    chars = np.arange(n_chr)
    flat = np.arange(n_lay * k_len)
    for t in range(1, steps):
        cf = c.reshape(-1, n_chr)
        a1f = cf.argmax(axis=1)
        m1 = cf[flat, a1f].reshape(n_lay, k_len)
        second = cf.copy()
        second[flat, a1f] = 2 * _NEG
        a2f = second.argmax(axis=1)
        m2 = second[flat, a2f].reshape(n_lay, k_len)
        a1, a2 = a1f.reshape(n_lay, k_len), a2f.reshape(n_lay, k_len)
        arg1[t], arg2[t] = a1, a2
        # from the previous position: its best character unless it is this one
        prev = np.full((n_lay, k_len, n_chr), _NEG)
        prev[:, 1:, :] = np.where(
            a1[:, :-1, None] == chars[None, None, :], m2[:, :-1, None], m1[:, :-1, None]
        )
        from_blank = b[:, :k_len, None]
        best = np.maximum(np.maximum(c, from_blank), prev)
        ptr_c[t] = np.where(best == c, 0, np.where(best == from_blank, 1, 2))
        take = m1 > b[:, 1:]
        ptr_b[t, :, 1:] = take
        b[:, 1:] = np.where(take, m1, b[:, 1:])
        b += lb[t]
        c = best + la[t][None, None, :] + mask
    last = lengths - 1
    end_c = c[rows, last, :].max(axis=1)
    end_b = b[rows, lengths]
    trace = _Trace(la, ptr_c, ptr_b, arg1, arg2, c[rows, last, :].argmax(axis=1), end_b >= end_c)
    return np.maximum(end_b, end_c), trace


@dataclass(frozen=True)
class _Trace:
    la: NDArray[np.float64]
    ptr_c: NDArray[np.int8]
    ptr_b: NDArray[np.bool_]
    arg1: NDArray[np.int64]
    arg2: NDArray[np.int64]
    end_char: NDArray[np.int64]
    ends_blank: NDArray[np.bool_]

    def path(self, n: int, length: int) -> tuple[list[int], list[float]]:
        """Layout ``n``'s characters (column indices) and each one's best step probability."""
        out = [-1] * length
        conf = [0.0] * length
        in_char = not bool(self.ends_blank[n])
        k = length - 1 if in_char else length
        a = int(self.end_char[n])
        for t in range(len(self.la) - 1, -1, -1):
            if in_char:
                out[k] = a
                conf[k] = max(conf[k], math.exp(float(self.la[t, a])))
                if t == 0:
                    break
                p = int(self.ptr_c[t, n, k, a])
                if p == 1:
                    in_char = False
                elif p == 2:
                    a1, a2 = int(self.arg1[t, n, k - 1]), int(self.arg2[t, n, k - 1])
                    k, a = k - 1, (a2 if a1 == a else a1)
            elif t > 0 and self.ptr_b[t, n, k]:
                in_char, k, a = True, k - 1, int(self.arg1[t, n, k - 1])
        return out, conf


def _vanity_candidates(
    selection: Selection,
    text: str,
    logp: float,
    confs: tuple[float, ...],
    shape: PlateHints | None,
) -> list[TextCandidate]:
    """The greedy read kept as a plate fitting no layout, once per distinct fold of the
    selected jurisdictions that issue such plates, weighted by their prior share."""
    vanity = [
        j for j in selection.vanity if j.vanity_lengths[0] <= len(text) <= j.vanity_lengths[1]
    ]
    total = sum(j.weight for j in selection.vanity) or 1.0
    by_fold: dict[str, float] = {}
    for j in vanity:
        folded = j.apply_fold(text)
        fit = math.exp(shape.log_likelihood(j)) if shape else 1.0
        by_fold[folded] = by_fold.get(folded, 0.0) + fit * j.weight / total
    conf = float(np.mean(confs)) if confs else 0.0
    return [
        TextCandidate(folded, logp + selection.vanity_log_prior + math.log(share), conf, confs)
        for folded, share in by_fold.items()
        if share > 0
    ]


def decode(
    steps: CtcSteps,
    selection: Selection,
    *,
    hints: PlateHints | None = None,
    top_n: int = 5,
    length_slack: int = 1,
) -> list[TextCandidate]:
    """The ``top_n`` most probable texts of one line under ``selection``, best first.

    Layouts whose length is within ``length_slack`` of the greedy read's are searched
    (a dropped or an extra character at most that many). Texts reached by several
    layouts keep their best (layout, jurisdiction) and add up their probabilities.
    ``hints`` weigh each jurisdiction (the plate's shape, a reader's country guess).
    With an unconstrained selection (``any``) the greedy read is the only candidate.
    """
    text, logp, confs = greedy(steps)
    if not selection.constrained:
        conf = float(np.mean(confs)) if confs else 0.0
        return [TextCandidate(text, logp, conf, confs)] if text else []
    found = _vanity_candidates(selection, text, logp, confs, hints) if text else []
    table = _table(selection, len(text) - length_slack, len(text) + length_slack)
    if table is not None:
        lb, la = _compress(steps.probs)
        cols = np.flatnonzero(la.max(axis=0) >= math.log(_MIN_CHAR_P))
        allowed = table.allowed[:, :, cols]
        feasible = np.flatnonzero((allowed.any(axis=2) | ~table.used).all(axis=1))
        if len(cols) and len(feasible):
            if len(feasible) > _EXACT_LAYOUTS:
                # a cheap upper bound first (characters may change within a position);
                # the exact search runs on the layouts it ranks best
                bound = _relaxed(lb, la, table, feasible) + table.best_prior[feasible]
                feasible = feasible[np.argsort(-bound, kind="stable")[:_EXACT_LAYOUTS]]
            scores, trace = _viterbi(lb, la[:, cols], allowed[feasible], table.lengths[feasible])
            found.extend(_paths(table, feasible, scores, trace, cols, top_n, hints))
    if not found and text:  # fits nothing the selection allows: kept, at the lowest rank
        conf = float(np.mean(confs)) if confs else 0.0
        found.append(TextCandidate(text, logp + _UNFIT_LOG_PRIOR, conf, confs))
    return _best_texts(found, top_n)


@dataclass(frozen=True)
class _Table:
    """Distinct layouts (by their position sets) of some lengths, as masks."""

    shapes: tuple[tuple[frozenset[str], ...], ...]
    cands: tuple[tuple[Candidate, ...], ...]
    allowed: NDArray[np.bool_]  # (N, K, 36)
    used: NDArray[np.bool_]  # (N, K): position exists in the layout
    lengths: NDArray[np.int64]  # (N,)
    best_prior: NDArray[np.float64]  # (N,)
    charsets: NDArray[np.bool_]  # (C, 36): the distinct position sets (row 0: empty)
    charset_of: NDArray[np.int64]  # (N, K): row of charsets per position
    memo: dict[object, Any] = field(default_factory=dict, compare=False, repr=False)


def _relaxed(
    lb: NDArray[np.float64], la: NDArray[np.float64], table: _Table, rows: NDArray[np.int64]
) -> NDArray[np.float64]:
    """Best path per layout when a position's character may change from step to step:
    an upper bound of :func:`_viterbi`'s score, at a fraction of its cost."""
    per_set = np.where(table.charsets[None], la[:, None, :], _NEG).max(axis=2)  # (T, C)
    emit = per_set[:, table.charset_of[rows]]  # (T, N, K)
    n, k = emit.shape[1:]
    lengths = table.lengths[rows]
    c = np.full((n, k), _NEG)
    b = np.full((n, k + 1), _NEG)
    c[:, 0] = emit[0, :, 0]
    b[:, 0] = lb[0]
    for t in range(1, len(lb)):
        prev = np.full((n, k), _NEG)
        prev[:, 1:] = c[:, :-1]
        new_c = emit[t] + np.maximum(np.maximum(c, b[:, :k]), prev)
        b[:, 1:] = np.maximum(b[:, 1:], c)
        b += lb[t]
        c = new_c
    idx = np.arange(n)
    return np.maximum(b[idx, lengths], c[idx, lengths - 1])


def _table(selection: Selection, lo: int, hi: int) -> _Table | None:
    key = ("ctc-table", lo, hi)
    if key in selection.memo:
        table: _Table | None = selection.memo[key]
        return table
    groups: dict[tuple[frozenset[str], ...], list[Candidate]] = {}
    for n in selection.lengths:
        if lo <= n <= hi:
            for cand in selection.of_length(n):
                groups.setdefault(cand.layout.positions, []).append(cand)
    table = None
    if groups:
        shapes = tuple(groups)
        k_max = max(len(sh) for sh in shapes)
        allowed = np.zeros((len(shapes), k_max, len(ALPHABET)), dtype=bool)
        used = np.zeros((len(shapes), k_max), dtype=bool)
        for i, shape in enumerate(shapes):
            for k, pos in enumerate(shape):
                used[i, k] = True
                for ch in pos:
                    allowed[i, k, _INDEX[ch]] = True
        sets: dict[frozenset[str], int] = {frozenset(): 0}
        charset_of = np.zeros((len(shapes), k_max), dtype=np.int64)
        for i, shape in enumerate(shapes):
            for k, pos in enumerate(shape):
                charset_of[i, k] = sets.setdefault(pos, len(sets))
        charsets = np.zeros((len(sets), len(ALPHABET)), dtype=bool)
        for pos, row in sets.items():
            for ch in pos:
                charsets[row, _INDEX[ch]] = True
        table = _Table(
            shapes,
            tuple(tuple(groups[sh]) for sh in shapes),
            allowed,
            used,
            np.array([len(sh) for sh in shapes], dtype=np.int64),
            np.array([max(c.log_prior for c in groups[sh]) for sh in shapes]),
            charsets,
            charset_of,
        )
    selection.memo[key] = table
    return table


def _paths(
    table: _Table,
    feasible: NDArray[np.int64],
    scores: NDArray[np.float64],
    trace: _Trace,
    cols: NDArray[np.int64],
    top_n: int,
    shape: PlateHints | None,
) -> list[TextCandidate]:
    """Candidates of the layouts whose best path (+ best prior) ranks in the top few."""
    ranked = scores + table.best_prior[feasible]
    out: list[TextCandidate] = []
    for j in np.argsort(-ranked)[: top_n + 3].tolist():
        if scores[j] <= _NEG / 2:
            break
        i = int(feasible[j])
        chars, confs = trace.path(j, int(table.lengths[i]))
        raw = "".join(ALPHABET[int(cols[a])] for a in chars)
        mean = sum(confs) / len(confs) if confs else 0.0
        rounded = tuple(round(c, 4) for c in confs)
        for group in _groups(table, i):
            top = group[0]
            fit = shape.log_likelihood(top.jurisdiction, top.layout.lines) if shape else 0.0
            prior = _logsumexp([c.log_prior for c in group])
            out.append(
                TextCandidate(
                    _fold(top.jurisdiction, raw),
                    float(scores[j]) + prior + fit,
                    mean,
                    rounded,
                    top.jurisdiction.code,
                    top.layout.shape,
                )
            )
    return out


def _groups(table: _Table, i: int) -> list[list[Candidate]]:
    """The (jurisdiction, layout) pairs of one layout shape grouped by what tells them
    apart in decoding (the fold and the plate's shape), most probable first."""
    key = ("groups", i)
    cached: list[list[Candidate]] | None = table.memo.get(key)
    if cached is None:
        by: dict[tuple[object, ...], list[Candidate]] = {}
        for cand in sorted(table.cands[i], key=lambda c: -c.log_prior):
            j = cand.jurisdiction
            by.setdefault((j.fold, j.aspects, j.two_line_aspects, cand.layout.lines), []).append(
                cand
            )
        cached = list(by.values())
        table.memo[key] = cached
    return cached


def _logsumexp(values: Sequence[float]) -> float:
    peak = max(values)
    return peak + math.log(sum(math.exp(v - peak) for v in values))


def _fold(j: Jurisdiction, text: str) -> str:
    return j.apply_fold(text) if j.fold else text


def _best_texts(found: Sequence[TextCandidate], top_n: int) -> list[TextCandidate]:
    by_text: dict[str, list[TextCandidate]] = {}
    for cand in found:
        by_text.setdefault(cand.text, []).append(cand)
    merged: list[TextCandidate] = []
    for text, cands in by_text.items():
        scores = np.array([c.log_score for c in cands])
        top = max(cands, key=lambda c: c.log_score)
        total = float(scores.max() + np.log(np.exp(scores - scores.max()).sum()))
        merged.append(
            TextCandidate(
                text, total, top.confidence, top.char_confidences, top.jurisdiction, top.layout
            )
        )
    merged.sort(key=lambda c: -c.log_score)
    return merged[:top_n]


def combine(per_variant: Sequence[Sequence[TextCandidate]], top_n: int = 5) -> list[TextCandidate]:
    """Candidates of several reads of one plate (variants of a crop, frames of a track)
    pooled: each read's candidates are normalised to a posterior and the posteriors
    summed per text; the best read's confidence and layout are kept.

    The result's ``log_score`` is the log of the summed posterior (<= log of the count).
    """
    totals: dict[str, float] = {}
    best: dict[str, TextCandidate] = {}
    for cands in per_variant:
        if not cands:
            continue
        scores = np.array([c.log_score for c in cands])
        post = np.exp(scores - scores.max())
        post /= post.sum()
        for cand, p in zip(cands, post.tolist(), strict=True):
            totals[cand.text] = totals.get(cand.text, 0.0) + p
            if cand.text not in best or cand.confidence > best[cand.text].confidence:
                best[cand.text] = cand
    out = [
        TextCandidate(
            text,
            math.log(max(total, 1e-300)),
            best[text].confidence,
            best[text].char_confidences,
            best[text].jurisdiction,
            best[text].layout,
        )
        for text, total in totals.items()
    ]
    out.sort(key=lambda c: (-c.log_score, -c.confidence))
    return out[:top_n]
