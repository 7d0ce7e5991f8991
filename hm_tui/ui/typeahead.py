"""Keys typed ahead go where they were meant: a key typed while a dialog is still opening lands
in it, in order.

Textual hands each key the terminal sends to whatever has focus *when the key is read*, and a
burst (a fast typist, a paste over SSH or tmux) is read at once: `a` then `WBA…⏎` reached the
roster's table before the add dialog existed, so `A` (add again) acted on the roster and the VIN
field stayed empty. The app now holds keys at two moments:

- behind a key whose binding opens or closes a screen or moves the focus
  (`SCREEN_CHANGING_IDS`, `FOCUS_MOVING_IDS` in ui/keymap.py, Enter in the command palette):
  until the screen stack (or, for the second kind, the focus) has changed. If it is refused
  (read-only, not connected, nothing to remove: `opened_nothing`), the keys typed for it are
  dropped: they were meant for a dialog that is not there, and the roster's keys must not act
  on them. If nothing happens by `OPENS_TIMEOUT`,
  they are delivered where the focus is.
- while the screen on top has just changed and nothing in it has focus yet: until a widget of
  it takes focus (or `FOCUS_TIMEOUT`, then they go where Textual would send them).

Held keys are then delivered in order, each the ordinary road (`deliver`: the app's own key
handling, priority bindings then the focused widget), before any key read after them, each
judged against the focus as it is then; an opener among them holds the rest again. Only public
Textual APIs: `App.on_event`, `screen_change_signal` (immediate), `Screen.active_bindings`,
`DescendantFocus`.
"""

from __future__ import annotations

from collections.abc import Awaitable, Callable
from time import monotonic
from typing import TYPE_CHECKING

from textual import events
from textual.command import CommandPalette
from textual.dom import NoScreen
from textual.widgets import Input, TextArea

if TYPE_CHECKING:
    from textual.app import App
    from textual.screen import Screen
    from textual.timer import Timer

#: An opener key that changed nothing by then: the keys behind it go where the focus is.
OPENS_TIMEOUT = 3.0
#: A new screen that focused nothing by then: the held keys go to it as Textual would send them.
FOCUS_TIMEOUT = 5.0
#: Enter in the command palette waits until the palette's search has caught up with what was
#: typed (looked at this often, for at most SEARCH_TIMEOUT): else it picks from the results of
#: a shorter query ("Import VINs" typed fast chose "Add VINs", or nothing).
SEARCH_POLL = 0.02
SEARCH_TIMEOUT = 1.0


class TypeAhead:
    """The app's key gate (one per app). `screen_ids`: binding ids that open or close a screen,
    `focus_ids`: that move the focus; `deliver`: the app's key handling without the gate."""

    def __init__(
        self,
        app: App[int],
        screen_ids: frozenset[str],
        focus_ids: frozenset[str],
        deliver: Callable[[events.Key], Awaitable[None]],
    ) -> None:
        self.app = app
        self.screen_ids, self.focus_ids = screen_ids, focus_ids
        self.deliver = deliver
        self._focus_only = False  # the key waited for moves the focus, opens no screen
        self.held: list[events.Key] = []
        self._opening: Screen[object] | None = None  # the screen an opener key was typed on
        self._settling: Screen[object] | None = None  # a new screen with nothing focused yet
        self._timer: Timer | None = None
        self._releasing = False
        self._searching: CommandPalette | None = None  # a palette whose search Enter waits for
        self._search_timer: Timer | None = None
        self._search_began = 0.0
        self._searched: events.Key | None = None  # the Enter that has waited for its search

    def start(self) -> None:
        # immediate: before the keys already queued behind the change are delivered
        self.app.screen_change_signal.subscribe(self.app, self._screen_changed, immediate=True)

    @property
    def gated(self) -> bool:
        return (
            self._opening is not None or self._settling is not None or self._searching is not None
        )

    def take(self, event: events.Key) -> bool:
        """Before the app delivers a key it read: True if the key is held (delivered later)."""
        if not self.app.screen_stack:  # starting or shutting down: Textual's own way
            return False
        settling = self._settling
        if settling is not None and settling.focused is not None and self._opening is None:
            self._settling = None  # focused, though its DescendantFocus is still on its way
            self._disarm()
        if self.held or self.gated:
            self.held.append(event)
            if not self.gated:
                self._release_soon()
            return True
        if self._wait_for_search(event):
            self.held.append(event)
            return True
        self._note_opener(event)
        return False

    def _wait_for_search(self, event: events.Key) -> bool:
        """Enter in the command palette, not yet waited: hold it (and what follows) until the
        palette's search is done (`_search_polled`)."""
        palette = self.app.screen
        if event.key != "enter" or not isinstance(palette, CommandPalette):
            return False
        if event is self._searched:
            return False
        self._searching = palette
        self._search_began = monotonic()
        if self._search_timer is not None:
            self._search_timer.stop()
        self._search_timer = self.app.set_interval(SEARCH_POLL, self._search_polled)
        return True

    def _search_polled(self) -> None:
        palette = self._searching
        waiting = monotonic() - self._search_began < SEARCH_TIMEOUT
        if palette is not None and self.app.screen is palette and waiting and searching(palette):
            return
        self._searching = None
        self._searched = self.held[0] if self.held else None
        if self._search_timer is not None:
            self._search_timer.stop()
            self._search_timer = None
        self._release_soon()

    def _note_opener(self, event: events.Key) -> None:
        kind = self._opens(event)
        if kind:
            self._opening = self.app.screen
            self._focus_only = kind == "focus"
            self._arm(OPENS_TIMEOUT, self._changed_nothing)

    def _opens(self, event: events.Key) -> str | None:
        """`screen` if the key's binding opens or closes a screen, `focus` if it moves focus."""
        screen = self.app.screen
        if isinstance(screen, CommandPalette):  # Enter runs a command, which may open a screen
            return "screen" if event.key == "enter" else None
        focused = screen.focused
        if isinstance(focused, Input | TextArea) and event.is_printable:
            return None  # typed text, not a key binding
        active = screen.active_bindings.get(event.key)
        if not (active and active.enabled):
            return None
        if active.binding.id in self.screen_ids:
            return "screen"
        return "focus" if active.binding.id in self.focus_ids else None

    def focused(self, widget: object) -> None:
        """A widget took focus (the app's `DescendantFocus`): a new screen is ready for keys,
        or the key being waited for moved the focus on its own screen (the filter bar)."""
        stack = self.app.screen_stack  # (empty while the app shuts down)
        screen = stack[-1] if stack else None
        try:
            owner = getattr(widget, "screen", None)
        except NoScreen:  # removed before its focus event came: nothing is ready for keys
            return
        if owner is not screen:
            return  # a screen built off the stack (ui/kept_dialogs.py) focusing its field
        if self._settling is not None and self._settling is screen:
            self._settling = None
        elif self._opening is not None and self._opening is screen and self._focus_only:
            self._opening = None
        else:
            return
        self._disarm()
        self._release_soon()

    def opened_nothing(self) -> int:
        """The key that was to open a screen was refused: drop the keys typed for it. Returns
        how many were dropped."""
        if self._opening is None:
            return 0
        dropped = len(self.held)
        self.held.clear()
        self._opening = None
        self._disarm()
        return dropped

    def _changed_nothing(self) -> None:
        self._opening = None
        self._release_soon()

    def _screen_changed(self, screen: Screen[object]) -> None:
        self._opening = None
        if screen.focused is None:  # keys read before its focus is set wait for it
            self._settling = screen
            self._arm(FOCUS_TIMEOUT, self._focus_timed_out)
        else:
            self._settling = None
            self._disarm()
            if self.held:
                # two hops: after what the change queued (the palette queues its command
                # after closing), which may open the screen the keys are meant for
                self.app.call_later(self.app.call_later, self._release_soon)

    def _focus_timed_out(self) -> None:
        self._settling = None
        self._release_soon()

    def _release_soon(self) -> None:
        if not self._releasing:
            self._releasing = True
            self.app.call_later(self._release)

    async def _release(self) -> None:
        self._releasing = False
        while self.held and not self.gated:
            if self._wait_for_search(self.held[0]):
                break
            event = self.held.pop(0)
            self._note_opener(event)
            await self.deliver(event)

    def _arm(self, delay: float, callback: Callable[[], object]) -> None:
        self._disarm()
        self._timer = self.app.set_timer(delay, callback)

    def _disarm(self) -> None:
        if self._timer is not None:
            self._timer.stop()
            self._timer = None


def searching(palette: CommandPalette) -> bool:
    """The palette is still gathering the commands that match its input (its search worker),
    or has a change of its input not yet searched (the worker is started by the palette's
    handler of that change, a moment after the key)."""
    group = getattr(CommandPalette, "_GATHER_COMMANDS_GROUP", None)
    return any(
        worker.node is palette and worker.group == group and not worker.is_finished
        for worker in palette.app.workers
    )
