"""Offered at start-up when the journal holds actions a killed app never finished: each one with
what was done and what was not; Resume sends only the rest, Dismiss drops them (journaled as
abandoned), Later keeps the offer for the next start. Read-only sessions only show them.
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
from textual.widgets import Button, ProgressBar, Static

from hm_tui.ui.format import safe_text
from hm_tui.ui.keymap import RESUME_KEYS, bindings
from hm_tui.ui.widgets.key_footer import KeyFooter

if TYPE_CHECKING:
    from hm_tui.service.session import Session
    from hm_tui.service.store.db import JournalEntry

SHOWN_VINS = 3
SHOWN_RESULTS = 500  # result lines drawn; the summary counts them all
ACTION_WORDS = {"add": "Add", "remove": "Cancel/revoke"}


def vins_text(count: int) -> str:
    return f"{count} VIN" + ("" if count == 1 else "s")


def when_text(entry: JournalEntry) -> str:
    started = entry.started_at
    return started.astimezone().strftime("%Y-%m-%d %H:%M") if started else "unknown time"


def entry_content(entry: JournalEntry) -> Content:
    """`Add of 2000 VINs, started …: 500 done, 1500 not done` and the first VINs not done."""
    done = len(entry.vins) - len(entry.not_done)
    via = " (from the CLI)" if entry.params.get("via") == "cli" else ""
    first = ", ".join(safe_text(vin, 20) for vin in entry.not_done[:SHOWN_VINS])
    more = len(entry.not_done) - SHOWN_VINS
    return Content("\n").join(
        [
            Content.assemble(
                (
                    f"{ACTION_WORDS.get(entry.action, safe_text(entry.action, 20))} of "
                    f"{vins_text(len(entry.vins))}",
                    "bold",
                ),
                f", started {when_text(entry)}{via} (action {entry.id})",
            ),
            Content.assemble(
                "  ",
                (f"{done} done", "$success"),
                ", ",
                (f"{len(entry.not_done)} not done", "$warning"),
                f": {first}" + (f" and {more} more" if more > 0 else ""),
            ),
        ]
    )


def missing_items(entry: JournalEntry) -> bool:
    """An add whose journal lacks the brand/tags of a VIN not done cannot be re-sent."""
    if entry.action != "add":
        return entry.action != "remove"
    known = {item.get("vin") for item in entry.params.get("items") or [] if isinstance(item, dict)}
    return any(vin not in known for vin in entry.not_done)


def result_content(result: Any) -> Content:
    """An add's ItemResult or a removal's RemovalOutcome, as one line."""
    mark, style = ("✓ ", "$success") if result.ok else ("✗ ", "$error")
    detail = getattr(result, "description", None) or getattr(result, "message", None) or ""
    text = safe_text(result.status, 20) + (": " + safe_text(detail, 200) if detail else "")
    return Content.assemble((mark, style), (f"{safe_text(result.vin, 20):<18} ", "bold"), text)


class ResumeScreen(ModalScreen[str | None]):
    """Dismisses with "resumed", "dismissed", or None (Later: offered again next start)."""

    BINDINGS: ClassVar = bindings(RESUME_KEYS)

    class Progressed(Message):
        def __init__(self, done: int, total: int) -> None:
            super().__init__()
            self.done, self.total = done, total

    class Finished(Message):
        def __init__(self, results: list[Any], error: str | None = None) -> None:
            super().__init__()
            self.results, self.error = results, error

    class Dropped(Message):
        """Every listed action is marked abandoned in the journal (or `error` says why not)."""

        def __init__(self, error: str | None = None) -> None:
            super().__init__()
            self.error = error

    def __init__(
        self, session: Session, entries: Sequence[JournalEntry], *, read_only: bool = False
    ) -> None:
        super().__init__(classes="resume-screen")
        self.session = session
        self.entries = list(entries)
        self.read_only = read_only or session.read_only
        self.outcome: str | None = None
        self._busy = False

    @property
    def not_done(self) -> int:
        return sum(len(e.not_done) for e in self.entries)

    def compose(self) -> ComposeResult:
        many = len(self.entries) > 1
        with Vertical(id="resume-dialog"):
            yield Static("Interrupted actions", id="resume-title", markup=False)
            yield Static(self._intro(), id="resume-intro", markup=False)
            with VerticalScroll(id="resume-list"):
                for entry in self.entries:
                    yield Static(
                        entry_content(entry),
                        id=f"resume-entry-{entry.id}",
                        classes="resume-entry",
                        markup=False,
                    )
            yield ProgressBar(
                total=max(self.not_done, 1), show_eta=False, id="resume-progress", classes="-hidden"
            )
            with VerticalScroll(id="resume-results-box"):
                yield Static(id="resume-results", markup=False)
            with Horizontal(id="resume-buttons"):
                yield Button(
                    f"Resume {vins_text(self.not_done)}" + (" (all)" if many else ""),
                    variant="primary",
                    id="resume-go",
                    disabled=self.read_only,
                )
                yield Button(
                    "Dismiss" + (" all" if many else ""),
                    variant="warning",
                    id="resume-dismiss",
                    disabled=self.read_only,
                )
                yield Button("Later (Esc)", id="resume-later")
        yield KeyFooter(compact=True)

    def _intro(self) -> Content:
        if self.read_only:
            return Content.styled(
                "Read-only mode: shown for information. Start without "
                "--read-only to resume or dismiss.",
                "$warning",
            )
        return Content(
            "hm-tui stopped before these finished. Resume sends only the VINs not "
            "done; Dismiss drops them (the journal keeps them as abandoned); Later "
            "asks again next start."
        )

    def on_mount(self) -> None:
        blocked = [e for e in self.entries if missing_items(e)]
        if blocked and not self.read_only:
            self.query_one("#resume-go", Button).disabled = True
            self._say(
                Content.styled(
                    f"Action {blocked[0].id} cannot be resumed here: the journal does not say "
                    "which brand and tags its VINs had. Add them again, then Dismiss.",
                    "$warning",
                )
            )
        self.set_focus(self.query_one("#resume-later", Button))  # Enter must never send by accident

    def _say(self, text: str | Content) -> None:
        self.query_one("#resume-results", Static).update(text)

    # -- resume ------------------------------------------------------------------------------

    @on(Button.Pressed, "#resume-go")
    def action_resume(self) -> None:
        if self._refused() or self.query_one("#resume-go", Button).disabled:
            return
        self._start_busy(f"Resuming: sending {self.not_done} VINs…")
        self.query_one("#resume-progress").remove_class("-hidden")
        self._resume([e.id for e in self.entries])

    @work(exclusive=True, exit_on_error=False, group="resume", description="resume")
    async def _resume(self, action_ids: list[int]) -> None:
        results: list[Any] = []
        total = self.not_done
        for action_id in action_ids:
            offset = len(results)

            def progress(done: int, _total: int, offset: int = offset) -> None:
                self.post_message(self.Progressed(offset + done, total))

            try:
                results += await self.session.resume(action_id, progress)
            except Exception as error:  # shown in the dialog, never a traceback
                detail = getattr(error, "detail", None) or str(error)
                self.post_message(self.Finished(results, safe_text(detail, 300)))
                return
        self.post_message(self.Finished(results))

    @on(Progressed)
    def _progressed(self, message: Progressed) -> None:
        self.query_one("#resume-progress", ProgressBar).update(
            total=message.total, progress=message.done
        )

    @on(Finished)
    def _finished(self, message: Finished) -> None:
        self._busy = False
        self.query_one("#resume-progress").add_class("-hidden")
        ok = sum(1 for r in message.results if r.ok)
        head = Content.assemble(("Results: ", "bold"), f"{ok} of {len(message.results)} ok")
        if message.error is not None:
            head = Content.assemble(head, ("; stopped: " + message.error, "$error"))
            self.query_one("#resume-go", Button).disabled = False
        else:
            self.outcome = "resumed"
        shown = [result_content(r) for r in message.results[:SHOWN_RESULTS]]
        self._say(Content("\n").join([head, *shown]))
        self._finish_busy()

    # -- dismiss and later --------------------------------------------------------------------

    @on(Button.Pressed, "#resume-dismiss")
    def action_drop(self) -> None:
        if self._refused() or self.outcome is not None:
            return
        self._start_busy("Dismissing…")
        self._abandon([e.id for e in self.entries])

    @work(exclusive=True, exit_on_error=False, group="resume", description="resume")
    async def _abandon(self, action_ids: list[int]) -> None:
        try:
            for action_id in action_ids:
                await asyncio.to_thread(self.session.journal.abandon, action_id)
        except Exception as error:  # a journal that cannot be written: say so
            self.post_message(self.Dropped(safe_text(str(error), 300)))
            return
        self.post_message(self.Dropped())

    @on(Dropped)
    def _dropped(self, message: Dropped) -> None:
        self._busy = False
        if message.error is None:
            self.dismiss("dismissed")
            return
        self._say(Content.styled(f"Could not write the journal: {message.error}", "$error"))
        self.query_one("#resume-dismiss", Button).disabled = False

    @on(Button.Pressed, "#resume-later")
    def action_later(self) -> None:
        if self._busy:
            self.notify("Still working: the results appear here when done.", markup=False)
            return
        self.dismiss(self.outcome)

    # -- helpers ------------------------------------------------------------------------------

    def _refused(self) -> bool:
        if self.read_only:
            self.notify(
                "Read-only mode: resuming is disabled (started with --read-only).",
                severity="warning",
                markup=False,
            )
        return self.read_only or self._busy

    def _start_busy(self, text: str) -> None:
        self._busy = True
        self.query_one("#resume-go", Button).disabled = True
        self.query_one("#resume-dismiss", Button).disabled = True
        self._say(text)

    def _finish_busy(self) -> None:
        later = self.query_one("#resume-later", Button)
        later.label = "Close (Esc)"
        later.focus()
