"""The dashboard's feed with paho in a process of its own (`ProcessFeed`), against a real mosquitto
with mutual TLS: the persistent session across a restart, the in-process client's error messages,
and a child process that never outlives its parent, its stop(), or shows up on the terminal."""

from __future__ import annotations

import asyncio
import json
import os
import signal
import subprocess
import sys
from collections.abc import Iterator
from dataclasses import asdict
from pathlib import Path

import pytest
from helpers import process_gone, wait_for
from mqtt_helpers import Mosquitto, feed_connected, mqtt_settings, running_mosquitto

from hm_tui.emulator.broker import free_port
from hm_tui.emulator.certs import ensure_certs
from hm_tui.service.config.profiles import MqttSettings
from hm_tui.service.feed.client import FeedClient
from hm_tui.service.feed.process import ProcessFeed
from reliability.figures import Figures
from reliability.mqtt_faults import APP, PacedPublisher, message_id
from reliability.test_broker_faults import Delivered, subscribed

# A program that owns a ProcessFeed and waits to be killed. No `__main__` guard on purpose: a
# feed child that re-ran its parent's script (multiprocessing's "spawn" does) would never subscribe.
OWNER_SCRIPT = """
import json, sys, threading
from hm_tui.service.config.profiles import MqttSettings
from hm_tui.service.feed.process import ProcessFeed

feed = ProcessFeed(MqttSettings(**json.loads(sys.argv[1])), "sandbox", sys.argv[2])
feed.start()
while not feed.state.subscribed:
    threading.Event().wait(0.02)
with open(sys.argv[3], "w") as out:
    out.write(str(feed.pid))
threading.Event().wait()
"""
REPO = Path(__file__).resolve().parents[2]  # this checkout, not an installed copy


@pytest.fixture
def broker(tmp_path: Path) -> Iterator[Mosquitto]:
    with running_mosquitto(tmp_path / "mosquitto") as mosquitto:
        yield mosquitto


def new_feed(settings: MqttSettings) -> ProcessFeed:
    return ProcessFeed(settings, "sandbox", APP, reconnect_delay=(1, 1))


def written(path: Path) -> bool:
    return path.exists() and bool(path.read_text())


def clean_disconnects(broker: Mosquitto) -> int:
    return broker.log.count(f"Client {broker.certs.client_id} disconnected.")


async def test_restarted_feed_gets_what_was_published_while_it_was_stopped_once_each(
    broker: Mosquitto, figures: Figures
) -> None:
    publisher = PacedPublisher(broker.certs, broker.port)
    feed = new_feed(mqtt_settings(broker.certs, broker.port))
    delivered = Delivered(feed)
    feed.start()
    try:
        await subscribed(feed, publisher, delivered)
        first_child = feed.pid
        assert first_child is not None
        await asyncio.to_thread(feed.stop)
        assert process_gone(first_child), "stop() returned with its child still running"
        assert feed.pid is None and feed.state.status == "stopped"
        await wait_for(lambda: clean_disconnects(broker) == 1, 5, message="a clean DISCONNECT")
        figures.fault("feed process restarted")
        ids = [message_id(n) for n in range(1, 201)]
        await asyncio.to_thread(publisher.publish, ids)
        feed.start()
        await wait_for(
            lambda: delivered.drain() >= set(ids),
            20,
            message=f"the messages queued while it was stopped ({feed.state})",
        )
        await asyncio.to_thread(publisher.publish, ids[:5])  # at-least-once: repeats come
        await wait_for(lambda: feed.state.duplicates == 5, 10, message="5 repeats dropped")
    finally:
        publisher.close()
        await asyncio.to_thread(feed.stop)
    assert sorted(delivered.ids) == sorted([message_id(0), *ids])
    assert feed.state.received == 1 + len(ids)  # counters carry on across the restart
    figures.delivery(len(ids) + 5, len(set(ids) - set(delivered.ids)), 5)


async def test_unreadable_certificate_files_stop_the_feed_with_the_in_process_message(
    tmp_path: Path,
) -> None:
    certs = ensure_certs(tmp_path)
    certs.client_key.unlink()
    settings = mqtt_settings(certs, free_port())
    in_process = FeedClient(settings, "sandbox", APP)
    in_process.start()
    feed = new_feed(settings)
    feed.start()
    try:
        await wait_for(lambda: feed.state.last_error, 15, message="the child's error")
        state = feed.state
    finally:
        await asyncio.to_thread(feed.stop)
    assert state.status == "stopped"
    assert state.last_error == in_process.state.last_error
    assert "certificate files" in (state.last_error or "")
    assert "BEGIN" not in (state.last_error or "")


async def test_no_broker_means_retrying_with_the_in_process_reason(tmp_path: Path) -> None:
    port = free_port()
    feed = new_feed(mqtt_settings(ensure_certs(tmp_path), port))
    feed.start()
    try:
        await wait_for(lambda: feed.state.status == "retrying", 15, message="retrying")
        assert feed.state.last_error == (
            f"cannot connect to 127.0.0.1:{port}: connection refused (is the broker running?)"
        )
    finally:
        await asyncio.to_thread(feed.stop)


async def test_a_killed_feed_process_shows_as_stopped_with_why_and_start_brings_it_back(
    broker: Mosquitto, figures: Figures
) -> None:
    feed = new_feed(mqtt_settings(broker.certs, broker.port))
    feed.start()
    try:
        await feed_connected(feed)
        child = feed.pid
        assert child is not None
        os.kill(child, signal.SIGKILL)
        figures.fault("SIGKILL to the feed process")
        await wait_for(lambda: feed.state.status == "stopped", 10, message="stopped")
        assert feed.state.last_error == "the feed process ended unexpectedly (killed by SIGKILL)"
        feed.start()
        await feed_connected(feed)
        assert feed.pid not in (None, child)
    finally:
        await asyncio.to_thread(feed.stop)


async def test_feed_process_disconnects_and_exits_when_its_parent_is_killed(
    broker: Mosquitto, tmp_path: Path, figures: Figures
) -> None:
    settings = mqtt_settings(broker.certs, broker.port)
    (tmp_path / "owner.py").write_text(OWNER_SCRIPT)
    pid_file, err_file = tmp_path / "child.pid", tmp_path / "owner.err"
    with err_file.open("wb") as err:
        owner = subprocess.Popen(
            [
                sys.executable,
                str(tmp_path / "owner.py"),
                json.dumps(asdict(settings)),
                APP,
                str(pid_file),
            ],
            stdout=err,
            stderr=err,
            env={**os.environ, "PYTHONPATH": str(REPO)},
        )
    try:
        await wait_for(
            lambda: owner.poll() is not None or written(pid_file),
            20,
            message="the owner's feed subscribed",
        )
        assert owner.poll() is None, err_file.read_text()
        child = int(pid_file.read_text())
    finally:
        owner.kill()
        owner.wait(timeout=10)
    figures.fault("SIGKILL to the feed's parent")
    try:
        await wait_for(lambda: process_gone(child), 5, message="the orphaned feed process to exit")
    finally:
        if not process_gone(child):  # the test failed: leave no orphan behind
            os.kill(child, signal.SIGKILL)
    await wait_for(
        lambda: clean_disconnects(broker) == 1,
        5,
        message=f"a clean DISCONNECT from the orphan (broker log: {broker.log})",
    )
    assert err_file.read_text() == "", "nothing may reach the terminal"
