"""The filter language, one for the dashboard's `/` and the CLI's `--filter`.

    rejected bmw                 free words: each must appear somewhere (VIN, brand, status,
                                 reason, tags); "a phrase" in quotes is one word
    status:rejected,pending      the status is one of these
    brand:audi,seat              the brand is one of these (platform ids or their other spelling)
    tag:fleet=north              a tag with exactly this key and value (tag:fleet: any value)
    reason:"tag missing"         the reason contains this text
    age:>2d  age:<=30m           time in the current state (s, m, h, d, w)
    -brand:bmw  -north           NOT
Terms combine with AND; everything is case-insensitive. A term that cannot be read is left out
and named in `Filter.problems`, with what to write instead (the dashboard applies the rest and
shows both; the CLI refuses the whole filter).

Matching is per field (`Term.field`, `Term.accepts(value)` for one value of that field), so a
store that keeps a column per field can test a term once per distinct value, or on a whole
column at once, instead of once per clearance; `Filter.matches` is the one-record path.
Parsing is pure and cached (`parse_filter`): the same text gives the same `Filter`.
"""

from __future__ import annotations

import re
from collections.abc import Callable, Mapping
from dataclasses import dataclass, field
from functools import lru_cache

from hm_tui.domain.brands import lookup
from hm_tui.domain.clearance import STATUS_ORDER

#: Separates tags in a clearance's tag field (`tags_field`): a character no tag key or value keeps.
TAG_SEP = "\x1f"
FIELDS: tuple[str, ...] = ("status", "brand", "tag", "reason", "age")
UNITS: dict[str, int] = {"s": 1, "m": 60, "h": 3600, "d": 86400, "w": 604800}
_AGE = re.compile(r"(>=|<=|>|<)\s*(\d+(?:\.\d+)?)\s*([smhdw]?)$")
_FIELD = re.compile(r"([A-Za-z][A-Za-z_-]*):(.*)$", re.S)
_STATUSES = tuple(str(s) for s in STATUS_ORDER)
_FIELD_NAMES = ", ".join(f"{f}:" for f in FIELDS)


def clean_field(text: str) -> str:
    """A field value as the search text keeps it: lower case, no tab or tag separator (they
    delimit the fields)."""
    text = text.lower()
    if "\t" in text or TAG_SEP in text:
        text = text.replace("\t", " ").replace(TAG_SEP, " ")
    return text


def tags_field(tags: Mapping[str, str] | None) -> str:
    """A clearance's tags as the tag field: `k=v` pairs, lower case, joined by `TAG_SEP`."""
    if not tags:
        return ""
    return TAG_SEP.join(f"{clean_field(k)}={clean_field(v)}" for k, v in tags.items())


def search_text(status: str, vin: str, brand: str, reason: str | None, tags: str) -> str:
    """The text free words search: `status\\tvin\\tbrand\\treason\\ttags` (status first: a status
    is a prefix test). `tags` is a `tags_field`."""
    return f"{clean_field(status)}\t{clean_field(vin)}\t{clean_field(brand)}\t" + (
        f"{clean_field(reason or '')}\t{tags}"
    )


def record(
    status: str,
    vin: str,
    brand: str,
    reason: str | None,
    tags: Mapping[str, str] | None,
    age_s: float,
) -> dict[str, object]:
    """One clearance's field values as `Filter.matches` takes them (`age_s`: seconds in its
    current state)."""
    tag_text = tags_field(tags)
    return {
        "text": search_text(status, vin, brand, reason, tag_text),
        "status": clean_field(status),
        "brand": clean_field(brand),
        "reason": clean_field(reason or ""),
        "tag": tag_text,
        "age": age_s,
    }


@dataclass(frozen=True, slots=True)
class Term:
    """One condition on one field. `values`: any of them passes (lower case). For "age":
    `op` and `seconds` (time in state `op` seconds)."""

    field: str  # "text", or one of FIELDS
    values: tuple[str, ...] = ()
    negated: bool = False
    op: str = ""
    seconds: float = 0.0

    def accepts(self, value: object) -> bool:
        """Whether one value of this term's field passes, before negation. The values: text →
        the search text; status, brand, reason → the lower-case value ('' for none); tag →
        a `tags_field`; age → seconds in the current state."""
        if self.field == "age":
            return _compare(float(value), self.op, self.seconds)  # type: ignore[arg-type]
        text = str(value)
        if self.field in ("text", "reason"):
            return any(v in text for v in self.values)
        if self.field == "tag":
            pairs = text.split(TAG_SEP) if text else []
            keys = {p.partition("=")[0] for p in pairs}
            return any((v in pairs) if "=" in v else (v in keys) for v in self.values)
        return text in self.values

    def test(self, value: object) -> bool:
        """`accepts`, negated for a NOT term."""
        return self.accepts(value) is not self.negated

    def since_test(self, now: float) -> Callable[[float], bool]:
        """For "age": a test of the epoch second a clearance entered its state (C-level bound
        method, so a column can be tested without Python code per value), before negation."""
        limit = now - self.seconds  # age > s  <=>  since < now - s
        flipped = {">": "__gt__", ">=": "__ge__", "<": "__lt__", "<=": "__le__"}[self.op]
        test: Callable[[float], bool] = getattr(limit, flipped)  # limit > since, limit >= …
        return test

    def implies(self, other: Term) -> bool:
        """Every clearance this term passes also passes `other` (a result for `other` can be
        narrowed by this one instead of scanning the roster again)."""
        if self == other:
            return True
        same = (self.field, self.negated, len(self.values)) == (other.field, other.negated, 1)
        if not same or len(other.values) != 1 or self.field not in ("text", "reason"):
            return False
        mine, theirs = self.values[0], other.values[0]
        return theirs in mine if not self.negated else mine in theirs

    def describe(self) -> str:
        not_ = "not " if self.negated else ""
        if self.field == "age":
            return f"{not_}in state {self.op} {_duration(self.seconds)}"
        if self.field in ("text", "reason"):
            what = " or ".join(f'"{v}"' for v in self.values)
            where = "text" if self.field == "text" else "reason"
            return f"{where} {'lacks' if self.negated else 'has'} {what}"
        shown = [v.replace("=", " = ", 1) if self.field == "tag" else v for v in self.values]
        if len(shown) == 1:  # "status = rejected", "not brand bmw", "tag fleet = north"
            equals = "" if self.negated or self.field == "tag" else "= "
            return f"{not_}{self.field} {equals}{shown[0]}"
        return f"{not_}{self.field} ∈ {{{', '.join(shown)}}}"


@dataclass(frozen=True, slots=True)
class Filter:
    """A parsed filter: the terms understood (all must pass) and what could not be read."""

    terms: tuple[Term, ...] = ()
    problems: tuple[str, ...] = ()
    by_field: Mapping[str, tuple[Term, ...]] = field(default_factory=dict, compare=False)

    def __bool__(self) -> bool:
        return bool(self.terms)

    def describe(self) -> str:
        """What was understood, e.g. "status = rejected · brand ∈ {audi, seat} · not brand bmw"."""
        return " · ".join(term.describe() for term in self.terms)

    def matches(self, values: Mapping[str, object]) -> bool:
        """One clearance, given each field's value as `Term.accepts` takes it ("age": seconds)."""
        return all(term.test(values[term.field]) for term in self.terms)

    def implies(self, other: Filter) -> bool:
        """Whatever passes this filter passes `other` (see `Term.implies`)."""
        return all(any(mine.implies(theirs) for mine in self.terms) for theirs in other.terms)

    @property
    def timed(self) -> bool:
        """Its result changes as time passes (an age term)."""
        return "age" in self.by_field


EMPTY = Filter()


@lru_cache(maxsize=256)
def parse_filter(text: str) -> Filter:
    """Read a filter (see the module's docstring); never raises."""
    terms: list[Term] = []
    problems: list[str] = []
    tokens, unclosed = _tokens(text)
    if unclosed:
        problems.append('a quote (") is not closed: the rest was read as one value')
    for raw, token in tokens:
        term, problem = _term(raw, token)
        if problem:
            problems.append(problem)
        elif term is not None and term not in terms:
            terms.append(term)
    by_field: dict[str, tuple[Term, ...]] = {}
    for term in terms:
        by_field[term.field] = (*by_field.get(term.field, ()), term)
    return Filter(tuple(terms), tuple(problems), by_field)


def _tokens(text: str) -> tuple[list[tuple[str, list[str]]], bool]:
    """Split on spaces outside quotes. Each token: its raw text, and its pieces split on commas
    outside quotes (quotes removed), for `field:a,b`. True if a quote was left open."""
    tokens: list[tuple[str, list[str]]] = []
    pieces: list[str] = []
    raw, piece, quoted, started = "", "", False, False
    for ch in text + " ":
        if ch == '"':
            quoted, started = not quoted, True
            raw += ch
        elif ch.isspace() and not quoted:
            if started:
                tokens.append((raw, [*pieces, piece]))
            raw, pieces, piece, started = "", [], "", False
        else:
            raw, started = raw + ch, True
            if ch == "," and not quoted:
                pieces.append(piece)
                piece = ""
            else:
                piece += ch
    if quoted:
        tokens.append((raw.rstrip(), [*pieces, piece.rstrip()]))
    return tokens, quoted


def _term(raw: str, pieces: list[str]) -> tuple[Term | None, str]:
    negated = raw.startswith("-") and len(raw) > 1
    if raw == "-":
        return None, "a lone '-': write -WORD or -field:value to leave something out"
    if negated:
        raw, pieces = raw[1:], [pieces[0][1:], *pieces[1:]]
    named = _FIELD.match(raw) if not raw.startswith('"') else None
    if named is None:
        word = clean_field(",".join(pieces)).strip()
        return (Term("text", (word,), negated) if word else None), ""
    name = named.group(1).lower()
    first = pieces[0][len(name) + 1 :]
    values = [clean_field(v).strip() for v in (first, *pieces[1:])]
    values = [v for v in values if v]
    if name not in FIELDS:
        return None, (
            f"{raw!r}: no field {name!r} (fields: {_FIELD_NAMES}); "
            f'to search for this text, quote it: "{raw}"'
        )
    if not values and name != "reason":
        return None, f"{raw!r}: {name}: needs a value, e.g. {_EXAMPLES[name]}"
    return _READERS[name](raw, tuple(values), negated)


_EXAMPLES = {
    "status": "status:rejected,pending",
    "brand": "brand:audi,seat",
    "tag": "tag:fleet=north",
    "reason": 'reason:"tag missing"',
    "age": "age:>2d",
}


def _status(raw: str, values: tuple[str, ...], negated: bool) -> tuple[Term | None, str]:
    unknown = [v for v in values if v not in _STATUSES]
    if unknown:
        return None, f"{raw!r}: {unknown[0]!r} is not a status; use {', '.join(_STATUSES)}"
    return Term("status", values, negated), ""


def _brand(raw: str, values: tuple[str, ...], negated: bool) -> tuple[Term | None, str]:
    ids: list[str] = []
    for value in values:
        brand = lookup(value)
        if brand is None:
            return None, f"{raw!r}: {value!r} is not a brand id (such as bmw, audi, volkswagen)"
        ids += [brand.id] + ([value] if value != brand.id else [])
    return Term("brand", tuple(dict.fromkeys(ids)), negated), ""


def _tag(raw: str, values: tuple[str, ...], negated: bool) -> tuple[Term | None, str]:
    cleaned = tuple(k.strip() + ("=" + v.strip() if sep else "") for k, sep, v in _parts(values))
    if any(v.startswith("=") for v in cleaned):
        return None, f"{raw!r}: a tag needs its key: tag:KEY=VALUE or tag:KEY"
    return Term("tag", cleaned, negated), ""


def _parts(values: tuple[str, ...]) -> list[tuple[str, str, str]]:
    return [v.partition("=") for v in values]


def _reason(raw: str, values: tuple[str, ...], negated: bool) -> tuple[Term | None, str]:
    if not values:
        return None, f"{raw!r}: reason: needs a text, e.g. {_EXAMPLES['reason']}"
    return Term("reason", values, negated), ""


def _age(raw: str, values: tuple[str, ...], negated: bool) -> tuple[Term | None, str]:
    found = _AGE.match(values[0]) if len(values) == 1 else None
    if found is None:
        return None, (
            f"{raw!r}: age: needs a comparison and a duration, e.g. age:>2d or age:<=30m "
            "(units s, m, h, d, w)"
        )
    op, number, unit = found.groups()
    if not unit:
        return None, f"{raw!r}: add a unit to {number}: s, m, h, d or w (age:{op}{number}h)"
    return Term("age", (), negated, op, float(number) * UNITS[unit]), ""


_READERS: dict[str, Callable[[str, tuple[str, ...], bool], tuple[Term | None, str]]] = {
    "status": _status,
    "brand": _brand,
    "tag": _tag,
    "reason": _reason,
    "age": _age,
}


def _compare(value: float, op: str, limit: float) -> bool:
    if op == ">":
        return value > limit
    if op == ">=":
        return value >= limit
    if op == "<":
        return value < limit
    return value <= limit


def _duration(seconds: float) -> str:
    for unit, size in sorted(UNITS.items(), key=lambda item: -item[1]):
        if seconds >= size and seconds % size == 0:
            return f"{seconds / size:g} {unit}"
    return f"{seconds:g} s"
