"""The journal (palette: "Show journal"): the latest operator actions, what each did per VIN,
and which were interrupted. Read-only: resuming is offered by ResumeScreen at start-up."""

from __future__ import annotations

import asyncio
from typing import TYPE_CHECKING, Any, ClassVar

from textual import on, work
from textual.app import ComposeResult
from textual.containers import Vertical, VerticalScroll
from textual.content import Content
from textual.message import Message
from textual.screen import ModalScreen
from textual.widgets import Static

from hm_tui.service.models import NO_ANSWER, NOT_SENT
from hm_tui.ui.format import safe_text
from hm_tui.ui.keymap import JOURNAL_KEYS, bindings
from hm_tui.ui.screens.resume import ACTION_WORDS, vins_text, when_text
from hm_tui.ui.widgets.key_footer import KeyFooter

if TYPE_CHECKING:
    from hm_tui.service.store.db import Journal, JournalEntry

SHOWN_ACTIONS = 50


def journal_line(entry: JournalEntry) -> Content:
    """Two lines, so that an entry fits 80 columns:
    `#12    Add 2,000 VINs      2025-01-01 12:00  dashboard  finished`
    `       pending 1990, error 10`."""
    outcomes = ", ".join(f"{safe_text(result, 20)} {n}" for result, n in entry.outcomes.items())
    via = "CLI" if entry.params.get("via") == "cli" else "dashboard"
    stopped = entry.finished and any(r in entry.outcomes for r in (NOT_SENT, NO_ANSWER))
    state = (
        ("stopped", "bold $warning")
        if stopped
        else ("finished", "$text-muted")
        if entry.finished
        else (f"INTERRUPTED: {len(entry.not_done)} not done", "bold $warning")
    )
    word = ACTION_WORDS.get(entry.action, safe_text(entry.action, 20))
    if entry.params.get("fix"):  # a bulk fix from the roster: "add again"
        word = "Add again"
    what = f"{word} {vins_text(len(entry.vins))}"
    return Content.assemble(
        (f"#{entry.id:<6}", "bold"),
        f"{what:<21} ",
        f"{when_text(entry)}  {via:<9}  ",
        state,
        "\n",
        " " * 7,
        (outcomes or "no outcome yet", "$text-muted"),
    )


class JournalScreen(ModalScreen[None]):
    """The latest actions, newest first; Escape closes."""

    BINDINGS: ClassVar = bindings(JOURNAL_KEYS)

    class Loaded(Message):
        def __init__(self, entries: list[Any], error: str | None = None) -> None:
            super().__init__()
            self.entries, self.error = entries, error

    def __init__(self, journal: Journal, problem: str | None = None) -> None:
        """`problem`: what is wrong with the journal file (this one is then in memory only)."""
        super().__init__(classes="journal-screen")
        self.journal = journal
        self.problem = problem
        self.entries: list[JournalEntry] = []

    def compose(self) -> ComposeResult:
        with Vertical(id="journal-dialog"):
            yield Static("Journal: the latest actions", id="journal-title", markup=False)
            if self.problem:
                yield Static(
                    Content.styled(
                        f"Not kept on disk: {safe_text(self.problem, 600)}. Only this session's "
                        "actions sent without it are listed.",
                        "$error",
                    ),
                    id="journal-problem",
                    markup=False,
                )
            with VerticalScroll(id="journal-body"):
                yield Static("Reading the journal…", id="journal-lines", markup=False)
        yield KeyFooter(compact=True)

    def on_mount(self) -> None:
        self.set_focus(self.query_one("#journal-body"))
        self._load()

    @work(exclusive=True, exit_on_error=False, group="journal", description="journal")
    async def _load(self) -> None:
        try:
            entries = await asyncio.to_thread(self.journal.entries, SHOWN_ACTIONS)
        except Exception as error:  # a locked or broken store: say so
            self.post_message(self.Loaded([], safe_text(str(error), 300)))
            return
        self.post_message(self.Loaded(entries))

    @on(Loaded)
    def _loaded(self, message: Loaded) -> None:
        self.entries = message.entries
        lines = self.query_one("#journal-lines", Static)
        if message.error is not None:
            lines.update(Content.styled(f"Could not read the journal: {message.error}", "$error"))
        elif not self.entries:
            lines.update("No action journaled yet.")
        else:
            lines.update(Content("\n").join(journal_line(e) for e in self.entries))

    def action_close(self) -> None:
        self.dismiss(None)
