"""The feed panel's layout and truth: it follows its tail through resizes, keeps VIN, property,
age and value on a narrow terminal, its ages tick (the detail's too), backlog lines read "queued"
(dimmed), and its status line warns of a stall (judged by the service's own FeedWatch) and
clears."""

from __future__ import annotations

import dataclasses

from hm_tui.ui.screens.detail import DetailScreen
from hm_tui.ui.screens.payload import PayloadScreen
from hm_tui.ui.widgets.datapoints import DataPointsView
from hm_tui.ui.widgets.feed_lines import KEY_MIN, feed_line, fit_key
from tests.helpers import wait_for
from tests.ui.screens_support import (
    BufferFeed,
    RosterSession,
    ScreenHost,
    clearance,
    plain,
    point,
)
from tests.ui.test_feed_panel import VINS, burst, panel_app, status


async def test_a_resize_keeps_following_the_tail_until_the_reader_scrolls_up() -> None:
    feed = BufferFeed()
    app, panel = panel_app(feed)
    async with app.run_test(size=(200, 50)) as pilot:
        log = panel.log_widget
        feed.push(burst(400))
        await wait_for(lambda: log.line_count == 400 and log.is_vertical_scroll_end)
        for size in ((80, 24), (60, 20), (120, 40), (80, 24)):
            await pilot.resize_terminal(*size)
            await wait_for(lambda size=size: app.size == size)
            await pilot.pause()
            feed.push(burst(30, start=log.line_count))
            count = log.line_count + 30
            await wait_for(lambda count=count: log.line_count == count)
            await pilot.pause()
            assert log.is_vertical_scroll_end, size
            assert "new (End)" not in status(panel)
        log.focus()
        await pilot.press("pageup")
        await wait_for(lambda: not log.is_vertical_scroll_end)
        top = log.scroll_offset.y
        await pilot.resize_terminal(100, 30)
        await wait_for(lambda: app.size == (100, 30))
        feed.push(burst(20, start=log.line_count))
        await wait_for(lambda: "+20 new (End)" in status(panel))
        assert log.scroll_offset.y <= top + 1  # the reader stays where they were


async def test_a_narrow_terminal_keeps_vin_property_age_and_value() -> None:
    feed = BufferFeed()
    app, panel = panel_app(feed)
    async with app.run_test(size=(60, 20)):
        log = panel.log_widget
        feed.push([point(VINS[0], "diagnostics", "odometer", 12345.6, "kilometers", age_s=90)])
        await wait_for(lambda: log.line_count == 1)
        width = log.scrollable_content_region.width
        [line] = [log.line_for(p) for p in panel.shown]
        seen = line[:width]  # what the screen shows of it
        assert VINS[0] in seen and "odometer" in seen and " 1m " in seen and "12,345.6 km" in seen
        assert ":" not in seen.split()[0]  # the received time went first
    assert fit_key("diagnostics.odometer", 15) == "diagn….odometer"
    assert fit_key("charging.estimated_range_something_long", KEY_MIN) == "estimated_r…"
    assert fit_key("doors.locks", 28) == "doors.locks"


async def test_ages_tick_on_visible_lines_without_new_data() -> None:
    feed = BufferFeed()
    app, panel = panel_app(feed)
    async with app.run_test(size=(100, 20)):
        log = panel.log_widget
        feed.push([point(VINS[0], age_s=5)])
        await wait_for(lambda: log.line_count == 1)
        assert " 5s " in log.render_line(0).text  # the line as drawn
        await wait_for(lambda: " 5s " not in log.render_line(0).text, 5, message="a tick")
        assert any(f" {n}s " in log.render_line(0).text for n in range(6, 12))


async def test_backlog_points_read_queued_and_are_dimmed() -> None:
    feed = BufferFeed()
    app, panel = panel_app(feed)
    async with app.run_test(size=(100, 20)):
        log = panel.log_widget
        queued = dataclasses.replace(point(VINS[0], age_s=60), replayed=True)
        feed.push([queued, point(VINS[1])])
        await wait_for(lambda: log.line_count == 2)
        assert " queued " in log.line_for(queued) and " 1m " not in log.line_for(queued)
        dim = log.line_style(queued)
        assert dim is not None and (dim.dim or dim.color is not None)
        assert log.line_style(panel.shown[1]) is None
        await wait_for(lambda: "1 queued" in status(panel))
        assert '"replayed": true' in PayloadScreen(queued).text  # Enter shows it too


async def test_the_status_line_warns_of_a_stall_and_clears_when_data_returns() -> None:
    feed = BufferFeed(stall_floor=1.0)
    app, panel = panel_app(feed)
    async with app.run_test(size=(100, 20)):
        for start in range(0, 80, 10):  # a quick cadence: the floor decides
            feed.push(burst(10, start))
            await wait_for(lambda start=start: panel.log_widget.line_count == start + 10)
        bar = panel.query_one("#feed-status")
        await wait_for(lambda: "STALLED: no data for" in status(panel), 15)
        window = int(feed.health().stall_after_s)  # the floor, or 4 gaps of a slow moment
        assert bar.has_class("-warning") and f"(stall after {window}s)" in status(panel)
        feed.push(burst(1, 100))
        await wait_for(lambda: status(panel).startswith("● connected · last"), 5)
        assert not bar.has_class("-warning")
        feed.state.status, feed.state.last_error = "retrying", "connection refused"
        await wait_for(lambda: bar.has_class("-error"), 5)
        assert status(panel).startswith("✖ not connected: connection refused")


def test_a_line_at_any_width_is_the_full_form_without_a_width() -> None:
    full = feed_line(point(VINS[0]))
    assert full[2] == ":" and VINS[0] in full  # starts with the received time


async def test_the_detail_screens_data_ages_tick_too() -> None:
    vin = "WBA3A5C51CF256985"
    feed = BufferFeed()
    feed.push([point(vin, "diagnostics", "odometer", 12000, "kilometers", age_s=20)])
    session = RosterSession.of(clearance(vin, "approved"), feed=feed)
    app = ScreenHost(lambda: DetailScreen(session, vin))

    def odometer() -> str:
        shown = plain(app.screen.query_one(DataPointsView))
        return next(line for line in shown.splitlines() if "odometer" in line)

    async with app.run_test(size=(80, 24)):
        await wait_for(lambda: "20s ago" in odometer())
        await wait_for(lambda: "20s ago" not in odometer(), 5, message="the age moved on")
        assert any(f"{n}s ago" in odometer() for n in range(21, 27))
