"""The Session against the running emulator: cached start, add and remove (refusals explained,
journaled), read-only, webhooks into the roster, resume of a killed action, clean stop."""

from __future__ import annotations

import socket
import threading
from collections.abc import AsyncIterator
from contextlib import asynccontextmanager
from dataclasses import replace
from pathlib import Path
from typing import Any

import msgspec
import pytest

from hm_tui.domain.vin import with_check_digit
from hm_tui.service.events import ActionProgress, FeedDataArrived, HealthChanged, ReadOnlyError
from hm_tui.service.models import NewClearance
from hm_tui.service.platform.client import PlatformClient
from hm_tui.service.platform.retry import NO_RETRY
from hm_tui.service.roster import entry_helper
from hm_tui.service.roster.model import RosterChanges
from hm_tui.service.session import Session
from hm_tui.service.store.db import Store
from tests.helpers import process_gone, wait_for
from tests.service.platform_helpers import FAST_RETRY, Control, emulator_profile

QUIET = {"poll_interval": 3600.0, "full_interval": 3600.0}  # tests poll when they want to


@asynccontextmanager
async def running(emulator: Any, **kwargs: Any) -> AsyncIterator[tuple[Session, list[object]]]:
    profile = kwargs.pop("profile", None) or emulator_profile(emulator)
    client = PlatformClient(profile, retry=kwargs.pop("retry", FAST_RETRY))
    session = Session(profile, client=client, **{**QUIET, **kwargs})
    events: list[object] = []
    session.subscribe(events.append)
    try:
        await session.start()
        yield session, events
    finally:
        await session.stop()
        await client.aclose()


def bmw(n: int) -> str:
    return with_check_digit(f"WBA{n:014d}")


async def test_start_loads_the_roster_and_health_is_ok(emulator: Any) -> None:
    async with running(emulator, feed=False) as (session, events):
        assert len(session.roster) == len(emulator.state.clearances)
        assert session.health.api == "ok" and not session.health.stale
        assert session.health.token_age_s is not None
        assert any(isinstance(e, RosterChanges) for e in events)
        assert any(isinstance(e, HealthChanged) for e in events)


async def test_a_profiles_first_start_readies_a_roster_helper_and_ends_it(
    emulator: Any, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    """No cache on disk yet: the roster may be big, so a helper process starts ahead of the
    first list (entry_helper); a small fleet never uses it, and start() leaves none running."""
    spares: list[int] = []
    real_start = entry_helper.start_spare

    def start_spare() -> None:
        real_start()
        spares.extend(helper._child.pid for helper in entry_helper._spare)

    monkeypatch.setattr(entry_helper, "start_spare", start_spare)
    async with running(emulator, feed=False) as (session, _):  # private memory store: never
        assert spares == [] and len(session.roster)
    async with running(emulator, store=Store(tmp_path / "emu.db"), feed=False) as (session, _):
        assert len(spares) == 1 and not entry_helper._spare
        assert await wait_for(lambda: process_gone(spares[0]))
    async with running(emulator, store=Store(tmp_path / "emu.db"), feed=False) as (session, _):
        assert len(spares) == 1  # a small cache now says the roster is small: none started


async def test_a_restart_shows_the_cached_roster_as_stale_when_the_platform_is_away(
    emulator: Any, tmp_path: Path
) -> None:
    async with running(emulator, store=Store(tmp_path / "emu.db"), feed=False) as (first, _):
        known = sorted(first.roster.visible)
    with socket.socket() as probe:  # a port nobody listens on: the platform is unreachable
        probe.bind(("127.0.0.1", 0))
        dead = f"http://127.0.0.1:{probe.getsockname()[1]}/v1"
    away = replace(emulator_profile(emulator), base_url=dead)
    store = Store(tmp_path / "emu.db")
    session = Session(
        away, store=store, client=PlatformClient(away, retry=NO_RETRY), feed=False, **QUIET
    )
    try:
        with pytest.raises(Exception, match=r"(?i)connect|network|reach"):
            await session.start()
        assert sorted(session.roster.visible) == known
        health = session.health
        assert health.stale and health.api in ("degraded", "down")
        assert health.last_refresh is not None  # when the cache was saved
    finally:
        await session.stop()
        await session.client.aclose()
        store.close()


async def test_add_is_journaled_and_in_the_roster_at_once(emulator: Any) -> None:
    items = [NewClearance(bmw(n), "bmw", {"depot": "north"}) for n in range(3)]
    items.append(NewClearance("WBA123", "bmw"))  # too short: the platform says why
    seen: list[tuple[int, int]] = []
    async with running(emulator, feed=False) as (session, events):
        results = await session.add(items, lambda done, total: seen.append((done, total)))
        assert [r.ok for r in results] == [True, True, True, False]
        for item in items[:3]:
            entry = session.roster.entry(item.vin)
            assert entry is not None and entry.status == "pending"
            assert entry.clearance.tags == {"depot": "north"}
        (entry,) = session.journal.entries(1)
    assert entry.action == "add" and entry.finished and len(entry.results) == 4
    assert entry.results["WBA123"].result == "error"
    assert "17" in entry.results["WBA123"].message
    assert seen[-1] == (4, 4)
    progress = [e for e in events if isinstance(e, ActionProgress)]
    assert progress[-1].finished and progress[-1].action_id == entry.id


async def deletes(control: Control) -> int:
    return int((await control.stats())["requests"].get("DELETE /v1/fleets/vehicles/{vin}", 0))


async def test_remove_explains_refusals_without_sending_them(emulator: Any) -> None:
    control = Control(emulator)
    async with running(emulator, feed=False) as (session, _):
        approved = session.roster.vins_in({"approved"})[0]
        rejected = session.roster.vins_in({"rejected"})[0]
        await session.add([NewClearance(bmw(9), "bmw")])
        deletes_before = await deletes(control)
        outcomes = await session.remove([approved, rejected, bmw(9), "WBA00000000000000"])
        by_vin = {o.vin: o for o in outcomes}
        assert [o.vin for o in outcomes] == [approved, rejected, bmw(9), "WBA00000000000000"]
        assert by_vin[approved].ok and by_vin[approved].status == "revoking"
        assert session.roster.entry(approved).status == "revoking"
        assert not by_vin[rejected].ok
        assert by_vin[rejected].message == "already rejected: nothing to remove"
        assert "bmw does not support canceling" in by_vin[bmw(9)].message
        unknown = by_vin["WBA00000000000000"]
        assert not unknown.ok and unknown.message  # the platform's 404, in words
        assert await deletes(control) - deletes_before == 2  # approved + unknown: sent
        (entry,) = session.journal.entries(1)
    assert entry.action == "remove" and entry.finished
    assert entry.results[rejected].result == "refused"
    assert entry.results[approved].result == "revoking"
    assert emulator.state.clearances[approved].status == "revoking"


async def test_read_only_refuses_every_change_with_a_clear_message(emulator: Any) -> None:
    async with running(emulator, feed=False, read_only=True) as (session, _):
        with pytest.raises(ReadOnlyError, match="read-only session: adding VINs is disabled"):
            await session.add([NewClearance(bmw(1), "bmw")])
        with pytest.raises(ReadOnlyError, match="cancel/revoke"):
            await session.remove(session.roster.vins_in({"approved"})[:1])
        vin = session.roster.vins_in({"approved"})[0]
        assert (await session.vehicle_data(vin)).vin == vin  # reading is fine
    assert emulator.state.clearances[vin].status == "approved"


async def test_resume_finishes_what_a_killed_add_never_sent(emulator: Any, tmp_path: Path) -> None:
    store = Store(tmp_path / "resume.db")
    items = [NewClearance(bmw(n), "bmw") for n in range(20, 24)]
    action = store.journal.begin(
        "add", [i.vin for i in items], {"items": msgspec.to_builtins(items)}
    )
    store.journal.record_item(action, items[0].vin, "pending")  # then the app was killed
    async with running(emulator, store=store, feed=False) as (session, _):
        (unfinished,) = session.journal.unfinished()
        assert unfinished.not_done == [i.vin for i in items[1:]]
        results = await session.resume(unfinished.id)
        assert [r.vin for r in results] == [i.vin for i in items[1:]]
        assert session.journal.unfinished() == []
    assert all(emulator.state.clearances[i.vin].status == "pending" for i in items[1:])
    assert items[0].vin not in emulator.state.clearances
    store.close()


async def test_webhook_changes_reach_the_roster_without_a_poll(emulator_factory: Any) -> None:
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        port = probe.getsockname()[1]
    emu = await emulator_factory(publish=False, webhook_url=f"http://127.0.0.1:{port}/hook")
    profile = replace(emulator_profile(emu), webhook_listen=f"127.0.0.1:{port}")
    async with running(emu, profile=profile, feed=False) as (session, _):
        assert session.webhook is not None
        vin = session.roster.vins_in({"approved"})[0]
        lists = session.fleet.stats["full"] + session.fleet.stats["transient"]
        await Control(emu).force(vin, status="revoking")
        await wait_for(
            lambda: session.roster.entry(vin).status == "revoking",
            timeout=10,
            message="the webhook's change in the roster",
        )
        assert session.fleet.stats["full"] + session.fleet.stats["transient"] == lists
        assert session.webhook.stats["accepted"] >= 1 and session.webhook.stats["rejected"] == 0


async def test_stop_disconnects_the_feed_and_keeps_the_roster_cache(
    emulator: Any, tmp_path: Path
) -> None:
    store = Store(tmp_path / "feed.db")
    unstarted = Session(emulator_profile(emulator), store=store)
    assert unstarted.feed is not None and unstarted.feed_status == "waiting"  # for the list
    async with running(emulator, store=store) as (session, _):
        assert session.feed is not None
        await wait_for(lambda: session.feed_status == "connected", timeout=10)
        child = session.feed.pid  # paho runs in a process of its own
        count = len(session.roster)
    assert session.feed.state.status == "stopped" == session.feed_status
    assert Session(emulator_profile(emulator), feed=False).feed_status == "off"
    assert child is not None and process_gone(child), "the feed process outlived the session"
    cached, _ = store.load_roster()
    assert len(cached) == count
    store.close()


async def test_new_feed_points_are_announced_to_subscribers_from_the_feed_thread(
    emulator: Any,
) -> None:
    """The feed's wake-up is one of the session's events (the dashboard's panel drains on it),
    delivered from the feed's reader thread, not the event loop's."""
    heard: list[tuple[object, threading.Thread]] = []
    async with running(emulator) as (session, _):
        session.subscribe(lambda event: heard.append((event, threading.current_thread())))
        feed = session.feed
        assert feed is not None
        await wait_for(lambda: session.feed_status == "connected", timeout=10)
        app_id = session.profile.app_id
        vin = "WBA00000400000001"
        feed.ingest(f"sandbox/level13/{app_id}/{vin}/ignition/get/state", v1_payload(vin))
        drained: list[Any] = []  # (the emulator's own cars may publish meanwhile)

        def ours_drained() -> bool:
            drained.extend(feed.drain())
            return any(point.vin == vin for point in drained)

        await wait_for(ours_drained, 10)
        await wait_for(lambda: any(isinstance(event, FeedDataArrived) for event, _ in heard), 10)
        threads = {thread for event, thread in heard if isinstance(event, FeedDataArrived)}
        assert threads and threading.main_thread() not in threads


def v1_payload(vin: str) -> bytes:
    """One V1 message (docs/platform.md#mqtt-streaming-push) with a fresh message id."""
    return msgspec.json.encode(
        {
            "version": 1,
            "message_id": "f" * 64,
            "vin": vin,
            "capability": "ignition",
            "property": "state",
            "data": {"ignition": {"state": {"data": "on", "timestamp": "2025-11-23T10:00:00Z"}}},
        }
    )
