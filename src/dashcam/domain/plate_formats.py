"""Plate formats as data: jurisdictions, their layouts, and which ones a region setting means.

Pure: :meth:`FormatBook.from_mapping` takes the parsed contents of the package's
``plate_formats.yaml`` (read at the edge, in :mod:`dashcam.resources`) and everything else
works on strings.

A layout pattern is a string of tokens, each optionally followed by ``{n}`` or ``{m,n}``:

- ``L`` a letter the jurisdiction uses in serials (its ``letters``), ``D`` a digit,
  ``A`` either;
- ``[...]`` one character of a class, ranges allowed (``[1-9]``, ``[A-HJ-NP-Z]``,
  ``[M]`` for a fixed ``M``);
- ``' '``, ``-``, ``.`` are separators (printed, never read); ``/`` starts the second line
  of a two-line plate (the text is read top line first).

>>> book = FormatBook.from_mapping({"jurisdictions": [
...     {"code": "it", "name": "Italy", "layouts": [{"pattern": "LL DDD LL"}]}]})
>>> [j.code for j, _ in book.select("it").matches("AB123CD")]
['it']
>>> book.select("it").matches("AB12CDE")
[]
"""

from __future__ import annotations

import math
import re
from collections.abc import Callable, Iterable, Mapping, Sequence
from dataclasses import dataclass, field, replace
from functools import cached_property
from itertools import product
from typing import Any

__all__ = [
    "DIGITS",
    "LETTERS",
    "FormatBook",
    "Jurisdiction",
    "Layout",
    "Selection",
    "expand_pattern",
]

LETTERS = "ABCDEFGHIJKLMNOPQRSTUVWXYZ"
DIGITS = "0123456789"
_SEPARATORS = frozenset(" -.·")
_QUANT = re.compile(r"\{(\d+)(?:,(\d+))?\}")
#: Longest plate any layout may describe (characters, separators not counted).
MAX_PLATE_LEN = 12
#: Width / height of a two-line (square-ish) plate where the file gives none: 280 x 200 mm.
TWO_LINE_ASPECT = 1.4


@dataclass(frozen=True)
class Layout:
    """One fixed-length layout: the allowed characters at each position.

    ``pattern`` is the source pattern it came from (quantifiers expanded into several
    layouts share it); ``lines`` is 2 for a two-line plate; ``weight`` is its share of its
    jurisdiction's plates (relative to its siblings); ``gaps`` are the positions a printed
    separator precedes and ``line_break`` the first position of the second line (0: one
    line).
    """

    pattern: str
    positions: tuple[frozenset[str], ...]
    lines: int = 1
    weight: float = 1.0
    gaps: tuple[int, ...] = ()
    line_break: int = 0

    def __len__(self) -> int:
        return len(self.positions)

    def fits(self, text: str) -> bool:
        """Whether ``text`` (normalised) is a plate of this layout."""
        return len(text) == len(self.positions) and all(
            ch in allowed for ch, allowed in zip(text, self.positions, strict=True)
        )

    def printed(self, text: str) -> str:
        """``text`` as the plate prints it: a space at each gap, a newline between lines."""
        out: list[str] = []
        for i, ch in enumerate(text):
            if self.line_break and i == self.line_break:
                out.append("\n")
            elif i in self.gaps:
                out.append(" ")
            out.append(ch)
        return "".join(out)

    def sample(self, draw: Callable[[int], int]) -> str:
        """A random plate of this layout; ``draw(n)`` returns an index below ``n``
        (``lambda n: int(rng.integers(n))`` with a numpy generator)."""
        return "".join((chars := sorted(allowed))[draw(len(chars))] for allowed in self.positions)

    @cached_property
    def shape(self) -> str:
        """The layout in ``L``/``D``/``A``/``[..]`` form, one token per position."""
        out: list[str] = []
        for allowed in self.positions:
            if allowed <= frozenset(DIGITS) and len(allowed) == 10:
                out.append("D")
            elif allowed <= frozenset(LETTERS) and len(allowed) >= 20:
                out.append("L")
            elif len(allowed) >= 30:
                out.append("A")
            else:
                out.append("[" + "".join(sorted(allowed)) + "]")
        return "".join(out)


@dataclass(frozen=True)
class Jurisdiction:
    """A country (or a state/province with its own plates) and its layouts.

    ``fold`` maps a character onto the one the jurisdiction writes for the same glyph
    (US states: letter ``O`` is written as digit ``0``); ``vanity`` says personalised
    plates outside the layouts are issued; ``weight`` is its prior: its share of its
    country's vehicles times the country's weight (the file's ``countries`` table).
    """

    code: str
    name: str
    country: str
    layouts: tuple[Layout, ...]
    letters: str = LETTERS
    fold: tuple[tuple[str, str], ...] = ()
    vanity: bool = False
    vanity_lengths: tuple[int, int] = (2, 8)
    weight: float = 1.0
    source: str = ""
    examples: tuple[str, ...] = ()
    counterexamples: tuple[str, ...] = ()
    #: Width / height of its one-line plates (one per size in use) and two-line plates.
    aspects: tuple[float, ...] = (520 / 110,)
    two_line_aspects: tuple[float, ...] = (TWO_LINE_ASPECT,)

    def aspect_log_likelihood(self, aspect: float, lines: int, sigma: float) -> float:
        """log p(observed plate ``aspect`` | a plate of this jurisdiction): a normal in log
        aspect around the nearest size in use, ``sigma`` wide (without its constant)."""
        sizes = self.aspects if lines == 1 else self.two_line_aspects
        z = min(abs(math.log(aspect / a)) for a in sizes) / sigma
        return -0.5 * z * z

    def apply_fold(self, text: str) -> str:
        for src, dst in self.fold:
            text = text.replace(src, dst)
        return text

    def matches(self, text: str) -> list[Layout]:
        """The layouts ``text`` fits (after this jurisdiction's fold)."""
        folded = self.apply_fold(text)
        return [layout for layout in self.layouts if layout.fits(folded)]


def _char_class(body: str) -> frozenset[str]:
    chars: set[str] = set()
    i = 0
    while i < len(body):
        if i + 2 < len(body) and body[i + 1] == "-":
            lo, hi = body[i], body[i + 2]
            if ord(hi) < ord(lo):
                raise ValueError(f"bad range {lo}-{hi} in [{body}]")
            chars.update(chr(c) for c in range(ord(lo), ord(hi) + 1))
            i += 3
        else:
            chars.add(body[i])
            i += 1
    bad = sorted(c for c in chars if c not in LETTERS and c not in DIGITS)
    if bad:
        raise ValueError(f"[{body}] holds characters that are not A-Z or 0-9: {bad}")
    return frozenset(chars)


_GAP: frozenset[str] = frozenset({" "})
_LINE: frozenset[str] = frozenset({"/"})


def _tokens(pattern: str, letters: str) -> list[tuple[frozenset[str], int, int]]:
    """``(charset, min, max)`` per token; :data:`_GAP` and :data:`_LINE` mark a printed
    separator and the line break."""
    out: list[tuple[frozenset[str], int, int]] = []
    i = 0
    while i < len(pattern):
        ch = pattern[i]
        if ch in _SEPARATORS:
            if not out or out[-1][0] is not _GAP:
                out.append((_GAP, 0, 0))
            i += 1
            continue
        if ch == "/":
            out.append((_LINE, 0, 0))
            i += 1
            continue
        if ch == "L":
            charset = frozenset(letters)
            i += 1
        elif ch == "D":
            charset = frozenset(DIGITS)
            i += 1
        elif ch == "A":
            charset = frozenset(letters) | frozenset(DIGITS)
            i += 1
        elif ch == "[":
            end = pattern.find("]", i)
            if end < 0:
                raise ValueError(f"pattern {pattern!r}: unclosed '['")
            charset = _char_class(pattern[i + 1 : end])
            i = end + 1
        else:
            raise ValueError(
                f"pattern {pattern!r}: unexpected {ch!r} (use L, D, A, [..], separators, /)"
            )
        lo = hi = 1
        quant = _QUANT.match(pattern, i)
        if quant:
            lo = int(quant.group(1))
            hi = int(quant.group(2)) if quant.group(2) else lo
            if hi < lo:
                raise ValueError(f"pattern {pattern!r}: bad quantifier {quant.group(0)}")
            i = quant.end()
        out.append((charset, lo, hi))
    return out


def expand_pattern(pattern: str, letters: str = LETTERS, weight: float = 1.0) -> tuple[Layout, ...]:
    """Every fixed-length layout a pattern describes (quantifiers expanded), shortest first.

    Expanded layouts share ``weight`` equally.

    >>> [lay.shape for lay in expand_pattern("L{1,2} D")]
    ['LD', 'LLD']
    >>> lay = expand_pattern("DD/LL")[0]
    >>> lay.lines, lay.printed("12AB")
    (2, '12\\nAB')
    """
    tokens = _tokens(pattern, letters)
    items = [(charset, lo, hi) for charset, lo, hi in tokens if hi > 0]
    if not items:
        raise ValueError(f"pattern {pattern!r} describes no character")
    combos = list(product(*[range(lo, hi + 1) for _, lo, hi in items]))
    out: list[Layout] = []
    for counts in combos:
        positions: list[frozenset[str]] = []
        gaps: list[int] = []
        line_break = 0
        chars = iter(counts)
        for charset, _, hi in tokens:
            if charset is _GAP:
                gaps.append(len(positions))
            elif charset is _LINE:
                line_break = len(positions)
            elif hi > 0:
                positions.extend([charset] * next(chars))
        if not 1 <= len(positions) <= MAX_PLATE_LEN:
            raise ValueError(f"pattern {pattern!r}: a layout of {len(positions)} characters")
        inner = tuple(g for g in dict.fromkeys(gaps) if 0 < g < len(positions) and g != line_break)
        lines = 2 if line_break else 1
        out.append(
            Layout(pattern, tuple(positions), lines, weight / len(combos), inner, line_break)
        )
    out.sort(key=len)
    return tuple(out)


def _str_tuple(value: Any, what: str) -> tuple[str, ...]:
    if value is None:
        return ()
    if isinstance(value, str) or not isinstance(value, Iterable):
        raise ValueError(f"{what}: expected a list of strings")
    return tuple(str(v) for v in value)


def _with_fold(layout: Layout, fold: tuple[tuple[str, str], ...]) -> Layout:
    """A folded pair is one glyph: a position allowing either character allows both
    (the decoder reads either, the fold writes the jurisdiction's one)."""
    positions: list[frozenset[str]] = []
    for allowed in layout.positions:
        for src, dst in fold:
            if src in allowed or dst in allowed:
                allowed = allowed | {src, dst}
        positions.append(allowed)
    return replace(layout, positions=tuple(positions))


_ENTRY_KEYS = frozenset(
    [
        "code",
        "name",
        "country",
        "letters",
        "layouts",
        "fold",
        "vanity",
        "vanity_lengths",
        "weight",
        "source",
        "examples",
        "counterexamples",
    ]
)
_LAYOUT_KEYS = frozenset({"pattern", "weight", "note"})


def _aspects(sizes: Any, default: tuple[float, ...]) -> tuple[float, ...]:
    """``[[w, h], ...]`` (or one ``[w, h]``) in mm -> width/height ratios."""
    if not sizes:
        return default
    pairs = [sizes] if isinstance(sizes[0], (int, float)) else sizes
    out = tuple(float(w) / float(h) for w, h in pairs)
    if any(not 0.5 <= a <= 8 for a in out):
        raise ValueError(f"plate sizes {sizes!r}: width/height out of range")
    return out


def _jurisdiction(
    entry: Mapping[str, Any],
    country_share: Mapping[str, int],
    country_weight: Mapping[str, float],
    sizes: Mapping[str, Any],
) -> Jurisdiction:
    code = str(entry["code"]).lower()
    unknown = sorted(set(entry) - _ENTRY_KEYS)
    if unknown:
        raise ValueError(f"unknown keys {unknown}; allowed: {sorted(_ENTRY_KEYS)}")
    letters = "".join(sorted(set(str(entry.get("letters", LETTERS)).upper())))
    if not letters or any(c not in LETTERS for c in letters):
        raise ValueError(f"{code}: letters must be A-Z")
    layouts: list[Layout] = []
    for item in entry.get("layouts") or ():
        spec = {"pattern": item} if isinstance(item, str) else dict(item)
        if set(spec) - _LAYOUT_KEYS:
            raise ValueError(f"layout keys {sorted(set(spec) - _LAYOUT_KEYS)} not allowed")
        layouts.extend(
            expand_pattern(str(spec["pattern"]), letters, float(spec.get("weight", 1.0)))
        )
    vanity = bool(entry.get("vanity", False))
    if not layouts and not vanity:
        raise ValueError(f"{code}: no layouts")
    fold = tuple(
        (str(src).upper(), str(dst).upper()) for src, dst in (entry.get("fold") or {}).items()
    )
    if fold:
        layouts = [_with_fold(layout, fold) for layout in layouts]
    lengths = entry.get("vanity_lengths", [2, 8])
    country = str(entry.get("country", code.split("-")[0])).lower()
    weight = entry.get("weight")
    return Jurisdiction(
        code=code,
        name=str(entry["name"]),
        country=country,
        layouts=tuple(layouts),
        letters=letters,
        fold=fold,
        vanity=vanity,
        vanity_lengths=(int(lengths[0]), int(lengths[1])),
        weight=(float(weight) if weight is not None else 1.0 / country_share[country])
        * country_weight.get(country, 1.0),
        source=str(entry.get("source", "")),
        examples=_str_tuple(entry.get("examples"), f"{code}.examples"),
        counterexamples=_str_tuple(entry.get("counterexamples"), f"{code}.counterexamples"),
        aspects=_aspects(sizes.get(country, {}).get("one_line"), (520 / 110,)),
        two_line_aspects=_aspects(sizes.get(country, {}).get("two_line"), (TWO_LINE_ASPECT,)),
    )


@dataclass(frozen=True)
class Candidate:
    """One (jurisdiction, layout) a selection allows, with its log prior."""

    jurisdiction: Jurisdiction
    layout: Layout
    log_prior: float


@dataclass(frozen=True)
class Selection:
    """The jurisdictions a region setting names, and their layouts with priors.

    ``constrained`` is False for ``any`` (no format rules: every text stands as read).
    ``vanity`` lists the selected jurisdictions that issue plates outside their layouts;
    ``vanity_log_prior`` is the prior of "fits no layout" against the layouts' total.
    """

    spec: str
    jurisdictions: tuple[Jurisdiction, ...]
    candidates: tuple[Candidate, ...]
    constrained: bool = True
    vanity_log_prior: float = -math.inf
    min_len: int = 1
    max_len: int = MAX_PLATE_LEN
    _by_len: dict[int, tuple[Candidate, ...]] = field(default_factory=dict, compare=False)
    #: Tables derived from the layouts by a decoder, built once per selection.
    memo: dict[object, Any] = field(default_factory=dict, compare=False, repr=False)

    def __post_init__(self) -> None:
        by_len: dict[int, list[Candidate]] = {}
        for cand in self.candidates:
            by_len.setdefault(len(cand.layout), []).append(cand)
        self._by_len.update({n: tuple(c) for n, c in by_len.items()})

    @property
    def vanity(self) -> tuple[Jurisdiction, ...]:
        return tuple(j for j in self.jurisdictions if j.vanity)

    def of_length(self, n: int) -> tuple[Candidate, ...]:
        return self._by_len.get(n, ())

    @property
    def lengths(self) -> tuple[int, ...]:
        return tuple(sorted(self._by_len))

    def matches(self, text: str) -> list[tuple[Jurisdiction, Layout]]:
        """Every selected (jurisdiction, layout) that ``text`` fits, most likely first."""
        found = [
            (c.log_prior, c.jurisdiction, c.layout)
            for c in self.of_length(len(text))
            if c.layout.fits(c.jurisdiction.apply_fold(text))
        ]
        found.sort(key=lambda item: -item[0])
        return [(j, lay) for _, j, lay in found]

    def fits(self, text: str) -> bool:
        """Whether ``text`` could be a plate here: it fits a layout, or is a plausible
        vanity plate of a selected jurisdiction that issues them (or ``any``)."""
        if not self.constrained:
            return self.min_len <= len(text) <= self.max_len
        if self.matches(text):
            return True
        return any(j.vanity_lengths[0] <= len(text) <= j.vanity_lengths[1] for j in self.vanity)


#: Country names a recogniser may use for countries the book splits into states or
#: provinces (or names differently).
_COUNTRY_ALIASES: dict[str, str] = {
    "united states": "us",
    "united states of america": "us",
    "usa": "us",
    "canada": "ca",
    "australia": "au",
    "south africa": "za",
    "united kingdom": "gb",
    "uk": "gb",
    "great britain": "gb",
}


@dataclass(frozen=True)
class FormatBook:
    """Every known jurisdiction and the named groups of them (``eu``, ``us``, ...)."""

    jurisdictions: Mapping[str, Jurisdiction]
    groups: Mapping[str, tuple[str, ...]]
    #: Prior of a plate that fits none of the selected layouts under ``auto``, against
    #: all layouts together (fitted on the dev sets; see docs/recognition.md).
    vanity_log_prior: float = math.log(0.02)

    @classmethod
    def from_mapping(cls, data: Mapping[str, Any]) -> FormatBook:
        """Build from the parsed YAML: ``jurisdictions`` (list), ``groups`` (mapping of
        name to members), ``countries`` (country code -> prior weight) and
        ``plate_sizes`` (country code -> ``one_line``/``two_line`` ``[[w, h], ...]`` mm;
        default 520 x 110 and 280 x 200)."""
        entries = list(data.get("jurisdictions") or ())
        share: dict[str, int] = {}
        for entry in entries:
            code = str(entry["code"]).lower()
            country = str(entry.get("country", code.split("-")[0])).lower()
            share[country] = share.get(country, 0) + 1
        countries = {str(k).lower(): float(v) for k, v in (data.get("countries") or {}).items()}
        sizes = {str(k).lower(): v for k, v in (data.get("plate_sizes") or {}).items()}
        jurisdictions: dict[str, Jurisdiction] = {}
        for entry in entries:
            try:
                j = _jurisdiction(entry, share, countries, sizes)
            except (KeyError, ValueError, TypeError, IndexError) as exc:
                raise ValueError(f"plate format {entry.get('code', '?')!r}: {exc}") from exc
            if j.code in jurisdictions:
                raise ValueError(f"plate format {j.code!r} is defined twice")
            jurisdictions[j.code] = j
        groups = {
            str(k).lower(): tuple(str(v).lower() for v in members)
            for k, members in (data.get("groups") or {}).items()
        }
        clash = sorted(set(groups) & set(jurisdictions))
        if clash:
            raise ValueError(f"names used both as a group and a jurisdiction: {clash}")
        book = cls(jurisdictions, groups, float(data.get("vanity_log_prior", math.log(0.02))))
        for name in groups:
            book._resolve(name, ())  # fail early on unknown members and cycles
        return book

    def country_of(self, label: str) -> str | None:
        """The ISO 3166-1 code (lower case) a recogniser's region label names, or None.

        A label is an ISO code (``"IT"``, ``"us-ca"``: its country) or an English country
        name (``"Italy"``, ``"United States"``); anything else (``"Unknown"``) is None.

        >>> FormatBook({}, {}).country_of("United Kingdom")
        'gb'
        """
        key = " ".join(label.strip().lower().replace("_", " ").split())
        if not key:
            return None
        by_name = {j.name.lower(): j.country for j in self.jurisdictions.values()}
        if key in by_name:
            return by_name[key]
        if key in _COUNTRY_ALIASES:
            return _COUNTRY_ALIASES[key]
        code = key.split("-")[0]
        countries = {j.country for j in self.jurisdictions.values()}
        if len(code) == 2 and code.isalpha() and (code in countries or not countries):
            return code
        return None

    def names(self) -> list[str]:
        """Every name a region setting may use: special values, groups, jurisdictions."""
        return ["auto", "any", *sorted(self.groups), *sorted(self.jurisdictions)]

    def _resolve(self, name: str, stack: tuple[str, ...]) -> list[str]:
        if name in stack:
            raise ValueError(f"group {name!r} contains itself")
        if name in self.groups:
            out: list[str] = []
            for member in self.groups[name]:
                out.extend(self._resolve(member, (*stack, name)))
            return out
        if name in self.jurisdictions:
            return [name]
        raise ValueError(
            f"unknown plate region {name!r}; expected auto, any, a group "
            f"({', '.join(sorted(self.groups))}) or a code such as "
            f"{', '.join(sorted(self.jurisdictions)[:6])}, ... "
            "(dashcam read --list-regions prints them all)"
        )

    def select(self, spec: str) -> Selection:
        """The selection a region setting names: ``auto``, ``any``, a code (``it``,
        ``us-ca``), a group (``eu``, ``us``) or a comma list of those (``hr,si,it``)."""
        key = spec.strip().lower()
        if key == "any":
            return Selection("any", (), (), constrained=False)
        if key == "auto":
            codes = list(self.jurisdictions)
        else:
            codes = []
            for part in key.split(","):
                part = part.strip()
                if part:
                    codes.extend(self._resolve(part, ()))
            if not codes:
                raise ValueError("empty plate region; expected auto, any, a group or a code")
        chosen = tuple(self.jurisdictions[c] for c in dict.fromkeys(codes))
        return _selection(key, chosen, self.vanity_log_prior)


def _selection(spec: str, chosen: Sequence[Jurisdiction], vanity_log_prior: float) -> Selection:
    """Priors: jurisdictions share by weight; layouts by weight within a jurisdiction."""
    total = sum(j.weight for j in chosen if j.layouts) or 1.0
    cands: list[Candidate] = []
    for j in chosen:
        layout_total = sum(lay.weight for lay in j.layouts) or 1.0
        for lay in j.layouts:
            prior = (j.weight / total) * (lay.weight / layout_total)
            cands.append(Candidate(j, lay, math.log(max(prior, 1e-12))))
    vanity = [j for j in chosen if j.vanity]
    lengths = [len(c.layout) for c in cands] + [n for j in vanity for n in j.vanity_lengths]
    return Selection(
        spec=spec,
        jurisdictions=tuple(chosen),
        candidates=tuple(cands),
        constrained=True,
        vanity_log_prior=vanity_log_prior if vanity else -math.inf,
        min_len=min(lengths, default=1),
        max_len=max(lengths, default=MAX_PLATE_LEN),
    )
