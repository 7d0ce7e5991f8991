"""What keeps the dashboard's start short: a footer that is not rebuilt for nothing, and the
garbage collector back on once the app has started (the entry point rests it meanwhile)."""

from __future__ import annotations

import gc
from typing import ClassVar

from textual.app import App, ComposeResult
from textual.binding import Binding
from textual.widget import Widget
from textual.widgets import Footer
from textual.widgets._footer import FooterKey

from hm_tui.emulator.server import Emulator
from hm_tui.ui.widgets.key_footer import KeyFooter
from tests.helpers import wait_for
from tests.ui.app_support import loaded, make_app


class Pane(Widget, can_focus=True):
    BINDINGS: ClassVar = [Binding("x", "app.bell", "Ex")]


class OtherPane(Widget, can_focus=True):
    BINDINGS: ClassVar = [Binding("y", "app.bell", "Why")]


class Panes(App[None]):
    def __init__(self, footer: type[Footer] = KeyFooter) -> None:
        super().__init__()
        self.footer = footer

    def compose(self) -> ComposeResult:
        yield Pane(id="a")
        yield Pane(id="b")
        yield OtherPane(id="c")
        yield self.footer()


def shown_keys(app: App[None]) -> list[FooterKey]:
    return list(app.query_one(Footer).query(FooterKey))


async def rebuilt_when_focus_moves_to_a_twin(footer: type[Footer]) -> bool:
    """Focus moves between two panes with the same keys: is the footer built anew?"""
    app = Panes(footer)
    async with app.run_test() as pilot:
        await wait_for(lambda: any(key.key == "x" for key in shown_keys(app)))
        before = shown_keys(app)
        app.query_one("#b").focus()
        await wait_for(lambda: app.focused is app.query_one("#b"))
        for _ in range(3):
            await pilot.pause()
        return shown_keys(app) != before


async def test_a_focus_change_that_keeps_the_keys_does_not_rebuild_the_footer() -> None:
    assert await rebuilt_when_focus_moves_to_a_twin(Footer)  # Textual's own does (20-40 ms)
    assert not await rebuilt_when_focus_moves_to_a_twin(KeyFooter)


async def test_the_footer_follows_a_focus_change_that_changes_the_keys() -> None:
    app = Panes()
    async with app.run_test():
        await wait_for(lambda: any(key.key == "x" for key in shown_keys(app)))
        app.query_one("#c").focus()
        await wait_for(lambda: any(key.key == "y" for key in shown_keys(app)))
        assert not any(key.key == "x" for key in shown_keys(app))


async def test_the_app_turns_the_collector_back_on_once_its_roster_is_shown(
    emulator: Emulator,
) -> None:
    gc.disable()  # as `hm-tui` does for start-up (cli/dashboard.py `fast_start`)
    try:
        app = make_app(emulator)
        async with app.run_test(size=(80, 24)):
            await loaded(app, emulator)
            await wait_for(gc.isenabled, message="the collector to be back on")
    finally:
        gc.enable()
