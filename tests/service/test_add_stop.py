"""An add cut short half-way against the running emulator. Stopped by the operator (its task
cancelled after `OperatorStop.request()`): the answers already in stay in the roster and the
journal, the rest are journaled as not done and why, and the action is finished (never offered
for resuming). Cancelled by anything else (the app quitting on a signal or a closed terminal):
the answers heard are journaled and the action stays unfinished; resuming reads the unanswered
VINs back first, so none is applied twice."""

from __future__ import annotations

import asyncio
from typing import Any

import pytest

from hm_tui.service import add_run
from hm_tui.service.add_run import OperatorStop
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
        stop = OperatorStop()
        adding = asyncio.ensure_future(session.add(items, progress, stopped.append, stop))
        await wait_for(lambda: _posts(control, posts_before + 2))  # the second group is out
        stop.request()
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


async def test_an_interrupted_add_stays_resumable_and_the_resume_applies_each_vin_once(
    emulator: Any, monkeypatch: pytest.MonkeyPatch
) -> None:
    """Group 1 answered; of group 2, two answered, two applied by the platform but their answer
    lost (the process went away), two never sent. The resume reads the four back: the two the
    platform holds are recorded as such, the other two sent."""
    monkeypatch.setattr(add_run, "GROUP", 6)
    monkeypatch.setattr(add_run, "READ_BATCH", 3)  # the read-back takes several list calls
    items = [NewClearance(bmw(n), "bmw") for n in range(60, 72)]
    lost = asyncio.Event()

    async with running(emulator, feed=False) as (session, _):
        client = session.client
        real_add = client.add_clearances

        async def answers_lost(group: Any, **kwargs: Any) -> Any:
            if group[0].vin != items[6].vin:
                return await real_add(group, **kwargs)
            kwargs["on_chunk"](await client._add_chunk(group[:2]))  # 2 answered
            await client._add_chunk(group[2:4])  # 2 applied, never heard of
            lost.set()
            await asyncio.Event().wait()  # the rest never leaves

        monkeypatch.setattr(client, "add_clearances", answers_lost)
        adding = asyncio.ensure_future(session.add(items))
        await asyncio.wait_for(lost.wait(), 10)
        adding.cancel()  # no OperatorStop: the app is quitting, not the operator stopping
        with pytest.raises(asyncio.CancelledError):
            await adding
        (entry,) = session.journal.unfinished()
        assert sorted(entry.results) == sorted(i.vin for i in items[:8])
        assert set(entry.not_done) == {i.vin for i in items[8:]}
        monkeypatch.setattr(client, "add_clearances", real_add)
        results = await session.resume(entry.id)
        assert session.journal.unfinished() == []
        (done,) = session.journal.entries(1)
    assert [r.vin for r in results] == [i.vin for i in items[8:]]
    assert all(r.ok for r in results)
    assert [r.description for r in results[:2]] == [add_run.ALREADY_ADDED] * 2
    assert done.id == entry.id and done.not_done == [] and len(done.results) == len(items)
    applied = await Control(emulator).applied("POST")
    assert {vin: applied.get(vin) for vin in (i.vin for i in items)} == {i.vin: 1 for i in items}
