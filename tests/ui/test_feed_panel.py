"""The live feed panel: batched writes, tail and "+N new", pause, filter, payload, inert text."""

from __future__ import annotations

import dataclasses
import json
import re
import threading
from typing import Any

from textual.widgets import Input, Static

from hm_tui.ui.screens.payload import PayloadScreen
from hm_tui.ui.widgets import feed_panel
from hm_tui.ui.widgets.feed_panel import FeedLog, FeedPanel
from tests.helpers import wait_for
from tests.ui.screens_support import BufferFeed, ScreenHost, plain, point

VINS = [f"WBA00000000{n:06d}" for n in range(10)]


def panel_app(feed: BufferFeed, max_lines: int = 5000) -> tuple[ScreenHost, FeedPanel]:
    panel = FeedPanel(feed, max_lines=max_lines)
    return ScreenHost(widget=panel), panel


async def scrolled_up(pilot: Any, panel: FeedPanel, feed: BufferFeed, lines: int) -> FeedLog:
    """`lines` points shown, the log following its tail; then one page up (no longer following)."""
    log = panel.log_widget
    log.focus()
    feed.push(burst(lines))
    await wait_for(lambda: log.line_count == lines)
    await pilot.pause()
    assert log.is_vertical_scroll_end
    await pilot.press("pageup")
    await wait_for(lambda: not log.is_vertical_scroll_end)
    return log


def status(panel: FeedPanel) -> str:
    return plain(panel.query_one("#feed-status", Static))


def burst(n: int, start: int = 0) -> list[Any]:
    return [point(VINS[i % len(VINS)], value=(i % 100) / 100) for i in range(start, start + n)]


async def test_a_burst_is_appended_as_one_batch_and_only_visible_lines_are_formatted(
    monkeypatch: Any,
) -> None:
    feed = BufferFeed()
    app, panel = panel_app(feed)
    formatted: list[str] = []

    def counting(point: Any) -> str:
        line = feed_panel.feed_line(point)
        formatted.append(line)
        return line

    async with app.run_test(size=(120, 30)) as pilot:
        log = panel.log_widget
        monkeypatch.setattr(log, "format_line", counting)
        batches: list[int] = []
        original = log.appended

        def recording(pruned: int, *, follow: bool) -> None:
            batches.append(len(log.ring))
            original(pruned, follow=follow)

        monkeypatch.setattr(log, "appended", recording)
        feed.push(burst(3000))
        await wait_for(lambda: log.line_count == 3000, timeout=5)
        await pilot.pause()
        assert batches == [3000]  # one append, one repaint for the whole burst
        assert "3,000 messages" in status(panel)
        assert 0 < len(formatted) <= log.size.height  # the tail on screen, nothing more
        assert formatted[-1] == feed_panel.feed_line(panel.shown[-1])


async def test_lines_show_vin_property_value_with_unit_and_age() -> None:
    feed = BufferFeed()
    app, panel = panel_app(feed)
    async with app.run_test(size=(120, 30)):
        feed.push(
            [
                point(VINS[0], "diagnostics", "odometer", 12345.6, "kilometers", age_s=90),
                point(VINS[1], "charging", "battery_level", 0.53),
            ]
        )
        await wait_for(lambda: panel.log_widget.line_count == 2)
        first, second = panel.log_widget.lines
        assert VINS[0] in first and "diagnostics.odometer" in first
        assert "12,345.6 km" in first and " 1m " in first  # the data's age, now
        assert "charging.battery_level" in second and "53 %" in second


def test_a_point_without_a_timestamp_says_its_age_is_unknown() -> None:
    untimed = dataclasses.replace(point(VINS[0]), timestamp=None)
    assert "no time" in feed_panel.feed_line(untimed)
    assert " now " in feed_panel.feed_line(point(VINS[0], age_s=0.2))


async def test_a_long_value_never_pushes_the_age_off_the_line() -> None:
    feed = BufferFeed()
    app, panel = panel_app(feed)
    locks = [
        {"location": door, "lock_state": "locked"}
        for door in ("front_left", "front_right", "rear_right", "rear_left")
    ]
    async with app.run_test(size=(80, 24)):
        feed.push([point(VINS[0], "doors", "locks", locks, age_s=90)])
        await wait_for(lambda: panel.log_widget.line_count == 1)
        [line] = panel.log_widget.lines
        assert line.index(" 1m ") < line.index("front_left") < 80  # both within 80 columns


async def test_tail_is_followed_until_scrolled_up_then_plus_n_new_until_end() -> None:
    feed = BufferFeed()
    app, panel = panel_app(feed)
    async with app.run_test(size=(100, 20)) as pilot:
        log = await scrolled_up(pilot, panel, feed, 200)
        top = log.scroll_offset.y
        feed.push(burst(50, start=200))
        await wait_for(lambda: "+50 new (End)" in status(panel))
        assert log.scroll_offset.y == top  # the reader's place is kept
        await pilot.press("end")
        await wait_for(lambda: "new (End)" not in status(panel))
        assert log.is_vertical_scroll_end
        feed.push(burst(10, start=250))
        await wait_for(lambda: log.line_count == 260)
        await pilot.pause()
        assert log.is_vertical_scroll_end


async def test_pause_counts_arrivals_and_resume_writes_the_backlog() -> None:
    feed = BufferFeed()
    app, panel = panel_app(feed)
    async with app.run_test(size=(100, 20)) as pilot:
        panel.log_widget.focus()
        feed.push(burst(5))
        await wait_for(lambda: panel.log_widget.line_count == 5)
        await pilot.press("p")
        feed.push(burst(40, start=5))
        await wait_for(lambda: "PAUSED: 40 waiting" in status(panel))
        assert panel.log_widget.line_count == 5
        await pilot.press("p")
        await wait_for(lambda: panel.log_widget.line_count == 45)
        assert "PAUSED" not in status(panel)


async def test_filter_by_vin_or_capability_rewrites_and_filters_new_lines() -> None:
    feed = BufferFeed()
    app, panel = panel_app(feed)
    async with app.run_test(size=(100, 20)) as pilot:
        feed.push([*burst(100), point(VINS[3], "doors", "locks_state", "locked")])
        await wait_for(lambda: panel.log_widget.line_count == 101)
        panel.log_widget.focus()
        await pilot.press("slash")
        await pilot.press(*VINS[3][-6:])
        await wait_for(lambda: panel.log_widget.line_count == 11)
        assert all(VINS[3] in line for line in panel.log_widget.lines)
        panel.query_one("#feed-filter", Input).value = "doors"
        await wait_for(lambda: panel.log_widget.line_count == 1)
        feed.push([point(VINS[5], "doors", "locks_state", "unlocked"), *burst(20)])
        await wait_for(lambda: panel.log_widget.line_count == 2)
        await pilot.press("escape")
        await wait_for(lambda: panel.log_widget.line_count == 122)


async def test_enter_shows_the_payload_and_o_opens_the_vin() -> None:
    feed = BufferFeed()
    app, panel = panel_app(feed)
    async with app.run_test(size=(100, 24)) as pilot:
        feed.push(
            [
                point(VINS[1], "diagnostics", "odometer", 1000, "kilometers"),
                point(VINS[2], "charging", "battery_level", 0.8),
            ]
        )
        await wait_for(lambda: panel.log_widget.line_count == 2)
        panel.log_widget.focus()
        await pilot.press("up", "up", "enter")
        await wait_for(lambda: isinstance(app.screen, PayloadScreen))
        payload = json.loads(plain(app.screen.query_one("#payload-json", Static)))
        assert payload["vin"] == VINS[1] and payload["data"] == 1000
        assert payload["unit"] == "kilometers"
        await pilot.press("o")
        await wait_for(lambda: app.messages)
        assert app.messages[0].vin == VINS[1]
        assert not isinstance(app.screen, PayloadScreen)
        await pilot.press("down", "o")
        await wait_for(lambda: len(app.messages) == 2)
        assert app.messages[1].vin == VINS[2]


async def test_untrusted_payload_text_is_inert_in_log_and_payload_view() -> None:
    feed = BufferFeed()
    app, panel = panel_app(feed)
    evil = "[red]boom[/]\x1b[2J\x1b]52;c;Zm9v\x07\u2028next\x9b"
    async with app.run_test(size=(100, 24)) as pilot:
        feed.push([point(VINS[0], "trip", "note", evil)])
        await wait_for(lambda: panel.log_widget.line_count == 1)
        (line,) = panel.log_widget.lines
        assert "[red]boom[/] next" in line  # (U+2028 is a line break: a space on one line)
        assert not any(ord(c) < 32 or 0x7F <= ord(c) <= 0x9F for c in line)
        panel.log_widget.focus()
        await pilot.press("enter")
        await wait_for(lambda: isinstance(app.screen, PayloadScreen))
        shown = plain(app.screen.query_one("#payload-json", Static))
        assert "\x1b" not in shown and "\x07" not in shown
        assert "[red]boom[/]" in shown


async def test_the_log_is_bounded_and_lines_stay_paired_with_their_points() -> None:
    feed = BufferFeed()
    app, panel = panel_app(feed, max_lines=100)
    async with app.run_test(size=(100, 20)) as pilot:
        for start in range(0, 250, 50):
            feed.push(burst(50, start=start))
            await wait_for(lambda s=start: feed.drains and not feed.buffer)
        await wait_for(lambda: len(panel.shown) == 100 and panel.log_widget.line_count == 100)
        last = panel.shown[-1]
        assert last.vin in panel.log_widget.lines[-1]
        panel.log_widget.focus()
        await pilot.press("enter")
        await wait_for(lambda: isinstance(app.screen, PayloadScreen))
        assert app.screen.point is last


async def test_without_a_feed_the_panel_says_why() -> None:
    panel = FeedPanel(None)
    app = ScreenHost(widget=panel)
    async with app.run_test(size=(80, 24)) as pilot:
        await pilot.pause()
        assert "no MQTT settings" in status(panel)
        assert isinstance(panel.log_widget, FeedLog)


async def test_a_burst_bigger_than_one_drain_is_shown_over_several_ticks_losing_nothing() -> None:
    feed = BufferFeed()
    total = feed_panel.DRAIN_MAX * 2 + 7
    app, panel = panel_app(feed, max_lines=total)
    sizes: list[int] = []
    drain = feed.drain

    def recording(max_items: int = 5000) -> list[Any]:
        batch = drain(max_items)
        sizes.append(len(batch))
        return batch

    feed.drain = recording  # type: ignore[method-assign]
    async with app.run_test(size=(100, 20)):
        feed.push(burst(total))
        await wait_for(lambda: panel.log_widget.line_count == total, timeout=10)
        assert max(sizes) == feed_panel.DRAIN_MAX  # bounded per tick: a burst can't stall
        assert [s for s in sizes if s][:3] == [feed_panel.DRAIN_MAX, feed_panel.DRAIN_MAX, 7]
        assert f"{total:,} points shown" in status(panel)


async def test_when_the_ring_drops_old_lines_the_reader_keeps_reading_the_same_points() -> None:
    feed = BufferFeed()
    app, panel = panel_app(feed, max_lines=100)
    async with app.run_test(size=(100, 20)) as pilot:
        log = await scrolled_up(pilot, panel, feed, 100)
        await pilot.press("up")  # a cursor line too
        top, cursor = log.scroll_offset.y, log.cursor
        assert cursor is not None and top >= 30
        top_point, cursor_point = panel.shown[top], panel.shown[cursor]
        feed.push(burst(30, start=100))
        await wait_for(lambda: "+30 new (End)" in status(panel))
        assert log.line_count == 100  # bounded: the 30 oldest went
        assert panel.shown[log.scroll_offset.y] is top_point
        assert log.cursor is not None and panel.shown[log.cursor] is cursor_point
        await pilot.press("enter")
        await wait_for(lambda: isinstance(app.screen, PayloadScreen))
        assert app.screen.point is cursor_point


async def test_points_dropped_while_the_panel_is_open_are_reported_not_lost_silently() -> None:
    feed = BufferFeed()
    feed.state.dropped = 500  # type: ignore[attr-defined]  # while closed: by design, not said
    app, panel = panel_app(feed)
    async with app.run_test(size=(120, 20)):
        feed.push(burst(3))
        await wait_for(lambda: panel.log_widget.line_count == 3)
        assert "DROPPED" not in status(panel)
        feed.state.dropped = 1734  # type: ignore[attr-defined]
        feed.push(burst(3))
        await wait_for(lambda: "DROPPED 1,234" in status(panel))


async def test_what_needs_attention_comes_first_in_the_status_line_at_80_columns() -> None:
    feed = BufferFeed()
    feed.state.status, feed.state.last_error = "retrying", "connection refused"
    feed.state.received, feed.state.duplicates = 123456, 7890
    app, panel = panel_app(feed)
    async with app.run_test(size=(80, 20)):
        feed.push(burst(3))
        await wait_for(lambda: panel.log_widget.line_count == 3)
        feed.state.dropped = 1234  # type: ignore[attr-defined]
        feed.push(burst(3))
        await wait_for(lambda: "DROPPED" in status(panel))
        seen = status(panel)[:78]  # what an 80-column terminal shows of it
        assert "connection refused" in seen and "DROPPED 1,234" in seen
        assert seen.index("connection refused") < seen.index("msg/s")
        feed.state.status, feed.state.last_error, feed.state.dropped = "connected", None, 0
        feed.state.rate = 5000.0  # type: ignore[attr-defined]
        feed.state.received, feed.state.duplicates = 1_234_564, 779  # + the 3 pushed
        feed.push(burst(3))
        await wait_for(lambda: "1,234,567" in status(panel))
        assert len(status(panel)) <= 78 and status(panel).startswith("● connected · last ")
        panel.paused, panel.waiting, panel.unseen = True, 198, 3753
        feed.push(burst(3))
        await wait_for(lambda: "PAUSED" in status(panel))
        width = panel.query_one("#feed-status").size.width
        assert len(status(panel)) <= width and "msg/s" in status(panel)  # counters left out
        last = status(panel).split(" · ")[-1]  # a whole part, never one cut in half
        assert re.fullmatch(r"[\d,.]+ (msg/s|messages|points shown)|(bad|dup) [\d,]+", last), last


async def test_lines_wider_than_the_view_scroll_sideways_and_the_tail_is_still_followed() -> None:
    feed = BufferFeed()
    app, panel = panel_app(feed)
    address = "a long street name, a house number, a postcode and a city"
    async with app.run_test(size=(60, 20)) as pilot:
        log = panel.log_widget
        feed.push([point(VINS[i % 10], "trips", "address", address) for i in range(40)])
        await wait_for(lambda: log.virtual_size.width > log.scrollable_content_region.width)
        await pilot.pause()
        assert log.is_vertical_scroll_end
        assert log.virtual_size.height == 40


async def test_points_are_drained_when_they_arrive_not_at_the_next_tick(monkeypatch: Any) -> None:
    monkeypatch.setattr(feed_panel, "DRAIN_EVERY", 3600.0)  # the timer alone would never drain
    feed = BufferFeed()
    app, panel = panel_app(feed)
    async with app.run_test(size=(120, 30)):
        feed.push(burst(5))
        # the app calls this on the session's FeedDataArrived, from the feed's reader thread
        waker = threading.Thread(target=panel.data_arrived)
        waker.start()
        waker.join()
        await wait_for(lambda: panel.log_widget.line_count == 5, timeout=5)


async def test_the_feed_filter_shows_apply_and_clear_in_the_footer_and_both_work() -> None:
    feed = BufferFeed()
    app, panel = panel_app(feed)
    async with app.run_test(size=(80, 24)) as pilot:
        feed.push([point(VINS[0]), point(VINS[1])])
        await wait_for(lambda: panel.log_widget.line_count == 2)
        panel.action_focus_filter()
        await pilot.press(*VINS[0].lower())
        await wait_for(lambda: panel.log_widget.line_count == 1)
        shown = {b.description for _, b, _, _ in app.screen.active_bindings.values() if b.show}
        assert {"Apply", "Clear"} <= shown  # what the footer lists
        await pilot.press("escape")
        await wait_for(lambda: panel.log_widget.has_focus and panel.log_widget.line_count == 2)
        panel.action_focus_filter()
        await pilot.press("x", "enter")
        await wait_for(lambda: panel.log_widget.has_focus)
        assert panel.needle == "x"
