"""The filter language: what it reads, what it says it understood, what it refuses, and that the
matcher (one record, and the roster's column-wise path) agrees with an obvious reference. The
roster is checked both ways it filters: over each clearance's search text (a small roster) and
over the numpy cells of a big one (`roster/cells.py`, forced on here for a few cars)."""

from __future__ import annotations

from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from hm_tui.domain.filters import parse_filter, record, tags_field
from hm_tui.service.models import ChangelogEntry, Clearance
from hm_tui.service.roster import index as roster_index
from hm_tui.service.roster.model import Roster

NOW = 1_700_000_000.0


@contextmanager
def cells_from(rows: int) -> Iterator[None]:
    """Rosters from `rows` clearances filter on cells while this lasts (0: every roster)."""
    was = roster_index.CELLS_FROM
    roster_index.CELLS_FROM = rows
    try:
        yield
    finally:
        roster_index.CELLS_FROM = was


def test_the_bar_says_what_it_understood() -> None:
    f = parse_filter("status:rejected brand:audi,seat -brand:bmw")
    assert not f.problems
    assert f.describe() == "status = rejected · brand ∈ {audi, seat} · not brand bmw"


def test_quoted_reason_tag_age_and_free_words() -> None:
    f = parse_filter('reason:"tag missing" tag:fleet=north age:>2d north -"sub fleet"')
    assert [t.field for t in f.terms] == ["reason", "tag", "age", "text", "text"]
    assert f.describe() == (
        'reason has "tag missing" · tag fleet = north · in state > 2 d · text has "north" · '
        'text lacks "sub fleet"'
    )


@pytest.mark.parametrize(
    ("text", "says"),
    [
        ("status:rej", "'rej' is not a status; use pending, approved"),
        ("brand:nope", "'nope' is not a brand id"),
        ("colour:red", "no field 'colour'"),
        ("age:2d", "age: needs a comparison and a duration"),
        ("age:>2", "add a unit to 2"),
        ("tag:=x", "a tag needs its key"),
        ("status:", "status: needs a value, e.g. status:rejected,pending"),
        ('reason:"tag missing', 'a quote (") is not closed'),
        ("-", "a lone '-'"),
    ],
)
def test_bad_terms_are_named_with_what_to_write(text: str, says: str) -> None:
    f = parse_filter(f"bmw {text}")
    assert any(says in problem for problem in f.problems), f.problems
    assert f.terms[0].values == ("bmw",)  # the rest still applies


def test_an_unclosed_quote_still_applies_what_was_typed() -> None:
    f = parse_filter('reason:"tag mis')
    assert f.terms[0].values == ("tag mis",)


def test_tag_is_exact_where_free_text_is_a_substring() -> None:
    sub = {"tag": tags_field({"sub-fleet": "north"}), "text": "x\tsub-fleet=north"}
    mine = {"tag": tags_field({"fleet": "north"}), "text": "x\tfleet=north"}
    assert not parse_filter("tag:fleet=north").matches(sub)
    assert parse_filter("tag:fleet=north").matches(mine)
    assert parse_filter("fleet=north").matches(sub)
    assert parse_filter("tag:FLEET").matches(mine)
    assert not parse_filter("tag:fleet=nort").matches(mine)


def test_a_longer_query_implies_the_shorter() -> None:
    assert parse_filter("volks brand:audi").implies(parse_filter("vol"))
    assert not parse_filter("vol").implies(parse_filter("volks"))
    assert parse_filter("-vo").implies(parse_filter("-vol"))
    assert not parse_filter("brand:audi").implies(parse_filter("brand:audi,seat"))


# -- the property: parser + matcher (one record, and the roster) against a reference -----------

STATUSES = ["pending", "approved", "rejected", "revoked"]
BRANDS = ["bmw", "audi", "seat", "kia"]
REASONS = [None, "customer name tag missing", "privacy mode is enabled", "Tag Missing, Sorry"]
TAGS = [{}, {"fleet": "north"}, {"sub-fleet": "north"}, {"fleet": "North", "team": "a b"}]


@dataclass
class Car:
    vin: str
    status: str
    brand: str
    reason: str | None
    tags: dict[str, str]
    age_s: int

    def clearance(self) -> Clearance:
        from datetime import UTC, datetime

        at = datetime.fromtimestamp(NOW - self.age_s, UTC).isoformat()
        return Clearance(
            self.vin,
            self.status,
            self.brand,
            self.tags,
            [ChangelogEntry(at, self.status, self.reason)],
        )


@dataclass
class Ref:
    """One condition, written the obvious way."""

    field: str
    value: str
    negated: bool

    def text(self) -> str:
        body = self.value if self.field == "text" else f"{self.field}:{self.value}"
        if " " in self.value:
            body = f'"{self.value}"' if self.field == "text" else f'{self.field}:"{self.value}"'
        return ("-" if self.negated else "") + body

    def passes(self, car: Car) -> bool:
        v = self.value.lower()
        if self.field == "text":  # (a tab or tag separator in a field reads as a space)
            hay = " | ".join(
                [
                    car.status,
                    car.vin.replace("\t", " ").replace("\x1f", " "),
                    car.brand,
                    car.reason or "",
                    *[f"{k}={x}" for k, x in car.tags.items()],
                ]
            ).lower()
            hit = v in hay
        elif self.field == "status":
            hit = car.status in v.split(",")
        elif self.field == "brand":
            hit = car.brand in v.split(",")
        elif self.field == "reason":
            hit = v in (car.reason or "").lower()
        elif self.field == "tag":
            key, _, want = v.partition("=")
            tags = {k.lower(): x.lower() for k, x in car.tags.items()}
            hit = key in tags and ("=" not in v or tags[key] == want)
        else:  # age ">N h" or "<N h"
            hours = int(v[1:-1]) * 3600
            hit = car.age_s > hours if v[0] == ">" else car.age_s < hours
        return hit is not self.negated


def _refs(field: str, values: list[str]) -> st.SearchStrategy[Ref]:
    return st.builds(Ref, st.just(field), st.sampled_from(values), st.booleans())


#: VINs are untrusted: besides 17 ASCII characters, ones that are shorter, longer, empty, not
#: ASCII (one whose lower case is longer: İ), or hold a tab or the tag separator.
ODD_VINS = [
    "AB\x1fCD000000000000",
    "AB\tCD000000000000",
    "ÉCOLE000000000001",
    "İSTANBUL000000001",
    "short1",
    "",
    "X" * 20,
    "wba00000000000007",
]
#: Free words: in one field, across the end of one VIN and the start of the next in VIN order
#: (never a match), in odd VINs, longer than a VIN.
WORDS = ["wba", "north", "tag", "approved", "kia", "2wba", "0wba", "1", "00", "wba0000000"]
WORDS += ["ab cd", "cd0", "école", "i̇stanbul", "x" * 17, "x" * 18, "short", "7", "d00"]

refs = st.one_of(
    _refs("text", WORDS),
    _refs("status", ["rejected", "pending,approved"]),
    _refs("brand", ["audi", "audi,seat", "bmw"]),
    _refs("reason", ["tag missing", "privacy", "sorry"]),
    _refs("tag", ["fleet=north", "fleet", "team=a b", "sub-fleet"]),
    _refs("age", [">1h", "<1h", ">30h", "<5h"]),
)
cars = st.builds(
    Car,
    st.one_of(
        st.integers(0, 10**6).map(lambda n: f"WBA{n:014d}"),
        st.integers(0, 30).map(lambda n: f"WBA{n:014d}"),  # (neighbours in VIN order)
        st.sampled_from(ODD_VINS),
    ),
    st.sampled_from(STATUSES),
    st.sampled_from(BRANDS),
    st.sampled_from(REASONS),
    st.sampled_from(TAGS),
    st.integers(0, 40).map(lambda h: h * 3600 + 1),  # never exactly on a limit
)


def _values(car: Car) -> dict[str, object]:
    return record(car.status, car.vin, car.brand, car.reason, car.tags, car.age_s)


@settings(max_examples=400, deadline=None)
@given(
    fleet=st.lists(cars, max_size=25, unique_by=lambda c: c.vin),
    terms=st.lists(refs, max_size=4),
    cells=st.booleans(),
)
def test_matcher_and_roster_agree_with_the_reference(
    fleet: list[Car], terms: list[Ref], cells: bool
) -> None:
    text = " ".join(term.text() for term in terms)
    f = parse_filter(text)
    assert not f.problems, f.problems
    expected = sorted(car.vin for car in fleet if all(term.passes(car) for term in terms))
    assert sorted(car.vin for car in fleet if f.matches(_values(car))) == expected
    with cells_from(0 if cells else roster_index.CELLS_FROM):
        roster = Roster()
        roster.now = lambda: NOW
        roster.apply([car.clearance() for car in fleet], complete=True)
        roster.set_query(text)
        assert sorted(roster.visible) == expected, text
        for column in ("brand", "reason", "tags", "since"):  # every order, and narrowing from it
            roster.set_sort(column)
            assert sorted(roster.visible) == expected, (text, column)


@settings(max_examples=60, deadline=None)
@given(
    fleet=st.lists(cars, min_size=5, max_size=25, unique_by=lambda c: c.vin),
    terms=st.lists(refs, min_size=1, max_size=3),
    backspaces=st.integers(0, 12),
    cells=st.booleans(),
)
def test_typing_a_filter_key_by_key_matches_filtering_from_scratch(
    fleet: list[Car], terms: list[Ref], backspaces: int, cells: bool
) -> None:
    """Each keystroke may narrow an earlier result (the current one, or a recent one whose
    filter the new one implies): the rows must be those a fresh roster finds."""
    clearances = [car.clearance() for car in fleet]

    def roster() -> Roster:
        made = Roster()
        made.now = lambda: NOW
        made.apply(clearances, complete=True)
        return made

    with cells_from(0 if cells else roster_index.CELLS_FROM):
        typing = roster()
    text = " ".join(term.text() for term in terms)
    prefixes = [text[:n] for n in range(1, len(text) + 1)]
    prefixes += [text[: len(text) - n] for n in range(1, min(backspaces, len(text)) + 1)]
    for typed in prefixes:
        typing.set_query(typed)
        fresh = roster()  # (by the search texts)
        fresh.set_query(typed)
        assert list(typing.visible) == list(fresh.visible), typed


@pytest.mark.parametrize("word", ["2wba", "0wba", "9wba0", "ab cd", "b cd0", "cd0", "wba", "-2wba"])
@pytest.mark.parametrize("cells", [False, True])
def test_a_free_word_never_matches_across_two_vins(word: str, cells: bool) -> None:
    """Neighbours in every order (VINs one apart, same status, brand and tags) and a VIN with
    the tag separator in it, all of a VIN's length: the cells' fast path over whole blocks."""
    fleet = [Car(f"WBA{n:014d}", "approved", "bmw", None, {}, 60) for n in range(30)]
    fleet.append(Car("AB\x1fCD000000000000", "approved", "bmw", None, {}, 60))
    ref = Ref("text", word.lstrip("-"), word.startswith("-"))
    expected = sorted(car.vin for car in fleet if ref.passes(car))
    with cells_from(0 if cells else roster_index.CELLS_FROM):
        roster = Roster()
        roster.apply([car.clearance() for car in fleet], complete=True)
        for column in ("vin", "since", "changed"):
            roster.set_sort(column)
            roster.set_query(ref.text())
            assert sorted(roster.visible) == expected, (word, column)
