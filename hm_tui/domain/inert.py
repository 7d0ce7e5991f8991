"""Untrusted text made inert: the one rule set for every place text from outside is shown.

VINs, tags, reasons, data values and error bodies come from the platform, the broker or files.
Before any of it reaches a terminal (a table, a toast, a CSV opened in a pager, the clipboard) it
must not be able to act: no escape sequence may move the cursor, recolour, set the clipboard
(OSC 52) or clear the screen, and no invisible character may reorder or hide what is shown (a
bidi override can make `WBA…` display as another VIN). The rules, in order:

1. escape sequences go whole, their parameters with them (`ESC[31m` leaves no `[31m`): CSI, OSC,
   DCS/SOS/PM/APC up to their terminator, two-byte and nF escapes, and the 8-bit C1 forms;
2. C0 and C1 control characters and DEL go (line breaks and tabs become a space when one line
   is expected, and stay as `\\n` in multi-line text);
3. bidi embeddings, overrides, isolates and marks (U+202A-202E, U+2066-2069, U+200E/F, U+061C),
   zero-width and other invisible formatting characters (U+200B-200D, U+2060-2064, U+FEFF,
   U+180E, U+FFF9-FFFB, the tag characters U+E0000-E007F), every other character Unicode calls
   default-ignorable (the soft hyphen, the combining grapheme joiner, the Hangul fillers,
   variation selectors: a terminal draws nothing for them, so they can split a word unseen) and
   lone surrogates go.

Pure and idempotent: `inert(inert(x)) == inert(x)`. Redaction of secrets runs after this (see
`hm_tui.service.redact.shown`), so an invisible character inside a secret cannot hide it.
"""

from __future__ import annotations

import re
from collections.abc import Callable

ELLIPSIS = "…"

# Sequences first, so their parameters go with them (a terminal would swallow them too).
_SEQUENCES = re.compile(
    r"(?:\x1b\[|\x9b)[0-?]*[ -/]*[@-~]?"  # CSI (ESC [ or its 8-bit form) to its final byte
    r"|(?:\x1b[\]PX^_]|[\x90\x98\x9d\x9e\x9f])[^\x07\x1b\x9c]*(?:\x07|\x1b\\|\x9c)?"  # OSC…
    r"|\x1b[ -/]*[0-~]?"  # nF and two-byte escapes (ESC 7, ESC c, ESC ( B), or a lone ESC
)
_INVISIBLE = (
    "\u00ad\u034f\u061c\u115f\u1160\u17b4\u17b5\u180b-\u180f\u200b-\u200f\u202a-\u202e"
    "\u2060-\u2064\u2066-\u206f\u3164\ufe00-\ufe0f\ufeff\uffa0\ufff0-\ufffb"
    "\U0001bca0-\U0001bca3\U0001d173-\U0001d17a\U000e0000-\U000e0fff\ud800-\udfff"
)
_BREAKS = "\n\r\t\x0b\x0c\x85\u2028\u2029"
# Everything that goes, leaving line breaks for the caller to decide on.
_REMOVED = re.compile(f"[\\x00-\\x08\\x0e-\\x1f\\x7f-\\x84\\x86-\\x9f{_INVISIBLE}]")
_ONE_LINE = re.compile(f"\r\n|[{_BREAKS}]")
_LINES = re.compile("\r\n|[\r\x0b\x0c\x85\u2028\u2029]")
# Every control and invisible character on its own (escape parameters stay): see `loose`.
_SINGLE = re.compile(f"[\\x00-\\x1f\\x7f-\\x9f{_INVISIBLE}\u2028\u2029]")


def inert(value: object, limit: int | None = None, *, multiline: bool = False) -> str:
    """`value` as text that cannot act on a terminal (see the module doc); None is "".

    One line unless `multiline` (then `\\n` separates lines, tabs become spaces). `limit` cuts
    the result to that many characters, ending in "…".
    """
    text = "" if value is None else value if isinstance(value, str) else str(value)
    if not (text.isascii() and text.isprintable()):  # the fast path: most text is plain ASCII
        text = _SEQUENCES.sub("", text)
        text = _LINES.sub("\n", text).replace("\t", " ") if multiline else _ONE_LINE.sub(" ", text)
        text = _REMOVED.sub("", text)
    return cut(text, limit)


def loose(value: object) -> str:
    """`value` with every control and invisible character removed one by one, the printable
    parameters of escape sequences left in place. Not for display (it leaves `[31m` behind):
    a second reading for redaction, in case a sequence was placed to split a secret."""
    text = "" if value is None else value if isinstance(value, str) else str(value)
    return text if text.isascii() and text.isprintable() else _SINGLE.sub("", text)


def cut(text: str, limit: int | None) -> str:
    """`text` in at most `limit` characters, ending in "…" when cut (None: whole)."""
    if limit is None or len(text) <= limit:
        return text
    return text[: max(0, limit - 1)] + ELLIPSIS


def tags_text(
    tags: dict[str, str] | None,
    limit: int | None = None,
    *,
    each: Callable[[str], str] = inert,
) -> str:
    """Tags as one line, `key=value, key=value` in the order the platform sent them, each key
    and value passed through `each` (inert; outputs pass `redact.shown`, which must see each
    part as it came, invisible characters and all, to find a secret split by them). With a
    `limit`, only the tags that fit are made into text (a clearance may carry a million), cut
    with "…" and followed by how many more there are."""
    if not tags:
        return ""
    parts: list[str] = []
    size = 0
    for key, value in tags.items():
        if limit is not None and size > limit:
            break
        parts.append(f"{each(key)}={each(value)}")
        size += len(parts[-1]) + 2
    text = cut(", ".join(parts), limit)
    more = len(tags) - len(parts)
    return f"{text} (+{more:,} more)" if more else text
