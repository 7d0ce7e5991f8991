from __future__ import annotations

from datetime import UTC, datetime, timedelta

import pytest

from hm_tui.domain import autoapi
from hm_tui.domain.brands import (
    BRAND_IDS,
    BRANDS,
    VW_CUSTOMER_TAG,
    from_data_brand,
    lookup,
    to_data_brand,
)
from hm_tui.domain.clearance import ClearanceStatus, can_transition
from hm_tui.domain.reasons import REASONS, explain, reasons_for
from hm_tui.domain.removal import CANCEL_NOT_SUPPORTED, CANCEL_TOO_EARLY, RemovalKind, plan_removal

NOW = datetime(2026, 11, 23, 12, tzinfo=UTC)


def test_the_29_documented_brand_ids_are_all_in_the_catalogue() -> None:
    assert len(BRAND_IDS) == 29
    assert set(BRAND_IDS) == set(BRANDS)


@pytest.mark.parametrize("brand", ["citroen", "mercedes-benz", "cupra", "maserati"])
def test_stellantis_mercedes_and_vw_group_can_cancel(brand: str) -> None:
    assert BRANDS[brand].can_cancel


@pytest.mark.parametrize("brand", ["bmw", "tesla", "ford", "sandbox", "volvo-cars"])
def test_other_brands_cannot_cancel(brand: str) -> None:
    assert not BRANDS[brand].can_cancel


def test_vw_group_requires_the_customer_name_tag() -> None:
    assert BRANDS["skoda"].required_tags == (VW_CUSTOMER_TAG,)
    assert BRANDS["bmw"].required_tags == ()


def test_data_brand_spelling_maps_both_ways() -> None:
    assert to_data_brand("mercedes-benz") == "mercedes_benz"
    assert from_data_brand("volvo_cars") == "volvo-cars"
    assert from_data_brand("some_new_brand") == "some_new_brand"
    assert lookup("Mercedes_Benz") is BRANDS["mercedes-benz"]


def test_every_documented_reason_is_explained_with_an_action() -> None:
    assert len(REASONS) == 19
    for reason in REASONS.values():
        assert reason.meaning and reason.action


def test_unknown_reason_passes_through_verbatim() -> None:
    reason = explain("[red]brand exploded[/]")
    assert reason is not None and not reason.known
    assert reason.text == "[red]brand exploded[/]"


def test_brand_scoped_reasons_only_apply_to_their_group() -> None:
    texts = {r.text for r in reasons_for("ford")}
    assert "consent assignment missing" in texts
    assert "customer name tag missing" not in texts
    assert "customer name tag missing" in {r.text for r in reasons_for("audi")}


def test_transitions_follow_the_documented_flow() -> None:
    assert can_transition("pending", "approved")
    assert can_transition("approved", "revoking")
    assert can_transition("rejected", "pending")  # re-POST starts a new clearance
    assert not can_transition("approved", "pending")
    assert not can_transition("pending", "teleported")
    assert ClearanceStatus.parse("teleported") is None


def test_approved_is_revoked_for_every_brand() -> None:
    assert plan_removal("bmw", "approved", None, NOW).kind is RemovalKind.REVOKE


def test_pending_cancel_needs_a_capable_brand_and_24_hours() -> None:
    day_old = NOW - timedelta(hours=25)
    fresh = NOW - timedelta(hours=2)
    assert plan_removal("peugeot", "pending", day_old, NOW).kind is RemovalKind.CANCEL
    too_early = plan_removal("peugeot", "pending", fresh, NOW)
    assert (too_early.kind, too_early.http_status, too_early.detail) == (
        RemovalKind.IMPOSSIBLE,
        422,
        CANCEL_TOO_EARLY,
    )
    unsupported = plan_removal("bmw", "pending", day_old, NOW)
    assert (unsupported.http_status, unsupported.detail) == (422, CANCEL_NOT_SUPPORTED)


@pytest.mark.parametrize(
    ("status", "code"), [("revoked", 409), ("revoking", 409), ("canceled", 409)]
)
def test_removed_or_moving_clearances_cannot_be_removed(status: str, code: int) -> None:
    assert plan_removal("bmw", status, None, NOW).http_status == code


def test_autoapi_catalogue_knows_units_and_multiple_properties() -> None:
    assert len(autoapi.capability_names()) == 45
    odometer = autoapi.property_info("diagnostics", "odometer")
    assert odometer is not None and "kilometers" in odometer.units
    locks = autoapi.property_info("doors", "locks")
    assert locks is not None and locks.multiple
    assert autoapi.property_info("nope", "nothing") is None
