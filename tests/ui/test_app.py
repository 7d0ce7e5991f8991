"""The dashboard driven with Pilot: real app, real Session, real emulator on loopback."""

from __future__ import annotations

from textual import events
from textual.command import CommandPalette

from hm_tui.emulator.server import Emulator
from hm_tui.ui.app import HmTuiApp
from hm_tui.ui.screens.detail import DetailScreen
from hm_tui.ui.screens.help import HelpScreen
from hm_tui.ui.toasts import REJECTION_TOASTS
from hm_tui.ui.widgets.filter_bar import FilterBar
from hm_tui.ui.widgets.header import header_content
from hm_tui.ui.widgets.key_footer import PALETTE_CELLS, key_cells
from hm_tui.ui.widgets.roster_table import RosterTable
from tests.helpers import wait_for
from tests.ui.app_support import force, loaded, make_app, notifications, open_palette


async def test_the_roster_loads_every_clearance_of_the_fleet(emulator: Emulator) -> None:
    app = make_app(emulator)
    async with app.run_test(size=(80, 24)):
        await loaded(app, emulator)
        counts = app.roster_screen.summary.counts
        assert sum(counts.values()) == len(emulator.state.clearances)
        assert app.header_state().api == "ok"


async def test_slash_filters_live_enter_moves_to_the_table_escape_clears(
    emulator: Emulator,
) -> None:
    app = make_app(emulator)
    async with app.run_test(size=(80, 24)) as pilot:
        await loaded(app, emulator)
        roster = app.session.roster
        vin = roster.visible[5]
        await pilot.press("slash", *vin[-6:].lower())
        assert isinstance(app.focused.parent, FilterBar)
        assert list(roster.visible) == [vin]  # live and case-insensitive
        await pilot.press("enter")
        assert isinstance(app.focused, RosterTable)
        assert app.roster_screen.table.cursor_vin == vin
        await pilot.press("slash", "escape")
        assert len(roster.visible) == len(emulator.state.clearances)
        assert isinstance(app.focused, RosterTable)


async def test_keys_typed_right_after_slash_all_reach_the_filter(emulator: Emulator) -> None:
    """A fast typist (or a paste, or tmux send-keys) queues `/` and the query together: none of
    the query's letters may act as table keys (c copies, r refreshes, j moves the cursor)."""
    app = make_app(emulator)
    async with app.run_test(size=(80, 24)) as pilot:
        await loaded(app, emulator)
        for key in ("slash", *"rejected"):  # queued at once, as the terminal driver does
            event = events.Key(key, "/" if key == "slash" else key)
            event.set_sender(app)
            app._driver.send_message(event)
        await wait_for(
            lambda: app.roster_screen.filter_bar.value == "rejected",
            message="the whole query in the filter",
        )
        assert isinstance(app.focused.parent, FilterBar)
        assert notifications(app) == []  # no "Copied ..." from the c of "rejected"
        await pilot.pause()


async def test_number_keys_show_one_status_and_zero_shows_all(emulator: Emulator) -> None:
    app = make_app(emulator)
    async with app.run_test(size=(80, 24)) as pilot:
        await loaded(app, emulator)
        roster = app.session.roster
        await pilot.press("2")
        assert roster.visible and {roster.entry(v).status for v in roster.visible} == {"approved"}
        assert app.roster_screen.summary.active == "approved"
        await pilot.press("0")
        assert len(roster.visible) == len(emulator.state.clearances)


async def test_s_cycles_the_sort_column_S_reverses_and_the_header_says_so(
    emulator: Emulator,
) -> None:
    app = make_app(emulator)
    async with app.run_test(size=(120, 40)) as pilot:
        await loaded(app, emulator)
        await pilot.press("s")
        assert app.session.roster.sort == ("brand", False)
        assert "sort Brand ▲" in header_content(app.header_state()).plain
        await pilot.press("S")
        assert app.session.roster.sort == ("brand", True)
        brands = [app.session.roster.entry(v).brand for v in app.session.roster.visible]
        assert brands == sorted(brands, reverse=True)
        assert "Brand ▼" in app.roster_screen.table.render_line(0).text


async def test_r_refreshes_and_a_rejection_is_announced_with_its_reason_literally(
    emulator: Emulator,
) -> None:
    app = make_app(emulator)
    async with app.run_test(size=(80, 24)) as pilot:
        await loaded(app, emulator)
        vin = next(
            v for v in app.session.roster.visible if app.session.roster.entry(v).status == "pending"
        )
        await force(emulator, vin, "rejected", "[bold red]boom[/] \x1b[31mred")
        await pilot.press("r")
        await wait_for(lambda: app.session.roster.entry(vin).status == "rejected", 10)
        message = await wait_for(lambda: next((n for n in notifications(app) if vin in n), None))
        assert "[bold red]boom[/] red" in message  # markup inert, escape removed
        assert "\x1b" not in message
        assert vin in app.roster_screen.table._flashes  # the changed row is highlighted


async def test_rejections_keep_one_toast_on_screen_counting_the_series(emulator: Emulator) -> None:
    app = make_app(emulator)
    async with app.run_test(size=(80, 24)) as pilot:
        await loaded(app, emulator)
        others = [
            v
            for v in app.session.roster.visible
            if app.session.roster.entry(v).status == "approved"
        ][:4]
        assert len(others) == 4
        for n, vin in enumerate(others[:3]):  # three in one refresh: one toast each, at once
            await force(emulator, vin, "rejected", f"reason {n}")
        await pilot.press("r")
        await wait_for(lambda: app.session.roster.entry(others[2]).status == "rejected", 10)
        await pilot.pause()

        def toasts() -> list[tuple[str, str]]:
            return [(n.title, n.message) for n in app._notifications if "reason" in n.message]

        assert len(toasts()) == REJECTION_TOASTS == 1  # the newest, counting all three
        [(title, message)] = toasts()
        assert title == "Rejected: 3 new (n lists them)"
        assert message in {f"{vin}: reason {n}" for n, vin in enumerate(others[:3])}
        await force(emulator, others[3], "rejected", "reason 3")  # and one more later
        await pilot.press("r")
        await wait_for(lambda: any("reason 3" in m for _, m in toasts()), 10)
        assert toasts() == [("Rejected: 4 new (n lists them)", f"{others[3]}: reason 3")]


async def test_read_only_refuses_add_and_remove_and_says_so(emulator: Emulator) -> None:
    app = make_app(emulator, read_only=True)
    async with app.run_test(size=(80, 24)) as pilot:
        await loaded(app, emulator)
        await pilot.press("a", "d")
        said = notifications(app)
        assert any("Read-only mode: adding VINs is disabled" in n for n in said)
        assert any("Read-only mode: cancel/revoke is disabled" in n for n in said)
        assert app.screen is app.roster_screen
        assert "READ-ONLY" in header_content(app.header_state()).plain


async def test_question_mark_lists_every_binding_with_its_id(emulator: Emulator) -> None:
    app = make_app(emulator)
    async with app.run_test(size=(80, 24)) as pilot:
        await loaded(app, emulator)
        await pilot.press("question_mark")
        assert isinstance(app.screen, HelpScreen)
        text = str(app.screen.query_one("#help-keys").render())
        detail_ids = [b.id for b in DetailScreen.BINDINGS if b.id]
        for binding_id in ("app.quit", "roster.filter", "roster.add", "roster.mark", *detail_ids):
            assert binding_id in text
        assert "DETAIL" in text
        await pilot.press("escape")
        assert app.screen is app.roster_screen


async def test_the_palette_sorts_by_a_column(emulator: Emulator) -> None:
    app = make_app(emulator)
    async with app.run_test(size=(80, 24)) as pilot:
        await loaded(app, emulator)
        await open_palette(app, pilot, "sort by status")
        assert isinstance(app.screen, CommandPalette)
        await pilot.press("enter")
        await wait_for(lambda: app.session.roster.sort == ("status", False))


async def test_the_palette_on_a_detail_acts_on_the_car_shown_not_the_roster_cursor(
    emulator: Emulator,
) -> None:
    from hm_tui.ui.screens.confirm import ConfirmRemovalScreen

    app = make_app(emulator)
    async with app.run_test(size=(80, 24)) as pilot:
        await loaded(app, emulator)
        shown = app.session.roster.visible[5]
        assert shown != app.roster_screen.table.cursor_vin
        app.open_detail(shown)
        await wait_for(lambda: isinstance(app.screen, DetailScreen))
        titles = [c.title for c in app.palette_commands(app.screen)]
        titles += [title for title, _, _ in app.screen.system_commands()]
        assert len(titles) == len(set(titles))  # one "Copy VIN", the detail's
        assert not any(t.startswith(("Sort by", "Filter", "Clear marks")) for t in titles)
        await open_palette(app, pilot, "cancel/revoke this")
        await pilot.press("enter")
        await wait_for(lambda: isinstance(app.screen, ConfirmRemovalScreen))
        assert [plan.vin for plan in app.screen.plans] == [shown]


async def test_enter_opens_the_detail_and_d_asks_to_confirm_naming_the_vins(
    emulator: Emulator,
) -> None:
    from hm_tui.ui.screens.confirm import ConfirmRemovalScreen

    app = make_app(emulator)
    async with app.run_test(size=(80, 24)) as pilot:
        await loaded(app, emulator)
        table = app.roster_screen.table
        await pilot.press("enter")
        assert isinstance(app.screen, DetailScreen) and app.screen.vin == table.cursor_vin
        await pilot.press("escape")
        first, second = app.session.roster.visible[:2]
        await pilot.press("space", "space", "d")
        assert isinstance(app.screen, ConfirmRemovalScreen)
        assert [plan.vin for plan in app.screen.plans] == sorted([first, second])


async def test_a_opens_the_add_dialog_and_the_palette_opens_it_on_the_csv_tab(
    emulator: Emulator,
) -> None:
    from textual.widgets import TabbedContent

    from hm_tui.ui.screens.add import AddScreen

    app = make_app(emulator)
    async with app.run_test(size=(80, 24)) as pilot:
        await loaded(app, emulator)
        await pilot.press("a")
        assert isinstance(app.screen, AddScreen)
        await pilot.press("escape")
        assert app.screen is app.roster_screen
        await open_palette(app, pilot, "import vins from a csv")
        await pilot.press("enter")
        await wait_for(lambda: isinstance(app.screen, AddScreen))
        assert app.screen.query_one(TabbedContent).active == "add-csv"


async def test_c_copies_the_vin_and_f_toggles_the_feed_panel(emulator: Emulator) -> None:
    app = make_app(emulator)
    async with app.run_test(size=(80, 24)) as pilot:
        await loaded(app, emulator)
        await pilot.press("c")
        assert app.clipboard == app.roster_screen.table.cursor_vin
        await pilot.press("f")
        panel = app.roster_screen.feed_panel
        assert panel is not None and panel.display
        await pilot.press("f")
        assert not panel.display


async def test_the_profile_keymap_remaps_by_binding_id(emulator: Emulator) -> None:
    app = make_app(emulator, keymap={"roster.sort_next": "o", "no.such.binding": "x"})
    async with app.run_test(size=(80, 24)) as pilot:
        await loaded(app, emulator)
        await pilot.press("o")
        assert app.session.roster.sort == ("brand", False)
        assert any("unknown binding id 'no.such.binding'" in n for n in notifications(app))


async def test_q_quits_and_stops_the_session(emulator: Emulator) -> None:
    app = make_app(emulator)
    async with app.run_test(size=(80, 24)) as pilot:
        await loaded(app, emulator)
        await pilot.press("q")
        await wait_for(lambda: not app.is_running)
    assert app.return_code == 0
    assert app.session is None  # stop_session ran and released it


async def test_an_unreachable_platform_is_a_notification_not_a_crash(emulator: Emulator) -> None:
    app = make_app(emulator, base_url="http://127.0.0.1:9/v1")
    async with app.run_test(size=(80, 24)):
        await wait_for(
            lambda: any(n.title == "Platform unreachable" for n in app._notifications), 20
        )
        assert app.is_running
        assert "Could not load the roster" in app.roster_screen.table.empty_message


def footer_keys(app: HmTuiApp) -> list[str]:
    return [key.description for key in app.screen.query("FooterKey")]


async def test_the_footer_shows_the_keys_that_work_where_the_focus_is(emulator: Emulator) -> None:
    app = make_app(emulator)
    async with app.run_test(size=(80, 24)) as pilot:
        await loaded(app, emulator)
        await wait_for(lambda: "Add" in footer_keys(app))
        await pilot.press("slash")
        await wait_for(lambda: "Apply" in footer_keys(app) and "Clear" in footer_keys(app))
        await pilot.press("escape", "question_mark")
        await wait_for(lambda: footer_keys(app) == ["Close"])  # the help's, not the roster's
        await pilot.press("escape", "2", "space", "d")  # a mark on an approved car: revocable
        await wait_for(lambda: "Yes, remove" in footer_keys(app))
        assert "Add" not in footer_keys(app)
        await pilot.press("escape", "f", "tab")  # the feed's log: many keys, 80 columns
        await wait_for(lambda: "Payload" in footer_keys(app))
        assert {"Help", "Quit"} <= set(footer_keys(app))
        keys = [k for k in app.screen.query("FooterKey") if not k.has_class("-command-palette")]
        assert sum(key_cells(key, compact=True) for key in keys) + PALETTE_CELLS <= 80


async def test_the_summary_counts_marks_even_when_the_filter_hides_their_rows(
    emulator: Emulator,
) -> None:
    app = make_app(emulator)
    async with app.run_test(size=(80, 24)) as pilot:
        await loaded(app, emulator)
        summary = app.roster_screen.summary

        def says(text: str) -> bool:
            return text in summary.render().plain

        await pilot.press("space", "space")
        await wait_for(lambda: says("● 2 marked"))
        await pilot.press("slash", *"no such vin", "enter")  # the marked rows are hidden
        await wait_for(lambda: len(app.session.roster.visible) == 0)
        assert says("● 2 marked")
        await pilot.press("escape", "2")  # a status filter: the bar is at its longest
        await wait_for(lambda: says("shown") or says("showing"))
        assert says("● 2 marked")
        assert summary.render().cell_length <= summary.scrollable_content_region.width
        await pilot.press("0", "escape")  # every status, then the marks
        await wait_for(lambda: not says("marked"))


async def test_the_detail_screen_keeps_the_header_with_profile_api_and_mqtt(
    emulator: Emulator,
) -> None:
    app = make_app(emulator)
    async with app.run_test(size=(80, 24)) as pilot:
        await loaded(app, emulator)
        await pilot.press("enter")
        await wait_for(lambda: isinstance(app.screen, DetailScreen))
        header = app.screen.query_one("#detail-header")
        await wait_for(lambda: "API ok" in header.render().plain)
        assert "test" in header.render().plain and "MQTT" in header.render().plain
        assert "sort" not in header.render().plain  # the roster's, not the detail's
        await wait_for(lambda: "Back" in footer_keys(app))
        assert "Feed" not in footer_keys(app)  # the feed panel is on the roster
        await pilot.press("escape")
        await wait_for(lambda: "Feed" in footer_keys(app))


async def test_time_in_state_counts_on_the_platforms_clock_not_ours(emulator: Emulator) -> None:
    from datetime import UTC, datetime, timedelta

    emulator.clock.advance(10 * 86400)  # an emulator at --speed: its clock runs far ahead
    app = make_app(emulator)
    app.clock = app._platform_now  # as `hm-tui` with a profile runs it (no clock injected)
    async with app.run_test(size=(80, 24)) as pilot:
        await loaded(app, emulator)
        await pilot.press("r")  # an answer's Date header tells the platform's time
        await wait_for(lambda: app.clock() - datetime.now(UTC) > timedelta(days=9))


async def test_rejections_wait_while_a_dialog_is_open_then_are_counted(emulator: Emulator) -> None:
    app = make_app(emulator)
    async with app.run_test(size=(80, 24)) as pilot:
        await loaded(app, emulator)
        first, second = [
            v
            for v in app.session.roster.visible
            if app.session.roster.entry(v).status == "approved"
        ][:2]
        await pilot.press("question_mark")  # a dialog: its buttons sit where toasts go
        await force(emulator, first, "rejected", "reason a")
        await app.session.refresh_now()
        await wait_for(lambda: app.session.roster.entry(first).status == "rejected", 10)
        await pilot.pause()
        assert not [n for n in app._notifications if "reason" in n.message]
        await pilot.press("escape")
        await force(emulator, second, "rejected", "reason b")
        await pilot.press("r")
        await wait_for(lambda: any("reason b" in n.message for n in app._notifications), 10)
        [toast] = [n for n in app._notifications if "reason" in n.message]
        assert toast.title == "Rejected: 2 new (n lists them)"  # the held one counted


def test_the_header_and_key_checks_work_with_no_screen_as_when_the_app_shuts_down(
    emulator: Emulator,
) -> None:
    app = make_app(emulator)  # not running: no screen on the stack, as during shutdown
    app.refresh_header()  # the roster throttle may still fire then
    assert app.check_action("toggle_feed", ()) is False
    assert app.check_action("refresh", ()) is True


async def test_a_detail_opens_with_the_apps_header_not_a_blank_one(emulator: Emulator) -> None:
    """Its first frame says what the roster's header says (profile, API ok): a blank header
    read 'API starting · MQTT off · not updated yet' until the app's next tick."""
    from textual.events import Mount

    from hm_tui.ui.widgets.header import StatusHeader

    first: list[str] = []

    def on_message(message: object) -> None:
        sender = getattr(message, "_sender", None)
        mounted = isinstance(message, Mount) and isinstance(sender, StatusHeader)
        if mounted and sender.id == "detail-header":
            first.append(str(sender.render()))

    app = make_app(emulator)
    async with app.run_test(size=(80, 24), message_hook=on_message) as pilot:
        await loaded(app, emulator)
        await pilot.press("enter")
        await wait_for(lambda: bool(first), message="the detail's header mounted")
        assert "test" in first[0] and "API ok" in first[0], first[0]


async def test_the_palettes_key_hints_follow_the_profiles_keymap(emulator: Emulator) -> None:
    """A remapped key is named as it works now: the palette said '(g)' for a summary moved to G
    (and '(d)' on a detail whose remove key moved)."""
    app = make_app(emulator, keymap={"roster.summary": "G", "app.help": "f1", "detail.remove": "x"})
    async with app.run_test(size=(80, 24)) as pilot:
        await loaded(app, emulator)
        hints = {c.title: c.help for c in app.palette_commands(app.roster_screen)}
        assert hints["Campaign summary: what the roster shows"].endswith("(G)")
        assert hints["Help: keys"].endswith("(f1)")
        assert hints["Add VINs"].endswith("(a)")  # not remapped: as written
        app.open_detail(app.session.roster.visible[0])
        await wait_for(lambda: isinstance(app.screen, DetailScreen) and app.screen.is_mounted)
        await pilot.pause()
        detail = {title: help_text for title, help_text, _ in app.screen.system_commands()}
        assert detail["Cancel/revoke this VIN"] == "With a confirmation (x)"
