"""Plate text rules: normalisation, per-region formats, confusion-aware correction and distance.

Pure functions on strings. OCR engines confuse a few glyph pairs on plates (``O``/``0``,
``I``/``1``, ``B``/``8``, ...); the region format says which positions hold letters and
which hold digits, so a confusable character in the wrong class can be put right, and
searches treat those pairs as near-equal.

>>> normalise(" ab-12 cde ")
'AB12CDE'
>>> correct("A812CDE", region="uk")
'AB12CDE'
>>> plate_distance("ABC123", "A8C123")
0.3
"""

from __future__ import annotations

import fnmatch
import re
from dataclasses import dataclass

__all__ = [
    "CONFUSABLE_COST",
    "REGIONS",
    "RegionFormat",
    "correct",
    "fits_region",
    "is_plate_legend",
    "normalise",
    "plate_distance",
    "search_matches",
]

# Letter -> digit it is mistaken for (and back). Position class decides which one is right.
_LETTER_TO_DIGIT: dict[str, str] = {
    "O": "0",
    "D": "0",
    "Q": "0",
    "I": "1",
    "L": "1",
    "Z": "2",
    "B": "8",
    "S": "5",
    "G": "6",
    "T": "7",
    "A": "4",
}
_DIGIT_TO_LETTER: dict[str, str] = {
    "0": "O",
    "1": "I",
    "2": "Z",
    "8": "B",
    "5": "S",
    "6": "G",
    "7": "T",
    "4": "A",
}
# Pairs that cost less in :func:`plate_distance` (unordered).
_CONFUSABLE_PAIRS: frozenset[frozenset[str]] = frozenset(
    frozenset(p)
    for p in (
        ("O", "0"),
        ("I", "1"),
        ("B", "8"),
        ("S", "5"),
        ("Z", "2"),
        ("G", "6"),
        ("D", "0"),
        ("Q", "0"),
        ("O", "D"),
        ("O", "Q"),
        ("L", "1"),
        ("T", "7"),
        ("A", "4"),
        ("U", "V"),
        ("M", "N"),
        ("E", "F"),
        ("K", "X"),
        ("P", "R"),
    )
)
CONFUSABLE_COST = 0.3

_NON_ALNUM = re.compile(r"[^A-Z0-9]")


@dataclass(frozen=True)
class RegionFormat:
    """What plates of one region look like.

    ``templates`` are strings of ``L`` (letter), ``D`` (digit) and ``X`` (either), one per
    accepted layout; ``min_len``/``max_len`` bound any plate of the region; ``fold`` maps
    characters the region prints with one glyph onto the one written down.
    """

    name: str
    min_len: int
    max_len: int
    templates: tuple[str, ...] = ()
    fold: tuple[tuple[str, str], ...] = ()


REGIONS: dict[str, RegionFormat] = {
    # US states mix many layouts (ABC1234, 1ABC234, 123ABC, vanity plates...): accept
    # 2..8 alphanumerics and correct only the most common serial layouts. Most states
    # print letter O and digit 0 with one glyph (and skip O in serials): write it as 0.
    "us": RegionFormat(
        "us",
        2,
        8,
        (),
        (("O", "0"),),
    ),
    # Current UK format: two letters, two digits, three letters.
    "uk": RegionFormat("uk", 7, 7, ("LLDDLLL",)),
    # Most EU national formats: 4..9 alphanumerics; no single layout to correct towards.
    "eu": RegionFormat("eu", 4, 9, ("LLDDLLL", "LLLDDD", "LLDDDD")),
    "any": RegionFormat("any", 1, 10),
}
# "auto" accepts what any region accepts and changes no character: without knowing the
# region, ``AB12CDE`` (UK) and ``AB123CD`` (other layouts) are both plausible.
_AUTO_TEMPLATES: tuple[str, ...] = ()


def normalise(text: str) -> str:
    """Uppercase and drop everything but ``A-Z0-9`` (spaces, dashes, dots, symbols).

    >>> normalise("7-abc 123")
    '7ABC123'
    """
    return _NON_ALNUM.sub("", text.upper())


# The printed legends of plates (US state names, written as OCR joins them): read
# confidently off the plate's top or bottom line, they are never its registration.
_LEGENDS: frozenset[str] = frozenset(
    name.replace(" ", "")
    for name in (
        "ALABAMA",
        "ALASKA",
        "ARIZONA",
        "ARKANSAS",
        "CALIFORNIA",
        "COLORADO",
        "CONNECTICUT",
        "DELAWARE",
        "DISTRICT OF COLUMBIA",
        "FLORIDA",
        "GEORGIA",
        "HAWAII",
        "IDAHO",
        "ILLINOIS",
        "INDIANA",
        "IOWA",
        "KANSAS",
        "KENTUCKY",
        "LOUISIANA",
        "MAINE",
        "MARYLAND",
        "MASSACHUSETTS",
        "MICHIGAN",
        "MINNESOTA",
        "MISSISSIPPI",
        "MISSOURI",
        "MONTANA",
        "NEBRASKA",
        "NEVADA",
        "NEW HAMPSHIRE",
        "NEW JERSEY",
        "NEW MEXICO",
        "NEW YORK",
        "NORTH CAROLINA",
        "NORTH DAKOTA",
        "OHIO",
        "OKLAHOMA",
        "OREGON",
        "PENNSYLVANIA",
        "PUERTO RICO",
        "RHODE ISLAND",
        "SOUTH CAROLINA",
        "SOUTH DAKOTA",
        "STATE",
        "TENNESSEE",
        "TEXAS",
        "UTAH",
        "VERMONT",
        "VIRGINIA",
        "WASHINGTON",
        "WEST VIRGINIA",
        "WISCONSIN",
        "WYOMING",
    )
)
#: Fewest letters of a legend's beginning that still count as that legend (a reader
#: that cuts ``NORTHCAROLINA`` to eight characters).
_LEGEND_PREFIX_MIN = 6


def is_plate_legend(text: str) -> bool:
    """True when ``text`` (as read, any case) spells a plate legend such as a US state
    name rather than a registration; digits OCR confuses with letters count as letters.

    >>> is_plate_legend("Texas"), is_plate_legend("VERM0NT"), is_plate_legend("NORTHCAR")
    (True, True, True)
    >>> is_plate_legend("TEXAS12"), is_plate_legend("OHIO"), is_plate_legend("MAINE1")
    (False, True, False)
    """
    norm = normalise(text)
    letters = "".join(_DIGIT_TO_LETTER.get(ch, ch) for ch in norm)
    if letters in _LEGENDS:
        return True
    return (
        len(letters) >= _LEGEND_PREFIX_MIN
        and norm.isalpha()
        and any(name.startswith(letters) for name in _LEGENDS)
    )


def _region(region: str) -> RegionFormat | None:
    key = region.lower()
    if key == "auto":
        return None
    try:
        return REGIONS[key]
    except KeyError:
        allowed = ", ".join(["auto", *REGIONS])
        raise ValueError(f"unknown plate region {region!r}; expected one of: {allowed}") from None


def fits_region(text: str, region: str = "auto") -> bool:
    """Whether normalised ``text`` could be a plate of ``region`` (length and characters).

    >>> fits_region("AB12CDE", "uk"), fits_region("AB1", "uk")
    (True, False)
    """
    norm = normalise(text)
    fmt = _region(region)
    if fmt is None:
        lo = min(f.min_len for f in REGIONS.values() if f.name != "any")
        hi = max(f.max_len for f in REGIONS.values() if f.name != "any")
        return lo <= len(norm) <= hi
    return fmt.min_len <= len(norm) <= fmt.max_len


def _coerce(text: str, template: str) -> tuple[str, int] | None:
    """``text`` forced into ``template`` and the number of changed characters, or None."""
    out: list[str] = []
    changes = 0
    for ch, want in zip(text, template, strict=True):
        if want == "X":
            out.append(ch)
        elif want == "L":
            if ch.isalpha():
                out.append(ch)
            elif ch in _DIGIT_TO_LETTER:
                out.append(_DIGIT_TO_LETTER[ch])
                changes += 1
            else:
                return None
        elif ch.isdigit():
            out.append(ch)
        elif ch in _LETTER_TO_DIGIT:
            out.append(_LETTER_TO_DIGIT[ch])
            changes += 1
        else:
            return None
    return "".join(out), changes


def correct(text: str, region: str = "auto") -> str:
    """Normalise ``text`` and put confusable characters right where the format says so.

    Among the region's templates of the same length, the one needing the fewest changes
    wins; at most a third of the characters may change, and an ambiguous tie between
    templates that give different results leaves the text as it was read.

    >>> correct("AB1ZCDE", region="uk"), correct("COUGAR", region="us")
    ('AB12CDE', 'C0UGAR')
    """
    norm = normalise(text)
    fmt = _region(region)
    templates = _AUTO_TEMPLATES if fmt is None else fmt.templates
    best: list[tuple[int, str]] = []
    for template in templates:
        if len(template) != len(norm):
            continue
        got = _coerce(norm, template)
        if got is None:
            continue
        fixed, changes = got
        if changes * 3 > len(norm):
            continue
        best.append((changes, fixed))
    fixed = norm
    if best:
        best.sort()
        fewest = best[0][0]
        results = {text for changes, text in best if changes == fewest}
        if len(results) == 1:
            fixed = results.pop()
    for src, dst in () if fmt is None else fmt.fold:
        fixed = fixed.replace(src, dst)
    return fixed


def _sub_cost(a: str, b: str) -> float:
    if a == b:
        return 0.0
    return CONFUSABLE_COST if frozenset((a, b)) in _CONFUSABLE_PAIRS else 1.0


def plate_distance(a: str, b: str) -> float:
    """Edit distance of two plate texts after :func:`normalise`.

    Insertions and deletions cost 1, substitutions 1, except a confusable pair (``O``/``0``,
    ``I``/``1``, ``B``/``8``, ``S``/``5``, ``Z``/``2``, ``G``/``6``, ``D``/``0``, ``Q``/``0``
    and a few more) which costs :data:`CONFUSABLE_COST`.

    >>> plate_distance("abc-123", "ABC123"), plate_distance("ABC123", "ABD123")
    (0.0, 1.0)
    """
    x, y = normalise(a), normalise(b)
    prev = [float(j) for j in range(len(y) + 1)]
    for i, cx in enumerate(x, start=1):
        cur = [float(i)]
        for j, cy in enumerate(y, start=1):
            cur.append(min(prev[j] + 1.0, cur[j - 1] + 1.0, prev[j - 1] + _sub_cost(cx, cy)))
        prev = cur
    return round(prev[-1], 6)


def search_matches(
    query: str, candidates: list[str] | tuple[str, ...], max_distance: float = 1.0
) -> list[tuple[str, float]]:
    """Candidates within ``max_distance`` of ``query``, nearest first (ties by text).

    A query holding ``*`` or ``?`` is a wildcard pattern over normalised texts and its
    matches have distance 0. Each distinct candidate appears once.

    >>> search_matches("ABC123", ["ABC123", "A8C123", "XYZ999"], max_distance=1)
    [('ABC123', 0.0), ('A8C123', 0.3)]
    >>> search_matches("AB*", ["ABC123", "XBC123"])
    [('ABC123', 0.0)]
    """
    found: dict[str, float] = {}
    if "*" in query or "?" in query:
        pattern = re.sub(r"[^A-Z0-9*?]", "", query.upper())
        for cand in candidates:
            if cand not in found and fnmatch.fnmatchcase(normalise(cand), pattern):
                found[cand] = 0.0
    else:
        for cand in candidates:
            if cand in found:
                continue
            dist = plate_distance(query, cand)
            if dist <= max_distance + 1e-9:
                found[cand] = dist
    return sorted(found.items(), key=lambda item: (item[1], item[0]))
