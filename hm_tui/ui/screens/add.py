"""Add VINs: one (live validation), pasted lines, or a CSV file; preview, progress, per-VIN results.

Nothing typed is lost: the form keeps its contents after an error and after a submit. While an
add is under way the form is locked, progress and results stay in view below it, and leaving
(Escape, Close) offers to stop: a stopped add keeps what the platform accepted, and the journal
says what was not sent (service/add_run.py). Only that explicit stop is journaled as a stop: an
add cut short by the app quitting (a signal, the terminal closed, ctrl+q) stays unfinished in
the journal, offered for resuming at the next start and by `hm-tui vins resume`.
"""

from __future__ import annotations

import asyncio
from pathlib import Path
from typing import TYPE_CHECKING, Any, ClassVar

from textual import events, on, work
from textual.app import ComposeResult
from textual.containers import Horizontal, Vertical, VerticalScroll
from textual.content import Content
from textual.message import Message
from textual.screen import ModalScreen
from textual.widget import Widget
from textual.widgets import (
    Button,
    Input,
    Label,
    ProgressBar,
    Select,
    Static,
    TabbedContent,
    TabPane,
    TextArea,
)
from textual.worker import Worker

from hm_tui.domain.brands import BRAND_IDS, BRANDS, VW_CUSTOMER_TAG
from hm_tui.domain.vin import check_vin
from hm_tui.service.add_run import OperatorStop
from hm_tui.service.files.pasted import ImportPreview, Problem, from_csv_rows, parse_lines
from hm_tui.service.models import NewClearance
from hm_tui.ui.format import safe_text
from hm_tui.ui.keymap import ADD_KEYS, bindings
from hm_tui.ui.screens import add_text as text
from hm_tui.ui.screens.add_stop import StopAddingScreen
from hm_tui.ui.screens.no_journal import with_consent
from hm_tui.ui.widgets.add_results import AddResults
from hm_tui.ui.widgets.key_footer import KeyFooter

if TYPE_CHECKING:
    from hm_tui.service.session import Session

_VW_BRANDS = frozenset(b for b, brand in BRANDS.items() if VW_CUSTOMER_TAG in brand.required_tags)
_FIRST_FIELD = {"add-one": "#add-vin", "add-paste": "#add-lines", "add-csv": "#add-csv-path"}


def field(label: str, widget: Widget, *, id: str | None = None, classes: str = "") -> Horizontal:
    """A form row: its label (shown reversed while the field has focus), then the field."""
    return Horizontal(
        Label(label, classes="add-label"), widget, id=id, classes=f"add-field {classes}".strip()
    )


class AddScreen(ModalScreen[list[Any] | None]):
    """Dismisses with the per-VIN ItemResults of the last submit, or None if nothing was sent."""

    BINDINGS: ClassVar = bindings(ADD_KEYS)
    TOAST_ROOM: ClassVar = "#add-dialog"  # toasts never cover it (ui/toasts.py, ToastRoom)
    #: nothing focused until the first field is: keys typed while the dialog opens wait for that
    #: field (ui/typeahead.py), not for whatever Textual would focus first
    AUTO_FOCUS = ""

    class Progressed(Message):
        def __init__(self, done: int, total: int) -> None:
            super().__init__()
            self.done, self.total = done, total

    class Finished(Message):
        """The add ended: `results` per VIN (None: nothing was added, `error` says why), or
        was `stopped` half-way (results then say which VINs were not sent)."""

        def __init__(
            self, results: list[Any] | None, error: str | None = None, *, stopped: bool = False
        ) -> None:
            super().__init__()
            self.results, self.error, self.stopped = results, error, stopped

    class Checking(Message):
        def __init__(self, done: int, total: int) -> None:
            super().__init__()
            self.done, self.total = done, total

    class Checked(Message):
        """The eligibility check of `cars` ((vin, brand)) ended: `answers`, or `error`."""

        def __init__(
            self, cars: tuple[tuple[str, str], ...], answers: list[Any], error: str = ""
        ) -> None:
            super().__init__()
            self.cars, self.answers, self.error = cars, answers, error

    class CsvLoaded(Message):
        def __init__(self, rows: Any, error: str | None = None) -> None:
            super().__init__()
            self.rows, self.error = rows, error  # rows: hm_tui.service.files.csv_add.CsvRows

    def __init__(
        self, session: Session, *, mode: str = "one", default_brand: str | None = None
    ) -> None:
        """`mode` picks the first tab: "one" (a VIN), "paste" (lines) or "csv" (a file)."""
        super().__init__(classes="add-screen")
        self.first_tab = f"add-{mode}" if mode in ("one", "paste", "csv") else "add-one"
        self.session = session
        self.default_brand = default_brand if default_brand in BRANDS else None
        self.preview = ImportPreview()
        self._csv_rows: Any = None
        self._csv_error: str | None = None
        self._results: list[Any] | None = None
        self._adding: Worker[None] | None = None
        self._sending: tuple[NewClearance, ...] = ()  # what the add under way sends
        self._sent: tuple[NewClearance, ...] | None = None  # what the platform took: spent
        self._operator_stop = OperatorStop()
        self._answered = (0, 0)  # (done, total) of the add under way
        self._stopping = False
        self._checking: Worker[None] | None = None  # the eligibility check under way
        self._checked: tuple[tuple[str, str], ...] | None = None  # what the shown check is of
        # Settled since it was mounted: its first tab activated and its first field focused
        # (both arrive as messages after on_mount). A kept dialog (ui/kept_dialogs.py) starts
        # over only once settled: a late one would undo what `start_over` set.
        self._tab_settled = self._focus_settled = False
        self._styled_by: tuple[str, object] = ("", None)  # theme and rules when last hidden

    @property
    def ready(self) -> bool:
        """Composed, mounted and settled: it may be made as new and shown (`start_over`)."""
        return self._tab_settled and self._focus_settled

    def on_descendant_focus(self) -> None:
        self._focus_settled = True

    @property
    def busy(self) -> bool:
        return self._adding is not None

    @property
    def spent(self) -> bool:
        """The input now is what an add already sent (and the platform took some of): sending
        it again would add the same VINs twice. A new input makes a new add."""
        return self._sent is not None and tuple(self.preview.items) == self._sent

    def compose(self) -> ComposeResult:
        with Vertical(id="add-dialog"):
            yield Static("Add VINs", id="add-title", markup=False)
            with VerticalScroll(id="add-body"):
                with TabbedContent(id="add-tabs", initial=self.first_tab):
                    with TabPane("One VIN", id="add-one"):
                        yield from self._one_vin_fields()
                    with TabPane("Paste lines", id="add-paste"):
                        yield from self._paste_fields()
                    with TabPane("CSV file", id="add-csv"):
                        yield from self._csv_fields()
                yield from self._shared_fields()
                yield Static(id="add-preview", markup=False)
                yield Static(id="add-eligibility", markup=False)
            with Vertical(id="add-outcome", classes="-hidden"):
                yield Static(id="add-status", markup=False)
                yield Static(id="add-note", markup=False)
                yield ProgressBar(total=1, show_eta=False, id="add-progress")
                yield AddResults(id="add-results")
            with Horizontal(id="add-buttons"):
                yield Button("Check (^g)", id="add-check", disabled=True)
                yield Button("Add", variant="primary", id="add-submit", disabled=True)
                yield Button("Close (Esc)", id="add-close")
        yield KeyFooter(compact=True)

    def _one_vin_fields(self) -> ComposeResult:
        yield field(
            "VIN",
            Input(placeholder="17 characters", id="add-vin", max_length=64, compact=True),
            id="add-vin-row",
        )
        yield Static(id="add-vin-check", markup=False)
        yield field(
            "Tags",
            Input(placeholder="optional: key=value, key=value", id="add-tags", compact=True),
            id="add-tags-row",
        )

    def _paste_fields(self) -> ComposeResult:
        with Vertical(classes="add-field"):
            with Horizontal(classes="add-label-row"):
                yield Label("VIN lines", classes="add-label")
                yield Static(
                    "one per line: VIN[,brand][,key=value...]", classes="add-hint", markup=False
                )
            yield TextArea(id="add-lines", soft_wrap=False)

    def _csv_fields(self) -> ComposeResult:
        yield field(
            "CSV file",
            Input(placeholder="path/to/vins.csv, then Enter", id="add-csv-path", compact=True),
        )
        yield Static(
            "Header: vin,brand[,odometer][,tag:<key>...]; Enter reads the file.",
            classes="add-hint add-under",
            markup=False,
        )

    def _shared_fields(self) -> ComposeResult:
        options = [(f"{BRANDS[b].name} ({b})", b) for b in BRAND_IDS]
        brand = Select(
            options,
            prompt=text.BRAND_PROMPTS[self.first_tab],
            compact=True,
            value=self.default_brand or Select.NULL,
            id="add-brand",
        )
        yield field(text.BRAND_LABELS[self.first_tab], brand, id="add-brand-row")
        customer = Input(
            placeholder=f"your business name (tag {VW_CUSTOMER_TAG})",
            id="add-vw-customer",
            compact=True,
        )
        yield field("VW customer", customer, id="add-vw-row", classes="-hidden")

    def on_mount(self) -> None:
        self._styled_by = (self.app.theme, self.app.stylesheet.rules)
        if self not in self.app.screen_stack:  # built ahead (ui/kept_dialogs.py)
            self.call_later(self._lay_out_unseen)
        self.query_one("#add-eligibility").display = False
        if self.session.read_only:
            self.query_one("#add-preview", Static).update(
                Content.styled("Read-only mode: adding VINs is disabled.", "bold $error")
            )
            self.query_one("#add-submit", Button).disabled = True
        else:
            self.refresh_preview()
        self.query_one(_FIRST_FIELD[self.first_tab]).focus()  # deferred: the tabs mount first

    def _lay_out_unseen(self) -> None:
        """Lay a kept dialog out for the terminal's size before it is first shown, and draw it
        once (into its widgets' caches, not to the terminal): its first opening then costs what
        the next ones do (Textual lays out a screen that is not on top without showing it; it is
        laid out again if the size has changed by then)."""
        if self.is_attached and self not in self.app.screen_stack:
            self._refresh_layout(self.app.size)
            self._compositor.render_update(full=True)  # each widget drawn once into its cache

    def on_screen_suspend(self) -> None:
        self._styled_by = (self.app.theme, self.app.stylesheet.rules)

    def on_screen_resume(self, event: events.ScreenResume) -> None:
        """Textual restyles every widget of a screen each time it is pushed (a third of this
        dialog's opening); a kept dialog (ui/kept_dialogs.py) keeps its styles, which its class
        and focus changes update as they happen, unless the theme or the stylesheet changed
        while it was hidden. (This handler runs before Textual's own, which reads the flag.)"""
        theme, rules = self._styled_by
        if theme == self.app.theme and rules is self.app.stylesheet.rules:
            event.refresh_styles = False

    def start_over(self, mode: str = "one") -> None:
        """Make a kept dialog (ui/kept_dialogs.py) as a new one would be, on the tab `mode`
        picks, before it is shown again: every field empty, no preview, check, progress or
        results, and the focus on the tab's first field at once (keys typed while it opens
        wait for that focus: ui/typeahead.py). Only between adds: never while one is under way."""
        if self.busy:
            raise RuntimeError("the add dialog cannot start over while an add is under way")
        self.workers.cancel_group(self, "add-check")  # what they would answer is of the old input
        self.workers.cancel_group(self, "add-csv")
        self.first_tab = f"add-{mode}" if mode in ("one", "paste", "csv") else "add-one"
        self.preview = ImportPreview()
        self._csv_rows = self._csv_error = None
        self._results = None
        self._sending, self._sent = (), None
        self._operator_stop = OperatorStop()
        self._answered, self._stopping = (0, 0), False
        self._checking = self._checked = None
        for selector in ("#add-vin", "#add-tags", "#add-vw-customer", "#add-csv-path"):
            self.query_one(selector, Input).value = ""
        self.query_one("#add-lines", TextArea).load_text("")  # (and forgets its undo history)
        brand = self.query_one("#add-brand", Select)
        if self.default_brand:
            brand.value = self.default_brand
        else:
            brand.clear()
        self.query_one("#add-vw-row").add_class("-hidden")
        self.query_one("#add-tabs", TabbedContent).active = self.first_tab
        self._brand_prompt()
        self.query_one("#add-eligibility").display = False
        self.query_one("#add-outcome").add_class("-hidden")
        self.query_one("#add-status", Static).update("")
        self._note("")
        self.query_one("#add-results", AddResults).show([])
        self.query_one("#add-progress", ProgressBar).update(total=1, progress=0)
        self.query_one("#add-close", Button).label = "Close (Esc)"
        self.query_one("#add-body").disabled = False
        self.query_one("#add-body", VerticalScroll).scroll_home(animate=False, immediate=True)
        self.refresh_preview()
        self.set_focus(self.query_one(_FIRST_FIELD[self.first_tab]), scroll_visible=False)

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
            lines = self.query_one("#add-lines", TextArea).text
            if not lines.strip():  # nothing yet: the prompt, not an error
                return ImportPreview()
            return parse_lines(lines, default_brand=self.brand, vw_customer=customer)
        if self.mode == "add-csv":
            return self._csv_to_preview(customer)
        return text.preview_one(
            self.query_one("#add-vin", Input).value,
            self.brand,
            self.query_one("#add-tags", Input).value,
            customer,
        )

    def _csv_to_preview(self, customer: str) -> ImportPreview:
        rows = self._csv_rows
        if rows is None:  # nothing read yet (the prompt says what to do), or it failed
            return ImportPreview(errors=[Problem(0, self._csv_error)] if self._csv_error else [])
        return from_csv_rows(
            rows.items, rows.lines, rows.errors, rows.warnings, vw_customer=customer
        )

    def refresh_preview(self) -> None:
        if self.session.read_only or self.busy:
            return
        self.preview = self.build_preview()
        self._show_vw_field()
        self._render_vin_check()
        self.query_one("#add-preview", Static).update(
            text.preview_content(self.preview, prompt=text.EMPTY_PROMPTS[self.mode])
        )
        submit = self.query_one("#add-submit", Button)
        submit.disabled = not self.preview.items or self.spent
        submit.label = "Sent" if self.spent else text.submit_label(self.preview)
        self.query_one("#add-check", Button).disabled = not self.preview.items
        if self._checked is not None and self._checked != self._cars():
            self._checked = None  # the input changed: that check was of another input
            self.query_one("#add-eligibility").display = False
        self.refresh_bindings()

    # -- eligibility before adding (optional: ^g) ----------------------------------------------

    def _cars(self) -> tuple[tuple[str, str], ...]:
        return tuple((item.vin, item.brand) for item in self.preview.items)

    def action_check(self) -> None:
        """Ask the platform whether the rows to add are eligible; the answers come in below the
        preview, grouped, while the dialog stays usable (nothing is added)."""
        if self.session.read_only or not self.preview.items:
            self.notify(text.NOTHING_TO_CHECK, markup=False, timeout=3)
            return
        cars = self._cars()
        if self._checking is not None and self._checked == cars:
            return  # that very check is under way
        self._checked = cars
        self._show_eligibility(text.checking_text(0, len(cars)))
        self._checking = self._check(cars)
        self.call_after_refresh(self._eligibility_in_view)

    def _eligibility_in_view(self) -> None:
        self.query_one("#add-eligibility").scroll_visible(animate=False)

    @on(Button.Pressed, "#add-check")
    def _check_pressed(self) -> None:
        self.action_check()

    def _show_eligibility(self, content: str | Content) -> None:
        widget = self.query_one("#add-eligibility", Static)
        widget.update(content)
        widget.display = True

    @work(exclusive=True, exit_on_error=False, group="add-check", description="add-check")
    async def _check(self, cars: tuple[tuple[str, str], ...]) -> None:
        def progress(done: int, total: int) -> None:
            self.post_message(self.Checking(done, total))

        try:
            answers = await self.session.check_eligibility(cars, progress)
        except Exception as error:  # shown in the dialog, never a traceback
            detail = getattr(error, "detail", None) or str(error)
            self.post_message(self.Checked(cars, [], safe_text(detail, 300)))
            return
        self.post_message(self.Checked(cars, answers))

    @on(Checking)
    def _checking_progress(self, message: Checking) -> None:
        if self._checking is not None and self._checked is not None:
            self._show_eligibility(text.checking_text(message.done, message.total))

    @on(Checked)
    def _check_done(self, message: Checked) -> None:
        if message.cars != self._checked:
            return  # an older check, of another input
        self._checking = None
        if message.error:
            self._show_eligibility(
                Content.styled(f"Eligibility: not checked: {message.error}", "$error")
            )
        else:
            self._show_eligibility(text.eligibility_content(message.answers))
        self.call_after_refresh(self._eligibility_in_view)

    def _show_vw_field(self) -> None:
        wanted = self.brand in _VW_BRANDS or any(  # whenever VW Group rows lack the tag
            VW_CUSTOMER_TAG in p.message for p in (*self.preview.errors, *self.preview.warnings)
        )
        if wanted or self.query_one("#add-vw-customer", Input).value:
            self.query_one("#add-vw-row").remove_class("-hidden")

    def _render_vin_check(self) -> None:
        raw = self.query_one("#add-vin", Input).value
        check = check_vin(raw) if raw.strip() else None
        widget = self.query_one("#add-vin-check", Static)
        widget.display = check is not None
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
    def _tab_activated(self) -> None:
        self._tab_settled = True

    @on(TabbedContent.TabActivated)
    def _brand_prompt(self) -> None:
        self.query_one("#add-brand", Select).prompt = text.BRAND_PROMPTS[self.mode]
        self.query_one("#add-brand-row .add-label", Label).update(text.BRAND_LABELS[self.mode])

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

    @work(exclusive=True, exit_on_error=False, group="add-csv", description="add-csv")
    async def _read_csv(self, path: str) -> None:
        # SVC-CORE's CSV reader (pure: domain + models only), shared with `hm-tui vins add --file`
        from hm_tui.service.files.csv_add import CsvInputError, read_csv_file

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

    # -- submit, progress, results --------------------------------------------------------

    def action_submit(self) -> None:
        if self.session.read_only:
            self.notify(
                "Read-only mode: adding VINs is disabled.", severity="warning", markup=False
            )
            return
        if self.busy or not self.preview.items:
            return
        if self.spent:
            self.notify(text.SPENT, markup=False, timeout=5)
            return
        items = list(self.preview.items)
        self._sending = tuple(items)
        self._lock_form(True)
        self._note("")
        self.query_one("#add-results", AddResults).show([])
        self._show_progress(0, len(items))
        self._operator_stop = OperatorStop()
        self._adding = self._add(items, self._operator_stop)

    @on(Button.Pressed, "#add-submit")
    def _submit_pressed(self) -> None:
        self.action_submit()

    def check_action(self, action: str, parameters: tuple[object, ...]) -> bool | None:
        """^s only while nothing is being added (the footer then offers Esc: stop); ^g while
        there is something to check."""
        if action == "check":
            return not self.session.read_only and not self.busy
        return action != "submit" or not (self.busy or self.spent)

    def _lock_form(self, locked: bool) -> None:
        """While adding, the form cannot change under the add, and focus waits on Close/Stop."""
        self.call_after_refresh(self.refresh_bindings)
        close = self.query_one("#add-close", Button)
        close.label = "Stop (Esc)" if locked else "Close (Esc)"
        if locked:
            close.focus()
        self.query_one("#add-submit", Button).disabled = (
            locked or not self.preview.items or self.spent
        )
        self.query_one("#add-body").disabled = locked
        self.query_one("#add-outcome").remove_class("-hidden")
        self.query_one("#add-progress").set_class(not locked, "-hidden")

    def _show_progress(self, done: int, total: int) -> None:
        self._answered = (done, total)
        self.query_one("#add-progress", ProgressBar).update(total=max(total, 1), progress=done)
        if not self._stopping:
            self.query_one("#add-status", Static).update(text.adding_text(done, total))

    def _note(self, note: str) -> None:
        widget = self.query_one("#add-note", Static)
        widget.update(note)
        widget.display = bool(note)

    @work(exclusive=True, exit_on_error=False, group="add", description="add")
    async def _add(self, items: list[NewClearance], stop: OperatorStop) -> None:
        def progress(done: int, total: int) -> None:
            self.post_message(self.Progressed(done, total))

        stopped: list[list[Any]] = []
        try:
            results = await with_consent(
                self.app,
                lambda ok: self.session.add(
                    items, progress, stopped.append, stop, unjournaled_ok=ok
                ),
                f"this add of {text.count(len(items), 'VIN')}",
            )
        except asyncio.CancelledError:  # stopped or interrupted: the session journaled it
            self.post_message(self.Finished(stopped[0] if stopped else None, stopped=True))
            raise
        except Exception as error:  # shown in the form, never a traceback
            detail = getattr(error, "detail", None) or str(error)
            self.post_message(self.Finished(None, safe_text(detail, 300)))
            return
        self.post_message(self.Finished(list(results)))

    @on(Progressed)
    def _progressed(self, message: Progressed) -> None:
        self._show_progress(message.done, message.total)

    @on(Finished)
    def _finished(self, message: Finished) -> None:
        self._adding, self._stopping = None, False
        if isinstance(self.app.screen, StopAddingScreen):  # the question is moot now
            self.app.screen.dismiss(False)
        self._lock_form(False)
        status = self.query_one("#add-status", Static)
        if message.results is None:
            status.update(
                text.stopped_without_results()
                if message.stopped
                else text.failed_text(message.error)
            )
        else:
            self._results = message.results
            if any(result.ok for result in message.results):
                self._sent = self._sending
            status.update(text.results_heading(message.results, stopped=message.stopped))
            self._note(text.results_note(message.results))
            self.query_one("#add-results", AddResults).show(message.results)
            self.query_one("#add-results").focus()
        self.refresh_preview()

    # -- leaving ----------------------------------------------------------------------------

    @on(Button.Pressed, "#add-close")
    def action_close(self) -> None:
        if self._stopping:
            self.notify(text.STOPPING, markup=False)
        elif self.busy:
            self.app.push_screen(StopAddingScreen(*self._answered), self._stop_chosen)
        else:
            self.dismiss(self._results)

    def _stop_chosen(self, stop: bool | None) -> None:
        if not stop or self._adding is None:
            return
        self._stopping = True
        self.query_one("#add-status", Static).update(text.STOPPING)
        self._operator_stop.request()  # journaled as the operator's stop, not an interruption
        self._adding.cancel()

    async def stop_work(self) -> None:
        """Interrupt an add under way and wait until the journal has its answers (the app is
        quitting: the session must not stop under it). Not the operator's stop: the journal
        keeps the add unfinished, to be resumed."""
        adding = self._adding
        if adding is not None:
            self._stopping = True
            adding.cancel()
            await asyncio.gather(adding.wait(), return_exceptions=True)
