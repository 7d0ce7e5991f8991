"""The virtual roster table, mounted alone over a real Roster of real Clearance objects."""

from __future__ import annotations

from datetime import UTC, timedelta
from typing import Any

from textual.app import App, ComposeResult

from hm_tui.service.roster import entry as roster_entry
from hm_tui.service.roster.model import Roster
from hm_tui.ui.widgets import roster_table
from hm_tui.ui.widgets.roster_columns import GUTTER, compact_age, layout, row_cells, sort_arrow
from hm_tui.ui.widgets.roster_table import RosterTable
from tests.helpers import wait_for
from tests.ui.roster_fleet import NOW, clearance, fleet, frozen_roster


class TableHost(App[None]):
    def __init__(self, roster: Roster) -> None:
        super().__init__()
        self.roster = roster
        self.messages: list[Any] = []

    def compose(self) -> ComposeResult:
        yield RosterTable(self.roster, clock=lambda: NOW, tz=UTC, id="table")

    def on_mount(self) -> None:
        self.query_one(RosterTable).rows_changed()
        self.query_one(RosterTable).focus()

    def on_roster_table_row_selected(self, message: RosterTable.RowSelected) -> None:
        self.messages.append(message)

    def on_roster_table_mark_toggled(self, message: RosterTable.MarkToggled) -> None:
        self.messages.append(message)


def lines(table: RosterTable) -> list[str]:
    return [table.render_line(y).text for y in range(table.size.height)]


class CountingRoster(Roster):
    """A real Roster that counts how many entries the table reads."""

    reads = 0

    def entry(self, vin: str) -> Any:
        self.reads += 1
        return super().entry(vin)


async def test_a_frame_reads_only_the_rows_on_screen_even_with_100k_clearances() -> None:
    roster = CountingRoster(clock=NOW.timestamp)
    roster.apply(fleet(100_000), complete=True)
    app = TableHost(roster)
    async with app.run_test(size=(80, 24)) as pilot:
        table = app.query_one(RosterTable)
        await pilot.pause()
        roster.reads = 0
        shown = lines(table)
        assert roster.reads <= table.size.height
        assert shown[1].lstrip().startswith("WBA00000000000000")
        await pilot.press("end")
        assert table.cursor_vin == roster.visible[-1]
        assert roster.visible[-1] in "".join(lines(table))


async def test_drawing_rows_never_decodes_a_clearance(monkeypatch: Any) -> None:
    """A row is drawn from its entry's fields (brand, status, reason, tags, time in state): the
    clearance's JSON is decoded only when a screen asks for the whole clearance."""
    roster = frozen_roster()
    app = TableHost(roster)
    async with app.run_test(size=(160, 30)) as pilot:  # wide: every column, tags included
        table = app.query_one(RosterTable)
        await pilot.pause()
        decoded: list[bytes] = []
        real = roster_entry._DECODE_ONE
        monkeypatch.setattr(
            roster_entry, "_DECODE_ONE", lambda raw: decoded.append(raw) or real(raw)
        )
        table._row_cache.clear()
        drawn = lines(table)
        assert decoded == []
        tagged = [e for vin in roster.visible[:20] if (e := roster.entry(vin)) and e.tags]
        assert tagged and tagged[0].tags in "".join(drawn)
        assert tagged[0].clearance is not None and len(decoded) == 1  # (the check itself works)


async def test_header_names_the_sort_column_and_direction() -> None:
    roster = frozen_roster()
    app = TableHost(roster)
    async with app.run_test(size=(80, 24)) as pilot:
        table = app.query_one(RosterTable)
        roster.set_sort("status", True)
        table.set_sort(*roster.sort)
        table.rows_changed()
        await pilot.pause()
        header = lines(table)[0]
        assert "Status ▼" in header
        assert "VIN" in header and "▲" not in header


async def test_cursor_keys_move_between_vins_and_enter_selects_the_vin() -> None:
    roster = frozen_roster(size=100)
    app = TableHost(roster)
    async with app.run_test(size=(80, 24)) as pilot:
        table = app.query_one(RosterTable)
        await pilot.press("down", "down")
        assert table.cursor_vin == roster.visible[2]
        await pilot.press("pagedown")
        assert table.cursor_row > 10
        await pilot.press("home")
        assert table.cursor_vin == roster.visible[0]
        await pilot.press("end")
        assert table.cursor_vin == roster.visible[-1]
        assert int(table.scroll_y) > 0  # the cursor row is scrolled into view
        await pilot.press("enter")
        await wait_for(lambda: app.messages)
        assert isinstance(app.messages[-1], RosterTable.RowSelected)
        assert app.messages[-1].vin == roster.visible[-1]


async def test_space_marks_the_row_and_moves_down() -> None:
    roster = frozen_roster()
    app = TableHost(roster)
    async with app.run_test(size=(80, 24)) as pilot:
        table = app.query_one(RosterTable)
        first = roster.visible[0]
        await pilot.press("space")
        assert table.marked == {first}
        assert table.cursor_vin == roster.visible[1]
        assert lines(table)[1].startswith("● " + first)
        await wait_for(lambda: app.messages)
        assert app.messages[0].vin == first and app.messages[0].marked


async def test_the_cursor_stays_on_its_vin_when_the_filter_changes() -> None:
    roster = frozen_roster(size=100)
    app = TableHost(roster)
    async with app.run_test(size=(80, 24)) as pilot:
        table = app.query_one(RosterTable)
        await pilot.press("pagedown", "pagedown")
        target = table.cursor_vin
        assert target is not None and table.cursor_row > 20
        roster.set_query(target[-4:])
        table.rows_changed()
        assert table.cursor_vin == target
        assert table.cursor_row == roster.visible.index(target)


async def test_untrusted_tags_and_reasons_show_literally_without_escapes() -> None:
    hostile = clearance(
        "WBA00000000000001",
        "rejected",
        "bmw",
        reason="\x1b[31mred\x1b[0m [bold]loud[/bold]",
        tags={"note": "[bold red]x[/]", "bell": "a\x07b\nc"},
    )
    app = TableHost(frozen_roster([hostile]))
    async with app.run_test(size=(140, 10)) as pilot:
        table = app.query_one(RosterTable)
        await pilot.pause()
        row = lines(table)[1]
        assert "red [bold]loud[/bold]" in row
        assert "note=[bold red]x[/]" in row
        assert "bell=ab c" in row  # a line break reads as a space on one line
        assert "\x1b" not in row and "\x07" not in row


async def test_80_columns_show_reason_and_tags_and_leave_last_change_to_wide_terminals() -> None:
    narrow = {c.key: c.width for c in layout(78)}
    wide = [c.key for c in layout(118)]
    assert {"reason", "tags", "since"} <= set(narrow) and "last" not in narrow
    assert narrow["reason"] >= 12 and narrow["tags"] >= 10
    assert {"reason", "tags", "since", "last"} <= set(wide)
    for width in (78, 60, 40):  # columns + one space between each + the mark gutter
        assert sum(c.width + 1 for c in layout(width)) - 1 + GUTTER <= width


async def test_a_changed_row_is_highlighted_then_fades(monkeypatch: Any) -> None:
    monkeypatch.setattr(roster_table, "FLASH_SECONDS", 0.3)
    roster = frozen_roster()
    app = TableHost(roster)
    async with app.run_test(size=(80, 24)) as pilot:
        table = app.query_one(RosterTable)
        vin = roster.visible[3]
        before = table.render_line(4)
        table.flash([vin])
        await pilot.pause()
        assert table.render_line(4) != before  # highlighted
        await wait_for(lambda: vin not in table._flashes, timeout=3)
        assert table.render_line(4) == before


def test_time_in_state_is_compact() -> None:
    assert [compact_age(s) for s in (5, 125, 3 * 3600 + 300, 2 * 86400 + 3600, 200 * 86400)] == [
        "5s",
        "2m",
        "3h05m",
        "2d01h",
        "200d",
    ]


async def test_a_roster_change_redraws_only_the_rows_that_changed(monkeypatch: Any) -> None:
    roster = frozen_roster(size=100)
    app = TableHost(roster)
    async with app.run_test(size=(120, 24)) as pilot:
        table = app.query_one(RosterTable)
        await pilot.pause()
        before = lines(table)
        drawn: list[str] = []
        draw = table._draw_row

        def counting(vin: str, *args: Any) -> Any:
            drawn.append(vin)
            return draw(vin, *args)

        monkeypatch.setattr(table, "_draw_row", counting)
        assert lines(table) == before and drawn == []  # nothing changed: all from the cache
        vin = roster.visible[5]
        old = roster.entry(vin)
        assert old is not None and old.clearance.status != "revoked"
        roster.apply([clearance(vin, "revoked", old.clearance.brand)], complete=False)
        table.rows_changed()
        after = lines(table)
        assert drawn == [vin]  # the other rows on screen come from the cache
        assert "revoked" in after[6] and after[:6] == before[:6] and after[7:] == before[7:]


def test_in_state_arrows_read_as_durations_and_last_change_as_dates() -> None:
    # ("since", ascending): oldest first = longest in state first
    assert sort_arrow("since", False) == "▼" and sort_arrow("last", False) == "▲"
    assert sort_arrow("since", True) == "▲" and sort_arrow("vin", True) == "▼"


def test_last_change_names_the_year_when_it_is_not_this_year() -> None:
    roster = frozen_roster()
    entry = roster.entry(roster.visible[0])
    now = entry.since + timedelta(days=3)
    assert row_cells(entry.clearance.vin, entry, "3d", UTC, now)["last"] == entry.since.astimezone(
        UTC
    ).strftime("%m-%d %H:%M")
    next_year = entry.since.replace(year=entry.since.year + 1)
    assert row_cells(entry.clearance.vin, entry, "1y", UTC, next_year)[
        "last"
    ] == entry.since.astimezone(UTC).strftime("%Y-%m-%d")


async def test_the_summary_bar_fits_80_columns_with_a_filter_and_marks() -> None:
    from hm_tui.ui.widgets.summary_bar import SummaryBar

    class Host(App[None]):
        def compose(self) -> ComposeResult:
            yield SummaryBar()

    counts = {"pending": 49, "approved": 249, "rejected": 49, "revoked": 12, "canceled": 1}
    app = Host()
    async with app.run_test(size=(80, 5)):
        bar = app.query_one(SummaryBar)
        bar.show(counts, "rejected", 49, marked=3)
        content = bar.render()
        assert content.cell_length <= bar.scrollable_content_region.width
        assert "● 3 marked" in content.plain and "49 shown" in content.plain


def test_every_column_title_has_room_for_its_sort_arrow() -> None:
    for width in (78, 98, 118):
        for column in layout(width):
            assert len(column.title) + 2 <= column.width, (width, column)
