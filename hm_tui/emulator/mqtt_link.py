"""The emulator's side of MQTT: certificates, the embedded broker and the publisher (EMU-MQTT's
modules), started and stopped behind one small interface so the server does not depend on their
details.
"""

from __future__ import annotations

import asyncio
import importlib
import logging
import socket
from pathlib import Path
from typing import Any
from urllib.parse import urlsplit

from hm_tui.emulator.certs import CertBundle, ensure_certs

log = logging.getLogger(__name__)


class MqttLink:
    """Certificates always; the embedded broker unless `broker_url`; the publisher if asked."""

    def __init__(
        self,
        host: str,
        port: int,
        state_dir: Path,
        broker_url: str | None,
        *,
        mqtt_format: str,
        environment: str,
        app_id: str,
        seed: int,
    ) -> None:
        self.host = host
        self.port = port
        self.state_dir = state_dir
        self.broker_url = broker_url
        self.mqtt_format = mqtt_format
        self.environment = environment
        self.app_id = app_id
        self.seed = seed
        self.certs: CertBundle | None = None
        self.broker: Any = None
        self.publisher: Any = None

    async def prepare(self, *, reserve_port: bool = False) -> None:
        """Certificates (made once per state dir); with `reserve_port`, the embedded broker's
        port is chosen now, so `credentials()` is complete before the broker runs."""
        self.certs = await asyncio.to_thread(ensure_certs, self.state_dir)
        if reserve_port and self.broker_url is None and self.port == 0:
            self.port = _free_port(self.host or "127.0.0.1")

    async def start(self, ctx: Any, *, publish: bool) -> None:
        if self.certs is None:
            await self.prepare()
        assert self.certs is not None
        if self.broker_url is None:
            from hm_tui.emulator.broker import EmbeddedBroker

            self.broker = EmbeddedBroker(self.host, self.port, self.certs)
            await self.broker.start()
        if publish:
            self.publisher = _make_publisher(self, ctx)
            if self.publisher is not None:
                await _maybe_await(self.publisher.start())

    def endpoint(self) -> tuple[str, int]:
        """Where clients connect: the external broker, or the embedded one."""
        if self.broker_url is not None:
            parts = urlsplit(self.broker_url)
            default = 8883 if parts.scheme in ("mqtts", "ssl", "tls") else 1883
            return parts.hostname or "127.0.0.1", parts.port or default
        host = "127.0.0.1" if self.host in ("", "0.0.0.0", "::") else self.host
        return host, int(self.broker.port) if self.broker is not None else self.port

    def credentials(self) -> dict[str, Any] | None:
        """The `mqtt` block of credentials.json (docs/architecture.md#emulator-state-directory)."""
        if self.certs is None:
            return None
        host, port = self.endpoint()
        return {
            "host": host,
            "port": port,
            "client_id": self.certs.client_id,
            "topic": f"{self.environment}/level13/{self.app_id}/#"
            if self.mqtt_format == "v1"
            else f"{self.environment}/level13/{self.app_id}",
            "format": self.mqtt_format,
            "ca_file": str(self.certs.ca_file),
            "cert_file": str(self.certs.client_cert),
            "key_file": str(self.certs.client_key),
        }

    async def stop(self) -> None:
        publisher, self.publisher = self.publisher, None
        if publisher is not None:
            await _maybe_await(publisher.stop())
        broker, self.broker = self.broker, None
        if broker is not None:
            await broker.stop()


def _free_port(host: str) -> int:
    """A port nothing listens on now (broker.free_port without importing amqtt, which is slow)."""
    family = socket.AF_INET6 if ":" in host else socket.AF_INET
    with socket.socket(family, socket.SOCK_STREAM) as sock:
        sock.bind((host, 0))
        return int(sock.getsockname()[1])


async def _maybe_await(result: Any) -> None:
    if asyncio.iscoroutine(result) or isinstance(result, asyncio.Future):
        await result


def _make_publisher(link: MqttLink, ctx: Any) -> Any:
    """EMU-MQTT's Publisher for this emulator, or None while that module does not exist."""
    try:
        module = importlib.import_module("hm_tui.emulator.publisher")
    except ImportError:
        log.info("no MQTT publisher available: vehicle data is served over REST only")
        return None
    factory = getattr(module, "for_emulator", None)
    if factory is None:
        return None
    return factory(link=link, context=ctx)
