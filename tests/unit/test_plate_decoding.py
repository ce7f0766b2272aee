"""Format-aware CTC decoding: the best text that fits a layout, vanity plates kept."""

from __future__ import annotations

import math

import numpy as np
import pytest

from dashcam.domain.plate_decoding import ALPHABET, CtcSteps, PlateHints, combine, decode, greedy
from dashcam.domain.plate_formats import FormatBook

BOOK = FormatBook.from_mapping(
    {
        "jurisdictions": [
            {
                "code": "it",
                "name": "IT",
                "letters": "ABCDEFGHJKLMNPRSTVWXYZ",
                "layouts": ["LLDDDLL"],
            },
            {"code": "gb", "name": "GB", "layouts": ["LLDDLLL"]},
            {"code": "ua", "name": "UA", "letters": "ABCEHIKMOPTX", "layouts": ["LLDDDDLL"]},
            {
                "code": "us-x",
                "name": "X",
                "layouts": ["LLLDDDD", "DLLLDDD"],
                "vanity": True,
                "fold": {"O": "0"},
            },
        ]
    }
)


def steps(*columns: dict[str, float]) -> CtcSteps:
    """One step per mapping of character -> probability ('_' blank); the rest is blank."""
    rows = []
    for col in columns:
        row = np.zeros(2 + len(ALPHABET), np.float32)
        for ch, p in col.items():
            row[0 if ch == "_" else 2 + ALPHABET.index(ch)] = p
        row[0] += max(0.0, 1.0 - row.sum())
        rows.append(row)
    return CtcSteps(np.stack(rows))


def spaced(*columns: dict[str, float]) -> CtcSteps:
    """Like :func:`steps` with a sure blank between the characters, as CTC emits them."""
    out: list[dict[str, float]] = [{"_": 1.0}]
    for col in columns:
        out += [col, {"_": 1.0}]
    return steps(*out)


def test_known_best_valid_string_wins_over_the_greedy_read() -> None:
    # Greedy says AB1Z3CD; the 4th character is 2 with probability 0.35: the only
    # Italian reading is AB123CD, whose path is the most probable one that fits.
    line = spaced(
        {"A": 0.9},
        {"B": 0.6, "8": 0.4},
        {"1": 0.95},
        {"Z": 0.6, "2": 0.35},
        {"3": 0.9},
        {"C": 0.9},
        {"D": 0.8, "0": 0.2},
    )
    assert greedy(line)[0] == "ABIZ3CD".replace("I", "1")
    best = decode(line, BOOK.select("it"))[0]
    assert best.text == "AB123CD"
    assert best.jurisdiction == "it"
    assert best.layout == "LLDDDLL"
    # its score is the path's log probability plus the (only) layout's log prior 0
    expected = sum(math.log(p) for p in (0.9, 0.6, 0.95, 0.35, 0.9, 0.9, 0.8))
    assert best.log_score == pytest.approx(expected, abs=1e-4)


def test_letters_a_jurisdiction_never_uses_are_not_chosen() -> None:
    # Italy skips O: a glyph read O 0.5 / 0 0.1 / D 0.3 in a letter slot is a D.
    line = spaced(
        {"A": 0.9}, {"O": 0.5, "D": 0.3, "0": 0.2}, {"1": 0.9}, {"2": 0.9}, {"3": 0.9},
        {"C": 0.9}, {"D": 0.9},
    )  # fmt: skip
    assert decode(line, BOOK.select("it"))[0].text == "AD123CD"


def test_the_same_read_settles_differently_per_layout() -> None:
    line = spaced(
        {"R": 0.9}, {"M": 0.9}, {"4": 0.9}, {"4": 0.9}, {"2": 0.55, "Z": 0.45}, {"B": 0.9},
        {"A": 0.9},
    )  # fmt: skip
    assert decode(line, BOOK.select("gb"))[0].text == "RM44ZBA"
    assert decode(line, BOOK.select("it"))[0].text == "RM442BA"


def test_all_digit_vanity_plate_is_kept_under_auto() -> None:
    line = spaced({"4": 0.97}, {"1": 0.97}, {"4": 0.97}, {"1": 0.97}, {"1": 0.97})
    best = decode(line, BOOK.select("auto"))[0]
    assert best.text == "41411"
    assert best.jurisdiction is None  # fits no layout: a vanity plate


def test_a_region_without_vanity_plates_never_returns_a_text_outside_its_layouts() -> None:
    line = spaced({"4": 0.97}, {"1": 0.97}, {"4": 0.97}, {"1": 0.97}, {"1": 0.97})
    cands = decode(line, BOOK.select("gb"))
    assert all(c.jurisdiction in ("gb", None) for c in cands)
    assert cands[0].log_score < -20  # nothing fits: the read is kept at the lowest rank


def test_fold_writes_the_jurisdictions_character() -> None:
    line = spaced(
        {"O": 0.9}, {"B": 0.9}, {"C": 0.9}, {"1": 0.9}, {"2": 0.9}, {"3": 0.9}, {"4": 0.9}
    )
    assert decode(line, BOOK.select("us-x"))[0].text == "0BC1234"


def test_equal_neighbours_need_a_blank_between_them() -> None:
    # One run of 4 with no blank in it is one character, not two: the layout LLDDLLL
    # must take its second digit from the faint 2 after the run, not double the 4.
    line = steps(
        {"_": 1.0}, {"R": 0.9}, {"_": 1.0}, {"M": 0.9}, {"_": 1.0}, {"4": 0.95}, {"4": 0.95},
        {"2": 0.05}, {"B": 0.9}, {"_": 1.0}, {"A": 0.9}, {"_": 1.0}, {"X": 0.9}, {"_": 1.0},
    )  # fmt: skip
    assert greedy(line)[0] == "RM4BAX"
    assert decode(line, BOOK.select("gb"))[0].text == "RM42BAX"


def test_a_dropped_first_character_is_recovered_when_the_layout_needs_it() -> None:
    # UA layout LLDDDDLL; greedy misses the faint first A (0.3 against blank 0.7).
    line = spaced(
        {"A": 0.3}, {"O": 0.8, "0": 0.2}, {"1": 0.9}, {"3": 0.9}, {"0": 0.7, "O": 0.3},
        {"6": 0.9}, {"C": 0.9}, {"H": 0.9},
    )  # fmt: skip
    assert greedy(line)[0] == "O1306CH"
    assert decode(line, BOOK.select("ua"))[0].text == "AO1306CH"


def test_any_keeps_the_greedy_read() -> None:
    line = spaced({"A": 0.9}, {"8": 0.6, "B": 0.4}, {"1": 0.9})
    assert [c.text for c in decode(line, BOOK.select("any"))] == ["A81"]


def test_from_text_gives_text_only_readers_the_same_rules() -> None:
    assert decode(CtcSteps.from_text("A8123CD"), BOOK.select("it"))[0].text == "AB123CD"
    assert decode(CtcSteps.from_text("AB12CDE"), BOOK.select("gb"))[0].text == "AB12CDE"


def test_combine_sums_posteriors_over_reads() -> None:
    it = BOOK.select("auto")
    reads = [
        decode(CtcSteps.from_text("AB123CD", 0.9), it),
        decode(CtcSteps.from_text("AB123CD", 0.8), it),
        decode(CtcSteps.from_text("XY99ZZZ", 0.95), it),
    ]
    best = combine(reads)[0]
    assert best.text == "AB123CD"
    assert best.log_score <= math.log(3) + 1e-9


@pytest.mark.parametrize("shape", [(5, 37), (5,), (0, 38, 1)])
def test_bad_step_shapes_are_refused(shape: tuple[int, ...]) -> None:
    with pytest.raises(ValueError, match="expected shape"):
        CtcSteps(np.zeros(shape, np.float32))


def test_a_readers_country_guess_settles_a_text_two_layouts_allow() -> None:
    # RM44?BA: UK LLDDLLL reads Z, Italian LLDDDLL reads 2; the reader says Italy.
    line = spaced(
        {"R": 0.9}, {"M": 0.9}, {"4": 0.9}, {"4": 0.9}, {"Z": 0.5, "2": 0.5}, {"B": 0.9},
        {"A": 0.9},
    )  # fmt: skip
    both = BOOK.select("it,gb")
    assert decode(line, both, hints=PlateHints(countries={"it": 0.9, "gb": 0.1}))[0].text == (
        "RM442BA"
    )
    assert decode(line, both, hints=PlateHints(countries={"gb": 0.9}))[0].text == "RM44ZBA"


def test_a_plates_shape_weighs_its_jurisdictions() -> None:
    # A 2:1 box is a North American plate: the US layout wins and writes its O as 0.
    line = spaced({"O": 0.6, "0": 0.4}, {"B": 0.9}, {"C": 0.9}, {"1": 0.9}, {"2": 0.9},
                  {"3": 0.9}, {"4": 0.9})  # fmt: skip
    us_box = decode(line, BOOK.select("auto"), hints=PlateHints(aspect=2.0, sigma=0.25))
    assert us_box[0].jurisdiction == "us-x" and us_box[0].text == "0BC1234"
