"""A real mosquitto for tests: mutual TLS, persistent sessions, nothing silently dropped.

`max_queued_messages` defaults to 1000 and drops beyond it (set 0: unlimited); as root mosquitto
switches to user `mosquitto`, which cannot read 0600 keys (so `user root`): see
docs/decisions.md#measured-facts.
"""

from __future__ import annotations

import os
import shutil
import socket
import ssl
import subprocess
import threading
import time
import uuid
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import paho.mqtt.client as mqtt
from helpers import wait_for

from hm_tui.emulator.broker import free_port
from hm_tui.emulator.certs import CertBundle, ensure_certs
from hm_tui.service.config.profiles import MqttSettings

READY_TIMEOUT_S = 10.0


def mosquitto_binary() -> str:
    found = shutil.which("mosquitto") or "/usr/sbin/mosquitto"
    if not Path(found).exists():
        raise RuntimeError("mosquitto is not installed (apt-get install mosquitto)")
    return found


@dataclass
class Mosquitto:
    """One mosquitto process on 127.0.0.1:`port`; `restart()` keeps port, config and sessions."""

    workdir: Path
    certs: CertBundle
    port: int = 0
    process: subprocess.Popen[bytes] | None = field(default=None, repr=False)

    @property
    def config_file(self) -> Path:
        return self.workdir / "mosquitto.conf"

    @property
    def url(self) -> str:
        return f"mqtts://127.0.0.1:{self.port}"

    @property
    def log(self) -> str:
        path = self.workdir / "mosquitto.log"
        return path.read_text(errors="replace") if path.exists() else ""

    def write_config(self) -> None:
        lines = [
            f"listener {self.port} 127.0.0.1",
            f"cafile {self.certs.ca_file}",
            f"certfile {self.certs.server_cert}",
            f"keyfile {self.certs.server_key}",
            "require_certificate true",
            "use_identity_as_username true",
            "allow_anonymous false",
            "persistence true",
            f"persistence_location {self.workdir}/",
            "max_queued_messages 0",
            "max_inflight_messages 100",
            f"log_dest file {self.workdir / 'mosquitto.log'}",
            "log_type error",
            "log_type warning",
            "log_type notice",
        ]
        if os.geteuid() == 0:
            lines.append("user root")
        self.config_file.write_text("\n".join(lines) + "\n")

    def start(self) -> None:
        if self.port == 0:
            self.port = free_port()
        self.write_config()
        self.process = subprocess.Popen(
            [mosquitto_binary(), "-c", str(self.config_file)],
            stdout=subprocess.DEVNULL,
            stderr=subprocess.PIPE,
        )
        self._wait_ready()

    def _wait_ready(self) -> None:
        deadline = time.monotonic() + READY_TIMEOUT_S
        while time.monotonic() < deadline:
            if self.process is not None and self.process.poll() is not None:
                err = (
                    self.process.stderr.read().decode(errors="replace")
                    if self.process.stderr
                    else ""
                )
                raise RuntimeError(f"mosquitto exited: {err}\n{self.log}")
            try:
                with socket.create_connection(("127.0.0.1", self.port), timeout=0.2):
                    return
            except OSError:
                time.sleep(0.02)
        raise RuntimeError(f"mosquitto did not listen on {self.port}\n{self.log}")

    def stop(self) -> None:
        """SIGTERM: mosquitto saves its persistence file on the way out."""
        process, self.process = self.process, None
        if process is None:
            return
        process.terminate()
        try:
            process.wait(timeout=10)
        except subprocess.TimeoutExpired:
            process.kill()
            process.wait(timeout=5)
        if process.stderr is not None:
            process.stderr.close()

    def restart(self) -> None:
        self.stop()
        self.start()


def start_mosquitto(workdir: Path, certs: CertBundle | None = None) -> Mosquitto:
    workdir.mkdir(parents=True, exist_ok=True)
    broker = Mosquitto(workdir=workdir, certs=certs or ensure_certs(workdir))
    broker.start()
    return broker


def mqtt_settings(
    certs: CertBundle,
    port: int,
    *,
    message_format: str = "v1",
    host: str = "127.0.0.1",
    client_id: str | None = None,
) -> MqttSettings:
    """Feed settings for a broker that trusts `certs`."""
    return MqttSettings(
        host=host,
        port=port,
        client_id=client_id or certs.client_id,
        ca_file=str(certs.ca_file),
        cert_file=str(certs.client_cert),
        key_file=str(certs.client_key),
        format=message_format,  # type: ignore[arg-type]
    )


def client_tls(certs: CertBundle, *, with_certificate: bool = True) -> ssl.SSLContext:
    """A test client's TLS: trusts the bundle's CA and presents its client certificate."""
    context = ssl.create_default_context(cafile=str(certs.ca_file))
    if with_certificate:
        context.load_cert_chain(str(certs.client_cert), str(certs.client_key))
    return context


@contextmanager
def running_mosquitto(workdir: Path, certs: CertBundle | None = None) -> Iterator[Mosquitto]:
    """A started mosquitto, stopped on the way out (for tests that need it in their own fixture)."""
    broker = start_mosquitto(workdir, certs)
    try:
        yield broker
    finally:
        broker.stop()


class Capture:
    """A bare paho subscriber keeping every (topic, payload) as it arrived, for wire checks."""

    def __init__(
        self,
        certs: CertBundle,
        port: int,
        topic: str,
        *,
        client_id: str | None = None,
        clean_session: bool = True,
        with_certificate: bool = True,
    ) -> None:
        self.topic = topic
        self.messages: list[tuple[str, bytes]] = []
        self.connected = threading.Event()
        self.refusal: str | None = None
        self.subscribed = threading.Event()
        self._client = mqtt.Client(
            mqtt.CallbackAPIVersion.VERSION2,
            client_id=client_id or f"capture-{uuid.uuid4().hex[:8]}",
            clean_session=clean_session,
        )
        self._client.tls_set_context(client_tls(certs, with_certificate=with_certificate))
        self._client.on_connect = self._on_connect
        self._client.on_subscribe = lambda *args: self.subscribed.set()
        self._client.on_message = lambda c, u, m: self.messages.append((m.topic, m.payload))
        self._client.reconnect_delay_set(1, 1)
        self._client.connect_async("127.0.0.1", port)

    def _on_connect(
        self, client: mqtt.Client, userdata: Any, flags: Any, reason: Any, properties: Any
    ) -> None:
        if reason.is_failure:
            self.refusal = str(reason)
            return
        self.connected.set()
        client.subscribe(self.topic, qos=1)

    def __enter__(self) -> Capture:
        self._client.loop_start()
        return self

    def __exit__(self, *exc: object) -> None:
        self._client.disconnect()
        self._client.loop_stop()


async def feed_connected(feed: Any, timeout: float = 10.0) -> None:
    """Wait until a FeedClient is connected and the broker acknowledged its subscription."""
    await wait_for(
        lambda: feed.state.subscribed, timeout, message=f"feed subscribed (state: {feed.state})"
    )
