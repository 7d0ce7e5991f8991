"""Confirm cancel/revoke: names every VIN, says per VIN what will happen, then shows outcomes."""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from datetime import datetime
from typing import TYPE_CHECKING, Any, ClassVar

from textual import on, work
from textual.app import ComposeResult
from textual.containers import Horizontal, Vertical, VerticalScroll
from textual.content import Content
from textual.message import Message
from textual.screen import ModalScreen
from textual.widgets import Button, ProgressBar, Static

from hm_tui.domain.brands import lookup
from hm_tui.domain.removal import Removal, RemovalKind, plan_removal
from hm_tui.ui.format import safe_text
from hm_tui.ui.keymap import CONFIRM_KEYS, bindings
from hm_tui.ui.screens.no_journal import with_consent
from hm_tui.ui.widgets.key_footer import KeyFooter

if TYPE_CHECKING:
    from hm_tui.service.session import Session

_KIND_STYLE = {
    RemovalKind.REVOKE: "$error",
    RemovalKind.CANCEL: "$warning",
    RemovalKind.IMPOSSIBLE: "$text-muted",
}


@dataclass(frozen=True, slots=True)
class PlannedRemoval:
    """One VIN and what DELETE would do to it; `removal` is None when its status is unknown."""

    vin: str
    brand: str
    status: str
    removal: Removal | None

    @property
    def will_send(self) -> bool:
        return self.removal is None or self.removal.possible


def plan_all(session: Session, vins: Sequence[str], now: datetime) -> list[PlannedRemoval]:
    """Plan each VIN from the roster; VINs the roster lacks are sent and the platform decides."""
    plans = []
    for vin in dict.fromkeys(vins):
        try:
            entry = session.roster.entry(vin)
        except KeyError:
            entry = None
        if entry is None:
            plans.append(PlannedRemoval(vin, "?", "?", None))
            continue
        c = entry.clearance
        plans.append(
            PlannedRemoval(
                vin, c.brand, c.status, plan_removal(c.brand, c.status, c.created_at, now)
            )
        )
    return plans


def plan_line(plan: PlannedRemoval) -> Content:
    brand = lookup(plan.brand)
    name = brand.name if brand else safe_text(plan.brand, 20)
    head = (f"{safe_text(plan.vin, 20):<18}", "bold")
    who = f" {name:<14} {safe_text(plan.status, 10):<10} "
    if plan.removal is None:
        return Content.assemble(head, who, ("not in the roster: the platform decides", "$warning"))
    return Content.assemble(head, who, (plan.removal.why, _KIND_STYLE[plan.removal.kind]))


def outcome_line(outcome: Any) -> Content:
    mark, style = ("✓ ", "$success") if outcome.ok else ("✗ ", "$error")
    return Content.assemble(
        (mark, style),
        (f"{safe_text(outcome.vin, 20):<18} ", "bold"),
        safe_text(outcome.message or outcome.status, 200),
    )


def button_label(plans: Sequence[PlannedRemoval]) -> str:
    kinds = {p.removal.kind if p.removal else None for p in plans if p.will_send}
    count = sum(p.will_send for p in plans)
    if kinds == {RemovalKind.REVOKE}:
        return f"Revoke {count}"
    if kinds == {RemovalKind.CANCEL}:
        return f"Cancel {count}"
    return f"Cancel/revoke {count}"


class ConfirmRemovalScreen(ModalScreen[list[Any] | None]):
    """Dismisses with the list of RemovalOutcome after a removal, or None if nothing was done."""

    BINDINGS: ClassVar = bindings(CONFIRM_KEYS)
    TOAST_ROOM: ClassVar = "#confirm-dialog"  # toasts never cover it (ui/toasts.py, ToastRoom)

    class Finished(Message):
        def __init__(self, outcomes: list[Any] | None, error: str | None = None) -> None:
            super().__init__()
            self.outcomes = outcomes
            self.error = error

    def __init__(self, session: Session, vins: Sequence[str]) -> None:
        super().__init__(classes="confirm-screen")
        self.session = session
        self.plans = plan_all(session, vins, session.platform_now())
        self._outcomes: list[Any] | None = None
        self._busy = False

    @property
    def to_send(self) -> list[str]:
        return [p.vin for p in self.plans if p.will_send]

    def compose(self) -> ComposeResult:
        with Vertical(id="confirm-dialog"):
            yield Static(self._title(), id="confirm-title", markup=False)
            yield Static(id="confirm-warning", markup=False)
            with VerticalScroll(id="confirm-list"):
                yield Static(
                    Content("\n").join(plan_line(p) for p in self.plans),
                    id="confirm-lines",
                    markup=False,
                )
            yield ProgressBar(total=None, show_eta=False, id="confirm-progress", classes="-hidden")
            with Horizontal(id="confirm-buttons"):
                yield Button(button_label(self.plans), variant="error", id="confirm-yes")
                yield Button("Keep (Esc)", id="confirm-no")
        yield KeyFooter(compact=True)

    def _title(self) -> str:
        n = len(self.plans)
        return f"Cancel or revoke {n} clearance{'s' if n != 1 else ''}?"

    def on_mount(self) -> None:
        warning = self.query_one("#confirm-warning", Static)
        yes = self.query_one("#confirm-yes", Button)
        if self.session.read_only:
            warning.update(Content.styled("Read-only mode: cancel/revoke is disabled.", "$error"))
            yes.disabled = True
        elif not self.to_send:
            warning.update("Nothing can be removed: see why per VIN.")
            yes.disabled = True
        else:
            warning.update(self._warning_text())
        # Enter must never confirm by accident
        self.set_focus(self.query_one("#confirm-no", Button))

    def _warning_text(self) -> Content:
        skipped = len(self.plans) - len(self.to_send)
        parts: list[str | tuple[str, str]] = [f"Press y or the button to send {len(self.to_send)}."]
        if skipped:
            parts.append(f" {skipped} cannot be removed and will be skipped.")
        if self.session.profile.environment == "live":
            parts.insert(0, ("PRODUCTION: revoking stops data from real cars. ", "bold $error"))
        return Content.assemble(*parts)

    def check_action(self, action: str, parameters: tuple[object, ...]) -> bool | None:
        """`y` only while there is something to send: not while sending, not once done, not
        when every chosen clearance would be refused (the footer offered "Yes, remove" beside
        "Nothing can be removed")."""
        if action != "confirm":
            return True
        return bool(self.to_send) and not (self._busy or self._outcomes is not None)

    @on(Button.Pressed, "#confirm-yes")
    def action_confirm(self) -> None:
        if self._busy or self._outcomes is not None or self.query_one("#confirm-yes").disabled:
            return
        self._busy = True
        self.refresh_bindings()
        self.query_one("#confirm-yes", Button).disabled = True
        self.query_one("#confirm-progress").remove_class("-hidden")
        self.query_one("#confirm-warning", Static).update(f"Sending {len(self.to_send)}…")
        self._remove(self.to_send)

    @on(Button.Pressed, "#confirm-no")
    def action_close(self) -> None:
        if self._busy:
            self.notify("Still working: the outcomes appear here when done.", markup=False)
            return
        self.dismiss(self._outcomes)

    @work(exclusive=True, exit_on_error=False, group="removal", description="removal")
    async def _remove(self, vins: list[str]) -> None:
        try:
            outcomes = await with_consent(
                self.app,
                lambda ok: self.session.remove(vins, unjournaled_ok=ok),
                f"this removal of {len(vins)} VIN" + ("" if len(vins) == 1 else "s"),
            )
        except Exception as error:  # shown in the dialog, never a traceback
            detail = getattr(error, "detail", None) or str(error)
            self.post_message(self.Finished(None, safe_text(detail, 300)))
            return
        self.post_message(self.Finished(list(outcomes)))

    @on(Finished)
    def _finished(self, message: Finished) -> None:
        self._busy = False
        self.call_after_refresh(self.refresh_bindings)
        self.query_one("#confirm-progress").add_class("-hidden")
        warning = self.query_one("#confirm-warning", Static)
        no = self.query_one("#confirm-no", Button)
        no.label = "Close (Esc)"
        no.focus()
        if message.outcomes is None:
            warning.update(Content.styled(f"The removal failed: {message.error}", "$error"))
            self.query_one("#confirm-yes", Button).disabled = False
            return
        self._outcomes = message.outcomes
        self.query_one("#confirm-yes", Button).display = False  # done: nothing left to send
        ok = sum(1 for o in message.outcomes if o.ok)
        warning.update(f"Done: {ok} of {len(message.outcomes)} accepted.")
        self.query_one("#confirm-lines", Static).update(
            Content("\n").join(outcome_line(o) for o in message.outcomes)
        )
