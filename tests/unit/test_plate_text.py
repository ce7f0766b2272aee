"""Plate text rules: normalisation, region correction, confusion-aware distance, search."""

from __future__ import annotations

from contextlib import AbstractContextManager, nullcontext

import pytest

from dashcam.domain.plate_text import (
    CONFUSABLE_COST,
    correct,
    fits_region,
    is_plate_legend,
    normalise,
    plate_distance,
    search_matches,
)


@pytest.mark.parametrize(
    ("raw", "expected"),
    [
        ("abc 123", "ABC123"),
        ("7-ABC-123", "7ABC123"),
        (" KM55 PQR\n", "KM55PQR"),
        ("AB·12•CD", "AB12CD"),
        ("", ""),
        ("--- ", ""),
        ("ä1b2", "1B2"),
    ],
)
def test_normalise(raw: str, expected: str) -> None:
    assert normalise(raw) == expected


@pytest.mark.parametrize(
    ("text", "region", "expected"),
    [
        # UK layout LLDDLLL: digits in letter slots and letters in digit slots are fixed.
        ("A812CDE", "uk", "AB12CDE"),
        ("AB1ZCDE", "uk", "AB12CDE"),
        ("KM5SPQR", "uk", "KM55PQR"),
        ("0B12CDE", "uk", "OB12CDE"),
        ("ab-12 cde", "uk", "AB12CDE"),
        # Too many changes or no template of that length: left as read (normalised).
        ("0812CD3", "uk", "0812CD3"),
        ("AB12CD", "uk", "AB12CD"),
        # US layouts vary too much to guess (all-digit plates are common): no guessing.
        ("7ABC1Z3", "us", "7ABC1Z3"),
        ("4141119", "us", "4141119"),
        ("XYZ 1234", "us", "XYZ1234"),
        # US: letter O is folded into the digit 0 (most states print one glyph for both).
        ("COUGAR", "us", "C0UGAR"),
        # "any" never changes characters.
        ("A812CDE", "any", "A812CDE"),
        # "auto" never guesses a layout: RM442BA must not become the UK-looking RM44ZBA.
        ("A812CDE", "auto", "A812CDE"),
        ("rm44-2ba", "auto", "RM442BA"),
        ("7ABC1Z3", "auto", "7ABC1Z3"),
    ],
)
def test_correct(text: str, region: str, expected: str) -> None:
    assert correct(text, region) == expected


def test_correct_rejects_unknown_region() -> None:
    with pytest.raises(ValueError, match="unknown plate region 'mars'"):
        correct("ABC123", "mars")


@pytest.mark.parametrize(
    ("text", "region", "expected"),
    [
        ("AB12CDE", "uk", True),
        ("AB12CD", "uk", False),
        ("7ABC123", "us", True),
        ("TOOLONG123", "us", False),
        ("A", "any", True),
        ("ABC 123", "auto", True),
        ("A", "auto", False),
    ],
)
def test_fits_region(text: str, region: str, expected: bool) -> None:
    assert fits_region(text, region) is expected


@pytest.mark.parametrize(
    ("a", "b", "expected"),
    [
        ("ABC123", "ABC123", 0.0),
        ("abc-123", "ABC 123", 0.0),
        ("ABC123", "ABD123", 1.0),  # one plain substitution
        ("ABC123", "AB123", 1.0),  # one deletion
        ("ABC123", "ABC1234", 1.0),  # one insertion
        ("ABC123", "A8C123", CONFUSABLE_COST),  # B/8
        ("OIS", "015", 3 * CONFUSABLE_COST),  # O/0, I/1, S/5
        ("Z6", "2G", 2 * CONFUSABLE_COST),
        ("D0Q", "0D0", 3 * CONFUSABLE_COST),
        ("ABC123", "ABC12", 1.0),
        ("", "ABC", 3.0),
        ("ABC123", "XYZ789", 6.0),
    ],
)
def test_plate_distance(a: str, b: str, expected: float) -> None:
    assert plate_distance(a, b) == pytest.approx(expected)
    assert plate_distance(b, a) == pytest.approx(expected)


CANDIDATES = ["ABC123", "A8C123", "ABC124", "XYZ999", "ABC1234", "ABC123"]


@pytest.mark.parametrize(
    ("query", "max_distance", "expected"),
    [
        ("ABC123", 0.0, [("ABC123", 0.0)]),
        ("abc-123", 0.5, [("ABC123", 0.0), ("A8C123", CONFUSABLE_COST)]),
        (
            "ABC123",
            1.0,
            [("ABC123", 0.0), ("A8C123", CONFUSABLE_COST), ("ABC1234", 1.0), ("ABC124", 1.0)],
        ),
        ("ABC12", 0.0, []),
        ("ABC1*", 0.0, [("ABC123", 0.0), ("ABC1234", 0.0), ("ABC124", 0.0)]),
        ("?BC12?", 0.0, [("ABC123", 0.0), ("ABC124", 0.0)]),
    ],
)
def test_search_matches(query: str, max_distance: float, expected: list[tuple[str, float]]) -> None:
    got = search_matches(query, CANDIDATES, max_distance)
    assert [t for t, _ in got] == [t for t, _ in expected]
    assert [d for _, d in got] == pytest.approx([d for _, d in expected])


@pytest.mark.parametrize(
    ("region", "outcome"),
    [("uk", nullcontext()), ("eu", nullcontext()), ("nope", pytest.raises(ValueError))],
)
def test_region_names(region: str, outcome: AbstractContextManager[object]) -> None:
    with outcome:
        correct("AB12CDE", region)


@pytest.mark.parametrize(
    ("text", "legend"),
    [
        ("TEXAS", True),
        ("VERM0NT", True),
        ("NORTHCAR", True),
        ("newyork", True),
        ("TEXAS12", False),
        ("BM5T299", False),
        ("MAINE1", False),
        ("DCV0TE", False),
    ],
)
def test_plate_legends_are_told_from_registrations(text: str, legend: bool) -> None:
    assert is_plate_legend(text) is legend
