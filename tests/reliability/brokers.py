"""Either broker the feed meets in tests, behind one face: a real mosquitto (as on the platform)
or the emulator's embedded amqtt broker, both with mutual TLS and persistent sessions."""

from __future__ import annotations

import threading
from collections.abc import AsyncIterator
from contextlib import asynccontextmanager
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import paho.mqtt.client as mqtt
from mqtt_helpers import client_tls, running_mosquitto

from hm_tui.emulator.broker import EmbeddedBroker
from hm_tui.emulator.certs import CertBundle, ensure_certs

BROKERS = ["mosquitto", "emulator"]


@dataclass
class AnyBroker:
    kind: str
    certs: CertBundle
    port: int


@asynccontextmanager
async def any_broker(kind: str, workdir: Path) -> AsyncIterator[AnyBroker]:
    """A started broker of `kind` ("mosquitto" or "emulator"), stopped on the way out."""
    certs = ensure_certs(workdir / "certs")
    if kind == "mosquitto":
        with running_mosquitto(workdir / "mosquitto", certs) as mosquitto:
            yield AnyBroker(kind, certs, mosquitto.port)
        return
    embedded = EmbeddedBroker("127.0.0.1", 0, certs)
    await embedded.start()
    try:
        yield AnyBroker(kind, certs, embedded.port)
    finally:
        await embedded.stop()


class SameIdClient:
    """A bare paho client using the certificate's client id (another machine with the same
    certificate): persistent session, QoS 1, and no reconnecting of its own unless asked."""

    def __init__(
        self, broker: AnyBroker, topic: str, *, reconnect: bool = False, acks: bool = True
    ) -> None:
        self.connected = threading.Event()
        self.lost = threading.Event()
        self.messages: list[bytes] = []
        self._client = mqtt.Client(
            mqtt.CallbackAPIVersion.VERSION2,
            client_id=broker.certs.client_id,
            clean_session=False,
            reconnect_on_failure=reconnect,
            manual_ack=not acks,  # acks=False: it never acknowledges a message
        )
        self._client.tls_set_context(client_tls(broker.certs))
        self._client.reconnect_delay_set(1, 1)
        self._client.on_connect = self._on_connect
        self._client.on_disconnect = lambda *args: self.lost.set()
        self._client.on_message = lambda c, u, m: self.messages.append(m.payload)
        self._topic = topic
        self._client.connect_async("127.0.0.1", broker.port)
        self._client.loop_start()

    def _on_connect(self, client: Any, userdata: Any, flags: Any, reason: Any, props: Any) -> None:
        if not reason.is_failure:
            self.lost.clear()
            self.connected.set()
            client.subscribe(self._topic, qos=1)

    def close(self) -> None:
        self._client.disconnect()
        self._client.loop_stop()


def same_id_subscriber(broker: AnyBroker, topic: str) -> list[str]:
    """The console's `mosquitto_sub` line with the feed's client id: another machine holding
    the same certificate. It reconnects by itself, a second after it loses the session."""
    certs = broker.certs
    return [
        "mosquitto_sub",
        "--disable-clean-session",
        "--cafile",
        str(certs.ca_file),
        "--cert",
        str(certs.client_cert),
        "--key",
        str(certs.client_key),
        "-h",
        "127.0.0.1",
        "-p",
        str(broker.port),
        "-q",
        "1",
        "-t",
        topic,
        "-i",
        certs.client_id,
    ]
