"""One data point of the live feed, pretty-printed (Enter on a feed line); `o` opens the car's
detail, `c` copies the payload."""

from __future__ import annotations

from typing import ClassVar

from textual.app import ComposeResult
from textual.containers import Vertical, VerticalScroll
from textual.screen import ModalScreen
from textual.widgets import Static

from hm_tui.service.models import DataPoint
from hm_tui.ui.format import point_as_dict, pretty_json, safe_text
from hm_tui.ui.keymap import PAYLOAD_KEYS, bindings
from hm_tui.ui.text import copy_text
from hm_tui.ui.widgets.key_footer import KeyFooter


class PayloadScreen(ModalScreen[str | None]):
    """One data point, pretty-printed; dismisses with its VIN when `o` opens the detail."""

    BINDINGS: ClassVar = bindings(PAYLOAD_KEYS)

    def __init__(self, point: DataPoint) -> None:
        super().__init__(classes="payload-screen")
        self.point = point
        self.text = pretty_json(point_as_dict(point))

    def compose(self) -> ComposeResult:
        with Vertical(id="payload-dialog"):
            yield Static(
                f"{safe_text(self.point.vin, 20)}  {safe_text(self.point.key, 60)}",
                id="payload-title",
                markup=False,
            )
            with VerticalScroll(id="payload-body"):
                yield Static(self.text, id="payload-json", markup=False)
            yield Static("o open this VIN · c copy · Esc close", id="payload-keys", markup=False)
        yield KeyFooter(compact=True)

    def action_close(self) -> None:
        self.dismiss(None)

    def action_open_vin(self) -> None:
        self.dismiss(self.point.vin)

    def action_copy(self) -> None:
        copy_text(self.app, self.text, multiline=True, limit=None)
        self.notify("Copied the payload", markup=False)
