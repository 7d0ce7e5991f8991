""" "Stop adding?": asked when the operator leaves the add-VINs dialog while an add is under way."""

from __future__ import annotations

from typing import ClassVar

from textual import on
from textual.app import ComposeResult
from textual.containers import Horizontal, Vertical
from textual.screen import ModalScreen
from textual.widgets import Button, Static

from hm_tui.ui.keymap import ADD_STOP_KEYS, bindings
from hm_tui.ui.screens.add_text import count
from hm_tui.ui.widgets.key_footer import KeyFooter


def stop_question(done: int, total: int) -> str:
    return (
        f"{done} of {count(total, 'VIN')} answered so far. Stopping keeps what the platform "
        "has accepted and sends nothing more; VINs whose request is out may still be added. "
        "The journal records which were done and which were not."
    )


class StopAddingScreen(ModalScreen[bool]):
    """Dismisses with True to stop the add, False to keep it going (Enter keeps it)."""

    BINDINGS: ClassVar = bindings(ADD_STOP_KEYS)

    def __init__(self, done: int, total: int) -> None:
        super().__init__(classes="stop-adding-screen")
        self.done, self.total = done, total

    def compose(self) -> ComposeResult:
        with Vertical(id="stop-dialog"):
            yield Static("Stop adding?", id="stop-title", markup=False)
            yield Static(stop_question(self.done, self.total), id="stop-text", markup=False)
            with Horizontal(id="stop-buttons"):
                yield Button("Stop adding (y)", variant="error", id="stop-yes")
                yield Button("Keep adding (Esc)", id="stop-keep")
        yield KeyFooter(compact=True)

    def on_mount(self) -> None:
        self.set_focus(self.query_one("#stop-keep", Button))  # Enter must never stop by accident

    @on(Button.Pressed, "#stop-yes")
    def action_stop(self) -> None:
        self.dismiss(True)

    @on(Button.Pressed, "#stop-keep")
    def action_keep(self) -> None:
        self.dismiss(False)
