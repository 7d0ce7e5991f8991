"""Headless output: plain tables, CSV and JSON, with untrusted text made harmless.

Everything printed from the wire (VINs, tags, reasons, values) goes through `clean`, which strips
terminal control characters (escape sequences, bidi overrides), so a tag cannot recolour or
rewrite the operator's terminal. JSON is ASCII-escaped; CSV cells that a spreadsheet would run as
a formula get a leading apostrophe.
"""

from __future__ import annotations

import csv
import functools
import json
import os
import re
import sys
from collections.abc import Callable, Iterable, Sequence
from datetime import UTC, datetime
from typing import Any, TextIO

# C0 and C1 controls, DEL, zero-width and bidi controls (Trojan-source style reordering).
_CONTROL = re.compile(r"[\x00-\x08\x0b-\x1f\x7f-\x9f\u200b-\u200f\u202a-\u202e\u2066-\u2069]")
_FORMULA_START = ("=", "+", "-", "@", "\t", "\r")


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


def clean(value: Any) -> str:
    """One line of printable text: control characters dropped, newlines and tabs as spaces."""
    text = "" if value is None else str(value)
    text = text.replace("\r\n", " ").replace("\n", " ").replace("\t", " ")
    return _CONTROL.sub("", text)


def say(text: str = "", file: TextIO | None = None) -> None:
    """Print a line we composed (it may contain cleaned untrusted parts)."""
    print(text, file=file or sys.stdout, flush=True)


def warn(text: str) -> None:
    say(f"hm-tui: {text}", sys.stderr)


def table(headers: Sequence[str], rows: Iterable[Sequence[Any]],
          file: TextIO | None = None) -> None:
    """A left-aligned plain-text table; every cell cleaned."""
    cells = [[clean(c) for c in row] for row in rows]
    widths = [len(h) for h in headers]
    for row in cells:
        for i, cell in enumerate(row):
            widths[i] = max(widths[i], len(cell))
    out = file or sys.stdout
    line = "  ".join(h.upper().ljust(w) for h, w in zip(headers, widths, strict=True))
    out.write(line.rstrip() + "\n")
    for row in cells:
        out.write("  ".join(c.ljust(w) for c, w in zip(row, widths, strict=True)).rstrip() + "\n")
    out.flush()


def csv_cell(value: Any) -> str:
    text = clean(value)
    return "'" + text if text.startswith(_FORMULA_START) else text


def write_csv(headers: Sequence[str], rows: Iterable[Sequence[Any]],
              file: TextIO | None = None) -> None:
    writer = csv.writer(file or sys.stdout, lineterminator="\n")
    writer.writerow(headers)
    for row in rows:
        writer.writerow([csv_cell(c) for c in row])


def write_json(data: Any, file: TextIO | None = None, *, pretty: bool = True) -> None:
    """JSON with every non-ASCII and control character escaped: safe on any terminal."""
    out = file or sys.stdout
    text = json.dumps(data, ensure_ascii=True, indent=2 if pretty else None, default=_json_default,
                      separators=None if pretty else (",", ":"))
    out.write(text + "\n")
    out.flush()


def _json_default(value: Any) -> Any:
    if isinstance(value, datetime):
        return value.isoformat()
    raise TypeError(f"not JSON serialisable: {type(value).__name__}")


def age(when: datetime | None, now: datetime | None = None) -> str:
    """`3m`, `2h`, `5d` since `when`; `-` if unknown."""
    if when is None:
        return "-"
    seconds = ((now or datetime.now(UTC)) - when).total_seconds()
    if seconds < 0:
        return "0s"
    for unit, size in (("d", 86400), ("h", 3600), ("m", 60)):
        if seconds >= size:
            return f"{int(seconds // size)}{unit}"
    return f"{int(seconds)}s"


def timestamp(when: datetime | None) -> str:
    """A platform timestamp in UTC, saying so: `2026-05-01 12:03:04 UTC`."""
    return when.astimezone(UTC).strftime("%Y-%m-%d %H:%M:%S UTC") if when else "-"


def tags_text(tags: dict[str, str] | None) -> str:
    return " ".join(f"{clean(k)}={clean(v)}" for k, v in (tags or {}).items())
