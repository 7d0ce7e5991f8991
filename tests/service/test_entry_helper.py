"""The roster's first big list built on two cores (`entry_helper`): the same entries as one core
builds, whatever the helper process does, and no helper process left behind."""

from __future__ import annotations

import logging
import time

import msgspec
import pytest

from hm_tui.service.platform.decode import WireClearances
from hm_tui.service.roster import entry_helper
from hm_tui.service.roster.model import Roster
from tests.helpers import process_gone, wait_until

NOW = 1_800_000_000.0
SIZE = entry_helper.MIN_ITEMS + 3 * entry_helper.CHUNK + 17  # a short last chunk too
BAD_AT = (5, SIZE - 3)  # one in our first chunk, one in the helper's first (the last chunk)


def items(size: int = SIZE, bad_at: tuple[int, ...] = BAD_AT) -> list[bytes]:
    out = []
    for n in range(size):
        if n in bad_at:
            out.append(b'{"vin":"WBA%014d","status":42}' % n)  # does not fit the model
            continue
        status, reason = [
            ("approved", None),
            ("rejected", "privacy mode is enabled"),
            ("pending", None),
        ][n % 3]
        out.append(
            msgspec.json.encode(
                {
                    "vin": f"WBA{n:014d}",
                    "status": status,
                    "brand": ["bmw", "mini"][n % 2],
                    "tags": {"fleet": f"f{n % 7}"} if n % 4 else {},
                    "changelog": [
                        {
                            "timestamp": f"2026-11-{1 + n % 28:02d}T10:00:00Z",
                            "status": status,
                            **({"reason": reason} if reason else {}),
                        }
                    ]
                    if n % 5
                    else [],
                }
            )
        )
    return out


@pytest.fixture
def replies(monkeypatch: pytest.MonkeyPatch) -> list[int]:
    """Counts the chunks the helper process answered (a spy: the real function runs)."""
    answered: list[int] = []
    real = entry_helper._Helper._entries

    def counted(self, reply, chunk, now):  # type: ignore[no-untyped-def]
        answered.append(len(chunk))
        return real(self, reply, chunk, now)

    monkeypatch.setattr(entry_helper._Helper, "_entries", counted)
    return answered


def gone(pid: int) -> bool:
    return bool(wait_until(lambda: process_gone(pid), 5.0, f"helper process {pid} to end"))


def spawned_pids(monkeypatch: pytest.MonkeyPatch) -> list[int]:
    pids: list[int] = []
    real = entry_helper._Helper.spawn.__func__  # type: ignore[attr-defined]

    def spawn(cls):  # type: ignore[no-untyped-def]
        helper = real(cls)
        if helper is not None:
            pids.append(helper._child.pid)
        return helper

    monkeypatch.setattr(entry_helper._Helper, "spawn", classmethod(spawn))
    return pids


def test_two_cores_build_exactly_what_one_builds(
    replies: list[int], monkeypatch: pytest.MonkeyPatch
) -> None:
    pids = spawned_pids(monkeypatch)
    wire = items()
    alone, alone_bad = entry_helper.build(wire, NOW)
    both, both_bad = entry_helper.entries_of(wire, NOW)
    assert replies, "the helper process built no chunk"
    assert sum(replies) < SIZE  # and this process built the others
    assert (both, both_bad) == (alone, alone_bad) and both_bad == len(BAD_AT)
    assert [entry.raw for entry in both] == [item for n, item in enumerate(wire) if n not in BAD_AT]
    assert pids and all(gone(pid) for pid in pids)


def test_a_helper_that_dies_midway_leaves_its_chunks_to_us(
    replies: list[int], monkeypatch: pytest.MonkeyPatch, caplog: pytest.LogCaptureFixture
) -> None:
    real_ask = entry_helper._Helper.ask

    def ask_then_die(self, at, chunk):  # type: ignore[no-untyped-def]
        real_ask(self, at, chunk)
        if len(self.asked) == entry_helper.IN_FLIGHT:
            self._child.kill()

    monkeypatch.setattr(entry_helper._Helper, "ask", ask_then_die)
    wire = items()
    with caplog.at_level(logging.WARNING, "hm_tui.roster"):
        both = entry_helper.entries_of(wire, NOW)
    assert both == entry_helper.build(wire, NOW)
    assert "roster helper process failed" in caplog.text


def test_a_helper_that_cannot_start_changes_nothing_but_the_time(
    monkeypatch: pytest.MonkeyPatch, caplog: pytest.LogCaptureFixture
) -> None:
    def refuse(module: str, function: str) -> None:
        raise OSError(24, "Too many open files")

    monkeypatch.setattr(entry_helper, "spawn", refuse)
    wire = items(bad_at=())
    with caplog.at_level(logging.WARNING, "hm_tui.roster"):
        assert entry_helper.entries_of(wire, NOW) == entry_helper.build(wire, NOW)
    assert "not started (" in caplog.text and "Too many open files" in caplog.text


def test_a_spare_helper_serves_the_next_big_list_and_ends_with_it(
    replies: list[int], monkeypatch: pytest.MonkeyPatch
) -> None:
    pids = spawned_pids(monkeypatch)
    entry_helper.start_spare()
    entry_helper.start_spare()  # one spare at most
    assert len(pids) == 1
    wire = items(bad_at=())
    assert entry_helper.entries_of(wire, NOW) == entry_helper.build(wire, NOW)
    assert replies and len(pids) == 1  # the spare did the work: no second helper
    assert not entry_helper._spare and gone(pids[0])


def test_an_unused_spare_is_dropped_without_waiting_and_ends(
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    pids = spawned_pids(monkeypatch)
    entry_helper.start_spare()
    started = time.monotonic()
    entry_helper.drop_spare()
    assert time.monotonic() - started < 1.0  # the event loop calls this: never a process's end
    assert not entry_helper._spare and gone(pids[0])


def test_small_lists_never_start_a_helper(monkeypatch: pytest.MonkeyPatch) -> None:
    pids = spawned_pids(monkeypatch)
    wire = items(entry_helper.MIN_ITEMS - 1, bad_at=())
    assert entry_helper.entries_of(wire, NOW) == entry_helper.build(wire, NOW)
    assert pids == []


def test_a_first_big_list_in_the_roster_matches_a_decoded_one(replies: list[int]) -> None:
    wire = items(bad_at=())
    from_wire, decoded = Roster(clock=lambda: NOW), Roster(clock=lambda: NOW)
    changes = from_wire.apply(WireClearances(list(reversed(wire))), complete=True)
    decoded.apply([entry.clearance for entry in entry_helper.build(wire, NOW)[0]], complete=True)
    assert replies  # the helper took part
    assert len(changes.added) == SIZE and len(from_wire) == SIZE
    assert list(from_wire.visible) == list(decoded.visible)
    assert from_wire.counts == decoded.counts
    for vin in list(decoded.visible)[::997]:
        ours, theirs = from_wire.entry(vin), decoded.entry(vin)
        assert ours is not None and theirs is not None
        assert (ours.status, ours.brand, ours.reason, ours.since_ts, ours.tag_field) == (
            theirs.status,
            theirs.brand,
            theirs.reason,
            theirs.since_ts,
            theirs.tag_field,
        )


def test_where_there_are_no_memory_files_one_core_builds_without_a_word(
    monkeypatch: pytest.MonkeyPatch, caplog: pytest.LogCaptureFixture
) -> None:
    pids = spawned_pids(monkeypatch)
    monkeypatch.setattr(entry_helper, "SUPPORTED", False)  # macOS, Windows: no memfd
    wire = items(bad_at=())
    with caplog.at_level(logging.WARNING, "hm_tui.roster"):
        entry_helper.start_spare()
        assert entry_helper.entries_of(wire, NOW) == entry_helper.build(wire, NOW)
    assert pids == [] and not entry_helper._spare and caplog.text == ""
