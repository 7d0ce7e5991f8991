"""What keeps a 100,000-VIN fleet cheap, pinned as behaviour (the timings live in benchmarks/):
a refresh decodes only the items whose bytes changed, the roster holds each clearance as the
platform's bytes, filter results come back on a backspace without going stale, the structs stay
out of the cyclic GC, and a big list answer is freed as soon as it is read."""

from __future__ import annotations

import gc
import threading
from pathlib import Path
from typing import Any

import httpx
import msgspec
import pytest

from hm_tui import collector
from hm_tui.service.models import ChangelogEntry, Clearance
from hm_tui.service.platform import decode
from hm_tui.service.platform.client import PlatformClient
from hm_tui.service.platform.decode import WireClearances
from hm_tui.service.roster import diff as roster_diff
from hm_tui.service.roster import index as roster_index
from hm_tui.service.roster.model import Roster
from hm_tui.service.store.db import Store
from tests.service.platform_helpers import emulator_profile


def vin(n: int) -> str:
    return f"WBA{n:014d}"


def item(n: int, status: str = "approved", reason: str | None = None, **tags: str) -> bytes:
    """One list item as the platform writes it (compact JSON, no `reason` when there is none)."""
    entry: dict[str, Any] = {"timestamp": f"2024-05-01T10:00:{n % 60:02d}Z", "status": status}
    if reason:
        entry["reason"] = reason
    return msgspec.json.encode(
        {"vin": vin(n), "status": status, "brand": "bmw", "tags": tags, "changelog": [entry]}
    )


def wire(*items: bytes) -> WireClearances:
    return decode.split_clearance_list(b"[" + b",".join(items) + b"]")


@pytest.fixture
def decoded(monkeypatch: pytest.MonkeyPatch) -> list[int]:
    """How many items the roster decoded, per apply."""
    counts: list[int] = []
    original = roster_diff.decode_batches

    def counting(items: list[Any]) -> Any:
        counts.append(len(items))
        return original(items)

    monkeypatch.setattr(roster_diff, "decode_batches", counting)
    return counts


def test_a_refresh_decodes_only_the_items_whose_bytes_changed(decoded: list[int]) -> None:
    roster = Roster()
    items = [item(n) for n in range(50)]
    roster.apply(wire(*items), complete=True)
    version = roster.version
    same = roster.apply(wire(*items), complete=True)
    assert same.empty and roster.version == version
    items[7] = item(7, "revoked", "user_revoked")
    changes = roster.apply(wire(*items), complete=True)
    assert decoded == [50, 0, 1]
    assert [(c.vin, c.old, c.new, c.reason) for c in changes.changed] == [
        (vin(7), "approved", "revoked", "user_revoked")
    ]
    assert roster.entry(vin(7)).status == "revoked" and roster.counts == {
        "approved": 49,
        "revoked": 1,
    }


def test_the_same_clearance_in_other_bytes_is_no_change_and_its_new_bytes_are_kept(
    decoded: list[int],
) -> None:
    roster = Roster()
    roster.apply(wire(item(1), item(2)), complete=True)
    spaced = msgspec.json.format(item(2), indent=1)  # same clearance, other whitespace
    assert roster.apply(wire(item(1), spaced), complete=True).empty
    assert roster.apply(wire(item(1), spaced), complete=True).empty
    assert decoded == [2, 1, 0]  # the spaced bytes were kept: the third list decoded nothing
    assert roster.entry(vin(2)).raw == spaced


def test_a_vin_missing_from_a_complete_list_is_removed_unless_kept() -> None:
    roster = Roster()
    roster.apply(wire(item(1), item(2), item(3)), complete=True)
    changes = roster.apply(wire(item(1), item(1)), complete=True, keep={vin(3)})
    assert changes.removed == [vin(2)]
    assert sorted(roster.visible) == [vin(1), vin(3)]
    assert roster.apply(wire(item(1)), complete=False).empty  # a partial list removes nothing


def test_a_kept_vin_is_not_overwritten_by_an_older_list() -> None:
    roster = Roster()
    roster.apply(wire(item(1)), complete=True)
    changes = roster.apply(wire(item(1, "revoked")), complete=True, keep={vin(1)})
    assert changes.empty and roster.entry(vin(1)).status == "approved"


def test_an_unreadable_item_is_skipped_and_the_rest_applied() -> None:
    roster = Roster()
    changes = roster.apply(wire(item(1), b'{"status": 3}', item(2)), complete=True)
    assert sorted(changes.added) == [vin(1), vin(2)]


def test_an_entry_decodes_to_the_clearance_the_platform_sent() -> None:
    roster = Roster()
    roster.apply(wire(item(1, "rejected", "not_eligible", depot="north")), complete=True)
    entry = roster.entry(vin(1))
    assert entry.clearance == msgspec.json.decode(
        item(1, "rejected", "not_eligible", depot="north"), type=Clearance
    )
    assert (entry.status, entry.reason, entry.tags) == (
        "rejected",
        "not_eligible",
        "depot=north",
    )


def test_decoded_and_wire_lists_agree() -> None:
    from_wire, from_structs = Roster(), Roster()
    items = [item(n, "pending" if n % 3 else "approved", depot=str(n % 4)) for n in range(30)]
    from_wire.apply(wire(*items), complete=True)
    from_structs.apply([msgspec.json.decode(i, type=Clearance) for i in items], complete=True)
    for column in ("brand", "status", "since", "tags"):
        from_wire.set_sort(column)
        from_structs.set_sort(column)
        assert list(from_wire.visible) == list(from_structs.visible)
    assert from_structs.apply(wire(*items), complete=True).empty  # same clearances, other bytes


def test_the_cache_keeps_the_platforms_bytes_so_a_warm_start_decodes_nothing_twice(
    tmp_path: Path, decoded: list[int]
) -> None:
    roster = Roster()
    items = [item(n) for n in range(10)]
    roster.apply(wire(*items), complete=True)
    store = Store(tmp_path / "cache.db")
    store.save_roster_slices(*roster.wire_slices(3))  # (as the session writes it: 4 rows)
    cached, saved_at = store.load_roster_wire()
    assert saved_at is not None and len(cached) == 10
    assert [bytes(raw) for raw in cached.items] == [
        b for part in roster.wire_slices(3)[1] for b in part
    ]
    assert store.query("SELECT count(*) FROM roster_slices") == [(4,)]
    assert store.load_roster()[0] == roster.clearances()
    warm = Roster()
    warm.apply(cached, complete=True)
    assert warm.apply(wire(*items), complete=True).empty
    assert decoded == [10, 10, 0]
    store.close()


def test_a_backspace_brings_back_the_earlier_result_and_a_refresh_makes_it_fresh() -> None:
    roster = Roster()
    roster.apply(
        wire(*(item(n, depot="north" if n % 2 else "east") for n in range(20))), complete=True
    )
    north = [vin(n) for n in range(1, 20, 2)]
    for text in ("a", "n", "no", "nor", "no", "n", "a"):
        roster.set_query(text)  # "a": every row (approved); the others: the north depot
        assert list(roster.visible) == (north if text != "a" else [vin(n) for n in range(20)])
    roster.set_query("no")
    roster.apply(wire(item(1, depot="east")), complete=False)  # vin 1 leaves the north
    roster.set_query("nor")
    assert list(roster.visible) == north[1:]
    roster.set_statuses({"revoked"})
    roster.set_query("no")
    assert list(roster.visible) == []


def test_clearances_and_roster_entries_stay_out_of_the_cyclic_gc() -> None:
    c = Clearance(vin(1), "approved", "bmw", {"a": "b"}, [ChangelogEntry("2024-05-01", "x")])
    roster = Roster()
    roster.apply([c], complete=True)
    assert not gc.is_tracked(c) and not gc.is_tracked(c.changelog[0])
    assert not gc.is_tracked(roster.entry(vin(1)))


def test_collector_pauses_nest_across_threads_and_restore_the_collector() -> None:
    assert gc.isenabled()
    inside = threading.Event()
    release = threading.Event()

    def other() -> None:
        with collector.paused():
            inside.set()
            release.wait(5)

    thread = threading.Thread(target=other)
    with collector.paused():
        thread.start()
        inside.wait(5)
    assert not gc.isenabled()  # the other thread's pause still runs
    release.set()
    thread.join(5)
    assert gc.isenabled()


def test_a_settling_pause_freezes_what_was_built_when_the_last_pause_ends() -> None:
    """What a big build leaves (here: lists holding tracked objects) goes straight to the
    frozen generation, never walked by a young collection; only when the last pause ends."""
    gc.unfreeze()
    try:
        with collector.paused():
            with collector.paused(settle=True):
                built = [[n] for n in range(10_000)]
            assert not gc.isenabled() and gc.get_freeze_count() == 0  # the outer pause runs
        assert gc.isenabled() and gc.get_freeze_count() >= len(built)
        assert gc.get_count()[0] < 100  # the young generation starts empty
        frozen = gc.get_freeze_count()
        with collector.paused():
            more = [[n] for n in range(1_000)]
        assert gc.get_freeze_count() == frozen and len(more)  # no settle asked: not frozen
    finally:
        gc.unfreeze()


def test_a_big_roster_settles_after_a_change_and_not_after_a_poll_that_changed_nothing(
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    """Every freeze keeps the garbage that exists at that moment for good: a transient poll
    every 5 s that changes nothing must not freeze (it built nothing big)."""
    monkeypatch.setattr(roster_index, "SETTLE_FROM", 50)
    roster = Roster()
    roster.apply(wire(*(item(n) for n in range(200))), complete=True)
    freezes: list[int] = []
    monkeypatch.setattr(gc, "freeze", lambda: freezes.append(1))
    roster.apply(wire(item(3), item(4)), complete=False)  # as they are: nothing changes
    assert freezes == []
    roster.apply(wire(item(3, "revoked")), complete=False)
    assert freezes and roster.entry(vin(3)).clearance.status == "revoked"  # type: ignore[union-attr]


async def test_a_list_answer_is_freed_as_soon_as_it_is_read(emulator: Any) -> None:
    async with PlatformClient(emulator_profile(emulator)) as client:
        await client.fetch_clearances()
        gc.collect()
        gc.disable()  # what a refcount alone cannot free stays: a reference cycle
        try:
            listed = await client.fetch_clearances()
            alive = [o for o in gc.get_objects() if isinstance(o, httpx.Response)]
        finally:
            gc.enable()
    assert len(listed) > 0 and alive == []
