"""Untrusted text on screen: a plain string in a Rich `Text`, never markup, never raw escapes.

Tags, reasons, VINs and payloads come from the platform or the broker. Rich markup in them
(`[bold red]x[/]`) must show literally and terminal control sequences (`\\x1b[31m`) must never
reach the terminal. `Text(...)` never parses markup; `inert()` removes escapes and control
characters, so a value also stays on one line.
"""

from __future__ import annotations

import re

from rich.style import Style
from rich.text import Text

# ESC sequences (CSI, OSC, two-byte) first, so their parameters go with them; then any C0/C1
# control character and the Unicode line/paragraph separators.
_ESCAPES = re.compile(r"\x1b(?:\[[0-?]*[ -/]*[@-~]|\][^\x07\x1b]*(?:\x07|\x1b\\)?|[@-_])?")
_CONTROLS = re.compile(r"[\x00-\x1f\x7f-\x9f\u2028\u2029]")


def inert(value: object, limit: int | None = None) -> str:
    """`value` as one line of plain text with escape sequences and control characters removed.

    `limit` shortens the result to that many characters, ending in "…".
    """
    raw = value if isinstance(value, str) else str(value)
    # fast path: most platform strings are clean, and the roster renders thousands of them
    text = raw if raw.isprintable() else _CONTROLS.sub("", _ESCAPES.sub("", raw.replace("\t", " ")))
    if limit is not None and len(text) > limit:
        return text[: max(0, limit - 1)] + "…"
    return text


def literal(value: object, style: str | Style = "", limit: int | None = None) -> Text:
    """A Rich `Text` that shows `value` exactly (minus control characters), whatever it contains."""
    return Text(inert(value, limit), style=style, no_wrap=True, end="")


def tags_text(tags: dict[str, str] | None, limit: int | None = None) -> str:
    """Tags as `key=value, key=value`, inert, in the order the platform sent them."""
    if not tags:
        return ""
    return inert(", ".join(f"{key}={value}" for key, value in tags.items()), limit)


def describe_error(error: BaseException) -> str:
    """An exception in the operator's words: the platform's detail when there is one, inert."""
    detail = getattr(error, "detail", None) or getattr(error, "title", None)
    text = str(detail) if detail else (str(error) or type(error).__name__)
    return inert(text, 300)
