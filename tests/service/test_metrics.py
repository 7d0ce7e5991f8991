"""The metrics endpoint over real HTTP, serving a real session against the running emulator:
the roster's figures, the platform link's errors, the feed going quiet, webhook deliveries,
no VIN and no secret in the output, one registry per server."""

from __future__ import annotations

import asyncio
import re
import socket
import subprocess
from collections.abc import AsyncIterator
from contextlib import asynccontextmanager
from dataclasses import replace
from pathlib import Path
from typing import Any

import httpx
import pytest
from prometheus_client.parser import text_string_to_metric_families

from hm_tui.service.metrics.server import ListenError, MetricsServer, ServeError, parse_listen
from hm_tui.service.metrics.session import SessionMetrics
from hm_tui.service.platform.client import PlatformClient
from hm_tui.service.session import Session
from hm_tui.service.webhook.receiver import MAX_CONNECTIONS, signature
from tests.helpers import wait_for
from tests.service.platform_helpers import FAST_RETRY, Control, emulator_profile

SCRAPE_S = 0.25  # how often a test scrapes while it waits (the emulator shares its loop)
QUIET = {"poll_interval": 3600.0, "full_interval": 3600.0}  # tests poll when they want to
Samples = dict[tuple[str, frozenset[tuple[str, str]]], float]


async def scrape(server: MetricsServer) -> tuple[str, Samples]:
    async with httpx.AsyncClient(timeout=10) as http:
        response = await http.get(server.url)
    assert response.status_code == 200
    samples = {
        (s.name, frozenset(s.labels.items())): s.value
        for family in text_string_to_metric_families(response.text)
        for s in family.samples
    }
    return response.text, samples


DOC = Path(__file__).resolve().parents[2] / "docs" / "metrics.md"


def assert_documented(samples: Samples) -> None:
    """Every hm_tui_ metric served has its row in docs/metrics.md."""
    served = {name for name, _ in samples if name.startswith("hm_tui_")}
    documented = set(re.findall(r"\| `(hm_tui_[a-z_]+)` \|", DOC.read_text()))
    assert served and served <= documented, served - documented


def value(samples: Samples, name: str, **labels: str) -> float | None:
    return samples.get((name, frozenset(labels.items())))


@asynccontextmanager
async def served(emulator: Any, **kwargs: Any) -> AsyncIterator[tuple[Session, MetricsServer]]:
    profile = kwargs.pop("profile", None) or emulator_profile(emulator)
    client = PlatformClient(profile, retry=kwargs.pop("retry", FAST_RETRY))
    session = Session(profile, client=client, read_only=True, **{**QUIET, **kwargs})
    collector = SessionMetrics(drain_feed=True)
    server = MetricsServer("127.0.0.1:0", collector)
    collector.follow(session)
    try:
        await session.start()
        yield session, server
    finally:
        collector.close()
        server.close()
        await session.stop()
        await client.aclose()


async def test_the_roster_platform_and_feed_figures_are_served(emulator_factory: Any) -> None:
    emu = await emulator_factory(speed=60.0)  # each approved car reports every second
    async with served(emu) as (session, server):
        await wait_for(
            lambda: _messages(server),
            interval=SCRAPE_S,
            timeout=30,
            message="feed messages in the metrics",
        )
        text, samples = await scrape(server)
        clearances = {
            dict(labels)["status"]: 0 for (name, labels) in samples if name == "hm_tui_clearances"
        }
        for (name, labels), count in samples.items():
            if name == "hm_tui_clearances":
                clearances[dict(labels)["status"]] += count
        assert clearances == session.roster.counts
        assert value(samples, "hm_tui_api_up") == 1
        assert value(samples, "hm_tui_api_state", state="ok") == 1
        assert value(samples, "hm_tui_token_renewals_total") == 1
        assert value(samples, "hm_tui_api_requests_total") >= 2  # a token and a list
        assert value(samples, "hm_tui_feed_connected") == 1
        assert value(samples, "hm_tui_feed_seconds_since_last_message") < 30
        assert value(samples, "hm_tui_session_info", profile="emu", environment="sandbox") == 1
        pending = {e.brand for e in session.roster.entries_now() if e.status == "pending"}
        assert pending, "the emulator's fleet has pending clearances"
        for brand in pending:
            oldest = value(samples, "hm_tui_pending_age_seconds", brand=brand, quantile="1")
            assert oldest is not None and oldest >= 0
        assert_documented(samples)
        for vin in emu.state.clearances:
            assert vin not in text
        assert emu.credentials["client_secret"] not in text


async def _messages(server: MetricsServer) -> float:
    _, samples = await scrape(server)
    return value(samples, "hm_tui_feed_messages_total") or 0.0


async def test_a_clearance_turning_rejected_is_counted_by_reason(emulator: Any) -> None:
    async with served(emulator, feed=False) as (session, server):
        _, before = await scrape(server)
        assert value(before, "hm_tui_rejections_total", reason="invalid VIN") == 0  # served at 0
        vin = session.roster.vins_in({"approved"})[0]
        rejected = value(before, "hm_tui_rejected_clearances", reason="invalid VIN") or 0
        await Control(emulator).force(vin, status="rejected", reason="invalid VIN")
        await session.refresh_now()
        _, after = await scrape(server)
        assert value(after, "hm_tui_rejections_total", reason="invalid VIN") == 1
        assert value(after, "hm_tui_rejected_clearances", reason="invalid VIN") == rejected + 1
        await session.refresh_now()  # seen again, still rejected: not counted twice
        _, again = await scrape(server)
        assert value(again, "hm_tui_rejections_total", reason="invalid VIN") == 1


async def test_platform_errors_are_counted_by_status_and_the_api_reads_down(
    emulator: Any,
) -> None:
    async with served(emulator, feed=False) as (session, server):
        await Control(emulator).faults(http_error_rate=1.0, statuses=[503])
        for _ in range(3):
            with pytest.raises(Exception, match="503"):
                await session.refresh_now()
        _, samples = await scrape(server)
        assert value(samples, "hm_tui_api_errors_total", code="503") >= 3
        assert value(samples, "hm_tui_api_up") == 0
        assert value(samples, "hm_tui_api_state", state="down") == 1
        assert value(samples, "hm_tui_poll_consecutive_failures") == 3
        assert value(samples, "hm_tui_roster_stale") == 1


async def test_the_silence_grows_while_the_broker_publishes_nothing(emulator_factory: Any) -> None:
    emu = await emulator_factory(speed=120.0)
    profile = emulator_profile(emu)
    assert profile.mqtt is not None
    profile = replace(profile, mqtt=replace(profile.mqtt, stall_floor_s=1.0))
    async with served(emu, profile=profile) as (_, server):

        async def silence() -> float:
            _, samples = await scrape(server)
            return value(samples, "hm_tui_feed_seconds_since_last_message") or 0.0

        await wait_for(
            lambda: _messages(server), interval=SCRAPE_S, timeout=30, message="feed messages"
        )
        await Control(emu).faults(publish_paused=True)
        await wait_for(
            lambda: _above(silence(), 2.0),
            interval=SCRAPE_S,
            timeout=30,
            message="2 s without a message",
        )
        stalled = await wait_for(
            lambda: _stalled(server),
            interval=SCRAPE_S,
            timeout=30,
            message="the feed's own stall judgement",
        )
        assert value(stalled, "hm_tui_feed_connected") == 1  # connected, and silent
        assert value(stalled, "hm_tui_feed_stall_threshold_seconds") >= 1.0
        await Control(emu).faults()
        await wait_for(
            lambda: _below(silence(), 1.0), interval=SCRAPE_S, timeout=30, message="messages again"
        )
        await wait_for(
            lambda: _flowing(server), interval=SCRAPE_S, timeout=30, message="the stall cleared"
        )


async def _stalled(server: MetricsServer) -> Samples | None:
    _, samples = await scrape(server)
    return samples if value(samples, "hm_tui_feed_stalled") == 1 else None


async def _flowing(server: MetricsServer) -> bool:
    _, samples = await scrape(server)
    return value(samples, "hm_tui_feed_stalled") == 0


async def _above(reading: Any, limit: float) -> bool:
    return await reading > limit


async def _below(reading: Any, limit: float) -> bool:
    return await reading < limit


@pytest.mark.timeout(240)
async def test_a_takeover_of_the_mqtt_session_is_counted(emulator: Any) -> None:
    """Another machine with the same certificate (mosquitto_sub with the feed's client id,
    reconnecting by itself) takes the session: the feed says so, and the metrics count it."""
    async with served(emulator) as (session, server):
        await wait_for(lambda: session.feed_status == "connected", timeout=30)
        mqtt = emulator.credentials["mqtt"]
        other = subprocess.Popen(
            [
                "mosquitto_sub", "--disable-clean-session", "-q", "1",
                "--cafile", mqtt["ca_file"], "--cert", mqtt["cert_file"],
                "--key", mqtt["key_file"], "-h", mqtt["host"], "-p", str(mqtt["port"]),
                "-t", mqtt["topic"], "-i", mqtt["client_id"],
            ],
            stdout=subprocess.DEVNULL,
            stderr=subprocess.DEVNULL,
        )  # fmt: skip
        try:
            await wait_for(
                lambda: _counted(server, "hm_tui_feed_session_takeovers_total"),
                interval=SCRAPE_S,
                timeout=90,
                message="the takeover counted",
            )
            await wait_for(
                lambda: _counted(server, "hm_tui_feed_disconnects_total"),
                interval=SCRAPE_S,
                timeout=10,
                message="the lost connection counted",
            )
        finally:
            other.terminate()
            other.wait(10)


async def _counted(server: MetricsServer, counter: str) -> bool:
    _, samples = await scrape(server)
    return (value(samples, counter) or 0) >= 1


async def test_webhook_deliveries_are_counted_accepted_and_rejected(emulator_factory: Any) -> None:
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        port = probe.getsockname()[1]
    emu = await emulator_factory(publish=False, webhook_url=f"http://127.0.0.1:{port}/hook")
    profile = replace(emulator_profile(emu), webhook_listen=f"127.0.0.1:{port}")
    async with served(emu, profile=profile, feed=False) as (session, server):
        vin = session.roster.vins_in({"approved"})[0]
        await Control(emu).force(vin, status="revoking")
        await wait_for(lambda: session.webhook.stats["accepted"] >= 1, timeout=10)
        body = b'{"event": {"type": "ping"}}'
        async with httpx.AsyncClient() as http:
            bad = await http.post(session.webhook.url, content=body, headers=_signed(b"x", body))
        assert bad.status_code == 401
        _, samples = await scrape(server)
        assert_documented(samples)
        assert value(samples, "hm_tui_webhook_receiver_up") == 1
        assert value(samples, "hm_tui_webhook_deliveries_total", result="accepted") >= 1
        assert value(samples, "hm_tui_webhook_deliveries_total", result="rejected") == 1
        assert profile.webhook_secret not in (await scrape(server))[0]


async def test_webhook_connections_refused_at_the_limit_are_counted(emulator: Any) -> None:
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        port = probe.getsockname()[1]
    profile = replace(emulator_profile(emulator), webhook_listen=f"127.0.0.1:{port}")
    async with served(emulator, profile=profile, feed=False) as (session, server):
        receiver = session.webhook
        held = [await asyncio.open_connection("127.0.0.1", port) for _ in range(MAX_CONNECTIONS)]
        try:
            await wait_for(lambda: receiver.connections == MAX_CONNECTIONS, 10)
            reader, writer = await asyncio.open_connection("127.0.0.1", port)
            answer = await asyncio.wait_for(reader.read(), 10)  # answered, then closed
            writer.close()
            assert answer.startswith(b"HTTP/1.1 503")
            _, samples = await scrape(server)
        finally:
            for _, idle in held:
                idle.close()
        assert_documented(samples)
        assert value(samples, "hm_tui_webhook_refused_total", reason="limit") == 1
        assert value(samples, "hm_tui_webhook_refused_total", reason="too_slow") == 0


def _signed(secret: bytes, body: bytes) -> dict[str, str]:
    return {"X-HM-Signature-256": signature(secret.decode(), body)}


async def test_each_server_serves_only_its_own_collector(emulator: Any) -> None:
    idle = MetricsServer("127.0.0.1:0", SessionMetrics())
    try:
        async with served(emulator, feed=False) as (_, busy):
            _, busy_samples = await scrape(busy)
            _, idle_samples = await scrape(idle)
        assert value(busy_samples, "hm_tui_session_up") == 1
        assert value(idle_samples, "hm_tui_session_up") == 0
        assert not [name for name, _ in idle_samples if name == "hm_tui_clearances"]
        assert value(idle_samples, "process_resident_memory_bytes") > 0
    finally:
        idle.close()


async def test_after_a_profile_switch_the_new_session_is_served(emulator: Any) -> None:
    collector = SessionMetrics()
    server = MetricsServer("127.0.0.1:0", collector)
    first = Session(emulator_profile(emulator), feed=False)
    second = Session(replace(emulator_profile(emulator), name="other"), feed=False)
    try:
        collector.follow(first)
        _, before = await scrape(server)
        collector.follow(second)
        _, after = await scrape(server)
        collector.close()
        _, closed = await scrape(server)
    finally:
        server.close()
    assert value(before, "hm_tui_session_info", profile="emu", environment="sandbox") == 1
    assert value(after, "hm_tui_session_info", profile="other", environment="sandbox") == 1
    assert value(after, "hm_tui_session_info", profile="emu", environment="sandbox") is None
    assert value(closed, "hm_tui_session_up") == 0
    assert first._subscribers == [] and second._subscribers == []  # nothing left listening


def test_listen_values_are_checked_with_a_clear_message() -> None:
    assert parse_listen("127.0.0.1:9464") == ("127.0.0.1", 9464)
    assert parse_listen("[::1]:0") == ("::1", 0)
    for bad in ("9464", ":9464", "host:", "host:port", "127.0.0.1:65536", ""):
        with pytest.raises(ListenError, match=r"HOST:PORT, for example 127\.0\.0\.1:9464"):
            parse_listen(bad)
    with pytest.raises(ListenError, match="not an address or a known host name"):
        MetricsServer("no-such-host.invalid:9464", SessionMetrics())


def test_a_port_in_use_is_said_plainly() -> None:
    with socket.socket() as taken:
        taken.bind(("127.0.0.1", 0))
        taken.listen()
        port = taken.getsockname()[1]
        with pytest.raises(ServeError, match=f"127.0.0.1:{port}: the port is in use"):
            MetricsServer(f"127.0.0.1:{port}", SessionMetrics())
