"""Plate text rules: normalisation, legends, confusion-aware distance, search."""

from __future__ import annotations

import pytest

from dashcam.domain.plate_text import (
    CONFUSABLE_COST,
    confusable_with,
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
    ("ch", "expected"),
    [("0", ("O", "D", "Q")), ("B", ("8",)), ("I", ("1",)), ("W", ())],
)
def test_confusable_with(ch: str, expected: tuple[str, ...]) -> None:
    assert confusable_with(ch) == expected


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
