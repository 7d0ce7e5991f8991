"""The bulk fixes' plan: which VINs are added again, with what tags, and why the others are not."""

from __future__ import annotations

from dataclasses import dataclass, field

from hm_tui.domain.readd import plan_readd, readd_counts


@dataclass
class C:
    vin: str
    brand: str
    status: str
    tags: dict[str, str] = field(default_factory=dict)
    reason: str | None = None


ROWS = [
    C("V1", "volkswagen", "rejected", {"fleet": "north"}, "customer name tag missing"),
    C("V2", "audi", "revoked", {"vw-group-customer-name": "Old"}),
    C("B1", "bmw", "rejected", {"fleet": "south"}, "privacy mode is enabled"),
    C("P1", "seat", "pending"),
]


def test_the_retry_sends_every_ended_clearance_as_it_was_and_warns_about_vw_without_the_tag() -> (
    None
):
    plans = {p.vin: p for p in plan_readd(ROWS, ["V1", "V2", "B1", "P1", "X9", "V1"])}
    assert list(plans) == ["V1", "V2", "B1", "P1", "X9"]  # in order, once each
    assert [v for v, p in plans.items() if p.send] == ["V1", "V2", "B1"]
    assert plans["B1"].tags == {"fleet": "south"} and plans["B1"].brand == "bmw"
    assert "rejected again" in plans["V1"].doubt and plans["V2"].doubt == ""
    assert plans["P1"].what.startswith("skipped: pending")
    assert plans["X9"].what == "not in the roster: nothing to retry"
    assert readd_counts(plans.values()) == (3, 2)


def test_the_tag_fix_tags_only_vw_group_rows_and_keeps_their_other_tags() -> None:
    plans = {p.vin: p for p in plan_readd(ROWS, ["V1", "V2", "B1", "P1"], "ACME")}
    assert [v for v, p in plans.items() if p.send] == ["V1", "V2"]
    assert plans["V1"].tags == {"fleet": "north", "vw-group-customer-name": "ACME"}
    assert plans["V2"].tags == {"vw-group-customer-name": "ACME"}
    assert plans["V2"].what == "add again, tag 'Old' -> 'ACME'"
    assert plans["B1"].what.startswith("skipped: not a VW Group brand")
    assert ROWS[0].tags == {"fleet": "north"}  # the roster's clearance is not changed
