"""The plate formats file and the pattern language."""

from __future__ import annotations

from importlib import resources

import pytest
import yaml

from dashcam.domain.plate_formats import FormatBook, expand_pattern
from dashcam.resources import format_book


@pytest.mark.parametrize("code", sorted(format_book().jurisdictions))
def test_every_jurisdiction_parses_and_its_examples_fit(code: str) -> None:
    book = format_book()
    j = book.jurisdictions[code]
    only = book.select(code)
    assert len(j.examples) >= 2, f"{code}: give at least two example plates"
    assert j.counterexamples, f"{code}: give at least one counterexample"
    assert j.source, f"{code}: say which registration rule the layouts follow"
    # Layouts, not fits(): a vanity jurisdiction fits any text of its vanity lengths.
    for plate in j.examples:
        assert only.matches(plate), f"{code}: example {plate} fits none of its layouts"
    for plate in j.counterexamples:
        assert not only.matches(plate), f"{code}: counterexample {plate} fits a layout"
        if not j.vanity:
            assert not only.fits(plate), f"{code}: counterexample {plate} fits"


@pytest.mark.parametrize("code", sorted(format_book().jurisdictions))
def test_no_layout_is_listed_twice(code: str) -> None:
    layouts = format_book().jurisdictions[code].layouts
    seen = [(lay.positions, lay.lines) for lay in layouts]
    assert len(seen) == len(set(seen)), f"{code}: two patterns expand to the same layout"


# The coverage the formats file promises (docs and issue 13): ISO codes, US states and
# DC, Canadian provinces/territories, Australian states/territories.
_REQUIRED = (  # noqa: SIM905 (a word list reads better than 120 quoted lines)
    "us-al us-ak us-az us-ar us-ca us-co us-ct us-de us-dc us-fl us-ga us-hi us-id us-il "
    "us-in us-ia us-ks us-ky us-la us-me us-md us-ma us-mi us-mn us-ms us-mo us-mt us-ne "
    "us-nv us-nh us-nj us-nm us-ny us-nc us-nd us-oh us-ok us-or us-pa us-ri us-sc us-sd "
    "us-tn us-tx us-ut us-vt us-va us-wa us-wv us-wi us-wy "
    "ca-on ca-qc ca-bc ca-ab ca-sk ca-mb ca-nb ca-ns ca-pe ca-nl "
    "au-nsw au-vic au-qld au-wa au-sa au-tas au-act au-nt "
    "mx br ar cl gb ie "
    "at be bg hr cy cz dk ee fi fr de gr hu is it lv li lt lu mt nl no pl pt ro sk si es se "
    "ch rs ba mk al me ua md ru by tr il ae in pk my id ph nz"
).split()


def test_the_promised_jurisdictions_are_all_there() -> None:
    book = format_book()
    missing = [code for code in _REQUIRED if code not in book.jurisdictions]
    assert not missing
    assert any(code.startswith("za") for code in book.jurisdictions)


@pytest.mark.parametrize(
    ("group", "members"),
    [
        ("us", {"us-ca", "us-dc", "us-wy"}),
        ("eu", {"de", "fr", "it", "hr", "se"}),
        ("uk", {"gb"}),
        ("latam", {"br", "ar", "mx", "cl"}),
        ("eea", {"no", "is", "li", "de"}),
        ("northamerica", {"us-ny", "ca-on", "mx"}),
    ],
)
def test_groups_hold_their_members(group: str, members: set[str]) -> None:
    codes = {j.code for j in format_book().select(group).jurisdictions}
    assert members <= codes
    if group == "us":
        assert len(codes) == 51  # 50 states and DC
    if group == "eu":
        assert len(codes) == 27
        assert "no" not in codes


@pytest.mark.parametrize("country", ["us", "ca", "au", "za"])
def test_a_split_country_weighs_as_its_vehicles(country: str) -> None:
    # the parts' shares of the country add up to about 1, times the country's prior
    raw = yaml.safe_load(
        resources.files("dashcam.resources").joinpath("plate_formats.yaml").read_text("utf-8")
    )
    parts = [j for j in format_book().jurisdictions.values() if j.country == country]
    assert len(parts) > 1
    vehicles = float(raw["countries"][country])
    assert sum(j.weight for j in parts) == pytest.approx(vehicles, rel=0.05)


def test_the_file_holds_plain_strings() -> None:
    # YAML 1.1 reads `no` as false and `0123` as a number: every code and plate must be
    # a string in the file itself, not only after the loader's str().
    raw = yaml.safe_load(
        resources.files("dashcam.resources").joinpath("plate_formats.yaml").read_text("utf-8")
    )
    for entry in raw["jurisdictions"]:
        assert isinstance(entry["code"], str), entry["code"]
        for plate in [*entry.get("examples", []), *entry.get("counterexamples", [])]:
            assert isinstance(plate, str), f"{entry['code']}: quote {plate!r}"
    for name, members in raw["groups"].items():
        assert all(isinstance(m, str) for m in members), name


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
