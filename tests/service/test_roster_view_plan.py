"""A view (filter, statuses, sort) planned off the loop and applied only if still current."""

from __future__ import annotations

import threading

from tests.ui.roster_fleet import clearance, fleet, frozen_roster


def test_a_planned_view_changes_nothing_until_committed_and_equals_the_synchronous_one() -> None:
    roster, same = frozen_roster(size=300), frozen_roster(size=300)
    before, version = list(roster.visible), roster.version
    plan = roster.plan_view("bmw", {"approved", "rejected"}, ("status", True))
    assert list(roster.visible) == before and roster.version == version  # pure
    assert roster.commit_view(plan)
    same.set_query("bmw")
    same.set_statuses({"approved", "rejected"})
    same.set_sort("status", True)
    assert list(roster.visible) == list(same.visible) and roster.visible
    assert (roster.query, roster.statuses, roster.sort) == (same.query, same.statuses, same.sort)
    assert roster.version == version + 1


def test_a_stale_plan_is_refused_and_changes_nothing() -> None:
    roster = frozen_roster(size=200)
    by_query = roster.plan_view("rejected")
    roster.set_sort("brand")  # the view changed since the plan's snapshot
    shown, version = list(roster.visible), roster.version
    assert not roster.commit_view(by_query)
    assert list(roster.visible) == shown and roster.version == version and roster.query == ""

    by_sort = roster.plan_view(sort=("since", False))
    roster.apply([clearance("WBAZZZZZZZZZZZZZZ", "approved")], complete=False)  # data changed
    assert not roster.commit_view(by_sort)
    assert roster.sort == ("brand", False)
    assert roster.commit_view(roster.plan_view(sort=("since", False)))  # planned again: applies
    assert roster.sort == ("since", False) and "WBAZZZZZZZZZZZZZZ" in roster.visible


def test_a_plan_built_in_a_thread_shows_and_finds_rows_by_bisection() -> None:
    roster = frozen_roster(fleet(500))
    plans = []
    snapshot = roster.snapshot()
    worker = threading.Thread(
        target=lambda: plans.append(
            roster.plan_view("bmw", sort=("brand", True), snapshot=snapshot)
        )
    )
    worker.start()
    worker.join()
    [plan] = plans
    assert roster.commit_view(plan)
    shown = list(roster.visible)
    assert 0 < len(shown) < 500
    for row in (0, 1, len(shown) // 2, len(shown) - 1):
        assert roster.visible[row] == shown[row]
        assert roster.position(shown[row]) == row
    hidden = next(vin for vin in frozen_roster(fleet(500)).visible if vin not in set(shown))
    assert roster.position(hidden) == -1  # in the roster, filtered out
    assert roster.position("NOPE") == -1  # not in the roster
