"""The campaign summary screen: `g` on the roster (or the palette) sums up what the roster shows;
its counts match the emulator's own; Escape goes back."""

from __future__ import annotations

from typing import Any

from hm_tui.emulator.server import Emulator
from hm_tui.ui.screens.summary import SummaryScreen, _Run
from tests.helpers import wait_for
from tests.service.platform_helpers import Control
from tests.ui.app_support import force, loaded, make_app, open_palette
from tests.ui.test_typeahead import burst


async def test_g_sums_up_the_fleet_as_the_emulator_counts_it(emulator: Emulator) -> None:
    app = make_app(emulator)
    async with app.run_test(size=(80, 24)) as pilot:
        await loaded(app, emulator)
        for vin in sorted(emulator.state.clearances)[:3]:
            await force(emulator, vin, "rejected", "privacy mode is enabled")
        await pilot.press("r")
        await wait_for(
            lambda: app.session.roster.counts == emulator.state.counts(),
            message="the roster to catch up",
        )
        await pilot.press("g")
        await wait_for(
            lambda: isinstance(app.screen, SummaryScreen) and app.screen.summary is not None,
            message="the summary",
        )
        summary = app.screen.summary
        stats = await Control(emulator).stats()
        assert summary.by_status == stats["clearances"]
        assert summary.table == {
            brand: counts
            for brand, counts in sorted(
                stats["clearances_by_brand"].items(), key=lambda b: (-sum(b[1].values()), b[0])
            )
        }
        privacy = next(g for g in summary.rejections if g.reason == "privacy mode is enabled")
        assert privacy.count == stats["rejected_by_reason"]["privacy mode is enabled"]
        progress = str(app.screen.query_one("#summary-progress").render())
        assert f"{summary.decided} of {summary.total} decided" in progress
        await pilot.press("escape")
        await wait_for(lambda: app.screen is app.roster_screen, message="back to the roster")


async def test_the_summary_follows_the_filter(emulator: Emulator) -> None:
    app = make_app(emulator)
    async with app.run_test(size=(80, 24)) as pilot:
        await loaded(app, emulator)
        await pilot.press("slash", *"2hm", "enter")
        await wait_for(lambda: len(app.session.roster.visible) == 3, message="the filter")
        await open_palette(app, pilot, "campaign summary: what")
        await pilot.press("enter")
        await wait_for(
            lambda: isinstance(app.screen, SummaryScreen) and app.screen.summary is not None,
            message="the summary",
        )
        assert app.screen.summary.total == 3
        assert "2hm" in str(app.screen.query_one("#summary-title").render())


def test_the_screen_names_the_charts_steps_and_rounds_the_share_down() -> None:
    """The sparklines stretch over the screen's width: the text names the steps' length (it
    said '24 columns' under a 59-cell chart); 315 of 316 is 99%, the bar not yet full."""
    from hm_tui.domain.campaign import Car, summarise
    from hm_tui.ui.screens.summary import progress_text, timeline_text

    day, t0 = 86400.0, 1.7e9
    cars = [
        Car(f"A{n}", "bmw", "approved", None, t0 + day, ((t0, "pending"), (t0 + day, "approved")))
        for n in range(315)
    ]
    cars.append(Car("P", "bmw", "pending", None, t0 + day, ((t0 + day, "pending"),)))
    s = summarise(cars, t0 + 24 * day)
    text = progress_text(s).plain
    assert "315 of 316 decided (99%)" in text and "░" in text
    steps = timeline_text(s)
    assert "columns" not in steps and "24 steps of 1d00h" in steps
    assert progress_text(summarise([], t0)).plain.startswith("No clearances here")


async def test_closing_the_summary_stops_its_computation_and_reopening_does_not_stack_them(
    emulator_factory: Any,
) -> None:
    """`g` then Escape, three times in one burst, on a fleet whose sums take a while: each
    summary's computation is told to stop when its screen closes, none goes on in its thread
    afterwards, and the summary opened last counts the whole fleet."""
    emulator = await emulator_factory(fleet=20_000)
    app = make_app(emulator)
    async with app.run_test(size=(80, 24)) as pilot:
        await loaded(app, emulator, timeout=60)
        closed: list[SummaryScreen] = []

        def note_screen(screen: Any) -> None:
            if isinstance(screen, SummaryScreen) and screen not in closed:
                closed.append(screen)

        app.screen_change_signal.subscribe(app, note_screen, immediate=True)
        burst(app, "g", "escape", "g", "escape", "g", "escape")
        await wait_for(
            lambda: len(closed) == 3 and app.screen is app.roster_screen,
            30,
            message="three summaries opened and closed",
        )
        await wait_for(
            lambda: all(s._run.stopped for s in closed) and _Run.running == 0,
            30,
            message=f"every computation stopped ({_Run.running} still running)",
        )
        assert all(s.summary is None for s in closed)  # none finished behind a closed screen
        await pilot.press("g")
        await wait_for(
            lambda: isinstance(app.screen, SummaryScreen) and app.screen.summary is not None,
            60,
            message="the summary opened last, counted",
        )
        assert app.screen.summary.total == len(emulator.state.clearances)
        assert not app.screen._run.stopped
