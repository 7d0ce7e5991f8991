""" "Send without the journal?": asked before an action when the profile's journal cannot be
written (corrupt, locked by another process, read-only, disk full). Nothing is sent unless the
operator says so, for this action only; what is wrong with which file, and how to fix it, is said
in full."""

from __future__ import annotations

from collections.abc import Awaitable, Callable
from typing import Any, ClassVar, TypeVar

from textual import on
from textual.app import ComposeResult
from textual.containers import Horizontal, Vertical
from textual.screen import ModalScreen
from textual.widgets import Button, Static

from hm_tui.service.store.health import JournalUnavailable
from hm_tui.ui.format import safe_text
from hm_tui.ui.keymap import NO_JOURNAL_KEYS, bindings
from hm_tui.ui.widgets.key_footer import KeyFooter

T = TypeVar("T")


async def with_consent(app: Any, send: Callable[[bool], Awaitable[T]], what: str) -> T:
    """`send(unjournaled_ok)` (in a worker): first journaled; if the journal cannot be written
    (nothing sent), again only once the operator agrees (NoJournalScreen), else
    `JournalUnavailable` goes up."""
    try:
        return await send(False)
    except JournalUnavailable as error:
        if error.sent:  # it failed mid-way: what was sent is said by the caller's error text
            raise
        if not await app.push_screen_wait(NoJournalScreen(str(error), what)):
            raise JournalUnavailable(error.problem) from None
    return await send(True)


def no_journal_text(problem: str, what: str) -> str:
    problem = safe_text(problem, 600)
    return (
        f"{problem[:1].upper()}{problem[1:]}.\n\nWithout the journal, {what} cannot be "
        "resumed if it is cut short, and the journal will not list it. Nothing has been sent."
    )


class NoJournalScreen(ModalScreen[bool]):
    """Dismisses with True to send without the journal, False to send nothing (Enter: nothing)."""

    BINDINGS: ClassVar = bindings(NO_JOURNAL_KEYS)

    def __init__(self, problem: str, what: str) -> None:
        """`problem`: what is wrong with the journal; `what`: the action ("this add of 3 VINs")."""
        super().__init__(classes="no-journal-screen")
        self.problem, self.what = problem, what

    def compose(self) -> ComposeResult:
        with Vertical(id="stop-dialog"):
            yield Static("The journal cannot be written", id="stop-title", markup=False)
            yield Static(no_journal_text(self.problem, self.what), id="stop-text", markup=False)
            with Horizontal(id="stop-buttons"):
                yield Button("Send anyway (y)", variant="warning", id="no-journal-send")
                yield Button("Cancel (Esc)", id="no-journal-cancel")
        yield KeyFooter(compact=True)

    def on_mount(self) -> None:
        # Enter must never send by accident
        self.set_focus(self.query_one("#no-journal-cancel", Button))

    @on(Button.Pressed, "#no-journal-send")
    def action_send(self) -> None:
        self.dismiss(True)

    @on(Button.Pressed, "#no-journal-cancel")
    def action_cancel(self) -> None:
        self.dismiss(False)
