"""`vins list --json/--csv` and `vins export`: a fleet's list written straight from its wire form.

The list arrives as one body (`WireClearances`: each item's JSON, nothing decoded). Two passes
over it, a batch at a time, so that no fleet's worth of clearance objects ever exists:

1. select: decode a batch, keep each clearance that passes the command's filters, note its VIN
   (and for CSV its tag keys: the header names every key); then the kept items are put in VIN
   order (the order the output has always had);
2. write: decode the kept items again in that order, a chunk at a time, and write the chunk.

Memory is the body plus a few dozen bytes per clearance (a VIN, a position), where decoding
every clearance at once took ~1 KB each. Writing a chunk is one C-level encode; the chunk's text
then goes through the same sanitiser checks as every value always did (`output.json_text`,
`csv_export.cell`): where the chunk is plainly clean (printable ASCII for JSON, printable for
CSV, nothing to redact, no cell a spreadsheet would run) it is written as it is; otherwise it is
split until the items that need care are found, and those are written the per-item way. The
bytes written are the same as the per-item path's for any input (tests/cli/test_list_stream.py
compares them on hostile clearances).
"""

from __future__ import annotations

import csv
import io
import sys
from array import array
from collections.abc import Callable, Iterator, Sequence
from dataclasses import dataclass
from datetime import datetime
from itertools import compress, repeat
from operator import attrgetter
from typing import Any, TextIO

import msgspec

from hm_tui import collector
from hm_tui.cli import output as out
from hm_tui.service.files import csv_export
from hm_tui.service.models import ChangelogEntry, Clearance, decode_clearance_array
from hm_tui.service.platform import clock as platform_time
from hm_tui.service.platform.decode import wire_array
from hm_tui.service.redact import plainly_clean

BATCH = 2048  # clearances decoded per C call in either pass (~0.5 MB of JSON)
_VIN = attrgetter("vin")
_TAGS = attrgetter("tags")
_encode = msgspec.json.Encoder().encode
_format = msgspec.json.format

Keep = Callable[[Clearance], bool]


class _VinOnly(msgspec.Struct):
    vin: str


_VINS = msgspec.json.Decoder(list[_VinOnly]).decode
_ONE_VIN = msgspec.json.Decoder(_VinOnly).decode


@dataclass(slots=True)
class Selected:
    """The items a command writes, as positions into the list, in VIN order."""

    positions: list[int]
    tag_keys: list[str]  # every tag key of the kept clearances, sorted (CSV only)
    bad: int  # items that did not fit the model (skipped); `in_order` adds what it finds


def select(
    items: Sequence[Any], keep: Keep | None, *, tag_keys: bool = False, body: Any = None
) -> Selected:
    """Pass 1: the positions of the items that decode and pass `keep`, in VIN order (ties in
    list order, as a stable sort by VIN leaves them). With nothing to test and no tag keys
    wanted, only the VINs are read (from `body`, the list they were split from, in one go): an
    item the model refuses is found (and counted) by `in_order` instead."""
    vins: list[str] = []
    positions = array("q")
    keys: set[str] = set()
    bad = 0
    with collector.paused():
        if keep is None and not tag_keys:
            vins, at = _vins_of(items, body)
            order = sorted(range(len(vins)), key=vins.__getitem__)
            return Selected([at[i] for i in order], [], len(items) - len(vins))
        for start in range(0, len(items), BATCH):
            part = items[start : start + BATCH]
            clearances, good = decode_clearance_array(wire_array(part))
            bad += len(part) - len(clearances)
            where: Sequence[int] = (
                range(start, start + len(part)) if good is None else [start + g for g in good]
            )
            if keep is not None:
                passed = list(map(keep, clearances))
                clearances = list(compress(clearances, passed))
                where = list(compress(where, passed))
            vins += map(_VIN, clearances)
            positions.extend(where)
            if tag_keys and clearances:
                keys.update(*map(_TAGS, clearances))
        order = sorted(range(len(vins)), key=vins.__getitem__)
    return Selected([positions[i] for i in order], sorted(keys), bad)


def _vins_of(items: Sequence[Any], body: Any) -> tuple[list[str], Sequence[int]]:
    """The VINs of wire items and their positions (items without a VIN string left out): one
    C-level decode of the whole body when every item has a VIN, else a batch (then an item) at
    a time."""
    if body is not None:
        try:
            found = _VINS(body)
        except (msgspec.ValidationError, msgspec.DecodeError, RecursionError):
            pass
        else:
            if len(found) == len(items):
                return list(map(_VIN, found)), range(len(items))
    vins: list[str] = []
    at: list[int] = []
    for start in range(0, len(items), BATCH):
        part = items[start : start + BATCH]
        try:
            vins += map(_VIN, _VINS(wire_array(part)))
            at += range(start, start + len(part))
            continue
        except (msgspec.ValidationError, RecursionError):
            pass
        for n, item in enumerate(part):
            try:
                vins.append(_ONE_VIN(bytes(item)).vin)
            except (msgspec.ValidationError, RecursionError):
                continue
            at.append(start + n)
    return vins, at


def in_order(
    items: Sequence[Any], positions: Sequence[int], selected: Selected | None = None
) -> Iterator[list[Clearance]]:
    """Pass 2: the selected clearances, decoded a chunk at a time in the order given (items the
    model refuses are left out, and counted in `selected.bad`)."""
    for start in range(0, len(positions), BATCH):
        part = [items[at] for at in positions[start : start + BATCH]]
        with collector.paused():
            clearances, _ = decode_clearance_array(wire_array(part))
        if selected is not None:
            selected.bad += len(part) - len(clearances)
        yield clearances


# -- JSON ------------------------------------------------------------------------------------------
class _Row(msgspec.Struct, gc=False):
    """A clearance as `vins list --json` writes it (the keys of `vins_cmd.clearance_json`)."""

    vin: str
    brand: str
    status: str
    reason: str | None
    since: str | None
    tags: dict[str, str]


class _FullRow(_Row, gc=False):
    """As `vins export --json` writes it: with the history."""

    changelog: list[ChangelogEntry]


def json_rows(clearances: list[Clearance], *, full: bool) -> list[_Row]:
    """The rows `vins_cmd.clearance_json` makes, as structs for one C-level encode."""
    rows: list[_Row] = []
    add = rows.append
    for c in clearances:
        log = c.changelog
        if log:
            last = log[-1]
            reason, since = last.reason, csv_export.iso_text(last.timestamp) or None
        else:
            reason = since = None
        if full:
            add(_FullRow(c.vin, c.brand, c.status, reason, since, c.tags, log))
        else:
            add(_Row(c.vin, c.brand, c.status, reason, since, c.tags))
    return rows


def write_json(
    chunks: Iterator[list[Clearance]],
    *,
    full: bool,
    pretty: bool,
    file: TextIO | None = None,
) -> None:
    """A JSON array of every clearance, byte for byte what `output.write_json_array` writes for
    `vins_cmd.clearance_json` of each."""
    stream = file or sys.stdout
    sep = ",\n" if pretty else ","
    first = True
    for clearances in chunks:
        if not clearances:
            continue
        text = _json_part(json_rows(clearances, full=full), pretty)
        stream.write(("[\n" if pretty else "[") if first else sep)
        stream.write(text)
        first = False
    stream.write(("[]" if first else "\n]" if pretty else "]") + "\n")
    stream.flush()


def _json_part(rows: list[Any], pretty: bool) -> str:
    """The array elements of `rows` (without the brackets), as `output.write_json_array`
    writes them: one C-level encode where the text is plainly clean, else halves, down to the
    items that take the per-item path."""
    encoded = _encode(rows)
    if pretty:
        encoded = _format(encoded, indent=2)
    text = encoded.decode("utf-8")
    if _json_clean(text):
        return text[2:-2] if pretty else text[1:-1]  # ("[\n" … "\n]" or "[" … "]")
    if len(rows) == 1:
        item = out.json_text(msgspec.to_builtins(rows[0]), pretty=pretty)
        return "  " + item.replace("\n", "\n  ") if pretty else item
    mid = len(rows) // 2
    sep = ",\n" if pretty else ","
    return _json_part(rows[:mid], pretty) + sep + _json_part(rows[mid:], pretty)


def _json_clean(text: str) -> bool:
    """True when `output.json_text` would write every item of `text` as msgspec did: printable
    ASCII only (nothing the ASCII escaping would change, no escape at all) and nothing the
    redaction would touch."""
    return text.isascii() and "\\" not in text and "\x7f" not in text and plainly_clean(text)


# -- CSV -------------------------------------------------------------------------------------------
def write_csv(
    chunks: Iterator[list[Clearance]], keys: list[str], file: TextIO | None = None
) -> None:
    """The CSV of every clearance (`csv_export.write_clearances`' bytes for the same input)."""
    stream = file or sys.stdout
    writer = csv.writer(stream, lineterminator="\n")
    writer.writerow(csv_export.header(keys))
    for clearances in chunks:
        stream.write(_csv_part([csv_row(c, keys) for c in clearances]))
    stream.flush()


def csv_row(c: Clearance, keys: Sequence[str]) -> list[str]:
    """`csv_export.raw_row` of a decoded clearance (the timestamp read by `iso_text`)."""
    log = c.changelog
    last = log[-1] if log else None
    since = csv_export.iso_text(last.timestamp) if last is not None else ""
    reason = (last.reason if last is not None else None) or ""
    tags = c.tags
    return [c.vin, c.brand, c.status, since, reason, *map(tags.get, keys, repeat(""))]


def _csv_part(rows: list[list[str]]) -> str:
    """CSV lines of raw rows, each cell as `csv_export.cell` makes it: written as they are when
    the text shows every cell is already safe, else halves, down to the rows made cell by cell."""
    if not rows:
        return ""
    buffer = io.StringIO()
    writer = csv.writer(buffer, lineterminator="\n")
    writer.writerows(rows)
    text = buffer.getvalue()
    if csv_export.plainly_safe(text):
        return text
    if len(rows) == 1:
        buffer = io.StringIO()
        csv.writer(buffer, lineterminator="\n").writerow(list(map(csv_export.cell, rows[0])))
        return buffer.getvalue()
    mid = len(rows) // 2
    return _csv_part(rows[:mid]) + _csv_part(rows[mid:])


def newest_change(items: Sequence[Any]) -> datetime | None:
    """The newest status change in the list (a lower bound of the platform's clock: time in
    state counts on it), a batch at a time."""
    newest: datetime | None = None
    for clearances in in_order(items, range(len(items))):
        found = platform_time.newest_change(clearances)
        if found is not None and (newest is None or found > newest):
            newest = found
    return newest
