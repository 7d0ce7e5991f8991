"""Clearances as CSV: the one writer behind `hm-tui vins list --csv`, `hm-tui vins export` and the
dashboard's export, so the three files are the same and equally safe.

Every cell and every header (a tag's key is text from outside too) is shown as it would be on a
terminal (`redact.shown`: escape sequences and invisible characters removed, secrets masked), and
a cell a spreadsheet would run as a formula (`=`, `+`, `-`, `@`, ...) gets a leading apostrophe.
The columns are vin, brand, status, since, reason, then one `tag:<key>` column per tag key seen.
"""

from __future__ import annotations

import csv
import os
from collections.abc import Iterable, Sequence
from datetime import datetime
from pathlib import Path
from typing import Any, Protocol, TextIO

from hm_tui.service.redact import shown

COLUMNS = ("vin", "brand", "status", "since", "reason")
TAG_PREFIX = "tag:"
# What makes a spreadsheet read a cell as a formula (full-width forms too: some convert them).
_FORMULA_START = ("=", "+", "-", "@", "\t", "\r", "\uff1d", "\uff0b", "\uff0d", "\uff20")


class _Clearance(Protocol):
    vin: str
    brand: str
    status: str
    tags: dict[str, str]

    @property
    def reason(self) -> str | None: ...

    @property
    def since(self) -> datetime | None: ...


def cell(value: Any) -> str:
    """One CSV cell: shown text that a spreadsheet will not run as a formula."""
    text = shown(value)
    return "'" + text if text.lstrip(" ").startswith(_FORMULA_START) else text


def header(tag_keys: Sequence[str]) -> list[str]:
    """The header row: the fixed columns and one `tag:<key>` per key, each key shown safely. Two
    keys that read the same once made safe get a ` (2)`, ` (3)` suffix: a column is never named
    twice (`vins add --file` refuses such a header)."""
    names: list[str] = list(COLUMNS)
    seen = set(names)
    for key in tag_keys:
        name = cell(TAG_PREFIX + shown(key))
        unique, n = name, 1
        while unique in seen:
            n += 1
            unique = f"{name} ({n})"
        seen.add(unique)
        names.append(unique)
    return names


def iso(when: datetime | None) -> str:
    """A timestamp as the platform writes them (UTC as `Z`); empty when unknown."""
    return when.isoformat().replace("+00:00", "Z") if when else ""


def write_clearances(file: TextIO, clearances: Sequence[_Clearance]) -> None:
    """The CSV of `clearances`, in the order given, to an open text file."""
    keys = sorted({key for c in clearances for key in c.tags})
    writer = csv.writer(file, lineterminator="\n")
    writer.writerow(header(keys))
    writer.writerows(_rows(clearances, keys))


def _rows(clearances: Iterable[_Clearance], keys: list[str]) -> Iterable[list[str]]:
    for c in clearances:
        fixed = (c.vin, c.brand, c.status, iso(c.since), c.reason or "")
        yield [cell(v) for v in fixed] + [cell(c.tags.get(k, "")) for k in keys]


def export_file(path: Path, clearances: Sequence[_Clearance]) -> None:
    """Write the CSV to a new file `path`, readable by the owner only (it lists the fleet's
    cars). An existing file (or a link put there meanwhile) is never written through:
    `FileExistsError`."""
    fd = os.open(path, os.O_WRONLY | os.O_CREAT | os.O_EXCL | os.O_NOFOLLOW, 0o600)
    with os.fdopen(fd, "w", newline="", encoding="utf-8") as file:
        write_clearances(file, clearances)
