"""Clean shutdown: `hm-tui feed` and the dashboard told to stop (SIGTERM) or losing their terminal
(SIGHUP, tmux killed) close their MQTT session properly (mosquitto logs a DISCONNECT, not a
dropped socket), exit by themselves and leave no process behind."""

from __future__ import annotations

import asyncio
import json
import os
import re
import signal
import subprocess
from collections.abc import Iterator
from dataclasses import replace
from pathlib import Path
from typing import Any

import pytest
from helpers import wait_for
from mqtt_helpers import Mosquitto, mqtt_settings, running_mosquitto
from tmux_helpers import Tmux, tmux_server

from reliability.figures import Figures
from reliability.mqtt_faults import VIN, PacedPublisher, message_id
from reliability.support import HM_TUI, cli_env, emulator_profile, write_config
from reliability.test_inert_text import HOSTILE, RAW_CONTROL

EXIT_TIMEOUT_S = 10.0


@pytest.fixture
def broker(tmp_path: Path) -> Iterator[Mosquitto]:
    with running_mosquitto(tmp_path / "mosquitto") as mosquitto:
        yield mosquitto


@pytest.fixture
async def env(emulator: Any, broker: Mosquitto, tmp_path: Path) -> dict[str, str]:
    """A config whose profile talks to the emulator and takes its feed from mosquitto."""
    profile = replace(emulator_profile(emulator), mqtt=mqtt_settings(broker.certs, broker.port))
    config = write_config(tmp_path / "config" / "config.toml", profile)
    return cli_env(config, tmp_path / "data", TERM="xterm-256color", TMPDIR=str(tmp_path))


def connected(broker: Mosquitto) -> bool:
    return f"as {broker.certs.client_id}" in broker.log


def clean_disconnect(broker: Mosquitto) -> bool:
    return f"Client {broker.certs.client_id} disconnected." in broker.log


def group_gone(pgid: int) -> bool:
    try:
        os.killpg(pgid, 0)
    except ProcessLookupError:
        return True
    return False


def unclean_lines(broker: Mosquitto) -> list[str]:
    client = re.escape(broker.certs.client_id)
    return re.findall(
        rf".*(?:closed its connection|Socket error on client {client}|"
        rf"{client} has exceeded timeout).*",
        broker.log,
    )


@pytest.mark.parametrize(
    ("sig", "as_json"),
    [(signal.SIGTERM, True), (signal.SIGHUP, False)],
    ids=["SIGTERM, --json", "SIGHUP, text"],
)
async def test_feed_command_disconnects_cleanly_on_a_signal_and_prints_payloads_inert(
    env: dict[str, str],
    broker: Mosquitto,
    emulator: Any,
    tmp_path: Path,
    sig: signal.Signals,
    as_json: bool,
    figures: Figures,
) -> None:
    argv = [*HM_TUI, "feed", *(["--json"] if as_json else [])]
    with (tmp_path / "err").open("wb") as err, (tmp_path / "out").open("wb") as out:
        process = subprocess.Popen(argv, env=env, start_new_session=True, stdout=out, stderr=err)
    topic = f"sandbox/level13/{emulator.credentials['app_id']}/{VIN}/ignition/get/state"
    publisher = PacedPublisher(broker.certs, broker.port, topic)
    try:
        await wait_for(lambda: connected(broker), 15, message="the feed connected to mosquitto")
        said = "feed connected" if not as_json else '"headline": "connected"'  # JSON with --json
        await wait_for(lambda: said in (tmp_path / "err").read_text(), 10)
        await asyncio.to_thread(publisher.publish, [message_id(1)], HOSTILE)
        await wait_for(
            lambda: "click" in (tmp_path / "out").read_text(),
            10,
            message="the hostile payload printed",
        )
        process.send_signal(sig)
        await wait_for(
            lambda: process.poll() is not None,
            EXIT_TIMEOUT_S,
            message=f"hm-tui feed to exit after {sig.name}",
        )
    finally:
        publisher.close()
        if process.poll() is None:
            process.kill()
    figures.fault(f"{sig.name} to hm-tui feed")
    printed = (tmp_path / "out").read_text()
    assert process.returncode == 0, (tmp_path / "err").read_text()
    await wait_for(
        lambda: clean_disconnect(broker),
        5,
        message=f"a clean MQTT disconnect (broker log: {unclean_lines(broker)})",
    )
    assert "Traceback" not in (tmp_path / "err").read_text()
    assert not RAW_CONTROL.search(printed.replace("\n", "")), printed
    if as_json:  # JSON escapes it: the exact value survives, harmlessly
        assert json.loads(printed.splitlines()[0])["value"] == HOSTILE
    else:
        assert "[b]x[/b] [link=https://evil.example]click[/link]" in printed
    assert group_gone(process.pid)


@pytest.fixture
def tmux(tmp_path: Path) -> Iterator[Tmux]:
    yield from tmux_server(tmp_path, "rel")


@pytest.mark.parametrize("how", ["SIGTERM", "terminal closed"])
async def test_dashboard_closes_its_mqtt_session_and_exits(
    env: dict[str, str], broker: Mosquitto, tmux: Tmux, tmp_path: Path, how: str, figures: Figures
) -> None:
    passed = {k: v for k, v in env.items() if k.startswith(("HM_", "XDG", "TERM", "TMP"))}
    pid = tmux.start(list(HM_TUI), passed, tmp_path / "pid")
    await wait_for(
        lambda: connected(broker),
        20,
        message=f"the dashboard's feed connected (screen: {tmux.screen()})",
    )
    if how == "SIGTERM":
        os.kill(pid, signal.SIGTERM)
    else:
        tmux.run("kill-server")  # the pty closes: SIGHUP, like an SSH drop
    figures.fault(f"dashboard: {how}")
    await wait_for(
        lambda: group_gone(pid),
        EXIT_TIMEOUT_S,
        message=f"the dashboard and its children to exit after {how}",
    )
    await wait_for(
        lambda: clean_disconnect(broker),
        5,
        message=f"a clean MQTT disconnect (broker log: {unclean_lines(broker)})",
    )
