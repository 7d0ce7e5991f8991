"""One MQTT session per certificate on one machine (docs/feed-sessions.md), on mosquitto and on the
emulator's broker: a second and third feed on the profile (the dashboard's feed process, `hm-tui
feed --json`) attach to the process holding the session instead of connecting, and when the holder
exits (SIGTERM) or dies (SIGKILL) one of them takes the session over: every message published
reaches every feed still running exactly once, and the holder got each once until it went."""

from __future__ import annotations

import asyncio
import json
import os
import signal
import stat
import subprocess
import threading
from collections.abc import AsyncIterator, Iterator
from dataclasses import replace
from pathlib import Path
from typing import Any

import pytest
from helpers import process_gone, wait_for
from mqtt_helpers import mqtt_settings

from hm_tui.service.feed.local import runtime_dir, session_paths
from hm_tui.service.feed.process import ProcessFeed
from reliability.brokers import BROKERS, AnyBroker, any_broker
from reliability.figures import Figures
from reliability.mqtt_faults import APP, PacedPublisher, message_id
from reliability.support import HM_TUI, cli_env, emulator_profile, write_config

STREAM = 300  # messages published while the holder goes, one value each
HANDOVER_AT = 100  # the holder is stopped or killed once this many are acknowledged


@pytest.fixture(params=BROKERS)
async def broker(request: pytest.FixtureRequest, tmp_path: Path) -> AsyncIterator[AnyBroker]:
    async with any_broker(request.param, tmp_path) as started:
        yield started


def value(number: int) -> str:
    return f"m{number}"


class Publisher(PacedPublisher):
    """Message n carries the value "m<n>" (so `hm-tui feed --json` lines can be told apart)."""

    def publish_numbered(self, numbers: range) -> None:
        for number in numbers:
            self.publish([message_id(number)], value(number))

    def start_numbered(self, numbers: range) -> None:
        """`publish_numbered` in a thread of its own (`done`, `error` tell how it went)."""

        def run() -> None:
            try:
                self.publish_numbered(numbers)
            except BaseException as exc:
                self.error = exc

        self._thread = threading.Thread(target=run, name="numbered-publisher", daemon=True)
        self._thread.start()


class Dashboardish:
    """The dashboard's feed (`ProcessFeed`: paho, or the attachment, in a child process)."""

    def __init__(self, broker: AnyBroker) -> None:
        settings = mqtt_settings(broker.certs, broker.port)
        self.feed = ProcessFeed(settings, "sandbox", APP, reconnect_delay=(1, 1))
        self.values: list[Any] = []
        self.feed.start()

    def drain(self) -> list[Any]:
        self.values += [point.value for point in self.feed.drain()]
        return self.values


class FeedCommand:
    """`hm-tui feed --json` on a profile whose [mqtt] points at the broker."""

    def __init__(self, config: Path, workdir: Path, name: str) -> None:
        self.out, self.err = workdir / f"{name}.out", workdir / f"{name}.err"
        with self.out.open("wb") as out, self.err.open("wb") as err:
            self.process = subprocess.Popen(
                [*HM_TUI, "feed", "--json"],
                env=cli_env(config, workdir / "data"),
                stdout=out,
                stderr=err,
            )

    def values(self) -> list[Any]:
        lines = self.out.read_text().splitlines()
        return [json.loads(line)["value"] for line in lines if line.endswith("}")]

    def events(self) -> list[dict[str, Any]]:
        """What it said on stderr (with --json, one object per line)."""
        lines = self.err.read_text().splitlines()
        return [json.loads(line) for line in lines if line.startswith("{") and line.endswith("}")]

    def connected(self) -> bool:
        return any(event.get("headline") == "connected" for event in self.events())

    def session(self) -> tuple[str, int | None]:
        """Its latest word on where it stands in the session: (role, holder's pid)."""
        said = [e for e in self.events() if e.get("event") == "feed_session"]
        return (said[-1]["role"], said[-1]["holder_pid"]) if said else ("", None)

    def end(self) -> None:
        if self.process.poll() is None:
            self.process.terminate()
        self.process.wait(15)


@pytest.fixture
def config(emulator: Any, broker: AnyBroker, tmp_path: Path) -> Path:
    profile = replace(
        emulator_profile(emulator), app_id=APP, mqtt=mqtt_settings(broker.certs, broker.port)
    )
    return write_config(tmp_path / "config" / "config.toml", profile)


@pytest.fixture
def commands(config: Path, tmp_path: Path) -> Iterator[list[FeedCommand]]:
    started: list[FeedCommand] = []
    yield started
    for command in started:
        command.end()


async def test_a_second_feed_attaches_to_the_holder_instead_of_connecting(
    broker: AnyBroker, config: Path, tmp_path: Path, commands: list[FeedCommand]
) -> None:
    first = Dashboardish(broker)
    publisher = Publisher(broker.certs, broker.port)
    try:
        await wait_for(lambda: first.feed.state.subscribed, 15, message="the first feed")
        assert first.feed.state.role == "holder"
        paths = session_paths(runtime_dir(), "127.0.0.1", broker.port, broker.certs.client_id)
        assert stat.S_IMODE(paths.socket.parent.stat().st_mode) == 0o700
        assert stat.S_IMODE(paths.socket.stat().st_mode) == 0o600
        assert stat.S_ISSOCK(paths.socket.stat().st_mode) and paths.lock.exists()
        commands.append(FeedCommand(config, tmp_path, "feed"))
        await wait_for(lambda: first.feed.state.attached == 1, 20, message="hm-tui feed attached")
        await wait_for(commands[0].connected, 10)
        assert commands[0].session() == ("attached", first.feed.pid)
        await asyncio.to_thread(publisher.publish_numbered, range(1, 11))
        want = [value(n) for n in range(1, 11)]
        await wait_for(lambda: commands[0].values() == want, 10, message="the feed's lines")
        await wait_for(lambda: first.drain() == want, 10, message="the holder's points")
        state = first.feed.state
        assert state.status == "connected" and state.takeovers == 0  # nobody fought
        await asyncio.to_thread(first.feed.stop)
        await wait_for(lambda: commands[0].session()[0] == "holder", 10)
        await asyncio.to_thread(publisher.publish_numbered, range(11, 16))
        want += [value(n) for n in range(11, 16)]
        await wait_for(lambda: commands[0].values() == want, 15, message="hm-tui feed holds it")
        assert paths.socket.exists()  # it serves the next ones
    finally:
        publisher.close()
        await asyncio.to_thread(first.feed.stop)


@pytest.mark.parametrize("sig", [signal.SIGTERM, signal.SIGKILL], ids=["SIGTERM", "SIGKILL"])
@pytest.mark.parametrize("holder", ["feed process", "hm-tui feed"])
async def test_every_feed_gets_every_message_once_through_the_holders_exit(
    broker: AnyBroker,
    config: Path,
    tmp_path: Path,
    commands: list[FeedCommand],
    holder: str,
    sig: signal.Signals,
    figures: Figures,
) -> None:
    publisher = Publisher(broker.certs, broker.port)
    feeds: list[Dashboardish] = []
    try:
        if holder == "hm-tui feed":
            commands.append(FeedCommand(config, tmp_path, "holder"))
            await wait_for(commands[0].connected, 20)
        feeds.append(Dashboardish(broker))
        if holder == "feed process":
            await wait_for(lambda: feeds[0].feed.state.subscribed, 20)
        feeds.append(Dashboardish(broker))
        commands.append(FeedCommand(config, tmp_path, "attached"))
        await wait_for(
            lambda: (
                all(f.feed.state.subscribed for f in feeds) and all(c.connected() for c in commands)
            ),
            30,
            message=f"every feed attached ({[f.feed.state for f in feeds]})",
        )
        roles = [f.feed.state.role for f in feeds]
        assert roles == (["holder", "attached"] if holder == "feed process" else ["attached"] * 2)
        publisher.start_numbered(range(1, STREAM + 1))
        await wait_for(lambda: len(publisher.sent) >= HANDOVER_AT or publisher.error, 30)
        victim = feeds[0].feed.pid if holder == "feed process" else commands[0].process.pid
        assert victim is not None
        os.kill(victim, sig)
        figures.fault(f"{sig.name} to the MQTT session's holder ({holder}, {broker.kind})")
        await wait_for(lambda: process_gone(victim), 15, message="the holder gone")
        await wait_for(lambda: publisher.done, 60, message="every message acknowledged")
        assert publisher.error is None, publisher.error
        want = [value(n) for n in range(1, STREAM + 1)]
        survivors = feeds[1:] + commands[1:] if holder == "feed process" else feeds + commands[1:]
        for survivor in survivors:
            got = survivor.drain if isinstance(survivor, Dashboardish) else survivor.values
            await wait_for(
                lambda got=got: set(got()) >= set(want),
                30,
                message=f"every message at {survivor} ({_states(feeds)}, {_missing(want, got())})",
            )
            assert sorted(got(), key=_number) == want, "each message once"
        gone = feeds[0].drain() if holder == "feed process" else commands[0].values()
        assert len(gone) == len(set(gone)) and set(gone) <= set(want)
        assert sum(f.feed.state.role == "holder" for f in feeds if f in survivors) <= 1
    finally:
        publisher.close()
        for feed in feeds:
            await asyncio.to_thread(feed.feed.stop)
    figures.delivery(STREAM * len(survivors), 0, 0)


def _missing(want: list[str], got: list[Any]) -> str:
    return f"missing {sorted(set(want) - set(got), key=_number)}"


def _number(text: str) -> int:
    return int(text[1:])


def _states(feeds: list[Dashboardish]) -> list[tuple[str, str, int]]:
    return [(f.feed.state.status, f.feed.state.role, f.feed.state.received) for f in feeds]
