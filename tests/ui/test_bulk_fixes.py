"""Bulk fixes through the real app against the real emulator: the new rejections (what the toast's
key opens: only those seen since the operator last looked), "add again with tag
vw-group-customer-name=…" on the VW Group rows among them, and "add again" (a retry as they were)
on marked clearances. Each is confirmed VIN by VIN, journaled as the fix before it is sent, and
applied by the emulator exactly once per VIN (`/_emulator/stats`)."""

from __future__ import annotations

from typing import Any

from textual import events

from hm_tui.emulator.server import Emulator
from hm_tui.service.models import NewClearance
from hm_tui.ui.screens.new_rejections import NewRejectionsScreen
from hm_tui.ui.screens.readd import ReaddScreen
from tests.helpers import wait_for
from tests.service.platform_helpers import Control
from tests.ui.app_support import force, loaded, make_app, open_palette

VW = ["WVWZZZ1KZ6W000101", "WAUZZZ8V0KA000102", "VSSZZZ5FZLR000103"]  # volkswagen, audi, seat
BMW = "WBA3A5C53CF000104"
TAG_MISSING = "customer name tag missing"


async def _campaign(app: Any, emulator: Emulator) -> None:
    """An add of three VW Group cars without the customer name and one BMW, all rejected."""
    items = [
        NewClearance(vin, brand, {"fleet": "north"})
        for vin, brand in zip(VW, ["volkswagen", "audi", "seat"], strict=True)
    ] + [NewClearance(BMW, "bmw", {"fleet": "north"})]
    await app.session.add(items)
    for vin in VW:
        await force(emulator, vin, "rejected", TAG_MISSING)
    await force(emulator, BMW, "rejected", "privacy mode is enabled")
    await app.session.refresh_now()
    roster = app.session.roster
    await wait_for(
        lambda: all(roster.entry(v) and roster.entry(v).status == "rejected" for v in [*VW, BMW]),
        10,
        message="the rejections in the roster",
    )


def _text(app: Any, selector: str) -> str:
    return str(app.screen.query_one(selector).render())


async def test_new_rejections_then_add_again_with_the_vw_customer_tag(emulator: Emulator) -> None:
    app = make_app(emulator)
    async with app.run_test(size=(80, 24)) as pilot:
        await loaded(app, emulator)
        old_rejected = sum(1 for c in emulator.state.clearances.values() if c.status == "rejected")
        assert old_rejected > 0  # the fleet had rejections before: they are not new
        await _campaign(app, emulator)
        await wait_for(
            lambda: any("new" in n.title for n in app._notifications),
            10,
            message=f"the toast {[(n.title, n.message) for n in app._notifications]}",
        )
        [toast] = [n for n in app._notifications if n.title.startswith("Rejected")]
        assert toast.title == "Rejected: 4 new (n lists them)"

        await pilot.press("n")
        await wait_for(lambda: isinstance(app.screen, NewRejectionsScreen), message="the list")
        screen = app.screen
        assert sorted(screen.vins) == sorted([*VW, BMW])  # only the new ones, not the fleet's
        assert _text(app, "#rejections-title").startswith("4 new rejections, seen since the dash")
        reasons = _text(app, "#rejections-reasons")
        assert f"3  {TAG_MISSING}" in reasons and "T: add them again with the tag" in reasons

        before = dict(await Control(emulator).applied("POST"))
        await pilot.press("T")
        await wait_for(lambda: isinstance(app.screen, ReaddScreen), message="the confirmation")
        dialog = app.screen
        assert dialog.query_one("#readd-yes").disabled  # no name yet: nothing can be sent
        assert not dialog.check_action("confirm", ())
        await pilot.press(*"ACME", "enter")
        await wait_for(lambda: not dialog.query_one("#readd-yes").disabled)
        lines = _text(app, "#readd-lines")
        for vin in VW:
            assert vin in lines
        assert lines.count("add again, tagged 'ACME'") == 3
        assert "1 skipped: not a VW Group brand" in lines and BMW in lines
        assert "Add again with vw-group-customer-name=ACME: 3 of the 4 new rejections?" in _text(
            app, "#readd-title"
        )
        await pilot.press("y", "y")  # a second y sends nothing more
        await wait_for(lambda: dialog._results is not None, 10, message="the results")
        await pilot.press("y")

        after = await Control(emulator).applied("POST")
        assert {v: after.get(v, 0) - before.get(v, 0) for v in [*VW, BMW]} == {
            **dict.fromkeys(VW, 1),
            BMW: 0,
        }
        for vin in VW:
            record = emulator.state.clearances[vin]
            assert record.tags == {"fleet": "north", "vw-group-customer-name": "ACME"}
            assert record.status == "pending"
        [entry] = app.session.journal.entries(1)
        assert entry.action == "add" and sorted(entry.vins) == sorted(VW)
        assert entry.params["fix"] == "add again with tag vw-group-customer-name=ACME"
        assert entry.finished and entry.outcomes == {"pending": 3}
        assert "Done: 3 of 3 taken by the platform" in _text(app, "#readd-warning")

        await pilot.press("escape")
        await wait_for(lambda: app.screen is app.roster_screen)
        await pilot.press("n")  # looked at: nothing is new any more
        await wait_for(lambda: isinstance(app.screen, NewRejectionsScreen))
        assert app.screen.vins == []
        assert "since you last looked" in _text(app, "#rejections-title")


async def test_add_again_retries_the_marked_as_they_were(emulator: Emulator) -> None:
    app = make_app(emulator)
    async with app.run_test(size=(80, 24)) as pilot:
        await loaded(app, emulator)
        await _campaign(app, emulator)
        await pilot.press("n")
        await wait_for(lambda: isinstance(app.screen, NewRejectionsScreen))
        await pilot.press("m")  # marked on the roster
        await wait_for(lambda: app.screen is app.roster_screen)
        assert app.roster_screen.table.marked == {*VW, BMW}
        roster = app.session.roster
        active = next(v for v in roster.visible if roster.entry(v).status == "approved")
        app.roster_screen.table.replace_marks({*VW, BMW, active})

        before = dict(await Control(emulator).applied("POST"))
        await open_palette(app, pilot, "add again: marked")
        await pilot.press("enter")
        await wait_for(lambda: isinstance(app.screen, ReaddScreen), message="the confirmation")
        dialog = app.screen
        lines = _text(app, "#readd-lines")
        assert _text(app, "#readd-title") == "Add again: 4 of the 5 marked?"
        assert lines.count("add again as it was") == 4
        assert "will be rejected again" in lines  # the VW rows without the customer name
        status = emulator.state.clearances[active].status
        assert f"skipped: {status}, the platform holds it already" in lines
        await pilot.press("y")
        await wait_for(lambda: dialog._results is not None, 10, message="the results")
        after = await Control(emulator).applied("POST")
        changed = {v: after.get(v, 0) - before.get(v, 0) for v in [*VW, BMW, active]}
        assert changed == {**dict.fromkeys([*VW, BMW], 1), active: 0}
        assert emulator.state.clearances[BMW].tags == {"fleet": "north"}
        assert emulator.state.clearances[BMW].brand == "bmw"
        [entry] = app.session.journal.entries(1)
        assert entry.params["fix"] == "add again" and sorted(entry.vins) == sorted([*VW, BMW])
        await pilot.press("escape")
        await wait_for(lambda: app.screen is app.roster_screen)
        assert app.roster_screen.table.marked == {active}  # the ones added again unmarked


async def test_the_toast_counts_only_rejections_since_the_list_was_last_seen(
    emulator: Emulator,
) -> None:
    app = make_app(emulator)
    async with app.run_test(size=(80, 24)) as pilot:
        await loaded(app, emulator)
        first, second = [
            v
            for v in app.session.roster.visible
            if app.session.roster.entry(v).status == "approved"
        ][:2]
        await force(emulator, first, "rejected", "reason a")
        await pilot.press("r")
        await wait_for(lambda: any("reason a" in n.message for n in app._notifications), 10)
        await pilot.press("n")
        await wait_for(lambda: isinstance(app.screen, NewRejectionsScreen))
        assert app.screen.vins == [first]
        await pilot.press("escape")
        await force(emulator, second, "rejected", "reason b")
        await pilot.press("r")
        await wait_for(lambda: any("reason b" in n.message for n in app._notifications), 10)
        [toast] = [n for n in app._notifications if "reason" in n.message]
        assert toast.title == "Rejected: 1 new (n lists it)"


async def test_n_right_after_a_refresh_lists_what_that_refresh_rejected(emulator: Emulator) -> None:
    """`n` pressed within the roster's redraw interval (0.1 s) of a refresh once listed nothing:
    the refresh's changes were still waiting for the throttle."""
    app = make_app(emulator)
    async with app.run_test(size=(80, 24)):
        await loaded(app, emulator)
        await app.session.add([NewClearance(BMW, "bmw", {"fleet": "north"})])
        await app.session.refresh_now()
        await wait_for(lambda: app.session.roster.entry(BMW), 10, message="the add in the roster")
        await force(emulator, BMW, "rejected", "privacy mode is enabled")
        await app.session.refresh_now()  # committed; the app has not drawn it yet
        assert app.session.roster.entry(BMW).status == "rejected"
        app.post_message(events.Key("n", "n"))  # at once, as the operator's key
        await wait_for(lambda: isinstance(app.screen, NewRejectionsScreen), message="the list")
        assert app.screen.vins == [BMW]
