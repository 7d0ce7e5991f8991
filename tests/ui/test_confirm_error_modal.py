"""The error modal: the message is shown literally and must be acknowledged."""

from __future__ import annotations

from textual.widgets import Static

from hm_tui.ui.screens.error import ErrorModal
from tests.helpers import wait_for
from tests.ui.screens_support import ScreenHost, plain


async def test_error_text_is_literal_and_enter_acknowledges() -> None:
    app = ScreenHost(
        lambda: ErrorModal(
            "Refresh [b]failed[/b]", "The platform said [red]no[/]\x1b[2J\nsecond line"
        )
    )
    async with app.run_test(size=(80, 24)) as pilot:
        await pilot.pause()
        assert plain(app.screen.query_one("#error-title", Static)) == "Refresh [b]failed[/b]"
        message = plain(app.screen.query_one("#error-message", Static))
        assert message == "The platform said [red]no[/]\nsecond line"
        await pilot.press("c")
        assert app.clipboard_copies and "second line" in app.clipboard_copies[0]
        await pilot.press("enter")
        await wait_for(lambda: app.results == [None])
