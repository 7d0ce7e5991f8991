"""Bounded JSON decoding for what clients send the emulator (bodies and the `filter` parameter).

Anything a client sends is decoded here and nowhere else, so no input can reach the handlers as
an exception they do not expect: malformed JSON, and JSON nested deeper than `MAX_DEPTH` levels,
become `BodyError` (a `ValueError` with a message fit for an error answer). Without the depth
limit a few kilobytes of `[[[[…` made the decoder raise `RecursionError`, which aiohttp answered
with a plain-text 500: to a client, an outage it would retry.
"""

from __future__ import annotations

from typing import Any

import msgspec

from hm_tui.domain.json_depth import depth_exceeds

#: Deepest nesting accepted. The platform's own documents never go past 4 levels (a filter's
#: `{"tags": {"operator", "value": {...}}}`); 32 leaves room for any honest client.
MAX_DEPTH = 32

_decoder = msgspec.json.Decoder()


class BodyError(ValueError):
    """What a client sent is not JSON we take: the message says what is wrong."""


def decode_bounded(raw: bytes | str, what: str = "the body") -> Any:
    """`raw` decoded, or `BodyError` for invalid JSON or nesting deeper than `MAX_DEPTH`."""
    try:
        value = _decoder.decode(raw)
    except RecursionError:  # msgspec stops at the interpreter's recursion limit
        raise BodyError(_too_deep(what)) from None
    except (msgspec.DecodeError, UnicodeDecodeError):
        raise BodyError(f"{what} is not valid JSON") from None
    if depth_exceeds(value, MAX_DEPTH):
        raise BodyError(_too_deep(what))
    return value


def _too_deep(what: str) -> str:
    return f"{what} is nested too deeply (at most {MAX_DEPTH} levels of lists and objects)"
