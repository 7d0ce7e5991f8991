"""`hm-tui feed`, the real binary in a subprocess, on mosquitto: stdout carries data lines only
(`--json`: with `received_at`, `age_s`, `replayed`); the feed's state goes to stderr when it
changes (connected, stalled, data again), as JSON with `--json`."""

from __future__ import annotations

import json
import signal
import subprocess
from collections.abc import AsyncIterator, Iterator
from dataclasses import dataclass, replace
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any

import pytest
from helpers import wait_for
from mqtt_helpers import Mosquitto, mqtt_settings, running_mosquitto
from reliability.support import HM_TUI, cli_env, emulator_profile, write_config

from hm_tui.emulator.publisher import Publisher

FLOOR_S = 1.0  # the least silence called a stall (the default is 30 s)
VIN = "WBA12345678901234"


@pytest.fixture
def broker(tmp_path: Path) -> Iterator[Mosquitto]:
    with running_mosquitto(tmp_path / "mosquitto") as mosquitto:
        yield mosquitto


@pytest.fixture
def env(emulator: Any, broker: Mosquitto, tmp_path: Path) -> dict[str, str]:
    settings = replace(mqtt_settings(broker.certs, broker.port), stall_floor_s=FLOOR_S)
    profile = replace(emulator_profile(emulator), mqtt=settings)
    config = write_config(tmp_path / "config" / "config.toml", profile)
    return cli_env(config, tmp_path / "data")


@pytest.fixture
async def stream(emulator: Any, broker: Mosquitto) -> AsyncIterator[Stream]:
    publisher = Publisher(
        lambda: [], app_id=emulator.credentials["app_id"], broker_url=broker.url, certs=broker.certs
    )
    await publisher.start()
    yield Stream(publisher, emulator.credentials["app_id"])
    await publisher.stop()


@dataclass
class Stream:
    publisher: Publisher
    app_id: str
    sent: int = 0

    async def send(self, stamp: datetime | None = None) -> None:
        self.sent += 1
        when = (stamp or datetime.now(UTC)).isoformat().replace("+00:00", "Z")
        payload = {
            "version": 1,
            "message_id": f"{self.sent:064x}",
            "vin": VIN,
            "capability": "ignition",
            "property": "state",
            "data": {"ignition": {"state": {"data": "on", "timestamp": when}}},
        }
        topic = f"sandbox/level13/{self.app_id}/{VIN}/ignition/get/state"
        await self.publisher.publish_raw(topic, json.dumps(payload).encode())


class FeedProcess:
    """`hm-tui feed` with its stdout and stderr in files."""

    def __init__(self, env: dict[str, str], workdir: Path, *args: str) -> None:
        self.out, self.err = workdir / "out", workdir / "err"
        with self.out.open("wb") as out, self.err.open("wb") as err:
            self.process = subprocess.Popen(
                [*HM_TUI, "feed", *args], env=env, stdout=out, stderr=err, start_new_session=True
            )

    def lines(self) -> list[str]:
        return self.out.read_text().splitlines()

    def statuses(self) -> list[dict[str, Any]]:
        lines = [json.loads(line) for line in self.err.read_text().splitlines() if line[:1] == "{"]
        return [line for line in lines if line.get("event") == "feed_status"]

    async def stop(self) -> int:
        self.process.send_signal(signal.SIGTERM)
        await wait_for(lambda: self.process.poll() is not None, 10, message="hm-tui feed ends")
        return self.process.returncode

    def kill(self) -> None:
        if self.process.poll() is None:
            self.process.kill()
            self.process.wait()


async def subscribed(feed: FeedProcess, stream: Stream) -> None:
    """The feed prints a message sent now: its subscription is live (until then the broker
    has no session to queue for)."""
    for _ in range(30):
        await stream.send()
        try:
            await wait_for(lambda: feed.lines(), 1, message="a first line")
            return
        except AssertionError:
            continue
    raise AssertionError(f"hm-tui feed printed nothing: {feed.err.read_text()}")


async def steady(feed: FeedProcess, stream: Stream, count: int) -> None:
    """`count` messages, each sent once the one before it was printed."""
    for _ in range(count):
        printed = len(feed.lines())
        await stream.send()
        await wait_for(lambda printed=printed: len(feed.lines()) > printed, 10)


async def test_json_lines_carry_received_at_age_and_replayed_and_the_state_goes_to_stderr(
    env: dict[str, str], stream: Stream, tmp_path: Path
) -> None:
    feed = FeedProcess(env, tmp_path, "--json")
    try:
        await subscribed(feed, stream)
        await steady(feed, stream, 8)
        stalled = await wait_for(
            lambda: [s for s in feed.statuses() if s["level"] == "warning"], 10 + FLOOR_S
        )
        assert stalled[0]["headline"] == "stalled" and stalled[0]["status"] == "connected"
        assert stalled[0]["since_last_s"] > stalled[0]["stall_after_s"] >= FLOOR_S
        await stream.send()
        back = await wait_for(lambda: feed.statuses()[-1]["level"] == "ok" and feed.statuses())
        assert back[-1]["since_last_s"] < FLOOR_S
        assert await feed.stop() == 0
    finally:
        feed.kill()
    statuses = feed.statuses()
    assert [s["headline"] for s in statuses] == ["connecting", "connected", "stalled", "connected"]
    assert all(s["event"] == "feed_status" for s in statuses)
    printed = [json.loads(line) for line in feed.lines()]  # stdout: data lines only
    assert len(printed) >= 10 and all(line["vin"] == VIN for line in printed)
    for line in printed:
        assert datetime.fromisoformat(line["received_at"]).tzinfo is not None
        assert 0 <= line["age_s"] < 60 and line["replayed"] is False


async def test_the_persistent_sessions_backlog_prints_replayed(
    env: dict[str, str], stream: Stream, tmp_path: Path
) -> None:
    first = FeedProcess(env, tmp_path, "--json")
    try:
        await subscribed(first, stream)  # the broker now keeps a session for this certificate
        assert await first.stop() == 0
    finally:
        first.kill()
    away = datetime.now(UTC) - timedelta(minutes=2)
    for _ in range(5):
        await stream.send(away)
    (tmp_path / "again").mkdir()
    again = FeedProcess(env, tmp_path / "again", "--json")
    try:
        await wait_for(lambda: len(again.lines()) == 5, 15, message="the queued messages")
        await stream.send()
        await wait_for(lambda: len(again.lines()) == 6, 10)
        assert await again.stop() == 0
    finally:
        again.kill()
    printed = [json.loads(line) for line in again.lines()]
    assert [line["replayed"] for line in printed] == [True] * 5 + [False]
    assert all(line["age_s"] >= 120 for line in printed[:5])
    assert again.statuses()[-1]["replayed"] == 5


async def test_text_mode_says_stalled_and_data_again_on_stderr(
    env: dict[str, str], stream: Stream, tmp_path: Path
) -> None:
    feed = FeedProcess(env, tmp_path)
    try:
        await subscribed(feed, stream)
        await steady(feed, stream, 8)
        await wait_for(lambda: "feed stalled: no data for" in feed.err.read_text(), 10 + FLOOR_S)
        await stream.send()
        await wait_for(lambda: "feed connected: data again after" in feed.err.read_text())
        assert await feed.stop() == 0
    finally:
        feed.kill()
    errors = feed.err.read_text()
    assert errors.count("feed stalled") == 1 and "Traceback" not in errors
    assert all(VIN in line and "{" not in line for line in feed.lines())
