"""Headless output: plain tables and JSON, with untrusted text made harmless.

Everything printed from the wire (VINs, tags, reasons, values) goes through `shown` (the one rule
set shared with the dashboard: escape sequences, controls and invisible characters removed, then
secrets masked), so a tag cannot recolour or rewrite the operator's terminal. JSON is
ASCII-escaped and keeps exact values, except a string that carries a secret. CSV is written by
`hm_tui.service.files.csv_export`.
"""

from __future__ import annotations

import functools
import json
import os
import shutil
import sys
import textwrap
from collections.abc import Callable, Iterable, Sequence
from datetime import UTC, datetime
from typing import Any, TextIO

from hm_tui.domain import inert
from hm_tui.domain.durations import compact
from hm_tui.service.platform.clock import elapsed_s
from hm_tui.service.redact import masked, redact, shown

__all__ = ["shown"]  # (re-exported: every command prints through it)

MIN_CUT_WIDTH = 6  # a column cut to fit the terminal keeps at least this much (or its header)


def pipe_safe(run: Callable[..., int]) -> Callable[..., int]:
    """`hm-tui vins list | head` closes stdout early: end quietly instead of a traceback."""

    @functools.wraps(run)
    def wrapper(*args: Any, **kwargs: Any) -> int:
        try:
            return run(*args, **kwargs)
        except BrokenPipeError:
            devnull = os.open(os.devnull, os.O_WRONLY)
            os.dup2(devnull, sys.stdout.fileno())  # so the exit-time flush cannot fail again
            return 0

    return wrapper


def is_terminal(file: TextIO) -> bool:
    try:
        return file.isatty()
    except (AttributeError, ValueError):  # a replaced or closed stream
        return False


def terminal_width(file: TextIO) -> int | None:
    """The width of the terminal `file` writes to; None when it is not one (piped: scripts get
    every value whole)."""
    return shutil.get_terminal_size().columns if is_terminal(file) else None


def say(text: str = "", file: TextIO | None = None, *, indent: str = "") -> None:
    """Print a line we composed (its untrusted parts already `shown`; the whole made inert once
    more, so a part no one thought to clean, a file name or an argument, cannot act on the
    terminal either, and every secret this process knows masked in it); on a terminal, prose
    wraps at word boundaries, continuation lines indented by `indent`."""
    out = file or sys.stdout
    safe = redact(inert.inert(text, multiline=True), patterns=False)
    lines = wrap(safe, terminal_width(out), indent)
    print("\n".join(lines), file=out, flush=True)


def wrap(text: str, width: int | None, indent: str = "") -> list[str]:
    """`text` as lines of at most `width` columns, broken between words (None: one line)."""
    if width is None or len(text) <= width:
        return [text]
    return textwrap.wrap(
        text,
        width=width,
        subsequent_indent=indent,
        break_long_words=False,
        break_on_hyphens=False,
        drop_whitespace=True,
    ) or [text]


def warn(text: str) -> None:
    """A message on stderr; whatever it quotes (an exception's text, a path) made inert."""
    say(f"hm-tui: {shown(text, multiline=True)}", sys.stderr, indent="  ")


def table(
    headers: Sequence[str],
    rows: Iterable[Sequence[Any]],
    file: TextIO | None = None,
    *,
    shrink: Sequence[str] = (),
) -> None:
    """A left-aligned plain-text table; every cell cleaned. On a terminal, the columns named in
    `shrink` give up width (widest first) until a row fits, their cells cut with "…"."""
    cells = [[shown(c) for c in row] for row in rows]
    widths = [len(h) for h in headers]
    for row in cells:
        for i, cell in enumerate(row):
            widths[i] = max(widths[i], len(cell))
    out = file or sys.stdout
    limit = terminal_width(out)
    if limit is not None:
        widths = fit_widths(
            widths,
            [headers.index(h) for h in shrink],
            limit,
            [max(len(h), MIN_CUT_WIDTH) for h in headers],
        )
        mark = ellipsis(out)
        cells = [[cut(c, w, mark) for c, w in zip(row, widths, strict=True)] for row in cells]
    line = "  ".join(h.upper()[:w].ljust(w) for h, w in zip(headers, widths, strict=True))
    out.write(line.rstrip() + "\n")
    for row in cells:
        out.write("  ".join(c.ljust(w) for c, w in zip(row, widths, strict=True)).rstrip() + "\n")
    out.flush()


def fit_widths(
    widths: list[int], shrinkable: list[int], limit: int, minimum: list[int]
) -> list[int]:
    """Column widths whose row (two spaces between columns) fits `limit`, taking from the widest
    shrinkable column first and never below its minimum (it may then still not fit)."""
    widths = list(widths)
    excess = sum(widths) + 2 * (len(widths) - 1) - limit
    while excess > 0:
        room = [i for i in shrinkable if widths[i] > minimum[i]]
        if not room:
            break
        widest = max(room, key=lambda i: widths[i])
        widths[widest] -= 1
        excess -= 1
    return widths


def cut(text: str, width: int, mark: str = "…") -> str:
    """`text` in at most `width` characters, ending in `mark` when cut."""
    return text if len(text) <= width else text[: max(0, width - len(mark))] + mark


def ellipsis(file: TextIO) -> str:
    """ "…", or "~" where the stream's encoding has no such character."""
    try:
        "…".encode(getattr(file, "encoding", None) or "utf-8")
    except (UnicodeEncodeError, LookupError):
        return "~"
    return "…"


def write_json(data: Any, file: TextIO | None = None, *, pretty: bool = True) -> None:
    """JSON with every non-ASCII and control character escaped: safe on any terminal. Values are
    exact, except a string carrying a secret (masked, see `json_text`)."""
    out = file or sys.stdout
    out.write(json_text(data, pretty=pretty) + "\n")
    out.flush()


def write_json_array(
    items: Iterable[Any], file: TextIO | None = None, *, pretty: bool = True
) -> None:
    """A JSON array written an item at a time (the same text as `write_json` of the list): a
    fleet's list is never held as one string, nor as one list of dicts."""
    out = file or sys.stdout
    first = True
    for item in items:
        text = json_text(item, pretty=pretty)
        if pretty:
            out.write(("[\n  " if first else ",\n  ") + text.replace("\n", "\n  "))
        else:
            out.write(("[" if first else ",") + text)
        first = False
    out.write(("[]" if first else "\n]" if pretty else "]") + "\n")
    out.flush()


def json_text(data: Any, *, pretty: bool = True) -> str:
    """`data` as ASCII JSON. A string that carries a secret (even split by an invisible
    character, which the escaping would otherwise keep) is replaced by its masked form."""
    text = _dumps(data, pretty)
    if "\\" in text or redact(text) != text:  # escapes, or something secret-looking: look closer
        text = _dumps(masked(data), pretty)
    return text


def _dumps(data: Any, pretty: bool) -> str:
    return json.dumps(
        data,
        ensure_ascii=True,
        indent=2 if pretty else None,
        default=_json_default,
        separators=None if pretty else (",", ":"),
    )


def _json_default(value: Any) -> Any:
    if isinstance(value, datetime):
        return value.isoformat()
    raise TypeError(f"not JSON serialisable: {type(value).__name__}")


def age(when: datetime | None, now: datetime | None = None) -> str:
    """`3m`, `2h05m`, `5d03h` since `when`; `-` if unknown, `?` if `when` lies ahead of `now` by
    more than clocks disagree (a timestamp from the future says nothing about how long it has
    been)."""
    if when is None:
        return "-"
    seconds = elapsed_s(when, now or datetime.now(UTC))
    if seconds is None:
        return "?"
    return compact(seconds)  # the one form (domain/durations.py): "3m", "2h05m", "5d03h"


def timestamp(when: datetime | None) -> str:
    """A platform timestamp in UTC, saying so: `2026-05-01 12:03:04 UTC`."""
    return when.astimezone(UTC).strftime("%Y-%m-%d %H:%M:%S UTC") if when else "-"


#: The most of a clearance's tags a table row or `vins show` prints (a clearance may carry a
#: million, or one of megabytes); `--csv` and `--json` carry them all.
TAGS_SHOWN = 400


def tags_text(tags: dict[str, str] | None, limit: int | None = TAGS_SHOWN) -> str:
    """Tags as `key=value, key=value`, each part shown (inert, then redacted), at most `limit`
    characters and how many more there are."""
    return inert.tags_text(tags, limit, each=shown)
