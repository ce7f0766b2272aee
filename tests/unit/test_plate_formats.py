"""The plate formats file and the pattern language."""

from __future__ import annotations

import pytest

from dashcam.domain.plate_formats import FormatBook, expand_pattern
from dashcam.resources import format_book


def test_every_jurisdiction_parses_and_its_examples_fit() -> None:
    book = format_book()
    assert book.jurisdictions
    for code, j in book.jurisdictions.items():
        only = book.select(code)
        assert j.examples, f"{code}: give at least one example plate"
        for plate in j.examples:
            assert only.fits(plate), f"{code}: example {plate} fits none of its layouts"
        for plate in j.counterexamples:
            assert not only.fits(plate), f"{code}: counterexample {plate} fits"


def test_groups_resolve_to_known_jurisdictions() -> None:
    book = format_book()
    for name in book.groups:
        assert book.select(name).jurisdictions, name


@pytest.mark.parametrize(
    ("pattern", "shapes"),
    [
        ("LL DDD LL", ["LLDDDLL"]),
        ("L{1,3}-L{1,2} D{1,2}", None),
        ("[1-9]DD/LL", ["[123456789]DDLL"]),
        ("[M]LLD", ["[M]LLD"]),
    ],
)
def test_pattern_expansion(pattern: str, shapes: list[str] | None) -> None:
    layouts = expand_pattern(pattern)
    if shapes is not None:
        assert [lay.shape for lay in layouts] == shapes
    else:
        assert len(layouts) == 3 * 2 * 2
        assert sum(lay.weight for lay in layouts) == pytest.approx(1.0)


@pytest.mark.parametrize("bad", ["LL(D)", "[a-z]", "L{3,1}", "[AB", "", " - "])
def test_bad_patterns_are_refused(bad: str) -> None:
    with pytest.raises(ValueError):
        expand_pattern(bad)


def _book() -> FormatBook:
    return FormatBook.from_mapping(
        {
            "groups": {"alps": ["ch", "at"], "west": ["alps", "fr"]},
            "jurisdictions": [
                {"code": "ch", "name": "CH", "layouts": ["LL D{1,6}"], "examples": ["ZH1"]},
                {"code": "at", "name": "AT", "layouts": ["L{1,2} D{3,5} L"]},
                {"code": "fr", "name": "FR", "layouts": ["LL-DDD-LL"]},
                {"code": "us-xx", "name": "X", "vanity": True, "fold": {"O": "0"}},
            ],
        }
    )


def test_region_specs_select_the_right_jurisdictions() -> None:
    book = _book()
    assert [j.code for j in book.select("west").jurisdictions] == ["ch", "at", "fr"]
    assert [j.code for j in book.select("fr, ch").jurisdictions] == ["fr", "ch"]
    assert len(book.select("auto").jurisdictions) == 4
    assert not book.select("any").constrained
    assert book.select("any").fits("X")
    with pytest.raises(ValueError, match="unknown plate region 'zz'"):
        book.select("zz")


def test_matches_fold_and_vanity() -> None:
    book = _book()
    assert book.select("fr").fits("AB123CD")
    assert not book.select("fr").fits("AB12CDE")
    assert book.select("us-xx").fits("COUGAR")  # vanity, any text of 2..8
    assert not book.select("us-xx").fits("TOOLONGPLATE")
    assert book.jurisdictions["us-xx"].apply_fold("COUGAR") == "C0UGAR"


@pytest.mark.parametrize(
    "data",
    [
        {"jurisdictions": [{"code": "a", "name": "A", "layouts": ["LL"], "colour": "x"}]},
        {"jurisdictions": [{"code": "a", "name": "A"}]},
        {"jurisdictions": [{"code": "a", "name": "A", "layouts": ["LL"]}] * 2},
        {"jurisdictions": [{"code": "a", "name": "A", "layouts": ["LL"]}], "groups": {"g": ["b"]}},
        {"jurisdictions": [{"code": "a", "name": "A", "layouts": ["LL"]}], "groups": {"a": ["a"]}},
        {"jurisdictions": [{"code": "a", "name": "A", "layouts": ["LL"]}], "groups": {"g": ["g"]}},
    ],
)
def test_bad_files_are_refused(data: dict[str, object]) -> None:
    with pytest.raises(ValueError):
        FormatBook.from_mapping(data)
