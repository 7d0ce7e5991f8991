"""`KeyFooter`: Textual's `Footer`, rebuilt only when the keys it shows change, and fitted to
the terminal's width.

Textual's Footer recomposes (every key a new widget, styled and laid out: 20-40 ms) on each
"bindings updated" signal, and a screen coming up sends five of them (focus set twice, each also
re-announced after the next refresh, and the screen stack): four rebuilds on the way to the
first frame with data produce the same footer again. This one compares what it would show with
what it shows and skips the rebuild when they are equal.

Textual's Footer also lets keys run past the right edge, under the docked palette key (at 80
columns the feed's keys pushed "? Help" and "q Quit" off screen and left a stray letter beside
"^p Palette"). This one leaves out whole keys instead: Help, Quit, Close and Back always
stay; the others in order, the focused widget's first, each while it still fits.

A footer whose screen is not on top is not rebuilt (a dialog opening over the roster announced
new bindings to the roster's footer, which rebuilt it without the roster's own keys, then again
with them when the dialog closed: 20-60 ms of each opening and closing). When its screen is on
top again Textual announces its bindings anew, and the footer compares them with what it shows.
"""

from __future__ import annotations

from collections.abc import Hashable

from rich.cells import cell_len
from textual.app import ComposeResult
from textual.widget import Widget
from textual.widgets import Footer
from textual.widgets._footer import FooterKey

KEEP_ACTIONS = frozenset({"help", "quit", "close", "back"})  # never left out
PALETTE_CELLS = 11  # "│^p Palette", docked right


class KeyFooter(Footer):
    """A `Footer` that skips rebuilds which would show the same keys."""

    def __init__(self, *, compact: bool = False, id: str | None = None) -> None:
        super().__init__(compact=compact, id=id)
        self._shown: Hashable = None

    async def recompose(self) -> None:
        if self.is_attached:
            stack = self.app.screen_stack
            if stack and self.screen is not stack[-1]:
                return  # not on top: rebuilt (if need be) when its screen is on top again
            shown = self._showing()
            if shown == self._shown:
                return
            self._shown = shown
        await super().recompose()

    def compose(self) -> ComposeResult:
        widgets = fitted(list(super().compose()), self.app.size.width, compact=self.compact)
        if self.compact:
            for widget in widgets:  # styled once when mounted, not again when its `compact`
                if isinstance(widget, FooterKey):  # is bound a moment later (-compact)
                    widget.add_class("-compact", update=False)
        yield from widgets

    def on_resize(self) -> None:
        self.refresh(recompose=True)  # (skipped by `recompose` unless what fits changed)

    def _showing(self) -> Hashable:
        """Everything `Footer.compose` reads: whether the screen's keys are known yet, each key,
        how it is displayed, whether it is enabled, its tooltip, and the footer's settings."""
        keys = tuple(
            (binding, self.app.get_key_display(binding), enabled, tooltip)
            for _node, binding, enabled, tooltip in self.screen.active_bindings.values()
        )
        return (
            self._bindings_ready,
            keys,
            self.compact,
            self.show_command_palette,
            self.combine_groups,
            self.app.ENABLE_COMMAND_PALETTE,
            self.app.size.width,
        )


def key_cells(key: FooterKey, *, compact: bool) -> int:
    """The cells one key takes in the footer, its margin included."""
    text = cell_len(key.key_display) + (cell_len(key.description) + 1 if key.description else 0)
    return text + (1 if compact else 3)


def fitted(widgets: list[Widget], width: int, *, compact: bool) -> list[Widget]:
    """`widgets` without the keys that would run past `width`: keys of `KEEP_ACTIONS` always
    stay; the others in order (the focused widget's first), each if it still fits."""
    keys = [w for w in widgets if isinstance(w, FooterKey)]
    palette = [k for k in keys if k.has_class("-command-palette")]
    keys = [k for k in keys if k not in palette]
    kept = [k for k in keys if k.action.rpartition(".")[2] in KEEP_ACTIONS]
    spare = width - PALETTE_CELLS * len(palette) - sum(key_cells(k, compact=compact) for k in kept)
    dropped: list[Widget] = []
    for key in keys:
        if key not in kept:
            cells = key_cells(key, compact=compact)
            if cells <= spare:
                spare -= cells
            else:
                dropped.append(key)
    return [w for w in widgets if w not in dropped]
