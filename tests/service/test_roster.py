"""The roster: diff into changes, time in state, filter, sort, counts, incremental paths."""

from __future__ import annotations

import time
from datetime import UTC, datetime

import msgspec
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from hm_tui.service.models import ChangelogEntry, Clearance
from hm_tui.service.roster import index as roster_index
from hm_tui.service.roster.entry import search_text_of
from hm_tui.service.roster.model import COLUMNS, Roster, StatusChange


def clearance(
    vin: str,
    status: str = "pending",
    brand: str = "bmw",
    reason: str | None = None,
    tags: dict[str, str] | None = None,
    at: str = "2024-05-01T10:00:00Z",
    history: int = 0,
) -> Clearance:
    log = [ChangelogEntry(f"2024-04-{1 + i:02d}T00:00:00Z", "pending") for i in range(history)]
    log.append(ChangelogEntry(at, status, reason))
    return Clearance(vin, status, brand, tags or {}, log)


def vin(n: int) -> str:
    return f"WBA{n:014d}"


def test_first_apply_adds_everything_and_counts_per_status() -> None:
    roster = Roster()
    changes = roster.apply(
        [clearance(vin(1)), clearance(vin(2), "approved"), clearance(vin(3), "approved")],
        complete=True,
    )
    assert sorted(changes.added) == [vin(1), vin(2), vin(3)]
    assert changes.changed == [] and changes.removed == []
    assert roster.counts == {"pending": 1, "approved": 2}
    assert list(roster.visible) == [vin(1), vin(2), vin(3)]
    assert changes.version == roster.version == 1


def test_status_change_is_reported_with_old_new_and_reason() -> None:
    roster = Roster()
    roster.apply([clearance(vin(1)), clearance(vin(2))], complete=True)
    changes = roster.apply(
        [clearance(vin(1), "rejected", reason="invalid VIN", history=1), clearance(vin(2))],
        complete=True,
    )
    assert changes.changed == [StatusChange(vin(1), "pending", "rejected", "invalid VIN")]
    assert changes.added == [] and changes.removed == []
    assert roster.counts == {"pending": 1, "rejected": 1}
    assert roster.entry(vin(1)).reason == "invalid VIN"


def test_unchanged_refresh_changes_nothing_and_keeps_the_version() -> None:
    roster = Roster()
    roster.apply([clearance(vin(1)), clearance(vin(2))], complete=True)
    version = roster.version
    again = msgspec.json.decode(
        msgspec.json.encode([clearance(vin(1)), clearance(vin(2))]), type=list[Clearance]
    )
    assert roster.apply(again, complete=True).empty
    assert roster.version == version


def test_removed_only_when_the_list_is_complete() -> None:
    roster = Roster()
    roster.apply([clearance(vin(1)), clearance(vin(2), "approved")], complete=True)
    assert roster.apply([clearance(vin(1))], complete=False).empty
    assert vin(2) in roster
    changes = roster.apply([clearance(vin(1))], complete=True)
    assert changes.removed == [vin(2)]
    assert vin(2) not in roster and roster.counts == {"pending": 1}


def test_tag_change_is_an_update_not_a_status_change() -> None:
    roster = Roster()
    roster.apply([clearance(vin(1), tags={"fleet": "a"})], complete=True)
    changes = roster.apply([clearance(vin(1), tags={"fleet": "b"})], complete=False)
    assert changes.updated == [vin(1)] and changes.changed == []
    roster.set_query("fleet=b")
    assert list(roster.visible) == [vin(1)]


def test_since_is_the_latest_changelog_timestamp_else_first_seen() -> None:
    clock = [1_700_000_000.0]
    roster = Roster(clock=lambda: clock[0])
    roster.apply(
        [
            clearance(vin(1), "approved", at="2024-05-02T08:30:00Z", history=2),
            Clearance(vin(2), "pending", "bmw"),
        ],
        complete=True,
    )
    assert roster.entry(vin(1)).since == datetime(2024, 5, 2, 8, 30, tzinfo=UTC)
    first_seen = datetime.fromtimestamp(clock[0], UTC)
    assert roster.entry(vin(2)).since == first_seen
    clock[0] += 60  # seen again, still without changelog: time in state keeps counting
    roster.apply([Clearance(vin(2), "pending", "bmw", {"k": "v"})], complete=False)
    assert roster.entry(vin(2)).since == first_seen
    assert roster.entry(vin(1)).time_in_state(datetime(2024, 5, 2, 9, 30, tzinfo=UTC)) == 3600


def test_query_is_case_insensitive_over_vin_brand_status_reason_and_tags() -> None:
    roster = Roster()
    roster.apply(
        [
            clearance(vin(1), "rejected", "volkswagen", "customer name tag missing"),
            clearance(vin(2), "approved", "bmw", tags={"Depot": "Berlin"}),
            clearance("VF3ABCDEFGH123456", "pending", "peugeot"),
        ],
        complete=True,
    )
    cases = {
        "wba": [vin(1), vin(2)],
        "VOLKSwagen": [vin(1)],
        "NAME TAG": [vin(1)],
        "depot=berlin": [vin(2)],
        "approved": [vin(2)],
        "abcdefgh": ["VF3ABCDEFGH123456"],
        "nothing like it": [],
    }
    for query, expected in cases.items():
        roster.set_query(query)
        assert list(roster.visible) == expected, query
    roster.set_query("")
    assert len(roster.visible) == 3


def test_a_longer_query_narrows_the_previous_result() -> None:
    roster = Roster()
    roster.apply([clearance(vin(n)) for n in range(20)], complete=True)
    roster.set_query("wba0000000000001")
    assert len(roster.visible) == 10
    roster.set_query("wba00000000000012")
    assert list(roster.visible) == [vin(12)]
    roster.set_query("wba000000000000")  # shorter again: from the whole roster
    assert len(roster.visible) == 20


def test_a_longer_query_under_a_status_filter_keeps_to_that_status() -> None:
    """Narrowing a result that holds most rows reads every text; the status still applies."""
    roster = Roster()
    roster.apply(
        [clearance(vin(n), "rejected" if n == 3 else "approved") for n in range(10)], complete=True
    )
    roster.set_statuses({"approved"})
    roster.set_query("wba")
    assert len(roster.visible) == 9
    roster.set_query("wba0")
    assert list(roster.visible) == [vin(n) for n in range(10) if n != 3]


def test_status_filter_combines_with_the_query_and_counts_ignore_both() -> None:
    roster = Roster()
    roster.apply(
        [
            clearance(vin(1), "approved", "bmw"),
            clearance(vin(2), "approved", "audi"),
            clearance(vin(3), "rejected", "bmw"),
        ],
        complete=True,
    )
    roster.set_statuses({"approved"})
    assert list(roster.visible) == [vin(1), vin(2)]
    roster.set_query("bmw")
    assert list(roster.visible) == [vin(1)]
    roster.set_statuses(set())
    assert list(roster.visible) == []
    roster.set_statuses(None)
    assert list(roster.visible) == [vin(1), vin(3)]
    assert roster.counts == {"approved": 2, "rejected": 1}
    assert roster.vins_in({"approved"}) == [vin(1), vin(2)]
    assert roster.vins_in({"approved", "rejected"}) == [vin(1), vin(2), vin(3)]  # every row
    assert roster.vins_in({"revoked"}) == []


def test_removals_of_a_complete_list_are_found_across_many_steps(
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    from hm_tui.service.roster import diff as roster_diff

    monkeypatch.setattr(roster_diff, "SLICE", 3)  # the removal scan goes 3 VINs a step
    roster = Roster()
    roster.apply([clearance(vin(n)) for n in range(20)], complete=True)
    kept = [n for n in range(20) if n % 3]
    changes = roster.apply([clearance(vin(n)) for n in kept], complete=True)
    assert changes.removed == [vin(n) for n in range(20) if n % 3 == 0]
    assert list(roster.visible) == [vin(n) for n in kept]


def test_sort_by_each_column_ties_by_vin_and_descending_is_the_reverse() -> None:
    roster = Roster()
    roster.apply(
        [
            clearance(vin(3), "approved", "kia", at="2024-05-01T00:00:00Z"),
            clearance(vin(1), "rejected", "bmw", "invalid VIN", at="2024-05-03T00:00:00Z"),
            clearance(vin(2), "pending", "bmw", at="2024-05-02T00:00:00Z"),
        ],
        complete=True,
    )
    expected = {
        "vin": [1, 2, 3],
        "brand": [1, 2, 3],
        "status": [2, 3, 1],
        "reason": [2, 3, 1],
        "since": [3, 2, 1],
    }
    for column, order in expected.items():
        roster.set_sort(column)
        assert list(roster.visible) == [vin(n) for n in order], column
        roster.set_sort(column, descending=True)
        assert list(roster.visible) == [vin(n) for n in reversed(order)], column
    with pytest.raises(ValueError, match="unknown column"):
        roster.set_sort("colour")


def test_a_refresh_keeps_sort_and_filter() -> None:
    roster = Roster()
    roster.apply([clearance(vin(n), "pending") for n in range(10)], complete=True)
    roster.set_sort("status", descending=True)
    roster.set_query("wba")
    roster.apply([clearance(vin(4), "approved", history=1)], complete=False)
    assert list(roster.visible) == [vin(4)] + [vin(n) for n in range(9, -1, -1) if n != 4]


def test_prepare_off_loop_then_commit_and_stale_plans_are_refused() -> None:
    roster = Roster()
    roster.apply([clearance(vin(1))], complete=True)
    plan = roster.prepare([clearance(vin(1)), clearance(vin(2))], complete=True)
    assert vin(2) not in roster  # nothing changes before commit
    roster.set_query("wba")  # the view may change meanwhile
    roster.set_sort("brand")
    assert roster.commit(plan)
    assert list(roster.visible) == [vin(1), vin(2)]
    stale = roster.prepare([clearance(vin(3))], complete=False)
    roster.apply([clearance(vin(4))], complete=False)
    assert not roster.commit(stale)
    assert vin(3) not in roster


def test_100k_roster_builds_filters_and_sorts_in_reasonable_time() -> None:
    brands = ("bmw", "audi", "kia", "tesla")
    statuses = ("pending", "approved", "rejected", "revoked")
    fleet = [
        clearance(vin(n), statuses[n % 4], brands[n % 3], tags={"fleet": f"f{n % 50}"})
        for n in range(100_000)
    ]
    roster = Roster()
    started = time.process_time()
    roster.apply(fleet, complete=True)
    roster.set_query("f7")
    roster.set_sort("status")
    changed = [
        clearance(vin(n), "approved", brands[n % 3], tags={"fleet": f"f{n % 50}"}, history=1)
        for n in range(0, 100_000, 100)
    ]
    changes = roster.apply(changed, complete=False)
    spent = time.process_time() - started
    assert len(roster) == 100_000 and len(roster.visible) == 2_000  # fleet=f7
    assert len(changes.changed) == 1_000
    assert spent < 10  # generous: a guard against quadratic behaviour, not a benchmark


class Model:
    """The roster's behaviour, written the obvious way."""

    def __init__(self) -> None:
        self.rows: dict[str, Clearance] = {}

    def visible(
        self, query: str, statuses: set[str] | None, column: str, desc: bool, roster: Roster
    ) -> list[str]:
        def key(v: str) -> object:
            return (_key(roster, column, v), v)

        shown = [
            v
            for v in self.rows
            if (statuses is None or self.rows[v].status in statuses)
            and query in search_text_of(roster.entry(v))
        ]
        ordered = sorted(shown, key=key)
        return ordered[::-1] if desc else ordered


def _key(roster: Roster, column: str, v: str) -> object:
    from hm_tui.service.roster.index import KEYS

    return KEYS[column](roster.entry(v)) if column != "vin" else v


rows = st.tuples(
    st.integers(0, 40),
    st.sampled_from(["pending", "approved", "rejected"]),
    st.sampled_from(["bmw", "kia", "audi"]),
    st.sampled_from([None, "x", "y z"]),
)


def test_orders_built_ahead_are_kept_only_for_the_data_they_were_built_for() -> None:
    roster = Roster()
    roster.apply([clearance(vin(n), "approved", "bmw", None) for n in range(5)], complete=True)
    assert roster.missing_orders() == ["brand", "status", "reason", "tags", "since", "changed"]
    built = roster.build_order("tags")
    roster.apply([clearance(vin(9), "pending", "kia", None)], complete=False)  # data changed
    assert not roster.add_order(built)
    assert roster.add_order(roster.build_order("tags"))
    assert "tags" not in roster.missing_orders()
    roster.set_sort("tags")  # uses it, and it stays
    assert roster.sort == ("tags", False) and "tags" not in roster.missing_orders()


@settings(max_examples=80, deadline=None)
@given(
    batches=st.lists(st.tuples(st.lists(rows, max_size=30), st.booleans()), min_size=1, max_size=6),
    column=st.sampled_from(COLUMNS[:5]),
    desc=st.booleans(),
    query=st.sampled_from(["", "wba", "bmw", "x", "approved", "00001"]),
    statuses=st.sampled_from([None, {"pending"}, {"approved", "rejected"}]),
    splice=st.booleans(),
    then=st.sampled_from(COLUMNS),
    cells=st.sampled_from([0, 10, None]),
)
def test_incremental_updates_match_a_from_scratch_model(
    batches, column, desc, query, statuses, splice, then, cells
) -> None:
    """`cells`: from how many rows the roster filters on numpy cells (`roster/cells.py`), which
    follow every splice and sort (None: never, as a small roster)."""
    share, cells_from = roster_index.REBUILD_SHARE, roster_index.CELLS_FROM
    roster_index.REBUILD_SHARE = 1 if splice else 10**9  # always splice, or always rebuild
    roster_index.CELLS_FROM = cells_from if cells is None else cells
    try:
        roster, model = check_against_model(batches, column, desc, query, statuses)
        roster.set_sort(then, desc)  # from an order built ahead and spliced since, if any
        assert list(roster.visible) == model.visible(query, statuses, then, desc, roster)
        pending = sorted(v for v, c in model.rows.items() if c.status == "pending")
        assert sorted(roster.vins_in(["pending"])) == pending
    finally:
        roster_index.REBUILD_SHARE, roster_index.CELLS_FROM = share, cells_from


def check_against_model(batches, column, desc, query, statuses) -> tuple[Roster, Model]:
    roster, model = Roster(), Model()
    roster.set_sort(column, desc)
    roster.set_query(query)
    roster.set_statuses(statuses)
    for batch, complete in batches:
        items = {vin(n): clearance(vin(n), s, b, r) for n, s, b, r in batch}
        roster.apply(list(items.values()), complete=complete)
        if complete:
            model.rows = dict(items)
        else:
            model.rows.update(items)
        assert set(roster.counts.items()) == {
            (s, sum(1 for c in model.rows.values() if c.status == s))
            for s in {c.status for c in model.rows.values()}
        }
        assert list(roster.visible) == model.visible(query, statuses, column, desc, roster)
        for other in roster.missing_orders()[: len(batches) % 3 * 3]:  # none, some or all
            assert roster.add_order(roster.build_order(other))
    return roster, model


@settings(max_examples=150, deadline=None)
@given(
    batch=st.lists(rows, min_size=8, max_size=40),
    column=st.sampled_from(COLUMNS),
    desc=st.booleans(),
    statuses=st.sampled_from([None, {"approved"}, {"pending", "rejected"}]),
    keys=st.lists(st.sampled_from([*"wba00001bkx", "backspace"]), min_size=2, max_size=12),
    cells=st.booleans(),
)
def test_typing_and_backspacing_match_the_model(batch, column, desc, statuses, keys, cells) -> None:
    """Keystroke by keystroke (narrowing, the recent results of a backspace), under statuses
    and any sort: what is shown and where each VIN is found match the obvious model (with and
    without the cells of a big roster)."""
    roster, model = Roster(), Model()
    model.rows = {vin(n): clearance(vin(n), s, b, r) for n, s, b, r in batch}
    cells_from = roster_index.CELLS_FROM
    roster_index.CELLS_FROM = 0 if cells else cells_from
    try:
        roster.apply(list(model.rows.values()), complete=True)
    finally:
        roster_index.CELLS_FROM = cells_from
    roster.set_sort(column, desc)
    roster.set_statuses(statuses)
    text = ""
    for key in keys:
        text = text[:-1] if key == "backspace" else text + key
        roster.set_query(text)
        expected = model.visible(text, statuses, column, desc, roster)
        assert list(roster.visible) == expected, text
        assert [roster.position(v) for v in expected] == list(range(len(expected)))
        assert all(roster.position(v) == -1 for v in model.rows if v not in set(expected))


@pytest.mark.parametrize("moved", ["query", "sort", "both"])
def test_a_plan_refit_to_a_view_changed_meanwhile_commits_what_that_view_shows(
    moved: str,
) -> None:
    fleet = [
        clearance(vin(n), ("approved", "rejected")[n % 2], ("bmw", "audi")[n % 3 == 0])
        for n in range(12)
    ]
    roster, reference = Roster(), Roster()
    for r in (roster, reference):
        r.apply(fleet, complete=True)
        r.set_sort("brand")
    changed = [clearance(vin(n), "revoked", "bmw") for n in (1, 4)] + fleet[5:]
    plan = roster.prepare(changed, complete=True)
    for r in (roster, reference):  # the operator types or sorts while the plan is made
        if moved in ("query", "both"):
            r.set_query("bmw")
        if moved in ("sort", "both"):
            r.set_sort("status", descending=True)
    assert roster.view_moved(plan)
    refit = roster.refit(plan, *roster.view_now())
    assert not roster.view_moved(refit) and refit.visible is not None
    assert roster.commit(refit)
    reference.apply(changed, complete=True)
    assert list(roster.visible) == list(reference.visible) and roster.sort == reference.sort
    for column in COLUMNS[:-1]:  # every order built ahead is still right after the refit
        roster.set_sort(column)
        reference.set_sort(column)
        assert list(roster.visible) == list(reference.visible), column


def test_letting_go_of_a_committed_plan_frees_only_what_nothing_else_holds() -> None:
    roster = Roster()
    roster.apply([clearance(vin(n), "approved") for n in range(40)], complete=True)
    for column in roster.missing_orders():
        roster.add_order(roster.build_order(column))
    roster.set_sort("brand")
    snapshot = roster.snapshot()  # someone still reading the old state
    held = list(snapshot.data.by_vin)
    changed = [clearance(vin(n), "revoked") for n in range(8)]
    changed += [clearance(vin(n), "approved") for n in range(8, 40)]
    plan = roster.prepare(changed, complete=True)
    assert roster.commit(plan)
    roster.add_orders(plan.data, roster.respliced(plan))
    old_status = plan.resplice["status"] if plan.resplice else None
    Roster.let_go(plan)
    assert snapshot.data.by_vin == held  # still referred to: untouched
    assert old_status is not None and len(old_status.order) == 40  # (we hold it: untouched)
    reference = Roster()
    reference.apply(changed, complete=True)
    for column in COLUMNS[:-1]:  # ("changed": when each roster saw it, differs by design)
        roster.set_sort(column)
        reference.set_sort(column)
        assert list(roster.visible) == list(reference.visible), column
    del snapshot
    plan2 = roster.prepare([clearance(vin(n), "pending") for n in range(40)], complete=True)
    base_order = plan2.resplice["brand"].order if plan2.resplice else None
    assert roster.commit(plan2)
    roster.add_orders(plan2.data, roster.respliced(plan2))
    Roster.let_go(plan2)
    assert base_order is not None and len(base_order) == 40  # this test holds it: untouched
    assert len(roster.visible) == 40 and roster.counts == {"pending": 40}
