"""The add dialog, built once and shown again: opening it is one frame, not a build.

Building the add dialog (its tabs, fields, buttons and footer: about 60 widgets, each styled and
laid out) took 200-400 ms on the event loop at every `a`, whatever the fleet's size
(benchmarks/dialogs.py). The app now builds it once, when the roster's first frame with data is
drawn (`prepare`), keeps it installed (Textual does not remove an installed screen when it is
closed), and before each opening makes it as new (`AddScreen.start_over`: every field empty, the
tab asked for, the focus on its first field at once). A key typed while it opens finds that
focus already set and lands in the field (ui/typeahead.py).

Textual has no public way to compose a screen before it is pushed; `prepare` does what
`App.push_screen` does first for a screen that is not running (`App._register`), without the
push. If that is not done yet (a key in the first moment after start-up), `take` returns None and
the app builds the dialog as before, then keeps that one.
"""

from __future__ import annotations

from typing import TYPE_CHECKING

if TYPE_CHECKING:
    from textual.app import App

    from hm_tui.service.session import Session
    from hm_tui.ui.screens.add import AddScreen

NAME = "hm-tui-add-dialog"


def warm_up(app: App[int]) -> None:
    """Import the other dialogs' modules and parse their widgets' default styles now, at idle:
    else the first `Enter`, `d` or `g` pays for both (Textual parses the whole stylesheet again
    the first time a widget class with styles of its own is mounted). What Textual does when it
    registers a widget (`_post_register`), without mounting anything."""
    from textual.widgets import Sparkline

    from hm_tui.ui.screens import confirm, detail, summary  # noqa: F401  (imported: warm)
    from hm_tui.ui.widgets.datapoints import DataPointsView
    from hm_tui.ui.widgets.timeline import Timeline

    for widget in (Timeline(), DataPointsView(), Sparkline([])):
        widget._post_register(app)
    app.stylesheet.parse()


class KeptAddDialog:
    """One add dialog per session, kept between openings."""

    def __init__(self, app: App[int]) -> None:
        self.app = app
        self.screen: AddScreen | None = None

    def prepare(self, session: Session) -> None:
        """Build the dialog for `session` now (composed and styled off screen), if not done."""
        if self.screen is not None and self.screen.session is session:
            return
        from hm_tui.ui.screens.add import AddScreen

        screen = AddScreen(session)
        self.keep(screen)
        self.app._register(self.app, screen)  # compose and mount it, not shown

    def keep(self, screen: AddScreen) -> None:
        """Keep `screen` (installed: closing it does not remove it) in place of the one kept."""
        self.forget()
        self.app.install_screen(screen, NAME)
        self.screen = screen

    def take(self, session: Session, mode: str) -> AddScreen | None:
        """The kept dialog, made as new on the tab `mode` picks; None if there is none ready for
        `session` (not built yet, or open)."""
        screen = self.screen
        if (
            screen is None
            or screen.session is not session
            or not screen.ready
            or screen in self.app.screen_stack
            or screen.busy
        ):
            return None
        screen.start_over(mode)
        return screen

    def forget(self) -> None:
        """Drop the kept dialog (the session it adds to is gone)."""
        screen, self.screen = self.screen, None
        if screen is None:
            return
        self.app.uninstall_screen(screen)
        if screen not in self.app.screen_stack and screen.is_attached:
            screen.remove()
