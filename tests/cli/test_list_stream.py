"""`vins list --json/--csv` and `vins export` written from the wire (`cli/list_stream.py`): the
bytes are those of the per-item path (`vins_cmd.print_clearances` over decoded, sorted
clearances) for any list, hostile text, secrets, formulas and unreadable items included."""

from __future__ import annotations

import contextlib
import io

import msgspec
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from hm_tui.cli import list_stream, vins_cmd
from hm_tui.domain.timestamps import parse_time
from hm_tui.service.files import csv_export
from hm_tui.service.platform.decode import decode_items, split_clearance_list
from hm_tui.service.redact import plainly_clean, register_secret

SECRET = "s3cr3t-Value-9f8e7d6c"
_NASTY = [
    "",
    "north",
    "=SUM(A1)",
    " -1",
    "@cmd",
    "+x",
    "\uff1dx",
    "a,b",
    'say "hi"',
    "line\nbreak",
    "tab\there",
    "\x1b[31mred",
    "\x1b]52;c;ZXZpbA==\x07",
    "\u202eevil",
    "zero\u200bwidth",
    "München",
    "del\x7f",
    "back\\slash",
    "Bearer abc.def",
    "client_secret=xyz",
    f"x{SECRET}y",
    f"{SECRET[:9]}\u200b{SECRET[9:]}",
    "eyJhbGciOi.eyJzdWIi.sig",
    "-----BEGIN PRIVATE KEY-----",
    "tokenish",
    "WVWEYJ12345678901",
]
_TIMES = [
    "2026-04-14T04:07:11.480Z",
    "2026-04-14T04:07:11.000Z",
    "2026-02-30T04:07:11.480Z",
    "2026-04-14T24:00:00.000Z",
    "2026-04-14T04:07:11+02:00",
    "2026-04-14 04:07:11",
    "1969-12-31T23:59:59.999Z",
    "not a date",
    "",
]

text = st.sampled_from(_NASTY) | st.text(max_size=12)
entry = st.fixed_dictionaries(
    {"timestamp": st.sampled_from(_TIMES) | st.text(max_size=8), "status": text},
    optional={"reason": st.none() | text},
)
clearance = st.fixed_dictionaries(
    {
        "vin": st.sampled_from(["WBA3A5C53CF256985", "WVWEYJ12345678901", "2HM1"]) | text,
        "status": st.sampled_from(["pending", "approved", "rejected"]) | text,
    },
    optional={
        "brand": st.sampled_from(["bmw", "volkswagen"]) | text,
        "tags": st.dictionaries(text, text, max_size=3),
        "changelog": st.lists(entry, max_size=3),
    },
)
item = clearance | st.sampled_from([{"vin": 7}, {"status": "approved"}, [1, 2], "x", None])


def _old(body: bytes, fmt: str, *, full: bool, watching: bool) -> str:
    clearances, _, _ = decode_items(split_clearance_list(body).items)
    clearances.sort(key=lambda c: c.vin)
    out = io.StringIO()
    with contextlib.redirect_stdout(out):
        vins_cmd.print_clearances(clearances, fmt, full=full, watching=watching)
    return out.getvalue()


def _new(body: bytes, fmt: str, *, full: bool, watching: bool) -> tuple[str, int]:
    wire = split_clearance_list(body)
    selected = list_stream.select(wire.items, None, tag_keys=fmt == "csv", body=wire.body)
    chunks = list_stream.in_order(wire.items, selected.positions, selected)
    out = io.StringIO()
    if fmt == "json":
        list_stream.write_json(chunks, full=full, pretty=not watching, file=out)
    else:
        list_stream.write_csv(chunks, selected.tag_keys, file=out)
    return out.getvalue(), selected.bad


@pytest.fixture(autouse=True, scope="module")
def _secret() -> None:
    register_secret(SECRET)


@pytest.mark.parametrize(
    ("fmt", "full", "watching"),
    [("json", False, False), ("json", True, False), ("json", False, True), ("csv", False, False)],
)
@settings(max_examples=60, deadline=None)
@given(items=st.lists(item, max_size=12))
def test_same_bytes_as_the_per_item_path(items, fmt: str, full: bool, watching: bool) -> None:
    body = msgspec.json.encode(items)
    new, bad = _new(body, fmt, full=full, watching=watching)
    assert new == _old(body, fmt, full=full, watching=watching)
    assert bad == len(items) - len(decode_items(split_clearance_list(body).items)[0])


def test_a_big_list_in_chunks_with_hostile_items_scattered() -> None:
    """Thousands of clean items (the chunked fast path) with hostile ones among them: each
    hostile item takes the per-item path, its neighbours stay fast, the bytes stay the same."""
    items = []
    for n in range(5000):
        vin = f"WBA{n:014d}"
        tags = {"sub-fleet": "north", "cost-centre": f"CC-{n % 900}"}
        if n % 997 == 0:
            tags["note"] = _NASTY[n % len(_NASTY)]
        log = [{"timestamp": _TIMES[n % 2], "status": "pending"}]
        items.append(
            {"vin": vin, "status": "pending", "brand": "bmw", "tags": tags, "changelog": log}
        )
    items[1234] = {"vin": 5}
    body = msgspec.json.encode(items)
    for fmt, full, watching in (
        ("json", True, False),
        ("json", False, True),
        ("csv", False, False),
    ):
        new, bad = _new(body, fmt, full=full, watching=watching)
        assert new == _old(body, fmt, full=full, watching=watching)
        assert bad == 1
    assert SECRET not in _new(body, "csv", full=False, watching=False)[0]


@settings(max_examples=500, deadline=None)
@given(
    st.from_regex(r"\A[0-9]{4}-[0-9]{2}-[0-9]{2}T[0-9]{2}:[0-9]{2}:[0-9]{2}\.[0-9]{3}Z\Z")
    | st.sampled_from(_TIMES)
    | st.text(max_size=26)
)
def test_iso_text_is_iso_of_parse_time(timestamp: str) -> None:
    assert csv_export.iso_text(timestamp) == csv_export.iso(parse_time(timestamp))


@settings(max_examples=500, deadline=None)
@given(st.text() | st.sampled_from(_NASTY))
def test_plainly_clean_never_passes_what_redact_would_change(value: str) -> None:
    from hm_tui.service.redact import redact

    if plainly_clean(value):
        assert redact(value) == value


def test_every_hint_has_its_word() -> None:
    for hint in ("BeArEr", "eyJ", "Secret", "TOKEN", "assertion", "PRIVATE", "AuthoriZe"):
        assert not plainly_clean(f"x{hint}y")
