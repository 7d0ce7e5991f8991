"""The dashboard when another client using the same certificate takes the MQTT session (the real
app under Pilot, a real Session and its feed process, mosquitto, and the console's `mosquitto_sub`
with the certificate's client id): the header says "taken over" in the error colour within one
keepalive and the feed's status says why; once the other client is gone the feed comes back by
itself (docs/feed-sessions.md)."""

from __future__ import annotations

import subprocess
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest
from mqtt_helpers import Mosquitto, mqtt_settings, running_mosquitto

from hm_tui.emulator.server import Emulator
from hm_tui.service.feed.client import KEEPALIVE_S
from hm_tui.service.feed.takeover import HOLD_OFF_MAX_S, TAKEN
from hm_tui.ui.app import HmTuiApp
from tests.helpers import wait_for
from tests.ui.app_support import loaded, make_app


@pytest.fixture
def broker(tmp_path: Path) -> Iterator[Mosquitto]:
    with running_mosquitto(tmp_path / "mosquitto") as mosquitto:
        yield mosquitto


def header_text(app: HmTuiApp) -> str:
    return app.roster_screen.header.render().plain


def feed_health(app: HmTuiApp) -> Any:
    return app.session.feed_health() if app.session is not None else None


def same_id_subscriber(broker: Mosquitto, app_id: str) -> list[str]:
    certs = broker.certs
    return [
        "mosquitto_sub",
        "--disable-clean-session",
        *("--cafile", str(certs.ca_file), "--cert", str(certs.client_cert)),
        *("--key", str(certs.client_key), "-h", "127.0.0.1", "-p", str(broker.port)),
        *("-q", "1", "-t", f"sandbox/level13/{app_id}/#", "-i", certs.client_id),
    ]


async def test_a_takeover_turns_the_header_to_an_error_and_the_feed_comes_back(
    emulator: Emulator, broker: Mosquitto
) -> None:
    app = make_app(emulator, mqtt=mqtt_settings(broker.certs, broker.port))
    other: subprocess.Popen[bytes] | None = None
    async with app.run_test(size=(140, 30)):  # the header in full
        await loaded(app, emulator)
        await wait_for(
            lambda: (health := feed_health(app)) is not None and health.status == "connected",
            20,
            message="the feed connected",
        )
        try:
            other = subprocess.Popen(
                same_id_subscriber(broker, emulator.credentials["app_id"]),
                stdout=subprocess.DEVNULL,
                stderr=subprocess.DEVNULL,
            )
            await wait_for(
                lambda: "MQTT taken over" in header_text(app),
                KEEPALIVE_S,
                message=f"the takeover in the header ({header_text(app)})",
            )
            assert app.roster_screen.header.state.mqtt_level == "error"
            assert (feed_health(app).state.last_error or "").startswith(TAKEN)
            assert feed_health(app).state.takeovers >= 1
        finally:
            if other is not None:
                other.terminate()
                other.wait(10)
        await wait_for(
            lambda: "MQTT connected" in header_text(app),
            HOLD_OFF_MAX_S,
            message="the feed back by itself once the other client left",
        )
