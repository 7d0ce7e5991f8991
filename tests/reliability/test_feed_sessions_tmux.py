"""Two real dashboards (in tmux, 80x24) and `hm-tui feed --json` on one profile share one MQTT
session (docs/feed-sessions.md): the first dashboard holds it, the others attach; the first quits
(`q`) and the rest go on, every message shown once. On mosquitto, whose log tells each connection
of the certificate's client id and every takeover."""

from __future__ import annotations

import asyncio
import json
import re
import subprocess
from collections.abc import Iterator
from dataclasses import replace
from pathlib import Path
from typing import Any

import pytest
from helpers import process_gone, wait_for
from mqtt_helpers import Mosquitto, mqtt_settings, running_mosquitto
from tmux_helpers import Tmux, tmux_server

from reliability.figures import Figures
from reliability.mqtt_faults import VIN, PacedPublisher, message_id
from reliability.support import HM_TUI, cli_env, emulator_profile, write_config


@pytest.fixture
def broker(tmp_path: Path) -> Iterator[Mosquitto]:
    with running_mosquitto(tmp_path / "mosquitto") as mosquitto:
        yield mosquitto


@pytest.fixture
def env(emulator: Any, broker: Mosquitto, tmp_path: Path) -> dict[str, str]:
    """A profile on the emulator whose feed comes from mosquitto."""
    profile = replace(emulator_profile(emulator), mqtt=mqtt_settings(broker.certs, broker.port))
    config = write_config(tmp_path / "config" / "config.toml", profile)
    return cli_env(config, tmp_path / "data", TERM="xterm-256color")


@pytest.fixture
def first(tmp_path: Path) -> Iterator[Tmux]:
    yield from tmux_server(tmp_path, "first")


@pytest.fixture
def second(tmp_path: Path) -> Iterator[Tmux]:
    yield from tmux_server(tmp_path, "second")


def connections(broker: Mosquitto) -> int:
    """Connections mosquitto accepted with the certificate's client id."""
    return broker.log.count(f"as {broker.certs.client_id} ")


def takeovers(broker: Mosquitto) -> list[str]:
    return re.findall(r".*already connected, closing old connection.*", broker.log)


def received(screen: str) -> int:
    """The feed panel's count of messages received (0 when not shown)."""
    found = re.search(r"([\d,]+) messages", screen)
    return int(found.group(1).replace(",", "")) if found else 0


async def test_two_dashboards_and_a_feed_share_the_session_and_outlive_the_holder(
    env: dict[str, str],
    broker: Mosquitto,
    emulator: Any,
    first: Tmux,
    second: Tmux,
    tmp_path: Path,
    figures: Figures,
) -> None:
    passed = {k: v for k, v in env.items() if k.startswith(("HM_", "XDG", "TERM"))}
    topic = f"sandbox/level13/{emulator.credentials['app_id']}/{VIN}/ignition/get/state"
    publisher = PacedPublisher(broker.certs, broker.port, topic)
    holder = first.start(list(HM_TUI), passed, tmp_path / "first.pid")
    feed: subprocess.Popen[bytes] | None = None
    try:
        await wait_for(lambda: connections(broker) == 1, 30, message="the first connected")
        second.start(list(HM_TUI), passed, tmp_path / "second.pid")
        with (tmp_path / "out").open("wb") as out, (tmp_path / "err").open("wb") as err:
            feed = subprocess.Popen([*HM_TUI, "feed", "--json"], env=env, stdout=out, stderr=err)
        await wait_for(lambda: '"role": "attached"' in (tmp_path / "err").read_text(), 30)
        for dashboard in (first, second):
            await wait_for(lambda d=dashboard: "MQTT" in d.screen(), 20, message="the dashboard")
            dashboard.keys("f")
            await wait_for(lambda d=dashboard: "● connected" in d.screen(), 30, message="its feed")
        await asyncio.to_thread(publisher.publish, [message_id(n) for n in range(1, 21)])
        await wait_for(lambda: lines(tmp_path) == 20, 20, message="hm-tui feed got 20")
        for dashboard in (first, second):
            await wait_for(lambda d=dashboard: received(d.screen()) == 20, 20, message="20 shown")
        first.keys("q")  # the holder quits
        await wait_for(lambda: process_gone(holder), 20, message="the first dashboard quit")
        figures.fault("the dashboard holding the MQTT session quit")
        await asyncio.to_thread(publisher.publish, [message_id(n) for n in range(21, 41)])
        await wait_for(lambda: lines(tmp_path) == 40, 20, message="hm-tui feed got 40")
        await wait_for(lambda: received(second.screen()) == 40, 20, message="40 in the second")
        assert connections(broker) == 2, broker.log  # the first holder, then its successor
        assert takeovers(broker) == [], "no connection ever took the session from another"
        assert lines(tmp_path) == 40  # none twice (received counts each message once)
    finally:
        publisher.close()
        if feed is not None:
            feed.terminate()
            feed.wait(15)
    figures.delivery(40 * 2, 0, 0)


def lines(tmp_path: Path) -> int:
    """Data lines `hm-tui feed --json` printed (each message's one point)."""
    printed = (tmp_path / "out").read_text().splitlines()
    return len([json.loads(line) for line in printed if line.endswith("}")])
