"""The feed panel on the real thing: the emulator publishes over mutual-TLS MQTT, FeedClient
receives, the panel drains and shows it; a line opens its VIN."""

from __future__ import annotations

from collections.abc import Awaitable, Callable
from typing import Any

from hm_tui.service.config.profiles import profile_from_credentials
from hm_tui.service.feed.client import FeedClient
from hm_tui.ui.widgets.feed_panel import FeedPanel
from tests.helpers import wait_for
from tests.ui.screens_support import ScreenHost


async def test_panel_shows_data_published_by_the_emulator(
    emulator_factory: Callable[..., Awaitable[Any]],
) -> None:
    emu = await emulator_factory(speed=120.0)  # reports every 60 virtual s: ~0.5 s real
    profile = profile_from_credentials(emu.credentials, "test")
    assert profile.mqtt is not None
    feed = FeedClient(profile.mqtt, profile.environment, profile.app_id)
    feed.start()
    try:
        panel = FeedPanel(feed)
        app = ScreenHost(widget=panel)
        async with app.run_test(size=(100, 24)) as pilot:
            await wait_for(lambda: panel.log_widget.line_count >= 20, timeout=20)
            await wait_for(lambda: "connected" in panel.status_text())
            first = panel.shown[0]
            assert first.vin in panel.log_widget.lines[0]
            assert first.key in panel.log_widget.lines[0]
            assert " messages" in panel.status_text()
            panel.log_widget.focus()
            await pilot.press("home", "up", "o")
            await wait_for(lambda: app.messages)
            assert app.messages[0].vin in {p.vin for p in panel.shown}
    finally:
        feed.stop()
