"""The one sanitiser (`domain.inert`) and what every output builds on it (`redact.shown`),
property-tested: whatever text comes from outside, nothing that can act on a terminal survives,
no escape sequence leaves its parameters behind, and a secret split by any invisible character or
escape sequence is still masked."""

from __future__ import annotations

import re

from hypothesis import example, given, settings
from hypothesis import strategies as st

from hm_tui.domain.inert import inert, tags_text
from hm_tui.service.redact import MASK, register_secret, shown

PROPS = settings(max_examples=250, deadline=None)
# What must never reach a terminal: C0/C1 controls, DEL, bidi controls, zero-width and other
# invisible format characters, line breaks (one line), lone surrogates.
FORBIDDEN = re.compile(
    "[\x00-\x1f\x7f-\x9f\u061c\u180e\u200b-\u200f\u202a-\u202e\u2028\u2029\u2060-\u2064"
    "\u2066-\u206f\ufeff\ufff9-\ufffb\U000e0000-\U000e007f\ud800-\udfff]"
)
SEQUENCES = [
    "\x1b[31m",
    "\x1b[2J",
    "\x1b[38;5;196m",
    "\x1b[?1049h",
    "\x1b]52;c;ZXZpbA==\x07",
    "\x1b]8;;https://evil.example\x1b\\",
    "\x1b]0;title\x9c",
    "\x9b31m",
    "\x9d52;c;eA==\x07",
    "\x1bPq#0;2;0;0;0\x1b\\",
    "\x1b(B",
    "\x1b7",
    "\x1bc",
]
SPLITTERS = [
    *SEQUENCES,
    "\x00",
    "\x07",
    "\x1b",
    "\u200b",
    "\u200d",
    "\u202e",
    "\u2066",
    "\ufeff",
    "\n",
    "\r\n",
    "\t",
]
hostile_text = st.lists(st.text(max_size=12) | st.sampled_from(SPLITTERS), max_size=12).map("".join)
plain = st.text(
    st.characters(codec="utf-8", categories=["L", "N", "P", "S", "Zs"]), max_size=20
).filter(str.isprintable)


@PROPS
@given(hostile_text)
def test_nothing_that_can_act_on_a_terminal_survives_on_one_line(text: str) -> None:
    result = inert(text)
    assert not FORBIDDEN.search(result), ascii(result)
    assert inert(result) == result  # idempotent: nothing new forms once something is removed


@PROPS
@given(hostile_text)
def test_multiline_text_keeps_only_newlines(text: str) -> None:
    result = inert(text, multiline=True)
    assert not FORBIDDEN.search(result.replace("\n", "")), ascii(result)


@PROPS
@given(plain, st.sampled_from(SEQUENCES), plain)
@example("x", "\x1b[31m", "red")
def test_a_sequence_goes_whole_leaving_no_parameters_behind(
    before: str, sequence: str, after: str
) -> None:
    # (a sequence whose final byte would be the next character is a different sequence)
    assert inert(before + sequence + " " + after) == before + " " + after


@PROPS
@given(plain)
def test_printable_text_is_kept_exactly(text: str) -> None:
    assert inert(text) == text


@PROPS
@given(hostile_text, st.integers(1, 40))
def test_a_limit_is_kept_and_a_cut_is_marked(text: str, limit: int) -> None:
    result = inert(text, limit)
    assert len(result) <= limit
    assert result == inert(text) or result.endswith("…")


SECRET = "s3cr3t-Client-Secret-0123456789"


@PROPS
@given(st.integers(0, len(SECRET)), st.sampled_from(SPLITTERS), plain, plain)
@example(12, "\u200b", "", "")
@example(5, "\x1b", "", "")  # ESC + the secret's next letter would read as one sequence
def test_a_secret_split_by_anything_invisible_is_still_masked(
    at: int, splitter: str, before: str, after: str
) -> None:
    register_secret(SECRET)
    echoed = f"error: {before} {SECRET[:at]}{splitter}{SECRET[at:]} {after}"
    result = shown(echoed)
    assert MASK in result, ascii(result)
    for part in (SECRET[: len(SECRET) // 2], SECRET[len(SECRET) // 2 :]):
        assert part not in result, ascii(result)
    assert not FORBIDDEN.search(result)


@PROPS
@given(hostile_text, st.integers(5, 60))
def test_shown_is_inert_and_a_cut_never_reveals_part_of_a_secret(text: str, limit: int) -> None:
    register_secret(SECRET)
    result = shown(text + SECRET + text, limit)
    assert len(result) <= limit and not FORBIDDEN.search(result)
    assert SECRET[:5] not in result or SECRET[:5] in inert(text)


@PROPS
@given(st.dictionaries(hostile_text, hostile_text, max_size=3))
def test_tags_as_text_are_one_inert_line(tags: dict[str, str]) -> None:
    assert not FORBIDDEN.search(tags_text(tags))
