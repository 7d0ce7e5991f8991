"""A big list is split into its items a window at a time (`decode.split_clearance_list`), so
that no single C call holds the GIL over a fleet's whole body. The windows' cuts are guessed
where the next item seems to start; these tests hold the guessing to the exact one-call split:
the same items, or the same error, for honest and hostile bodies, with windows of a few bytes
so that every guess is tried (one function, tested alone)."""

from __future__ import annotations

import json
from typing import Any

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from hm_tui.service.errors import BadResponse
from hm_tui.service.platform import decode

SEPARATOR_IN_TEXT = '"},{"vin":"X","a":[{"b":1},{"vin":2}]}'


def clearance(n: int, tag: str = "t") -> dict[str, Any]:
    return {
        "vin": f"WVW{n:014d}",
        "status": "approved",
        "changelog": [{"status": "pending"}, {"status": "approved", "reason": None}],
        "tags": {"fleet": tag, "nested": {"vin": "inner"}},
    }


def compact(value: Any) -> bytes:
    return json.dumps(value, separators=(",", ":")).encode()


def split(body: bytes, **kwargs: Any) -> list[bytes] | str:
    """The items' bytes, or the error the list gives; `body` must come back unchanged."""
    buffer = bytearray(body)
    try:
        items = decode.split_clearance_list(buffer, **kwargs).items
    except BadResponse as error:
        result: list[bytes] | str = str(error)
    else:
        result = [bytes(item) for item in items]
    assert buffer == body
    return result


FLEET = [clearance(n, SEPARATOR_IN_TEXT if n % 3 == 0 else "t") for n in range(300)]
BODIES = {
    "compact": compact(FLEET),
    "indented": json.dumps(FLEET, indent=2).encode(),
    "spaced": json.dumps(FLEET).encode(),
    "items of other kinds": compact([*FLEET[:100], 1, "x", [FLEET[0]], None, *FLEET[100:]]),
    "an array inside the array": compact([FLEET]),
    "an object holding the list": compact({"list": FLEET}),
    "cut short": compact(FLEET)[:-1],
    "cut inside an item": compact(FLEET)[: len(compact(FLEET)) // 2],
    "trailing garbage": compact(FLEET) + b"x",
    "a second array after it": compact(FLEET) + compact(FLEET),
    "a byte order mark": b"\xef\xbb\xbf" + compact(FLEET),
    "a lone surrogate": compact(FLEET).replace(b'"t"', b'"\\ud800"', 1),
    "an unterminated string at the end": compact(FLEET)[:-2] + b'"]',
    "nested 5,000 deep inside": compact(FLEET)[:-1] + b"," + b"[" * 5000 + b"]" * 5000 + b"]",
    "nested 5,000 deep, unclosed": compact(FLEET)[:-1] + b"," + b"[" * 5000 + b"]",
    "not UTF-8": compact(FLEET).replace(b'"t"', b'"\xff"', 1),
}


@pytest.mark.parametrize("name", BODIES, ids=list(BODIES))
@pytest.mark.parametrize("window", [1, 17, 256, 4096])
def test_the_windowed_split_gives_the_exact_split_items_or_error(name: str, window: int) -> None:
    body = BODIES[name]
    assert split(body, window=window) == split(body, window=len(body) + 1)


@pytest.mark.parametrize("name", ["compact", "indented", "spaced"])
def test_an_honest_list_is_split_in_windows_not_left_to_one_call(name: str) -> None:
    body = bytearray(BODIES[name])
    items = decode._split_in_windows(body, 512)  # (None: the one-call path decides)
    assert items is not None
    assert [bytes(item) for item in items] == split(bytes(body), window=len(body) + 1)


TEXT = st.text(alphabet=st.sampled_from(list('{}[],:" \\\nvinab1')), max_size=12)
JSON = st.recursive(
    st.none() | st.booleans() | st.integers() | TEXT,
    lambda inner: st.lists(inner, max_size=4) | st.dictionaries(TEXT, inner, max_size=4),
    max_leaves=12,
)
ITEM = st.fixed_dictionaries({"vin": TEXT}, optional={"x": JSON, "vin2": JSON}) | JSON


@settings(max_examples=300, deadline=None)
@given(st.lists(ITEM, max_size=20), st.integers(1, 64), st.sampled_from([None, 0, 2]))
def test_any_list_splits_the_same_in_windows(items: list[Any], window: int, indent: Any) -> None:
    body = json.dumps(items, indent=indent, separators=None if indent else (",", ":")).encode()
    assert split(body, window=window) == split(body, window=len(body) + 1)


@pytest.mark.parametrize("window", [64, decode.WINDOW])
def test_a_list_let_go_frees_its_body_unless_an_item_is_kept(window: int) -> None:
    body = bytearray(BODIES["compact"])
    wire = decode.split_clearance_list(body, window=window)
    wire.let_go()
    assert (len(wire), len(body)) == (0, 0)
    body = bytearray(BODIES["compact"])
    wire = decode.split_clearance_list(body, window=window)
    kept = wire.items[5]
    wire.let_go()  # (the body stays whole for the item still held)
    assert len(wire) == 0 and body == BODIES["compact"]
    assert bytes(kept) == compact(FLEET[5])
