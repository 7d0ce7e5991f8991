"""`KeyFooter`: Textual's `Footer`, rebuilt only when the keys it shows change.

Textual's Footer recomposes (every key a new widget, styled and laid out: 20-40 ms) on each
"bindings updated" signal, and a screen coming up sends five of them (focus set twice, each also
re-announced after the next refresh, and the screen stack): four rebuilds on the way to the
first frame with data produce the same footer again. This one compares what it would show with
what it shows and skips the rebuild when they are equal.
"""

from __future__ import annotations

from collections.abc import Hashable

from textual.widgets import Footer


class KeyFooter(Footer):
    """A `Footer` that skips rebuilds which would show the same keys."""

    def __init__(self, *, compact: bool = False, id: str | None = None) -> None:
        super().__init__(compact=compact, id=id)
        self._shown: Hashable = None

    async def recompose(self) -> None:
        if self.is_attached:
            shown = self._showing()
            if shown == self._shown:
                return
            self._shown = shown
        await super().recompose()

    def _showing(self) -> Hashable:
        """Everything `Footer.compose` reads: whether the screen's keys are known yet, each key,
        how it is displayed, whether it is enabled, its tooltip, and the footer's settings."""
        keys = tuple((binding, self.app.get_key_display(binding), enabled, tooltip)
                     for _node, binding, enabled, tooltip in self.screen.active_bindings.values())
        return (self._bindings_ready, keys, self.compact, self.show_command_palette,
                self.combine_groups, self.app.ENABLE_COMMAND_PALETTE)
