"""JSON from outside, decoded with a depth limit: the one decode for every untrusted source.

Platform answers and error bodies, MQTT payloads, the token answer, `credentials.json` and
webhook bodies all come through `loads` (or, for a typed decode, `typed`). A few kilobytes of
`[[[[…` make any recursive decoder raise `RecursionError` (msgspec and the standard library stop
at the interpreter's recursion limit), and a document just under that limit would make every
later walk over it (printing, formatting) fail the same way. Both become `JsonError`, a
`ValueError` whose message says what was wrong in a few words, never quoting the input.

Two things JSON allows that msgspec refuses for the whole document are read instead: a UTF-8
byte order mark before the text (RFC 8259 lets a reader ignore it; editors on Windows write it),
and a lone UTF-16 surrogate escape (`"\\ud800"`: valid JSON grammar, no character), which becomes
U+FFFD. Otherwise one such string in one tag of one clearance would make a fleet's whole list
unreadable, and keep it so.
"""

from __future__ import annotations

import re
from typing import Any

import msgspec

from hm_tui.domain.json_depth import depth_exceeds

#: Deepest nesting accepted. The platform's documents go 6-7 levels deep (vehicle data:
#: capability, property, entries, data, value); 64 leaves room for anything honest.
MAX_DEPTH = 64

_decode = msgspec.json.Decoder().decode
_BOM = b"\xef\xbb\xbf"
# Every escape in order (so an escaped backslash is never read as the start of one): a surrogate
# pair, a lone surrogate, anything else.
_ESCAPES = re.compile(
    rb"\\u(?:[dD][89abAB][0-9a-fA-F]{2}\\u[dD][c-fC-F][0-9a-fA-F]{2}"
    rb"|([dD][89a-fA-F][0-9a-fA-F]{2}))|\\.",
    re.DOTALL,
)


class JsonError(ValueError):
    """Not JSON we take: invalid, or nested deeper than `MAX_DEPTH` (`too_deep`)."""

    def __init__(self, message: str, *, too_deep: bool = False) -> None:
        super().__init__(message)
        self.too_deep = too_deep


def loads(raw: bytes | bytearray | memoryview | str, *, max_depth: int = MAX_DEPTH) -> Any:
    """`raw` decoded; `JsonError` for invalid JSON or nesting deeper than `max_depth`."""
    try:
        value = _retrying(_decode, raw)
    except RecursionError:
        raise _too_deep(max_depth) from None
    except (msgspec.DecodeError, UnicodeDecodeError):
        raise JsonError("not valid JSON") from None
    if _may_be_deep(raw, max_depth) and depth_exceeds(value, max_depth):
        raise _too_deep(max_depth)
    return value


def typed(decoder: Any, raw: bytes | bytearray | memoryview | str) -> Any:
    """`decoder.decode(raw)` for a typed msgspec decoder (its types bound the depth of what it
    keeps; what it skips may still be deep): `RecursionError` becomes `JsonError`, msgspec's
    own errors pass through for the caller to word."""
    try:
        return _retrying(decoder.decode, raw)
    except RecursionError:
        raise _too_deep(MAX_DEPTH) from None


def _retrying(decode: Any, raw: bytes | bytearray | memoryview | str) -> Any:
    """`decode(raw)`; when msgspec refuses it, once more without a byte order mark and with
    lone surrogate escapes made U+FFFD, if that changes anything (the fast path pays nothing)."""
    try:
        return decode(raw)
    except msgspec.DecodeError:
        repaired = repair(raw)
        if repaired is None:
            raise
    return decode(repaired)


def repair(raw: bytes | bytearray | memoryview | str) -> bytes | None:
    """`raw` without a leading UTF-8 BOM and with every lone surrogate escape replaced by
    `\\ufffd`; None when neither is there (nothing to retry)."""
    data = raw.encode("utf-8", "surrogatepass") if isinstance(raw, str) else bytes(raw)
    fixed = data[len(_BOM) :] if data.startswith(_BOM) else data
    if b"\\" in fixed:
        fixed = _ESCAPES.sub(_lone_surrogate, fixed)
    return None if fixed == data else fixed


def _lone_surrogate(match: re.Match[bytes]) -> bytes:
    return b"\\ufffd" if match.group(1) is not None else match.group(0)


def _may_be_deep(raw: bytes | bytearray | memoryview | str, limit: int) -> bool:
    """False when `raw` holds too few brackets to nest past `limit` (the common case: a walk
    over the decoded value is then not needed)."""
    if isinstance(raw, memoryview):
        raw = raw.tobytes()
    if isinstance(raw, str):
        return raw.count("[") + raw.count("{") > limit
    return raw.count(b"[") + raw.count(b"{") > limit


def _too_deep(limit: int) -> JsonError:
    return JsonError(f"nested too deeply (more than {limit} levels)", too_deep=True)
