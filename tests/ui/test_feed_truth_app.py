"""The dashboard says only what it knows about the live feed: the real app (Pilot), a real Session
and its feed process, on the emulator's broker and on mosquitto. A stalled stream turns the
header to a warning within its stall window, with one notification that goes when data returns;
a broker gone is an error; the webhook receiver shows in the header."""

from __future__ import annotations

import json
from collections.abc import Iterator
from dataclasses import replace
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

import httpx
import pytest
from mqtt_helpers import Mosquitto, mqtt_settings, running_mosquitto

from hm_tui.emulator.publisher import Publisher
from hm_tui.emulator.server import Emulator
from hm_tui.service.config.profiles import profile_from_credentials
from hm_tui.service.webhook.receiver import signature
from hm_tui.ui.app import HmTuiApp
from tests.helpers import wait_for
from tests.ui.app_support import loaded, make_app, notifications
from tests.ui.screens_support import control

FLOOR_S = 3.0  # the least silence called a stall here (the default is 30 s)
STALLED = "Live feed stalled"


def header_text(app: HmTuiApp) -> str:
    """The header as drawn on the roster (80 columns: its short form)."""
    return app.roster_screen.header.render().plain


def stall_toasts(app: HmTuiApp) -> list[str]:
    return [n.title for n in app._notifications if n.title == STALLED]


def feed_health(app: HmTuiApp) -> Any:
    return app.session.feed_health() if app.session is not None else None


async def settled(app: HmTuiApp) -> None:
    """Connected, data arriving, not stalled: the stream's cadence is known."""
    await wait_for(
        lambda: (
            (health := feed_health(app)) is not None
            and health.level == "ok"
            and health.learned
            and health.since_last_s is not None
        ),
        30,
        message="the feed connected with its cadence learned",
    )


async def test_a_stalled_emulator_stream_warns_once_and_clears_when_data_returns(
    emulator_factory: Any,
) -> None:
    emu: Emulator = await emulator_factory(speed=120.0)  # every car reports every ~0.5 s
    mqtt = profile_from_credentials(emu.credentials, "test").mqtt
    assert mqtt is not None
    app = make_app(emu, mqtt=replace(mqtt, stall_floor_s=FLOOR_S))
    async with app.run_test(size=(80, 24)):
        await loaded(app, emu)
        await settled(app)
        await wait_for(lambda: "MQTT ok" in header_text(app), 5)  # the header's 1 s tick
        assert not stall_toasts(app)
        await control(emu, "faults", {"publish_paused": True})
        await wait_for(lambda: "MQTT stalled" in header_text(app), 10 + FLOOR_S)
        health = feed_health(app)
        assert health.level == "warning" and health.since_last_s < health.stall_after_s + 3
        assert app.roster_screen.header.state.mqtt_level == "warning"
        await wait_for(lambda: feed_health(app).since_last_s > 2 * health.stall_after_s, 20)
        await wait_for(lambda: "MQTT stalled" in header_text(app))  # ticking on, still one
        assert stall_toasts(app) == [STALLED] and app.stall_toast.raised == 1
        await control(emu, "faults", {})  # publishing again
        await wait_for(lambda: "MQTT ok" in header_text(app), 15)
        await wait_for(lambda: not stall_toasts(app), 5, message="the stall toast taken away")
        assert app.stall_toast.raised == 1


@pytest.fixture
def broker(tmp_path: Path) -> Iterator[Mosquitto]:
    with running_mosquitto(tmp_path / "mosquitto") as mosquitto:
        yield mosquitto


def ignition(app_id: str, number: int) -> tuple[str, bytes]:
    vin = "WBA12345678901234"
    stamp = datetime.now(UTC).isoformat().replace("+00:00", "Z")
    payload = {
        "version": 1,
        "message_id": f"{number:064x}",
        "vin": vin,
        "capability": "ignition",
        "property": "state",
        "data": {"ignition": {"state": {"data": "on", "timestamp": stamp}}},
    }
    return f"sandbox/level13/{app_id}/{vin}/ignition/get/state", json.dumps(payload).encode()


async def test_on_mosquitto_a_stall_warns_a_broker_gone_is_an_error_and_its_return_is_ok(
    emulator: Emulator, broker: Mosquitto
) -> None:
    settings = replace(mqtt_settings(broker.certs, broker.port), stall_floor_s=FLOOR_S)
    app = make_app(emulator, mqtt=settings)
    app_id = emulator.credentials["app_id"]
    stream = Publisher(lambda: [], app_id=app_id, broker_url=broker.url, certs=broker.certs)
    await stream.start()
    try:
        async with app.run_test(size=(140, 30)):  # the header in full
            await loaded(app, emulator)
            await wait_for(
                lambda: (feed_health(app) or None) and feed_health(app).status == "connected",
                20,
                message="the feed connected",
            )
            for number in range(8):  # each sent once the one before it arrived
                received = app.session.feed.state.received
                await stream.publish_raw(*ignition(app_id, number))
                await wait_for(lambda r=received: app.session.feed.state.received > r, 10)
            await settled(app)
            await wait_for(lambda: "MQTT connected · last" in header_text(app), 5)
            await wait_for(lambda: "MQTT stalled: no data for" in header_text(app), 10 + FLOOR_S)
            assert stall_toasts(app) == [STALLED]
            broker.stop()
            await wait_for(lambda: "MQTT not connected" in header_text(app), 15)
            assert app.roster_screen.header.state.mqtt_level == "error"
            assert stall_toasts(app) == [STALLED]  # the stall is not over: no data came
            broker.start()
            await wait_for(lambda: feed_health(app).status == "connected", 20)
            await stream.publish_raw(*ignition(app_id, 100))
            await wait_for(lambda: "MQTT connected · last" in header_text(app), 15)
            await wait_for(lambda: not stall_toasts(app), 5)
            assert app.stall_toast.raised == 1
    finally:
        await stream.stop()


async def test_the_webhook_receiver_shows_where_it_listens_its_last_delivery_and_bad_ones(
    emulator: Emulator,
) -> None:
    secret = "s3cret-for-tests"
    app = make_app(emulator, webhook_listen="127.0.0.1:0", webhook_secret=secret)
    async with app.run_test(size=(160, 24)):  # the header in full
        await loaded(app, emulator)
        receiver = await wait_for(lambda: app.session.webhook, 10)
        await wait_for(lambda: f"webhook 127.0.0.1:{receiver.port}" in header_text(app), 5)
        assert "no delivery yet" in header_text(app)
        body = json.dumps({"event": "ping"}).encode()
        async with httpx.AsyncClient() as http:
            bad = await http.post(receiver.url, content=body, headers={"X-HM-Signature-256": "x"})
            good = await http.post(
                receiver.url, content=body, headers={"X-HM-Signature-256": signature(secret, body)}
            )
        assert (bad.status_code, good.status_code) == (401, 200)
        await wait_for(lambda: "1 bad signature" in header_text(app), 5)
        assert "last just now" in header_text(app) or "s ago" in header_text(app)
        assert secret not in header_text(app)
    narrow = make_app(emulator, webhook_listen="127.0.0.1:0", webhook_secret=secret)
    async with narrow.run_test(size=(80, 24)):
        await loaded(narrow, emulator)
        receiver = await wait_for(lambda: narrow.session.webhook, 10)
        await wait_for(lambda: f"webhook :{receiver.port}" in header_text(narrow), 5)
        assert len(header_text(narrow)) <= 78
        assert notifications(narrow) == [] or all(secret not in n for n in notifications(narrow))


async def test_the_stall_toast_leaves_an_open_dialog_and_comes_back_when_it_closes(
    emulator_factory: Any,
) -> None:
    """The stall toast stays up for the whole stall: opening the add dialog takes it off the
    dialog's buttons, closing the dialog shows it again (the same stall: raised once)."""
    from hm_tui.ui.screens.add import AddScreen

    emu: Emulator = await emulator_factory(speed=120.0)
    mqtt = profile_from_credentials(emu.credentials, "test").mqtt
    assert mqtt is not None
    app = make_app(emu, mqtt=replace(mqtt, stall_floor_s=FLOOR_S))
    async with app.run_test(size=(80, 24)) as pilot:
        await loaded(app, emu)
        await settled(app)
        await control(emu, "faults", {"publish_paused": True})
        await wait_for(lambda: stall_toasts(app) == [STALLED], 10 + FLOOR_S, message="stalled")
        await pilot.press("a")
        await wait_for(lambda: isinstance(app.screen, AddScreen), 10, message="the add dialog")
        await wait_for(lambda: not stall_toasts(app), 5, message="the toast off the dialog")
        seen = app.stall_toast._health
        await wait_for(  # the header's next tick (a new health) with the dialog open
            lambda: app.stall_toast._health is not seen, 5, message="a tick under the dialog"
        )
        assert not stall_toasts(app)  # it stays off
        await pilot.press("escape")
        await wait_for(lambda: app.screen is app.roster_screen, 10)
        await wait_for(lambda: stall_toasts(app) == [STALLED], 5, message="the toast back")
        assert app.stall_toast.raised == 1
        await control(emu, "faults", {})
        await wait_for(lambda: not stall_toasts(app), 15, message="the stall over, toast gone")
