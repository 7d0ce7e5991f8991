"""JSON from outside, decoded with a depth limit: the one decode for every untrusted source.

Platform answers and error bodies, MQTT payloads, the token answer, `credentials.json` and
webhook bodies all come through `loads` (or, for a typed decode, `typed`). A few kilobytes of
`[[[[…` make any recursive decoder raise `RecursionError` (msgspec and the standard library stop
at the interpreter's recursion limit), and a document just under that limit would make every
later walk over it (printing, formatting) fail the same way. Both become `JsonError`, a
`ValueError` whose message says what was wrong in a few words, never quoting the input.
"""

from __future__ import annotations

from typing import Any

import msgspec

#: Deepest nesting accepted. The platform's documents go 6-7 levels deep (vehicle data:
#: capability, property, entries, data, value); 64 leaves room for anything honest.
MAX_DEPTH = 64

_decode = msgspec.json.Decoder().decode


class JsonError(ValueError):
    """Not JSON we take: invalid, or nested deeper than `MAX_DEPTH` (`too_deep`)."""

    def __init__(self, message: str, *, too_deep: bool = False) -> None:
        super().__init__(message)
        self.too_deep = too_deep


def loads(raw: bytes | bytearray | memoryview | str, *, max_depth: int = MAX_DEPTH) -> Any:
    """`raw` decoded; `JsonError` for invalid JSON or nesting deeper than `max_depth`."""
    try:
        value = _decode(raw)
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
        return decoder.decode(raw)
    except RecursionError:
        raise _too_deep(MAX_DEPTH) from None


def depth_exceeds(value: Any, limit: int) -> bool:
    """True when `value` nests lists/objects more than `limit` levels deep (iterative: a walk
    that recursed would hit the very limit it guards against)."""
    stack: list[tuple[Any, int]] = [(value, 1)]
    while stack:
        item, depth = stack.pop()
        if isinstance(item, dict):
            children: Any = item.values()
        elif isinstance(item, list):
            children = item
        else:
            continue
        if depth > limit:
            return True
        stack.extend((child, depth + 1) for child in children if isinstance(child, dict | list))
    return False


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
