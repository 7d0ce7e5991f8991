"""Add VINs: one (live validation), pasted lines, or a CSV file; preview, progress, per-VIN results.

Nothing typed is lost: the form keeps its contents after an error and after a submit.
"""

from __future__ import annotations

import asyncio
from pathlib import Path
from typing import TYPE_CHECKING, Any, ClassVar

from textual import on, work
from textual.app import ComposeResult
from textual.containers import Horizontal, Vertical, VerticalScroll
from textual.content import Content
from textual.message import Message
from textual.screen import ModalScreen
from textual.widgets import (
    Button,
    Input,
    ProgressBar,
    Select,
    Static,
    TabbedContent,
    TabPane,
    TextArea,
)

from hm_tui.domain.brands import BRAND_IDS, BRANDS, VW_CUSTOMER_TAG
from hm_tui.domain.vin import check_vin
from hm_tui.service.csv_import import (
    ImportPreview,
    Problem,
    check_item,
    from_csv_rows,
    parse_lines,
    parse_tags,
)
from hm_tui.service.models import NewClearance
from hm_tui.ui.format import safe_text
from hm_tui.ui.keymap import ADD_KEYS, bindings

if TYPE_CHECKING:
    from hm_tui.service.session import Session

_SHOWN_PROBLEMS = 200
_VW_BRANDS = frozenset(b for b, brand in BRANDS.items() if VW_CUSTOMER_TAG in brand.required_tags)


def preview_one(vin: str, brand: str | None, tags_text: str, vw_customer: str) -> ImportPreview:
    """The single-VIN form as a preview (same rules as pasted lines and CSV)."""
    if not vin.strip():  # nothing typed yet: no errors to shout about
        return ImportPreview()
    tags, tag_errors = parse_tags(tags_text.split(","))
    item, errors, warnings = check_item(vin, brand, tags, vw_customer=vw_customer)
    errors = [*tag_errors, *errors]
    return ImportPreview(items=[item] if item and not errors else [],
                         errors=[Problem(0, e) for e in errors],
                         warnings=[Problem(0, w) for w in warnings])


def preview_content(preview: ImportPreview) -> Content:
    if not (preview.items or preview.errors or preview.warnings):
        return Content.assemble(("Preview: ", "bold"), "type a VIN and choose its brand")
    lines: list[Content] = [Content.assemble(("Preview: ", "bold"), preview.summary())]
    shown = [*((p, "$error", "✗ ") for p in preview.errors),
             *((p, "$warning", "! ") for p in preview.warnings)]
    for problem, style, mark in shown[:_SHOWN_PROBLEMS]:
        lines.append(Content.assemble((mark, style), safe_text(str(problem), 200)))
    if len(shown) > _SHOWN_PROBLEMS:
        lines.append(Content(f"… and {len(shown) - _SHOWN_PROBLEMS} more"))
    return Content("\n").join(lines)


def result_line(result: Any) -> Content:
    mark, style = ("✓ ", "$success") if result.ok else ("✗ ", "$error")
    text = safe_text(result.status, 20)
    if result.description:
        text += ": " + safe_text(result.description, 200)
    return Content.assemble((mark, style), (f"{safe_text(result.vin, 20):<18} ", "bold"), text)


#: What the brand list asks for: the VIN's brand, or the default for lines and rows without one.
BRAND_PROMPTS = {"add-one": "Brand", "add-paste": "Brand (default for lines without one)",
                 "add-csv": "Brand (default for rows without one)"}


class AddScreen(ModalScreen[list[Any] | None]):
    """Dismisses with the per-VIN ItemResults of the last submit, or None if nothing was sent."""

    BINDINGS: ClassVar = bindings(ADD_KEYS)

    class Progressed(Message):
        def __init__(self, done: int, total: int) -> None:
            super().__init__()
            self.done, self.total = done, total

    class Finished(Message):
        def __init__(self, results: list[Any] | None, error: str | None = None) -> None:
            super().__init__()
            self.results, self.error = results, error

    class CsvLoaded(Message):
        def __init__(self, rows: Any, error: str | None = None) -> None:
            super().__init__()
            self.rows, self.error = rows, error  # rows: hm_tui.service.csv_file.CsvRows

    def __init__(self, session: Session, *, mode: str = "one",
                 default_brand: str | None = None) -> None:
        """`mode` picks the first tab: "one" (a VIN), "paste" (lines) or "csv" (a file)."""
        super().__init__(classes="add-screen")
        self.first_tab = f"add-{mode}" if mode in ("one", "paste", "csv") else "add-one"
        self.session = session
        self.default_brand = default_brand if default_brand in BRANDS else None
        self.preview = ImportPreview()
        self._csv_rows: Any = None
        self._csv_error: str | None = None
        self._results: list[Any] | None = None
        self._busy = False

    def compose(self) -> ComposeResult:
        options = [(f"{BRANDS[b].name} ({b})", b) for b in BRAND_IDS]
        with Vertical(id="add-dialog"):
            yield Static("Add VINs", id="add-title", markup=False)
            with VerticalScroll(id="add-body"):
                with TabbedContent(id="add-tabs", initial=self.first_tab):
                    with TabPane("One VIN", id="add-one"):
                        yield Input(placeholder="VIN (17 characters)", id="add-vin",
                                    max_length=64, compact=True)
                        yield Static(id="add-vin-check", markup=False)
                        yield Input(placeholder="tags: key=value, key=value", id="add-tags",
                                    compact=True)
                    with TabPane("Paste lines", id="add-paste"):
                        yield Static("One per line: VIN[,brand][,key=value...]",
                                     classes="add-hint", markup=False)
                        yield TextArea(id="add-lines", soft_wrap=False)
                    with TabPane("CSV file", id="add-csv"):
                        yield Static("Header: vin,brand[,tag:<key>...]; Enter reads it.",
                                     classes="add-hint", markup=False)
                        yield Input(placeholder="path/to/vins.csv", id="add-csv-path",
                                    compact=True)
                yield Select(options, prompt=BRAND_PROMPTS[self.first_tab],
                             value=self.default_brand or Select.NULL, id="add-brand",
                             compact=True)
                yield Input(placeholder=f"{VW_CUSTOMER_TAG}: your business name (VW Group)",
                            id="add-vw-customer", classes="-hidden", compact=True)
                yield Static(id="add-preview", markup=False)
                yield ProgressBar(total=1, show_eta=False, id="add-progress", classes="-hidden")
                yield Static(id="add-results", markup=False)
            with Horizontal(id="add-buttons"):
                yield Button("Add", variant="primary", id="add-submit", disabled=True)
                yield Button("Close (Esc)", id="add-close")

    def on_mount(self) -> None:
        if getattr(self.session, "read_only", False):
            self.query_one("#add-preview", Static).update(Content.styled(
                "Read-only mode: adding VINs is disabled.", "bold $error"))
            self.query_one("#add-submit", Button).disabled = True
        else:
            self.refresh_preview()
        first = {"add-one": "#add-vin", "add-paste": "#add-lines", "add-csv": "#add-csv-path"}
        self.query_one(first[self.first_tab]).focus()

    # -- preview --------------------------------------------------------------------------

    @property
    def brand(self) -> str | None:
        value = self.query_one("#add-brand", Select).value
        return value if isinstance(value, str) else None

    @property
    def mode(self) -> str:
        return self.query_one("#add-tabs", TabbedContent).active or "add-one"

    def build_preview(self) -> ImportPreview:
        customer = self.query_one("#add-vw-customer", Input).value
        if self.mode == "add-paste":
            return parse_lines(self.query_one("#add-lines", TextArea).text,
                               default_brand=self.brand, vw_customer=customer)
        if self.mode == "add-csv":
            return self._csv_to_preview(customer)
        return preview_one(self.query_one("#add-vin", Input).value, self.brand,
                           self.query_one("#add-tags", Input).value, customer)

    def _csv_to_preview(self, customer: str) -> ImportPreview:
        rows = self._csv_rows
        if rows is None:
            why = self._csv_error or "type the CSV file's path and press Enter"
            return ImportPreview(errors=[Problem(0, why)])
        return from_csv_rows(rows.items, rows.lines, rows.errors, rows.warnings,
                             vw_customer=customer)

    def refresh_preview(self) -> None:
        if getattr(self.session, "read_only", False) or self._busy:
            return
        self.preview = self.build_preview()
        self._show_vw_field()
        self._render_vin_check()
        self.query_one("#add-preview", Static).update(preview_content(self.preview))
        submit = self.query_one("#add-submit", Button)
        submit.disabled = not self.preview.items
        skipped = len(self.preview.errors)
        submit.label = f"Add {len(self.preview.items) or ''}".rstrip() + (
            f" (skip {skipped} with errors)" if skipped and self.preview.items else "")

    def _show_vw_field(self) -> None:
        wanted = self.brand in _VW_BRANDS or any(
            VW_CUSTOMER_TAG in p.message for p in self.preview.errors)
        field = self.query_one("#add-vw-customer", Input)
        if wanted or field.value:
            field.remove_class("-hidden")

    def _render_vin_check(self) -> None:
        raw = self.query_one("#add-vin", Input).value
        check = check_vin(raw) if raw.strip() else None
        widget = self.query_one("#add-vin-check", Static)
        if check is None:
            widget.update("")
        elif check.errors:
            widget.update(Content.styled("✗ " + safe_text(check.message(), 200), "$error"))
        elif check.warnings:
            widget.update(Content.styled("! " + safe_text(check.message(), 200), "$warning"))
        else:
            widget.update(Content.styled(f"✓ {check.vin}", "$success"))

    @on(Input.Changed, "#add-vin, #add-tags, #add-vw-customer")
    @on(Select.Changed, "#add-brand")
    @on(TextArea.Changed, "#add-lines")
    @on(TabbedContent.TabActivated)
    def _inputs_changed(self) -> None:
        self.refresh_preview()

    @on(TabbedContent.TabActivated)
    def _brand_prompt(self) -> None:
        self.query_one("#add-brand", Select).prompt = BRAND_PROMPTS[self.mode]

    @on(Input.Changed, "#add-csv-path")
    def _csv_path_changed(self) -> None:
        self._csv_rows = self._csv_error = None
        self.refresh_preview()

    @on(Input.Submitted, "#add-vin, #add-tags, #add-vw-customer")
    def _submitted(self) -> None:
        if self.mode == "add-one":
            self.action_submit()

    @on(Input.Submitted, "#add-csv-path")
    def _load_csv(self, event: Input.Submitted) -> None:
        path = event.value.strip()
        if path:
            self.query_one("#add-preview", Static).update(f"Reading {safe_text(path, 80)}…")
            self._read_csv(path)

    @work(exclusive=True, exit_on_error=False, group="add-csv")
    async def _read_csv(self, path: str) -> None:
        # SVC-CORE's CSV reader (pure: domain + models only), shared with `hm-tui vins add --file`
        from hm_tui.service.csv_file import CsvInputError, read_csv_file

        try:
            rows = await asyncio.to_thread(read_csv_file, Path(path).expanduser())
        except CsvInputError as error:
            self.post_message(self.CsvLoaded(None, str(error)))
            return
        self.post_message(self.CsvLoaded(rows))

    @on(CsvLoaded)
    def _csv_loaded(self, message: CsvLoaded) -> None:
        self._csv_rows = message.rows
        self._csv_error = message.error
        self.refresh_preview()

    # -- submit ---------------------------------------------------------------------------

    def action_submit(self) -> None:
        if getattr(self.session, "read_only", False):
            self.notify("Read-only mode: adding VINs is disabled.", severity="warning",
                        markup=False)
            return
        if self._busy or not self.preview.items:
            return
        self._busy = True
        self.query_one("#add-submit", Button).disabled = True
        bar = self.query_one("#add-progress", ProgressBar)
        bar.update(total=len(self.preview.items), progress=0)
        bar.remove_class("-hidden")
        self.query_one("#add-results", Static).update(
            f"Adding {len(self.preview.items)} VINs…")
        self._add(list(self.preview.items))

    @on(Button.Pressed, "#add-submit")
    def _submit_pressed(self) -> None:
        self.action_submit()

    @work(exclusive=True, exit_on_error=False, group="add")
    async def _add(self, items: list[NewClearance]) -> None:
        def progress(done: int, total: int) -> None:
            self.post_message(self.Progressed(done, total))

        try:
            results = await self.session.add(items, progress)
        except Exception as error:  # shown in the form, never a traceback
            detail = getattr(error, "detail", None) or str(error)
            self.post_message(self.Finished(None, safe_text(detail, 300)))
            return
        self.post_message(self.Finished(list(results)))

    @on(Progressed)
    def _progressed(self, message: Progressed) -> None:
        self.query_one("#add-progress", ProgressBar).update(total=message.total,
                                                            progress=message.done)

    @on(Finished)
    def _finished(self, message: Finished) -> None:
        self._busy = False
        self.query_one("#add-progress").add_class("-hidden")
        results = self.query_one("#add-results", Static)
        if message.results is None:
            results.update(Content.styled(f"Nothing was added: {message.error}. Your input is "
                                          "kept; fix it or try again.", "$error"))
        else:
            self._results = message.results
            ok = sum(1 for r in message.results if r.ok)
            head = Content.assemble(("Results: ", "bold"), f"{ok} of {len(message.results)} ok")
            results.update(Content("\n").join([head, *map(result_line, message.results)]))
            self.query_one("#add-close", Button).focus()
        self.refresh_preview()

    @on(Button.Pressed, "#add-close")
    def action_close(self) -> None:
        if self._busy:
            self.notify("Still adding: results appear here when done.", markup=False)
            return
        self.dismiss(self._results)
