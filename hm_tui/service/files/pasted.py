"""VINs to add, typed or pasted: parsed, checked and previewed before any call.

Pure (no Textual, no IO) so the dashboard and the headless CLI can share it. Every problem names
its line number; nothing is sent until the operator confirms. Pasted lines are
`VIN[,brand][,key=value...]`, one per line; `#` comments and blank lines are skipped.
CSV files are read by `hm_tui.service.files.csv_add` (SVC-CORE); `from_csv_rows` turns its result
into the same preview, applying the dashboard's rule that VW Group needs its customer-name tag.
"""

from __future__ import annotations

from collections.abc import Iterable, Mapping
from dataclasses import dataclass, field

from hm_tui.domain.brands import BRANDS, VW_CUSTOMER_TAG, lookup
from hm_tui.domain.vin import check_vin
from hm_tui.service.models import NewClearance


@dataclass(frozen=True, slots=True)
class Problem:
    line: int  # 1-based; 0 for the whole input
    message: str

    def __str__(self) -> str:
        return f"line {self.line}: {self.message}" if self.line else self.message


@dataclass(slots=True)
class ImportPreview:
    """What would be sent (`items`), and every error and warning by line."""

    items: list[NewClearance] = field(default_factory=list)
    errors: list[Problem] = field(default_factory=list)
    warnings: list[Problem] = field(default_factory=list)

    @property
    def ok(self) -> bool:
        return bool(self.items) and not self.errors

    @property
    def rows_skipped(self) -> int:
        """Lines (or CSV rows) not sent because of errors: one however many errors it has."""
        return len({p.line for p in self.errors if p.line})

    def summary(self) -> str:
        return (
            f"{len(self.items)} valid, {len(self.warnings)} warning"
            f"{'' if len(self.warnings) == 1 else 's'}, {len(self.errors)} error"
            f"{'' if len(self.errors) == 1 else 's'}"
        )


def parse_tags(fields: Iterable[str]) -> tuple[dict[str, str], list[str]]:
    """`key=value` strings to a dict, and a message per malformed one."""
    tags: dict[str, str] = {}
    errors: list[str] = []
    for raw in fields:
        text = raw.strip()
        if not text:
            continue
        key, sep, value = text.partition("=")
        if not sep or not key.strip():
            errors.append(f"tag {text[:40]!r} is not key=value")
            continue
        tags[key.strip()] = value.strip()
    return tags, errors


NO_BRAND = "no brand: give one on the line or choose a default brand"


def check_item(
    vin_raw: str,
    brand_raw: str | None,
    tags: Mapping[str, str],
    *,
    default_brand: str | None = None,
    vw_customer: str | None = None,
    no_brand: str = NO_BRAND,
) -> tuple[NewClearance | None, list[str], list[str]]:
    """One clearance to add: (item or None, errors, warnings). Errors mean it is not sent.
    `no_brand` is the error without a brand (a form says where to choose one)."""
    check = check_vin(vin_raw)
    errors, warnings = list(check.errors), list(check.warnings)
    brand_text = (brand_raw or "").strip() or (default_brand or "")
    brand = lookup(brand_text) if brand_text else None
    if not brand_text:
        errors.append(no_brand)
    elif brand is None:
        errors.append(
            f"unknown brand {brand_text[:30]!r} (the platform accepts {len(BRANDS)} brand ids)"
        )
    final_tags = {k: v for k, v in tags.items()}
    if brand is not None and VW_CUSTOMER_TAG in brand.required_tags:
        if not final_tags.get(VW_CUSTOMER_TAG, "").strip() and vw_customer:
            final_tags[VW_CUSTOMER_TAG] = vw_customer.strip()
        if not final_tags.get(VW_CUSTOMER_TAG, "").strip():
            warnings.append(_vw_warning(brand.name))
    if errors or brand is None:
        return None, errors, warnings
    item = NewClearance(vin=check.vin, brand=brand.id, tags=final_tags or None)
    return item, errors, warnings


class _Collector:
    """Accumulates checked rows into a preview, dropping repeated VINs with a warning."""

    def __init__(self) -> None:
        self.preview = ImportPreview()
        self._seen: dict[str, int] = {}

    def add(
        self,
        line: int,
        vin: str,
        brand: str | None,
        tags: Mapping[str, str],
        tag_errors: Iterable[str],
        default_brand: str | None,
        vw_customer: str | None,
    ) -> None:
        item, errors, warnings = check_item(
            vin, brand, tags, default_brand=default_brand, vw_customer=vw_customer
        )
        errors = [*tag_errors, *errors]
        p = self.preview
        p.errors.extend(Problem(line, e) for e in errors)
        p.warnings.extend(Problem(line, w) for w in warnings)
        if item is None or errors:
            return
        first = self._seen.get(item.vin)
        if first is not None:
            p.warnings.append(Problem(line, f"{item.vin} is also on line {first}: sent once"))
            return
        self._seen[item.vin] = line
        p.items.append(item)


def parse_lines(
    text: str, *, default_brand: str | None = None, vw_customer: str | None = None
) -> ImportPreview:
    """Pasted lines `VIN[,brand][,key=value...]` (brand may be omitted when a default is set)."""
    out = _Collector()
    for number, raw in enumerate(text.splitlines(), start=1):
        line = raw.strip()
        if not line or line.startswith("#"):
            continue
        fields = [f.strip() for f in line.split(",")]
        vin, rest = fields[0], fields[1:]
        brand = rest.pop(0) if rest and "=" not in rest[0] else None
        tags, tag_errors = parse_tags(rest)
        out.add(number, vin, brand, tags, tag_errors, default_brand, vw_customer)
    if not out.preview.items and not out.preview.errors:
        out.preview.errors.append(Problem(0, "no VINs: paste one per line"))
    return out.preview


def _line_of(message: str) -> tuple[int, str]:
    head, sep, rest = message.partition(": ")
    if sep and head.startswith("line ") and head[5:].isdigit():
        return int(head[5:]), rest
    return 0, message


def _vw_warning(brand_name: str) -> str:
    return (
        f"{brand_name} needs the tag {VW_CUSTOMER_TAG} (your business name): without it the "
        "platform rejects the clearance unless support set a default"
    )


def from_csv_rows(
    items: list[NewClearance],
    lines: Mapping[str, int],
    errors: Iterable[str],
    warnings: Iterable[str],
    *,
    vw_customer: str | None = None,
) -> ImportPreview:
    """A parsed CSV (CsvRows, files/csv_add.py) as a preview; VW rows without the customer-name
    tag get `vw_customer` when one is given, else they are sent with a warning."""
    preview = ImportPreview(errors=[Problem(*_line_of(e)) for e in errors])
    customer = (vw_customer or "").strip()
    for item in items:
        brand = BRANDS.get(item.brand)
        tags = dict(item.tags or {})
        if (
            brand is None
            or VW_CUSTOMER_TAG not in brand.required_tags
            or tags.get(VW_CUSTOMER_TAG, "").strip()
        ):
            preview.items.append(item)
        elif customer:
            preview.items.append(
                NewClearance(item.vin, item.brand, {**tags, VW_CUSTOMER_TAG: customer})
            )
        else:
            preview.items.append(item)
            preview.warnings.append(Problem(lines.get(item.vin, 0), _vw_warning(brand.name)))
    preview.warnings.extend(Problem(*_line_of(w)) for w in warnings if VW_CUSTOMER_TAG not in w)
    return preview
