"""Where to export the shown clearances: a path, proposed in the home directory, confirmed."""

from __future__ import annotations

import os
from pathlib import Path
from typing import ClassVar

from textual import on
from textual.app import ComposeResult
from textual.containers import Vertical
from textual.screen import ModalScreen
from textual.widgets import Input, Static

from hm_tui.ui.keymap import EXPORT_KEYS, bindings
from hm_tui.ui.widgets.key_footer import KeyFooter


def export_target(text: str) -> tuple[Path | None, str]:
    """The file `text` names (~ expanded), or None and what is wrong with it."""
    if not text.strip():
        return None, "Give a file name, e.g. ~/clearances.csv"
    path = Path(text.strip()).expanduser()
    try:  # (a directory on the way that is not open to us raises, rather than answers False)
        if path.is_dir():
            return None, f"{path} is a directory: add a file name, e.g. {path / 'clearances.csv'}"
        if os.path.lexists(path):
            return None, f"{path} exists: choose another name (nothing is overwritten)"
        if not path.parent.is_dir():
            return None, f"No directory {path.parent}: create it first or choose another place"
    except OSError as error:
        return None, f"Cannot use {path}: {error.strerror or error}"
    return path, ""


class ExportScreen(ModalScreen[Path | None]):
    """Asks for the CSV file; dismisses with its path, or None (Escape)."""

    BINDINGS: ClassVar = bindings(EXPORT_KEYS)

    def __init__(self, count: int, proposed: Path) -> None:
        super().__init__(classes="export-screen")
        self.count = count
        self.proposed = proposed

    def compose(self) -> ComposeResult:
        with Vertical(id="export-dialog"):
            noun = "clearance" if self.count == 1 else "clearances"
            yield Static(
                f"Export the {self.count:,} {noun} shown (filter and sort as on screen)"
                " to a CSV file:",
                id="export-title",
                markup=False,
            )
            yield Input(str(self.proposed), id="export-path")
            yield Static("⏎ export · Esc cancel", id="export-problem", markup=False)
        yield KeyFooter(compact=True)

    @on(Input.Submitted, "#export-path")
    def _submitted(self, event: Input.Submitted) -> None:
        path, problem = export_target(event.value)
        if path is None:
            self.query_one("#export-problem", Static).update(problem)
            self.query_one("#export-problem").add_class("-error")
            return
        self.dismiss(path)

    def action_cancel(self) -> None:
        self.dismiss(None)
