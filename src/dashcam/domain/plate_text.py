"""Plate text rules: normalisation, legends, confusion-aware distance and search.

Pure functions on strings. OCR engines confuse a few glyph pairs on plates (``O``/``0``,
``I``/``1``, ``B``/``8``, ...): searches treat those pairs as near-equal, and the
format-aware decoder (:mod:`dashcam.domain.plate_decoding`) settles them per plate from
the layout and the recogniser's probabilities.

>>> normalise(" ab-12 cde ")
'AB12CDE'
>>> plate_distance("ABC123", "A8C123")
0.3
"""

from __future__ import annotations

import fnmatch
import re

__all__ = [
    "CONFUSABLE_COST",
    "CONFUSABLE_PAIRS",
    "confusable_with",
    "is_plate_legend",
    "normalise",
    "plate_distance",
    "search_matches",
]

#: Glyph pairs a plate reader mixes up (unordered), the most frequent first.
CONFUSABLE_PAIRS: tuple[tuple[str, str], ...] = (
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
_PAIRS: frozenset[frozenset[str]] = frozenset(frozenset(p) for p in CONFUSABLE_PAIRS)
CONFUSABLE_COST = 0.3
# Digit -> the letter it most often reads as (for telling legends such as VERM0NT).
_DIGIT_TO_LETTER: dict[str, str] = {}
for _letter, _digit in CONFUSABLE_PAIRS:
    if _letter.isalpha() and _digit.isdigit():
        _DIGIT_TO_LETTER.setdefault(_digit, _letter)


def confusable_with(ch: str) -> tuple[str, ...]:
    """The characters ``ch`` is mixed up with, most frequent pair first.

    >>> confusable_with("0")
    ('O', 'D', 'Q')
    """
    return tuple(b if a == ch else a for a, b in CONFUSABLE_PAIRS if ch in (a, b))


_NON_ALNUM = re.compile(r"[^A-Z0-9]")


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


def _sub_cost(a: str, b: str) -> float:
    if a == b:
        return 0.0
    return CONFUSABLE_COST if frozenset((a, b)) in _PAIRS else 1.0


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
