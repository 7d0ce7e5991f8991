"""Bulk fixes: "add again" (a retry, as they were) and "add again with the VW Group customer name".

The confirmation names every VIN that will be sent and what will happen to it, and sums up the
ones left alone by why (naming them when there are few). The "with tag" fix asks for the name
first; nothing can be sent without one. Sending goes through `Session.add`, which journals the add
(named as this fix) before anything leaves, then every answer; a quit half-way leaves it
resumable as any add. The plan itself is pure: `hm_tui.domain.readd`.
"""

from __future__ import annotations

import asyncio
from collections.abc import Sequence
from typing import TYPE_CHECKING, Any, ClassVar

from textual import on, work
from textual.app import ComposeResult
from textual.containers import Horizontal, Vertical, VerticalScroll
from textual.content import Content
from textual.message import Message
from textual.screen import ModalScreen
from textual.widgets import Button, Input, Label, ProgressBar, Static
from textual.worker import Worker

from hm_tui.domain.brands import VW_CUSTOMER_TAG, lookup
from hm_tui.domain.readd import Readd, plan_readd, readd_counts
from hm_tui.service.models import NewClearance
from hm_tui.ui.format import safe_text
from hm_tui.ui.keymap import READD_KEYS, bindings
from hm_tui.ui.screens.no_journal import with_consent
from hm_tui.ui.widgets.key_footer import KeyFooter

if TYPE_CHECKING:
    from hm_tui.service.session import Session

SKIPPED_NAMED = 20  # a group of skipped VINs up to this size is named VIN by VIN


def fix_name(customer: str | None) -> str:
    """The fix as the journal and the title name it."""
    return "add again" if customer is None else f"add again with tag {VW_CUSTOMER_TAG}={customer}"


def plan_lines(plans: Sequence[Readd]) -> Content:
    """Every VIN that will be sent, with what happens to it; then the others by why."""
    lines = [_sent_line(p) for p in plans if p.send]
    skipped: dict[str, list[str]] = {}
    for plan in plans:
        if not plan.send:
            skipped.setdefault(plan.what, []).append(plan.vin)
    for why, vins in skipped.items():
        lines.append(Content.styled(f"{len(vins)} {safe_text(why, 120)}", "$text-muted"))
        if len(vins) <= SKIPPED_NAMED:
            lines += [Content.styled("  " + safe_text(v, 20), "$text-muted") for v in vins]
    return Content("\n").join(lines) if lines else Content("Nothing to add again.")


def _sent_line(plan: Readd) -> Content:
    brand = lookup(plan.brand)
    name = brand.name if brand else safe_text(plan.brand, 14)
    parts: list[str | tuple[str, str]] = [
        (f"{safe_text(plan.vin, 20):<18}", "bold"),
        f"{name[:11]:<11} {safe_text(plan.status, 9):<9} ",
        (safe_text(plan.what, 120), "$success"),
    ]
    if plan.doubt:
        parts.append(("\n  ! " + safe_text(plan.doubt, 120), "$warning"))
    return Content.assemble(*parts)


def result_line(result: Any) -> Content:
    mark, style = ("✓ ", "$success") if result.ok else ("✗ ", "$error")
    return Content.assemble(
        (mark, style),
        (f"{safe_text(result.vin, 20):<18} ", "bold"),
        safe_text(result.description or result.status, 200),
    )


class ReaddScreen(ModalScreen[list[Any] | None]):
    """Dismisses with the per-VIN ItemResults once sent, or None if nothing was sent."""

    BINDINGS: ClassVar = bindings(READD_KEYS)
    TOAST_ROOM: ClassVar = "#readd-dialog"  # toasts never cover it (ui/toasts.py, ToastRoom)

    class Progressed(Message):
        def __init__(self, done: int, total: int) -> None:
            super().__init__()
            self.done, self.total = done, total

    class Finished(Message):
        def __init__(self, results: list[Any] | None, error: str | None = None) -> None:
            super().__init__()
            self.results, self.error = results, error

    def __init__(
        self, session: Session, vins: Sequence[str], *, which: str, with_tag: bool = False
    ) -> None:
        """`which` says whose VINs these are ("the 12 marked", "the 155 shown")."""
        super().__init__(classes="readd-screen")
        self.session = session
        self.vins = list(dict.fromkeys(vins))
        self.which = which
        self.with_tag = with_tag
        self.plans: list[Readd] = []
        self._results: list[Any] | None = None
        self._sending: Worker[None] | None = None

    @property
    def customer(self) -> str | None:
        """The customer name typed (the "with tag" fix), None for the plain retry."""
        if not self.with_tag:
            return None
        return self.query_one("#readd-customer", Input).value.strip()

    @property
    def to_send(self) -> list[Readd]:
        return [p for p in self.plans if p.send]

    def compose(self) -> ComposeResult:
        with Vertical(id="readd-dialog"):
            yield Static(id="readd-title", markup=False)
            with Horizontal(id="readd-customer-row", classes="" if self.with_tag else "-hidden"):
                yield Label("VW customer", classes="readd-label")
                yield Input(
                    placeholder=f"your business name (tag {VW_CUSTOMER_TAG})",
                    id="readd-customer",
                    compact=True,
                )
            yield Static(id="readd-warning", markup=False)
            with VerticalScroll(id="readd-list"):
                yield Static(id="readd-lines", markup=False)
            yield ProgressBar(total=1, show_eta=False, id="readd-progress", classes="-hidden")
            with Horizontal(id="readd-buttons"):
                yield Button("Add again", variant="warning", id="readd-yes", disabled=True)
                yield Button("Keep (Esc)", id="readd-no")
        yield KeyFooter(compact=True)

    def on_mount(self) -> None:
        self._plan()
        if self.with_tag:
            self.set_focus(self.query_one("#readd-customer", Input))
        else:
            # Enter must never confirm by accident
            self.set_focus(self.query_one("#readd-no", Button))

    def _plan(self) -> None:
        roster = self.session.roster
        clearances = [e.clearance if (e := roster.entry(vin)) else None for vin in self.vins]
        customer = self.customer  # no name typed yet: the lines show where it will go
        wanted = None if customer is None else customer or "…"
        self.plans = plan_readd(clearances, self.vins, wanted)
        self._show_plan()

    def _show_plan(self) -> None:
        sent, skipped = readd_counts(self.plans)
        self.query_one("#readd-title", Static).update(self._title(sent))
        self.query_one("#readd-lines", Static).update(plan_lines(self.plans))
        self.query_one("#readd-warning", Static).update(self._warning(sent, skipped))
        yes = self.query_one("#readd-yes", Button)
        yes.label = f"Add again {sent}"
        yes.disabled = not self._ready(sent)
        self.refresh_bindings()

    def _title(self, sent: int) -> str:
        if not self.with_tag:
            return f"Add again: {sent} of {self.which}?"
        return f"Add again with {VW_CUSTOMER_TAG}={self.customer or '…'}: {sent} of {self.which}?"

    def _ready(self, sent: int) -> bool:
        busy = self._sending is not None or self._results is not None
        return bool(sent) and not busy and not self.session.read_only and self.customer != ""

    def _warning(self, sent: int, skipped: int) -> Content:
        if self.session.read_only:
            return Content.styled("Read-only mode: adding VINs is disabled.", "$error")
        if self.with_tag and not self.customer:
            return Content.styled(
                "Type the business name the VW Group knows you by, then y (or the button).",
                "$warning",
            )
        if not sent:
            return Content("Nothing to add again: see why below.")
        kept = " Their other tags are kept." if self.with_tag else ""
        left = f" {skipped} left alone (why below)." if skipped else ""
        field = " (Enter leaves the name first)" if self.with_tag else ""
        return Content(f"Press y{field} or the button to send {sent}.{kept}{left}")

    @on(Input.Changed, "#readd-customer")
    def _customer_changed(self) -> None:
        if self._sending is None and self._results is None:
            self._plan()

    @on(Input.Submitted, "#readd-customer")
    def _customer_done(self) -> None:
        self.query_one("#readd-no", Button).focus()  # then y, or the button: never Enter alone

    def check_action(self, action: str, parameters: tuple[object, ...]) -> bool | None:
        """`y` only while there is something to send."""
        return action != "confirm" or self._ready(readd_counts(self.plans)[0])

    @on(Button.Pressed, "#readd-yes")
    def action_confirm(self) -> None:
        plans = self.to_send
        if not self._ready(len(plans)):
            return
        items = [NewClearance(p.vin, p.brand, p.tags or None) for p in plans]
        self.query_one("#readd-customer-row").disabled = True
        self.query_one("#readd-progress").remove_class("-hidden")
        self.query_one("#readd-warning", Static).update(f"Adding {len(items)} again…")
        self._sending = self._send(items, fix_name(self.customer))
        self.query_one("#readd-yes", Button).disabled = True
        self.query_one("#readd-no", Button).focus()
        self.refresh_bindings()

    @work(exclusive=True, exit_on_error=False, group="readd", description="readd")
    async def _send(self, items: list[NewClearance], fix: str) -> None:
        def progress(done: int, total: int) -> None:
            self.post_message(self.Progressed(done, total))

        try:
            results = await with_consent(
                self.app,
                lambda ok: self.session.add(items, progress, fix=fix, unjournaled_ok=ok),
                f"this {fix} of {len(items)} VINs",
            )
        except asyncio.CancelledError:  # the app is quitting: the journal keeps it resumable
            raise
        except Exception as error:  # shown in the dialog, never a traceback
            detail = getattr(error, "detail", None) or str(error)
            self.post_message(self.Finished(None, safe_text(detail, 300)))
            return
        self.post_message(self.Finished(list(results)))

    @on(Progressed)
    def _progressed(self, message: Progressed) -> None:
        bar = self.query_one("#readd-progress", ProgressBar)
        bar.update(total=max(message.total, 1), progress=message.done)

    @on(Finished)
    def _finished(self, message: Finished) -> None:
        self._sending = None
        self.query_one("#readd-progress").add_class("-hidden")
        warning = self.query_one("#readd-warning", Static)
        self.query_one("#readd-no", Button).label = "Close (Esc)"
        if message.results is None:
            warning.update(Content.styled(f"Nothing was added: {message.error}", "$error"))
            self._show_plan()  # armed again: the journal says nothing was taken
            return
        self._results = message.results
        ok = sum(1 for r in message.results if r.ok)
        warning.update(f"Done: {ok} of {len(message.results)} taken by the platform (journaled).")
        self.query_one("#readd-yes", Button).display = False
        self.query_one("#readd-lines", Static).update(
            Content("\n").join(result_line(r) for r in message.results)
        )
        self.refresh_bindings()

    @on(Button.Pressed, "#readd-no")
    def action_close(self) -> None:
        if self._sending is not None:
            self.notify("Still adding: the outcomes appear here when done.", markup=False)
            return
        self.dismiss(self._results)

    async def stop_work(self) -> None:
        """The app is quitting: interrupt the add and wait until the journal has its answers
        (it stays unfinished, offered for resuming at the next start)."""
        sending = self._sending
        if sending is not None:
            sending.cancel()
            await asyncio.gather(sending.wait(), return_exceptions=True)
