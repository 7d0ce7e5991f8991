"""A modal for errors the operator must acknowledge (the text is shown literally)."""

from __future__ import annotations

from typing import ClassVar

from textual import on
from textual.app import ComposeResult
from textual.containers import Vertical, VerticalScroll
from textual.screen import ModalScreen
from textual.widgets import Button, Static

from hm_tui.ui.format import safe_multiline, safe_text
from hm_tui.ui.keymap import ERROR_KEYS, bindings
from hm_tui.ui.text import copy_text
from hm_tui.ui.widgets.key_footer import KeyFooter


class ErrorModal(ModalScreen[None]):
    """Shows `title` and `message` until Enter, Escape or the OK button."""

    BINDINGS: ClassVar = bindings(ERROR_KEYS)

    def __init__(self, title: str, message: str) -> None:
        super().__init__(classes="error-screen")
        self.error_title = safe_text(title, 120)
        self.message = safe_multiline(message)

    def compose(self) -> ComposeResult:
        with Vertical(id="error-dialog"):
            yield Static(self.error_title, id="error-title", markup=False)
            with VerticalScroll(id="error-body"):
                yield Static(self.message, id="error-message", markup=False)
            yield Button("OK", variant="primary", id="error-ok")
        yield KeyFooter(compact=True)

    def on_mount(self) -> None:
        self.set_focus(self.query_one("#error-ok", Button))

    @on(Button.Pressed, "#error-ok")
    def action_acknowledge(self) -> None:
        self.dismiss(None)

    def action_copy(self) -> None:
        copy_text(self.app, f"{self.error_title}\n{self.message}", multiline=True, limit=None)
        self.notify("Copied the error", markup=False)
