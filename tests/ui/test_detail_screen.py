"""The clearance detail screen, on a real Roster: explanations, advice, guidance, raw JSON, live."""

from __future__ import annotations

import json

from textual.widgets import Static

from hm_tui.domain.reasons import PENDING_ADVICE
from hm_tui.ui.screens.confirm import ConfirmRemovalScreen
from hm_tui.ui.screens.detail import DetailScreen
from hm_tui.ui.widgets.timeline import Timeline
from tests.helpers import wait_for
from tests.ui.screens_support import Profile, RosterSession, ScreenHost, clearance, plain

VW = "WVWZZZ1JZXW000001"
BMW = "WBA3A5C51CF256985"


def host(session: RosterSession, vin: str) -> ScreenHost:
    return ScreenHost(lambda: DetailScreen(session, vin))


def text_of(app: ScreenHost, widget_id: str) -> str:
    return plain(app.screen.query_one(f"#{widget_id}", Static))


async def test_rejected_vin_shows_reason_explanation_and_what_to_do() -> None:
    session = RosterSession.of(
        clearance(VW, "rejected", "volkswagen", reason="customer name tag missing")
    )
    app = host(session, VW)
    async with app.run_test(size=(80, 24)) as pilot:
        await pilot.pause()
        status = text_of(app, "detail-status")
        reason = text_of(app, "detail-reason")
        assert "REJECTED" in status and "for 2h00m" in status
        assert "customer name tag missing" in reason
        assert "business name" in reason and "What you can do:" in reason
        assert "vw-group-customer-name" in reason
        assert "nothing to remove" in text_of(app, "detail-removal")


async def test_pending_vin_shows_the_generic_pending_advice() -> None:
    session = RosterSession.of(clearance(BMW, "pending", created_hours_ago=5))
    app = host(session, BMW)
    async with app.run_test(size=(80, 24)) as pilot:
        await pilot.pause()
        reason = text_of(app, "detail-reason")
        for advice in PENDING_ADVICE:
            assert advice in reason
        assert "cannot be canceled" in text_of(app, "detail-removal")


async def test_unknown_reason_is_shown_verbatim_and_marked_unknown() -> None:
    odd = "[red]OEM said no[/] \x1b[31mreally"
    session = RosterSession.of(clearance(BMW, "rejected", reason=odd))
    app = host(session, BMW)
    async with app.run_test(size=(80, 24)) as pilot:
        await pilot.pause()
        reason = text_of(app, "detail-reason")
        assert "[red]OEM said no[/] really" in reason  # markup literal, escape removed
        assert "\x1b" not in reason
        assert "unknown reason" in reason


async def test_brand_guidance_and_tags_render_literally() -> None:
    tags = {"fleet": "[bold]north[/]", "note": "a\x1b]52;c;Zm9v\x07b"}
    session = RosterSession.of(clearance(BMW, "approved", tags=tags))
    app = host(session, BMW)
    async with app.run_test(size=(80, 24)) as pilot:
        await pilot.pause()
        brand = text_of(app, "detail-brand")
        assert "BMW (BMW Group)" in brand and "ConnectedDrive" in brand
        assert "approved ones revoked" in brand or "approved ones can be revoked" in brand
        shown = text_of(app, "detail-tags")
        assert "fleet = [bold]north[/]" in shown
        assert "note = ab" in shown
        assert "will be revoked" in text_of(app, "detail-removal")


async def test_timeline_lists_every_changelog_entry_with_its_reason() -> None:
    session = RosterSession.of(clearance(BMW, "rejected", reason="invalid VIN"))
    app = host(session, BMW)
    async with app.run_test(size=(80, 24)) as pilot:
        await pilot.pause()
        timeline = plain(app.screen.query_one(Timeline))
        assert "pending" in timeline and "rejected" in timeline
        assert "reason: invalid VIN" in timeline
        assert "for 1d22h" in timeline and "(current)" in timeline


async def test_raw_json_toggles_with_j_and_holds_the_clearance() -> None:
    session = RosterSession.of(clearance(BMW, "approved", tags={"k": "[x]"}))
    app = host(session, BMW)
    async with app.run_test(size=(80, 24)) as pilot:
        await pilot.pause()
        raw = app.screen.query_one("#detail-raw", Static)
        assert not raw.display
        await pilot.press("j")
        assert raw.display
        data = json.loads(plain(raw))
        assert data["vin"] == BMW and data["tags"] == {"k": "[x]"}
        await pilot.press("j")
        assert not raw.display


async def test_copy_keys_copy_vin_reason_and_json() -> None:
    session = RosterSession.of(clearance(BMW, "rejected", reason="invalid VIN"))
    app = host(session, BMW)
    async with app.run_test(size=(80, 24)) as pilot:
        await pilot.pause()
        await pilot.press("c", "y", "Y")
        assert app.clipboard_copies[:2] == [BMW, "invalid VIN"]
        assert json.loads(app.clipboard_copies[2])["status"] == "rejected"


async def test_screen_follows_roster_changes_without_a_keypress() -> None:
    session = RosterSession.of(clearance(BMW, "pending"))
    app = host(session, BMW)
    async with app.run_test(size=(80, 24)) as pilot:
        await pilot.pause()
        session.roster.apply([clearance(BMW, "rejected", reason="ineligible VIN")], complete=True)
        await wait_for(lambda: "REJECTED" in text_of(app, "detail-status"), timeout=3)
        assert "ineligible VIN" in text_of(app, "detail-reason")


async def test_vin_gone_from_roster_is_said_plainly() -> None:
    session = RosterSession.of(clearance(BMW, "approved"))
    app = host(session, "WBA00000000000000")
    async with app.run_test(size=(80, 24)) as pilot:
        await pilot.pause()
        assert "not in the roster" in text_of(app, "detail-status")


async def test_production_is_flagged_and_d_opens_the_confirmation() -> None:
    session = RosterSession.of(clearance(BMW, "approved"), profile=Profile("live"))
    app = host(session, BMW)
    async with app.run_test(size=(80, 24)) as pilot:
        await pilot.pause()
        assert "PRODUCTION" in text_of(app, "detail-title")
        await pilot.press("d")
        await wait_for(lambda: isinstance(app.screen, ConfirmRemovalScreen))
        assert app.screen.to_send == [BMW]


async def test_read_only_refuses_removal_with_a_message() -> None:
    session = RosterSession.of(clearance(BMW, "approved"), read_only=True)
    app = host(session, BMW)
    async with app.run_test(size=(80, 24)) as pilot:
        await pilot.pause()
        await pilot.press("d")
        await pilot.pause()
        assert isinstance(app.screen, DetailScreen)
        assert any("Read-only" in n.message for n in app._notifications)


async def test_escape_goes_back() -> None:
    session = RosterSession.of(clearance(BMW, "approved"))
    app = host(session, BMW)
    async with app.run_test(size=(80, 24)) as pilot:
        await pilot.pause()
        await pilot.press("escape")
        await wait_for(lambda: app.results == [None])


async def test_brand_without_notes_gets_the_generic_guidance() -> None:
    session = RosterSession.of(clearance("KNA00000000000001", "approved", "kia"))
    app = host(session, "KNA00000000000001")
    async with app.run_test(size=(80, 24)) as pilot:
        await pilot.pause()
        brand = text_of(app, "detail-brand")
        assert brand.startswith("Kia\n") and "cadence varies by model" in brand
        assert "<member" not in brand


async def test_latest_data_says_once_why_a_clearance_that_is_not_approved_has_none() -> None:
    session = RosterSession.of(
        clearance(VW, "rejected", "volkswagen", reason="customer name tag missing"),
        clearance(BMW, "approved"),
    )
    app = host(session, VW)
    async with app.run_test(size=(80, 24)) as pilot:
        await pilot.pause()
        assert "only for approved clearances" in text_of(app, "detail-data-note")
        assert text_of(app, "detail-data").strip() == ""  # not also "No data points yet."
    app = host(session, BMW)
    async with app.run_test(size=(80, 24)) as pilot:
        await pilot.pause()
        assert "press v to pull" in text_of(app, "detail-data-note")
        assert text_of(app, "detail-data") == "No data points yet."


def test_the_header_can_be_shown_before_the_screen_is_composed() -> None:
    from hm_tui.ui.widgets.header import HeaderState

    session = RosterSession.of(clearance(BMW, "approved"))
    DetailScreen(session, BMW).show_header(HeaderState())  # the app's 1 s timer may come first


def test_a_roster_change_before_the_screen_is_composed_waits_for_the_mount() -> None:
    session = RosterSession.of(clearance(BMW, "approved"))
    DetailScreen(session, BMW).roster_changed()  # a refresh may land between push and compose


async def test_an_approved_ford_reads_approved_and_names_its_brand_once() -> None:
    ford = "1FA6P8TH0J5100001"
    session = RosterSession.of(clearance(ford, "approved", "ford"))
    app = host(session, ford)
    async with app.run_test(size=(80, 24)) as pilot:
        await pilot.pause()
        assert text_of(app, "detail-reason") == "Approved: the car may deliver data."
        brand = text_of(app, "detail-brand")
        assert brand.startswith("Ford\n") and "Ford (Ford)" not in brand
