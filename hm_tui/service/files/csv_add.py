"""`vins add --file`: a CSV of clearances to add, read the way spreadsheets actually write them.

Header `vin,brand` plus optional `odometer` (the platform's control measure, docs/platform.md#calls:
`2050`, `2050 km`, `1274 mi`) and `tag:<key>` columns; other columns (such as those `vins
export` writes) are ignored with one warning; a column named twice is refused (which counts?).
Accepts a UTF-8 BOM, CRLF line ends, `;` or tab as the separator (European Excel), and UTF-16
with a BOM; any other encoding is refused with a message saying how to re-save the file. Every
problem names its physical line number.

Unlike the dashboard's preview, a VW Group row without `vw-group-customer-name` is a warning, not an
error: support can configure a default name, so the platform is allowed to decide (issue 3).
"""

from __future__ import annotations

import codecs
import csv
import io
import re
from collections import Counter
from collections.abc import Iterator
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from hm_tui.domain.brands import BRANDS, VW_CUSTOMER_TAG, lookup
from hm_tui.domain.vin import check_digit_warning, check_vin, normalise_vin
from hm_tui.service.files.safe import FileRefused, read_file
from hm_tui.service.models import ControlMeasures, NewClearance

MAX_FILE_BYTES = 50 * 1024 * 1024
TAG_PREFIX = "tag:"
KNOWN_COLUMNS = ("vin", "brand", "odometer")
_ODOMETER = re.compile(r"(\d{1,9})\s*(km|kilometers?|kilometres?|mi|miles?)?")


class CsvInputError(Exception):
    """The file as a whole cannot be used (unreadable, wrong encoding, no header)."""


@dataclass(slots=True)
class CsvRows:
    items: list[NewClearance] = field(default_factory=list)
    lines: dict[str, int] = field(default_factory=dict)  # VIN -> line it came from
    errors: list[str] = field(default_factory=list)  # "line N: ..." rows not sent
    warnings: list[str] = field(default_factory=list)
    digit_warnings: list[str] = field(default_factory=list)  # those of `warnings` that are
    # check-digit doubts: many European VINs fail it, so a large file can hold thousands


def read_csv_file(path: Path, extra_tags: dict[str, str] | None = None) -> CsvRows:
    return parse_csv_text(_decode(path, _read(path)), extra_tags or {}, str(path))


def _read(path: Path) -> bytes:
    """The file's bytes: a regular file (a FIFO or /dev/zero would block or never end) of at
    most `MAX_FILE_BYTES`."""
    try:
        return read_file(path, "CSV file", max_bytes=MAX_FILE_BYTES)
    except FileRefused as exc:
        if exc.kind == "too large":
            raise CsvInputError(f"{path} is larger than {MAX_FILE_BYTES // 2**20} MB") from None
        raise CsvInputError(str(exc)) from None


def _decode(path: Path, data: bytes) -> str:
    if data.startswith((codecs.BOM_UTF16_LE, codecs.BOM_UTF16_BE)):
        return data.decode("utf-16")
    try:
        return data.decode("utf-8-sig")
    except UnicodeDecodeError as exc:
        line = data[: exc.start].count(b"\n") + 1
        raise CsvInputError(
            f"{path} is not UTF-8 text (byte 0x{data[exc.start]:02X} on line {line}); "
            'save it as UTF-8 (in Excel: "CSV UTF-8") and try again'
        ) from None


def _delimiter(header_line: str) -> str:
    counts = {sep: header_line.count(sep) for sep in (",", ";", "\t")}
    best = max(counts, key=lambda sep: counts[sep])
    return best if counts[best] else ","


def parse_csv_text(text: str, extra_tags: dict[str, str], name: str = "the CSV") -> CsvRows:
    """Check every row; good rows become items, bad rows become line-numbered errors."""
    if "\x00" in text:
        raise CsvInputError(f"{name} contains NUL bytes: it is not a text CSV file")
    first = text.split("\n", 1)[0]
    reader = csv.reader(io.StringIO(text, newline=""), delimiter=_delimiter(first))
    try:
        header = next(reader, None)
    except csv.Error as exc:
        raise CsvInputError(f"{name}, line 1: the header cannot be read ({exc})") from None
    if not header or not any(h.strip() for h in header):
        raise CsvInputError(f"{name} is empty: it needs a header line vin,brand[,tag:<key>...]")
    columns = [h.strip().lower() for h in header]
    if "vin" not in columns or "brand" not in columns:
        raise CsvInputError(
            f"{name}, line 1: the header needs 'vin' and 'brand' columns "
            "(expected vin,brand[,odometer][,tag:<key>...])"
        )
    twice = sorted(c for c, n in Counter(columns).items() if c and n > 1)
    if twice:
        raise CsvInputError(
            f"{name}, line 1: the header names {', '.join(map(repr, twice))} "
            "more than once, so which column counts is unclear; nothing was "
            "sent. Remove or rename the duplicate column"
        )
    rows = CsvRows()
    ignored = [c for c in columns if c not in KNOWN_COLUMNS and not _is_tag(c)]
    if ignored:
        rows.warnings.append(f"line 1: ignoring column(s) {', '.join(ignored)[:80]}")
    for line, row, problem in _read_rows(reader):
        if problem is not None:
            rows.errors.append(f"line {line}: {problem}")
        elif any(cell.strip() for cell in row):
            _add_row(rows, line, header, columns, row, extra_tags)
    if not rows.items and not rows.errors:
        raise CsvInputError(f"{name} has a header but no rows")
    return rows


def _read_rows(reader: Any) -> Iterator[tuple[int, list[str], str | None]]:
    """(line, cells, None) per row, or (line, [], why) for a row the csv module cannot read
    (a cell over its 128 KB limit): that row is refused, the rows after it still count."""
    while True:
        try:
            row = next(reader)
        except StopIteration:
            return
        except csv.Error as exc:
            yield reader.line_num, [], f"the row cannot be read ({exc})"
            continue
        yield reader.line_num, row, None


def _is_tag(column: str) -> bool:
    return column.startswith(TAG_PREFIX) and len(column) > len(TAG_PREFIX)


def _add_row(
    rows: CsvRows,
    line: int,
    header: list[str],
    columns: list[str],
    row: list[str],
    extra_tags: dict[str, str],
) -> None:
    cells = dict(zip(columns, (c.strip() for c in row), strict=False))
    tags = dict(extra_tags)
    for raw_name, column, value in zip(header, columns, row, strict=False):
        if _is_tag(column) and value.strip():
            tags[raw_name.strip()[len(TAG_PREFIX) :]] = value.strip()
    item, errors, warnings = check_row(
        cells.get("vin", ""), cells.get("brand", ""), tags, cells.get("odometer", "")
    )
    digit = check_digit_warning(normalise_vin(cells.get("vin", "")))
    if digit in warnings:
        rows.digit_warnings.append(f"line {line}: {digit}")
    if len(row) > len(columns):
        errors.append(f"the row has {len(row)} cells but the header {len(columns)}")
    rows.warnings.extend(f"line {line}: {w}" for w in warnings)
    if errors or item is None:
        rows.errors.extend(f"line {line}: {e}" for e in errors)
        return
    if item.vin in rows.lines:
        rows.warnings.append(
            f"line {line}: {item.vin} is also on line {rows.lines[item.vin]}; sent once"
        )
        return
    rows.lines[item.vin] = line
    rows.items.append(item)


def check_row(
    vin_raw: str,
    brand_raw: str,
    tags: dict[str, str],
    odometer_raw: str = "",
) -> tuple[NewClearance | None, list[str], list[str]]:
    """(item or None, errors, warnings) for one clearance typed by an operator."""
    check = check_vin(vin_raw)
    errors, warnings = list(check.errors), list(check.warnings)
    odometer = parse_odometer(odometer_raw) if odometer_raw.strip() else None
    if odometer_raw.strip() and odometer is None:
        errors.append(
            f"odometer {odometer_raw.strip()[:30]!r} is not a distance: give whole "
            "kilometers (2050, 2050 km) or miles (1274 mi)"
        )
    brand = lookup(brand_raw) if brand_raw.strip() else None
    if not brand_raw.strip():
        errors.append("no brand")
    elif brand is None:
        errors.append(
            f"unknown brand {brand_raw.strip()[:30]!r} (one of the {len(BRANDS)} "
            "platform brand ids, e.g. bmw, mercedes-benz, volkswagen)"
        )
    if (
        brand is not None
        and VW_CUSTOMER_TAG in brand.required_tags
        and not tags.get(VW_CUSTOMER_TAG, "").strip()
    ):
        warnings.append(
            f"{brand.name} needs the tag {VW_CUSTOMER_TAG} (your business name) "
            "unless support set a default; without it the clearance is rejected"
        )
    if errors or brand is None:
        return None, errors, warnings
    measures = ControlMeasures(odometer=odometer) if odometer else None
    return (
        NewClearance(vin=check.vin, brand=brand.id, tags=tags or None, control_measures=measures),
        [],
        warnings,
    )


def parse_odometer(text: str) -> dict[str, Any] | None:
    """The platform's odometer control measure from `2050`, `2050 km` or `1274 mi` (whole
    numbers; kilometers unless said), or None if `text` is not such a distance."""
    match = _ODOMETER.fullmatch(text.strip().lower())
    if match is None:
        return None
    unit = "miles" if (match.group(2) or "km").startswith("mi") else "kilometers"
    return {"value": int(match.group(1)), "unit": unit}
