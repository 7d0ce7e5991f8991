"""Untrusted text on screen: a plain string in a Rich `Text`, never markup, never raw escapes.

Tags, reasons, VINs and payloads come from the platform or the broker. They pass through `shown`
(`hm_tui.service.redact`: the one rule set the headless commands use too, made inert and then
redacted), so terminal sequences (`\\x1b[31m`, OSC 52), invisible and bidi characters never reach
the terminal and secrets never show. Rich markup in them (`[bold red]x[/]`) must show literally:
`Text(...)`, `Content` and `markup=False` never parse it; where a string is parsed as markup,
`markup_safe` escapes it. The clipboard gets the same treatment (`copy_text`).
"""

from __future__ import annotations

from typing import Protocol

from rich.markup import escape
from rich.style import Style
from rich.text import Text

from hm_tui.domain import inert as _inert
from hm_tui.service.redact import shown

__all__ = [
    "CLIP_MAX",
    "copy_text",
    "cut_note",
    "describe_error",
    "literal",
    "markup_safe",
    "shown",
    "tags_text",
    "was_cut",
]


class _Clipboard(Protocol):
    def copy_to_clipboard(self, text: str) -> None: ...


def literal(value: object, style: str | Style = "", limit: int | None = None) -> Text:
    """A Rich `Text` that shows `value` exactly (minus what `shown` removes), whatever it holds."""
    return Text(shown(value, limit), style=style, no_wrap=True, end="")


def markup_safe(value: object, limit: int | None = None) -> str:
    """`value` shown, with Rich markup escaped: for the few places that parse markup."""
    return escape(shown(value, limit))


def tags_text(tags: dict[str, str] | None, limit: int | None = None) -> str:
    """Tags as `key=value, key=value`, shown, in the order the platform sent them."""
    return _inert.tags_text(tags, limit, each=shown)


def describe_error(error: BaseException) -> str:
    """An exception in the operator's words: the platform's detail when there is one, shown."""
    detail = getattr(error, "detail", None) or getattr(error, "title", None)
    text = str(detail) if detail else (str(error) or type(error).__name__)
    return shown(text, 300)


#: Characters of one value (a VIN, a reason) put on the clipboard at most: the rest is cut
#: ("…"), and the caller says so (`was_cut`). The clipboard travels through the terminal
#: (OSC 52): megabytes there block it and the app.
CLIP_MAX = 4096


def copy_text(
    app: _Clipboard, value: object, *, multiline: bool = False, limit: int | None = CLIP_MAX
) -> str:
    """Put `value` on the clipboard as it is shown: one line (a pasted reason must not run as
    commands in a shell) unless `multiline` (JSON, an error), inert and redacted, cut to
    `limit` characters. Returns it."""
    text = shown(value, limit, multiline=multiline)
    app.copy_to_clipboard(text)
    return text


def was_cut(value: object, limit: int) -> bool:
    """Whether `shown(value, limit)` cut `value` (it is longer than `limit` characters)."""
    return len(value if isinstance(value, str) else str(value)) > limit


def cut_note(value: str, limit: int) -> str:
    """ " (cut: N characters)" when showing `value` in `limit` characters cut it, else ""."""
    return f"  (cut: {len(value):,} characters)" if was_cut(value, limit) else ""
