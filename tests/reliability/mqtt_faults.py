"""Tools for broker faults: a TCP proxy whose connections the test can cut, and a paced QoS-1
publisher that only moves on once the broker has acknowledged each message."""

from __future__ import annotations

import asyncio
import json
import threading
import uuid
from typing import Any

import paho.mqtt.client as mqtt
from mqtt_helpers import client_tls

from hm_tui.emulator.certs import CertBundle

APP = "a1b2c3d4e5f6a1b2c3d4e5f6"
VIN = "WBA00000400000001"
TOPIC = f"sandbox/level13/{APP}/{VIN}/ignition/get/state"
ACK_TIMEOUT_S = 20.0


def payload(message_id: str, value: Any = "on") -> bytes:
    """A V1 message as the platform sends it (docs/platform.md#mqtt-streaming-push)."""
    return json.dumps(
        {
            "version": 1,
            "message_id": message_id,
            "vin": VIN,
            "capability": "ignition",
            "property": "state",
            "data": {"ignition": {"state": {"data": value, "timestamp": "2025-11-23T10:00:00Z"}}},
        }
    ).encode()


def message_id(number: int) -> str:
    return f"{number:064x}"


class CuttableProxy:
    """127.0.0.1:`port` → 127.0.0.1:`upstream`; `cut()` drops every open connection at once
    (what a NAT timeout or a flaky link does to the client), new connections are accepted."""

    def __init__(self, upstream: int) -> None:
        self.upstream = upstream
        self.port = 0
        self.cuts = 0
        self._server: asyncio.Server | None = None
        self._writers: set[asyncio.StreamWriter] = set()

    async def start(self) -> None:
        self._server = await asyncio.start_server(self._serve, "127.0.0.1", 0)
        self.port = self._server.sockets[0].getsockname()[1]

    async def _serve(self, reader: asyncio.StreamReader, writer: asyncio.StreamWriter) -> None:
        try:
            up_reader, up_writer = await asyncio.open_connection("127.0.0.1", self.upstream)
        except OSError:
            writer.transport.abort()
            return
        self._writers |= {writer, up_writer}
        await asyncio.gather(self._pipe(reader, up_writer), self._pipe(up_reader, writer))

    async def _pipe(self, reader: asyncio.StreamReader, writer: asyncio.StreamWriter) -> None:
        try:
            while data := await reader.read(65536):
                writer.write(data)
                await writer.drain()
        except (OSError, asyncio.IncompleteReadError):
            pass
        finally:
            self._writers.discard(writer)
            writer.transport.abort()

    def connections(self) -> int:
        return len(self._writers) // 2

    def cut(self) -> None:
        self.cuts += 1
        for writer in list(self._writers):
            writer.transport.abort()
        self._writers.clear()

    async def stop(self) -> None:
        self.cut()
        if self._server is not None:
            self._server.close()
            await self._server.wait_closed()


class PacedPublisher:
    """Publishes QoS 1 from a thread, one message at a time, each acknowledged by the broker
    before the next (paho re-sends unacknowledged ones after a reconnect): at-least-once."""

    def __init__(self, certs: CertBundle, port: int, topic: str = TOPIC) -> None:
        self.topic = topic
        self.sent: list[str] = []  # message ids acknowledged by the broker, in order
        self._acked = threading.Condition()
        self._acks: set[int] = set()
        self._client = mqtt.Client(
            mqtt.CallbackAPIVersion.VERSION2,
            client_id=f"platform-{uuid.uuid4().hex[:8]}",
            clean_session=False,
        )
        self._client.tls_set_context(client_tls(certs))
        self._client.reconnect_delay_set(1, 1)
        self._client.on_publish = self._on_publish
        self._client.connect_async("127.0.0.1", port)
        self._client.loop_start()
        self._thread: threading.Thread | None = None
        self.error: BaseException | None = None

    def _on_publish(self, client: Any, userdata: Any, mid: int, *rest: Any) -> None:
        with self._acked:
            self._acks.add(mid)
            self._acked.notify_all()

    def publish(self, ids: list[str], value: Any = "on") -> None:
        """Publish `ids` in order, each acknowledged before the next (blocks; run in a thread)."""
        for mid_text in ids:
            info = self._client.publish(self.topic, payload(mid_text, value), qos=1)
            with self._acked:
                if not self._acked.wait_for(lambda m=info.mid: m in self._acks, ACK_TIMEOUT_S):
                    raise TimeoutError(f"the broker never acknowledged {mid_text[-6:]}")
            self.sent.append(mid_text)

    def start(self, ids: list[str]) -> None:
        def run() -> None:
            try:
                self.publish(ids)
            except BaseException as exc:
                self.error = exc

        self._thread = threading.Thread(target=run, name="paced-publisher", daemon=True)
        self._thread.start()

    @property
    def done(self) -> bool:
        return self._thread is not None and not self._thread.is_alive()

    def close(self) -> None:
        self._client.disconnect()
        self._client.loop_stop()
