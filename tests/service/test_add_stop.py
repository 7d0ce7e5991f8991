"""An add stopped half-way (its task cancelled) against the running emulator: the answers already
in stay in the roster and the journal, the rest are journaled as not done and why, and the action
is finished (never left looking in progress, never offered for resuming)."""

from __future__ import annotations

import asyncio
from typing import Any

import pytest

from hm_tui.service import add_run
from hm_tui.service.models import NO_ANSWER, NOT_SENT, ItemResult, NewClearance
from tests.helpers import wait_for
from tests.service.platform_helpers import Control
from tests.service.test_session import bmw, running

POSTS = "POST /v1/fleets/vehicles"


async def test_a_stopped_add_keeps_what_was_answered_and_journals_the_rest_as_not_done(
    emulator: Any, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setattr(add_run, "GROUP", 2)  # three groups: answered, out, never sent
    items = [NewClearance(bmw(n), "bmw") for n in range(40, 46)]
    control = Control(emulator)
    stopped: list[list[ItemResult]] = []

    def progress(done: int, _total: int) -> None:
        if done == 2:  # the first group is answered: the platform hangs from now on
            emulator.context.faults.latency_ms = 30_000

    async with running(emulator, feed=False) as (session, _):
        posts_before = (await control.stats())["requests"].get(POSTS, 0)
        adding = asyncio.ensure_future(session.add(items, progress, on_stop=stopped.append))
        await wait_for(lambda: _posts(control, posts_before + 2))  # the second group is out
        adding.cancel()
        with pytest.raises(asyncio.CancelledError):
            await adding
        emulator.context.faults.latency_ms = 0
        (results,) = stopped
        assert [(r.vin, r.status) for r in results] == [
            (items[0].vin, "pending"),
            (items[1].vin, "pending"),
            (items[2].vin, NO_ANSWER),
            (items[3].vin, NO_ANSWER),
            (items[4].vin, NOT_SENT),
            (items[5].vin, NOT_SENT),
        ]
        assert [r.ok for r in results] == [True, True, False, False, False, False]
        assert session.roster.entry(items[0].vin).status == "pending"
        assert session.roster.entry(items[4].vin) is None
        (entry,) = session.journal.entries(1)
        assert session.journal.unfinished() == []
    assert entry.finished and entry.not_done == []
    assert entry.outcomes == {"no answer": 2, "not sent": 2, "pending": 2}
    assert "may have been added" in entry.results[items[2].vin].message
    assert entry.results[items[5].vin].message == "stopped before it was sent"


async def _posts(control: Control, at_least: int) -> bool:
    return (await control.stats())["requests"].get(POSTS, 0) >= at_least
