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
import re
from collections.abc import Iterable, Sequence
from datetime import datetime
from itertools import repeat
from pathlib import Path
from typing import Any, Protocol, TextIO

from hm_tui.domain.timestamps import parse_time
from hm_tui.service.redact import plainly_clean, shown

COLUMNS = ("vin", "brand", "status", "since", "reason")
TAG_PREFIX = "tag:"
# What makes a spreadsheet read a cell as a formula (full-width forms too: some convert them).
_FORMULA_START = ("=", "+", "-", "@", "\t", "\r", "\uff1d", "\uff0b", "\uff0d", "\uff20")
# A cell starting (after spaces) like a formula, in CSV text where no cell is quoted.
_FORMULA_CELL = re.compile("(?:^|,) *[" + re.escape("".join(_FORMULA_START)) + "]", re.M)


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


def iso_text(timestamp: str) -> str:
    """`iso(parse_time(timestamp))`: a platform timestamp as `iso` writes it, "" when it cannot
    be read. The platform's usual shape (`2026-04-14T04:07:11.480Z`) is read by its parts, the
    date and the hour:minute each checked by `parse_time` itself once per distinct value (a
    list of a million clearances has a few hundred dates); any other text is parsed whole."""
    if (
        len(timestamp) == _USUAL_LENGTH
        and timestamp[19] == "."
        and timestamp[23] == "Z"
        and timestamp.isascii()
        and timestamp[10] == "T"
        and timestamp[16] == ":"
        and timestamp[17:19] in _SECONDS
        and timestamp[20:23] in _FRACTIONS
        and (_DATES.get(timestamp[:10]) or _known(_DATES, timestamp[:10], "{}T00:00:00Z"))
        and (
            _MINUTES.get(timestamp[11:16])
            or _known(_MINUTES, timestamp[11:16], "2000-01-01T{}:00Z")
        )
    ):
        if timestamp[20:23] == "000":  # (`isoformat` leaves out a fraction of zero)
            return timestamp[:19] + "Z"
        return timestamp[:23] + "000Z"
    return iso(parse_time(timestamp))


_USUAL_LENGTH = len("2026-04-14T04:07:11.480Z")
_FRACTIONS = frozenset(f"{n:03d}" for n in range(1000))
_SECONDS = frozenset(f"{n:02d}" for n in range(60))
_DATES: dict[str, bool] = {}  # "2026-04-14" -> `parse_time` reads it, in range
_MINUTES: dict[str, bool] = {}  # "04:07" -> `parse_time` reads it


def _known(seen: dict[str, bool], part: str, template: str) -> bool:
    """Whether `parse_time` reads a timestamp with this part (the rest valid), remembered."""
    ok = parse_time(template.format(part)) is not None
    if len(seen) >= 65536:  # (a hostile list could name a million dates)
        seen.clear()
    seen[part] = ok
    return ok


def write_clearances(file: TextIO, clearances: Sequence[_Clearance]) -> None:
    """The CSV of `clearances`, in the order given, to an open text file."""
    keys = sorted({key for c in clearances for key in c.tags})
    writer = csv.writer(file, lineterminator="\n")
    writer.writerow(header(keys))
    writer.writerows(_rows(clearances, keys))


def _rows(clearances: Iterable[_Clearance], keys: list[str]) -> Iterable[list[str]]:
    for c in clearances:
        yield list(map(cell, raw_row(c, keys)))


def raw_row(c: _Clearance, keys: Sequence[str]) -> list[str]:
    """A clearance's cells before `cell` makes them safe: the fixed columns, then each tag."""
    tags = c.tags
    return [
        c.vin,
        c.brand,
        c.status,
        iso(c.since),
        c.reason or "",
        *map(tags.get, keys, repeat("")),
    ]


def plainly_safe(text: str) -> bool:
    """True when CSV text written from raw cells holds only cells `cell` leaves as they are: no
    cell quoted (each one is the text between commas or line ends), every one printable
    (nothing for `inert` to take), nothing for the redaction to mask (`plainly_clean`), none
    starting like a formula. False says only: make the cells one by one."""
    return (
        '"' not in text
        and text.replace("\n", "").isprintable()
        and not _formula_cell(text)
        and plainly_clean(text)
    )


def _formula_cell(text: str) -> bool:
    """Whether a cell of unquoted CSV text starts like a formula (a quick look first: most
    texts have no cell starting with a space, and none with a formula character)."""
    if " " in text and (text.startswith(" ") or ", " in text or "\n " in text):
        return _FORMULA_CELL.search(text) is not None
    return any(
        char in text and (text.startswith(char) or f",{char}" in text or f"\n{char}" in text)
        for char in _FORMULA_START
    )


def export_file(path: Path, clearances: Sequence[_Clearance]) -> None:
    """Write the CSV to a new file `path`, readable by the owner only (it lists the fleet's
    cars). An existing file (or a link put there meanwhile) is never written through:
    `FileExistsError`."""
    fd = os.open(path, os.O_WRONLY | os.O_CREAT | os.O_EXCL | os.O_NOFOLLOW, 0o600)
    with os.fdopen(fd, "w", newline="", encoding="utf-8") as file:
        write_clearances(file, clearances)
