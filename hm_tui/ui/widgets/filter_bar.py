"""The `/` filter: one line, live while typing; Enter applies it, Escape clears it. Below it, a
line says what the filter language understood and what it could not read (domain/filters.py)."""

from __future__ import annotations

from typing import ClassVar

from textual import getters, on
from textual.app import ComposeResult
from textual.content import Content
from textual.geometry import Size
from textual.message import Message
from textual.widget import Widget
from textual.widgets import Input, Label

from hm_tui.domain.filters import Filter
from hm_tui.ui.keymap import FILTER_KEYS, bindings
from hm_tui.ui.text import shown
from hm_tui.ui.widgets.ring_view import set_virtual_size


class LineInput(Input):
    """An Input in a box that does not depend on its text (one line, a fixed or `fr` width).

    Textual's Input assigns its `virtual_size` (a layout reactive) on every keystroke, which lays
    out and repaints the whole screen: with the 100,000-VIN roster behind it, 20-40 ms of every
    filter keystroke on a slow 2-core machine. Here the size is set without asking for a layout
    (the scroll range still follows the text), unless the box is sized by its content."""

    def _watch_value(self, value: str) -> None:
        if not self.styles.auto_dimensions:
            set_virtual_size(self, Size(self.content_width, 1))
        super()._watch_value(value)  # the size it assigns is the same now: no layout


class _FilterInput(LineInput):
    """The filter's input: Enter also hands the focus on at once (see `FilterBar.hand_on`)."""

    BINDINGS: ClassVar = bindings(k for k in FILTER_KEYS if k.id == "roster.filter_apply")

    async def action_submit(self) -> None:
        await super().action_submit()
        bar = self.parent
        if isinstance(bar, FilterBar):
            bar.hand_on()


class Understood(Widget):
    """One line: what the filter means ("status = rejected · not brand bmw") and the first part
    it could not read. Redrawn without a layout (its box never changes)."""

    DEFAULT_CSS = """
    Understood { height: 1; width: 1fr; color: $text-muted; padding: 0 1; text-wrap: nowrap;
                 text-overflow: ellipsis; }
    """

    def __init__(self, **kwargs: object) -> None:
        super().__init__(**kwargs)  # type: ignore[arg-type]
        self._line = Content()

    @property
    def plain(self) -> str:
        return self._line.plain

    def show(self, flt: Filter) -> None:
        parts: list[str | tuple[str, str]] = []
        if flt.problems:
            more = f" (+{len(flt.problems) - 1} more)" if len(flt.problems) > 1 else ""
            parts.append((f"✗ {shown(flt.problems[0], 200)}{more}", "bold $text-warning"))
        if flt.terms:
            parts.append(f"{'  ' if flt.problems else ''}= {shown(flt.describe(), 300)}")
        line = Content.assemble(*parts)  # plain text: what was typed is never markup
        if line.plain != self._line.plain:
            self._line = line
            self.refresh()

    def render(self) -> Content:
        return self._line


def worth_describing(flt: Filter) -> bool:
    """Free words alone need no explanation; field terms, NOT and problems do."""
    return bool(flt.problems) or any(t.field != "text" or t.negated for t in flt.terms)


class FilterBar(Widget):
    """Posts `Changed` on every keystroke, `Applied` on Enter and `Cleared` on Escape.
    `focus_after`: the widget that takes the keys once the filter is applied or cleared."""

    focus_after: Widget | None = None

    BINDINGS: ClassVar = bindings(k for k in FILTER_KEYS if k.id != "roster.filter_apply")

    DEFAULT_CSS = """
    FilterBar {
        layout: grid; grid-size: 2; grid-columns: auto 1fr; grid-rows: 1;
        height: auto; background: $boost; display: none;
    }
    FilterBar.-active { display: block; }
    FilterBar > Label { width: auto; padding: 0 1; color: $text-accent; text-style: bold; }
    FilterBar > Input { border: none; height: 1; padding: 0; width: 1fr; background: $boost; }
    FilterBar > Input:focus { border: none; background-tint: $foreground 5%; }
    FilterBar > Understood { display: none; column-span: 2; }
    FilterBar.-described > Understood { display: block; }
    """

    class Changed(Message):
        def __init__(self, text: str) -> None:
            super().__init__()
            self.text = text

    class Applied(Message):
        def __init__(self, text: str) -> None:
            super().__init__()
            self.text = text

    class Cleared(Message):
        pass

    def compose(self) -> ComposeResult:
        yield Label("/")
        yield _FilterInput(
            placeholder='words, status:rejected brand:audi,seat tag:k=v reason:"…" age:>2d -x',
            id="filter-input",
            select_on_focus=False,
        )
        yield Understood(id="filter-understood")

    @property
    def understood(self) -> Understood:
        return self.query_one("#filter-understood", Understood)

    def describe(self, flt: Filter) -> None:
        """Say what the filter means (only when more than free words: a line appears)."""
        self.understood.show(flt)
        self.set_class(worth_describing(flt), "-described")

    input = getters.query_one("#filter-input", Input)

    @property
    def value(self) -> str:
        return self.input.value

    def open(self) -> None:
        """Show the bar and put the cursor in it."""
        self.add_class("-active")
        # synchronously, not `Input.focus()` (deferred with call_later): keys typed right
        # after `/` are already queued and must reach the input, not the table
        self.screen.set_focus(self.input)

    def clear(self) -> None:
        """Empty and hide the bar (posts `Changed("")` through the input)."""
        self.input.value = ""
        self.remove_class("-active", "-described")

    @on(Input.Changed, "#filter-input")
    def _changed(self, event: Input.Changed) -> None:
        event.stop()
        self.post_message(self.Changed(event.value))

    @on(Input.Submitted, "#filter-input")
    def _submitted(self, event: Input.Submitted) -> None:
        event.stop()
        self.action_apply()

    def action_apply(self) -> None:
        if not self.value.strip():
            self.remove_class("-active")
        self.post_message(self.Applied(self.value))

    def action_clear(self) -> None:
        self.clear()
        self.hand_on()
        self.post_message(self.Cleared())

    def hand_on(self) -> None:
        """Focus `focus_after` synchronously, while this key is handled: keys typed right after
        Enter or Escape (a burst such as `/rejected⏎q`) are already queued and must reach it,
        not the input (`Widget.focus()` would move the focus only after them)."""
        if self.focus_after is not None and self.focus_after.is_attached:
            self.screen.set_focus(self.focus_after)
