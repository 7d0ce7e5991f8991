"""The filter language in the dashboard's `/` bar: it filters by field, says what it understood
and what it could not read (real app, real session, real emulator)."""

from __future__ import annotations

from hm_tui.emulator.server import Emulator
from tests.helpers import wait_for
from tests.ui.app_support import force, loaded, make_app


def _brand_of(app, vin: str) -> str:
    return app.session.roster.entry(vin).brand


async def test_field_terms_filter_and_the_bar_says_what_it_understood(
    emulator: Emulator,
) -> None:
    app = make_app(emulator)
    async with app.run_test(size=(80, 24)) as pilot:
        await loaded(app, emulator)
        roster = app.session.roster
        vins = sorted(emulator.state.clearances)[:4]
        for vin in vins:
            await force(emulator, vin, "rejected", "privacy mode is enabled")
        await pilot.press("r")
        await wait_for(
            lambda: all(roster.entry(v).status == "rejected" for v in vins),
            message="the forced rejections in the roster",
        )
        excluded = _brand_of(app, vins[0])
        await pilot.press("slash", *f'status:rejected reason:"privacy" -brand:{excluded}')
        bar = app.roster_screen.filter_bar
        expected = {
            v
            for v in emulator.state.clearances
            if roster.entry(v).status == "rejected"
            and "privacy" in (roster.entry(v).reason or "")
            and roster.entry(v).brand != excluded
        }
        await wait_for(lambda: set(roster.visible) == expected, message="the filtered rows")
        assert vins[0] not in expected
        understood = bar.understood.plain
        assert understood.startswith("= status = rejected · reason has")
        assert understood.endswith(f"not brand {excluded}")
        assert bar.understood.display  # the line is shown


async def test_a_part_it_cannot_read_is_named_and_the_rest_applies(emulator: Emulator) -> None:
    app = make_app(emulator)
    async with app.run_test(size=(80, 24)) as pilot:
        await loaded(app, emulator)
        roster = app.session.roster
        await pilot.press("slash", *"2hm status:rej")
        bar = app.roster_screen.filter_bar
        await wait_for(lambda: "not a status" in bar.understood.plain, message="the problem")
        assert bar.understood.plain.startswith("✗ 'status:rej': 'rej' is not a status")
        assert set(roster.visible) == {v for v in emulator.state.clearances if "2HM" in v}
        await pilot.press(*"ected")  # status:rejected now reads
        await wait_for(lambda: "✗" not in bar.understood.plain, message="the problem to go")
        assert set(roster.visible) == {"2HM00000000000003"}  # the rejected virtual VIN


async def test_free_words_alone_add_no_line(emulator: Emulator) -> None:
    app = make_app(emulator)
    async with app.run_test(size=(80, 24)) as pilot:
        await loaded(app, emulator)
        await pilot.press("slash", *"2hm 0001")
        await wait_for(
            lambda: list(app.session.roster.visible) == ["2HM00000000000001"],
            message="both words applied",
        )
        assert not app.roster_screen.filter_bar.has_class("-described")
