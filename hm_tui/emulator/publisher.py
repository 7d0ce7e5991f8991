"""The emulator's data push: approved cars report their changed properties over MQTT.

Each car reports every `report_interval` virtual seconds (first report: everything; then only
what changed), as V1 messages (one property per message) or V2 (one message per report), exactly
as the platform sends them, at QoS 1, now and then twice with the same `message_id` as at-least-once
delivery allows. A token bucket caps the real message rate; cars queue in due order behind it.
"""

from __future__ import annotations

import asyncio
import heapq
import logging
import random
import ssl
import threading
import time
import uuid
import zlib
from collections.abc import Callable, Iterable
from dataclasses import dataclass
from datetime import UTC, datetime
from typing import Any, Protocol
from urllib.parse import urlsplit

import msgspec
import paho.mqtt.client as mqtt

from hm_tui.emulator.approved import ApprovedCars
from hm_tui.emulator.broker import EmbeddedBroker
from hm_tui.emulator.certs import CertBundle
from hm_tui.emulator.telemetry import CarSim, Snapshot, all_properties, changed_properties

log = logging.getLogger(__name__)

ApprovedVins = Callable[[], Iterable[tuple[str, str]]]
MAX_BACKLOG = 5_000  # messages the broker may hold unrouted before we hold back
MAX_WORK_PER_TICK_S = 0.02  # a huge fleet slows the reports, never the event loop


@dataclass(slots=True)
class _Car:
    brand: str
    next_due: float
    last_report: float | None = None


def iso_timestamp(epoch: float) -> str:
    """RFC 3339 with milliseconds and `Z`, as the platform writes timestamps."""
    moment = datetime.fromtimestamp(epoch, UTC)
    return moment.strftime("%Y-%m-%dT%H:%M:%S.") + f"{moment.microsecond // 1000:03d}Z"


class Publisher:
    """Publishes simulated data for the cars `approved_vins()` names (approved, push-enabled)."""

    def __init__(
        self,
        approved_vins: ApprovedVins,
        *,
        app_id: str,
        environment: str = "sandbox",
        broker: EmbeddedBroker | None = None,
        broker_url: str | None = None,
        certs: CertBundle | None = None,
        format: str = "v1",
        clock: Callable[[], float] = time.time,
        timestamp_clock: Callable[[], float] = time.time,
        report_interval: float = 60.0,
        max_rate: float = 200.0,
        duplicate_rate: float = 0.01,
        seed: int = 1,
        tick: float = 0.1,
        paused: Callable[[], bool] = lambda: False,
    ) -> None:
        if format not in ("v1", "v2"):
            raise ValueError(f"unknown MQTT format {format!r} (use v1 or v2)")
        self._approved_vins = approved_vins
        self.app_id = app_id
        self.environment = environment
        self.format = format
        self._clock = clock
        self._stamp_clock = timestamp_clock
        self.report_interval = report_interval
        self.max_rate = max_rate
        self.duplicate_rate = duplicate_rate
        self.seed = seed
        self._tick = tick
        self._paused = paused  # a stalled stream on demand (fault injection): nothing is sent
        self._sink = _make_sink(broker, broker_url, certs)
        self._rng = random.Random(seed)
        self._cars: dict[str, _Car] = {}
        self._extra: set[str] = set()  # VINs `report_now` added: checked at the next refresh
        self._due: list[tuple[float, str]] = []
        self._task: asyncio.Task[None] | None = None
        self._budget = 0.0
        self.published = 0
        self.duplicates = 0

    @property
    def connected(self) -> bool:
        return self._sink.connected

    @property
    def topic_prefix(self) -> str:
        return f"{self.environment}/level13/{self.app_id}"

    async def start(self) -> None:
        if self._task is not None:
            return
        await self._sink.open()
        self._task = asyncio.create_task(self._run(), name="hm-tui emulator publisher")

    async def stop(self) -> None:
        task, self._task = self._task, None
        if task is not None:
            task.cancel()
            await asyncio.gather(task, return_exceptions=True)
        await self._sink.close()

    async def publish_raw(self, topic: str, payload: bytes) -> None:
        """Send any bytes on any topic (tests of bad payloads)."""
        await self._sink.send(topic, payload)
        self.published += 1

    async def report_now(self, vin: str, brand: str, *, full: bool = True) -> int:
        """Publish one report of `vin` right away; returns the messages sent."""
        car = self._cars.setdefault(vin, _Car(brand, next_due=self._clock()))
        self._extra.add(vin)
        if full:
            car.last_report = None
        return await self._report(vin, car, self._clock())

    # --- the schedule ----------------------------------------------------------------------------

    async def _run(self) -> None:
        next_refresh = 0.0
        while True:
            if time.monotonic() >= next_refresh:
                self._refresh()
                next_refresh = time.monotonic() + 1.0
            self._budget = min(self._budget + self.max_rate * self._tick, max(self.max_rate, 1.0))
            try:
                if not self._paused():  # paused: cars fall due and report when it resumes
                    await self._publish_due()
            except Exception:  # a broken sink must not end the stream for good
                log.warning("MQTT publish failed", exc_info=True)
            await asyncio.sleep(self._tick)

    def _refresh(self) -> None:
        """Follow the approved set: newcomers report within one interval, leavers stop. A source
        that tells its changes (`ApprovedCars`) costs what changed; any other is read whole."""
        source = self._approved_vins
        if not isinstance(source, ApprovedCars):
            self._follow(dict(source()), everything=True)
            return
        everything, cars = source.changed()
        for vin in self._extra:  # reported on demand (`report_now`): kept only if approved
            cars.setdefault(vin, source.brand_of(vin))
        self._extra.clear()
        self._follow(cars, everything=everything)

    def _follow(self, cars: dict[str, str | None], *, everything: bool) -> None:
        """Start the cars with a brand that do not report yet; stop those without (and, when
        `cars` is `everything`, every car not in it)."""
        now = self._clock()
        for vin, brand in cars.items():
            if brand is None:
                self._cars.pop(vin, None)
            elif vin not in self._cars:
                spread = (zlib.crc32(vin.encode()) % 1000) / 1000 * self.report_interval
                car = _Car(brand, next_due=now + spread)
                self._cars[vin] = car
                heapq.heappush(self._due, (car.next_due, vin))
        if everything:
            for vin in [vin for vin in self._cars if vin not in cars]:
                del self._cars[vin]

    async def _publish_due(self) -> None:
        now = self._clock()
        give_up = time.perf_counter() + MAX_WORK_PER_TICK_S
        while self._due and self._due[0][0] <= now and self._budget >= 1.0:
            if self._sink.backlog() > MAX_BACKLOG or time.perf_counter() > give_up:
                return  # behind: reports stretch out instead of the loop stalling
            due, vin = heapq.heappop(self._due)
            car = self._cars.get(vin)
            if car is None or car.next_due != due:
                continue  # left the approved set, or rescheduled
            self._budget -= await self._report(vin, car, now)
            car.next_due = max(due + self.report_interval, now)
            heapq.heappush(self._due, (car.next_due, vin))

    async def _report(self, vin: str, car: _Car, now: float) -> int:
        sim = CarSim(vin, car.brand, self.seed)
        after = sim.snapshot(now)
        if car.last_report is None:
            changes = all_properties(after)
        else:
            changes = changed_properties(sim.snapshot(car.last_report), after)
        car.last_report = now
        if not changes:
            return 0
        sent = 0
        for topic, payload in self._messages(vin, after, changes):
            await self._sink.send(topic, payload)
            sent += 1
            if self.duplicate_rate and self._rng.random() < self.duplicate_rate:
                await self._sink.send(topic, payload)
                self.duplicates += 1
                sent += 1
        self.published += sent
        return sent

    # --- the wire format ------------------------------------------------------------------------

    def _messages(
        self,
        vin: str,
        snap: Snapshot,
        changes: list[tuple[str, str]],
    ) -> list[tuple[str, bytes]]:
        stamp = iso_timestamp(self._stamp_clock())
        if self.format == "v2":
            data: dict[str, dict[str, Any]] = {}
            for cap, prop in changes:
                data.setdefault(cap, {})[prop] = _items(snap[cap][prop], stamp, as_list=True)
            body = {
                "version": 2,
                "application_id": self.app_id,
                "message_id": self._message_id(),
                "vin": vin,
                "data": data,
            }
            return [(self.topic_prefix, msgspec.json.encode(body))]
        return [
            (
                f"{self.topic_prefix}/{vin}/{cap}/get/{prop}",
                msgspec.json.encode(
                    {
                        "version": 1,
                        "message_id": self._message_id(),
                        "vin": vin,
                        "capability": cap,
                        "property": prop,
                        "data": {cap: {prop: _items(snap[cap][prop], stamp, as_list=False)}},
                    }
                ),
            )
            for cap, prop in changes
        ]

    def _message_id(self) -> str:
        return f"{self._rng.getrandbits(256):064x}"


def for_emulator(link: Any, context: Any) -> Publisher:
    """The publisher `MqttLink` starts: the emulator's approved cars, on its virtual clock."""
    return Publisher(
        ApprovedCars(context.state),
        app_id=link.app_id,
        environment=link.environment,
        broker=link.broker,
        broker_url=link.broker_url,
        certs=link.certs,
        format=link.mqtt_format,
        clock=context.now,
        seed=link.seed,
        paused=lambda: bool(getattr(context.faults, "publish_paused", False)),
    )


def _items(value: Any, stamp: str, *, as_list: bool) -> Any:
    """A property's wire form: `{"data", "timestamp"}`, a list of them for `multiple` ones."""
    if isinstance(value, list):
        return [{"data": item, "timestamp": stamp} for item in value]
    item = {"data": value, "timestamp": stamp}
    return [item] if as_list else item


def _make_sink(
    broker: EmbeddedBroker | None,
    broker_url: str | None,
    certs: CertBundle | None,
) -> MessageSink:
    if broker_url:
        return ExternalSink(broker_url, certs)
    if broker is None:
        raise ValueError("the publisher needs the embedded broker or a broker URL")
    return BrokerSink(broker)


# --- where messages go ---------------------------------------------------------------------------


class MessageSink(Protocol):
    @property
    def connected(self) -> bool: ...

    async def open(self) -> None: ...
    async def send(self, topic: str, payload: bytes) -> None: ...
    def backlog(self) -> int: ...
    async def close(self) -> None: ...


class BrokerSink:
    """Straight into the embedded broker's routing, as the platform's own publisher would."""

    def __init__(self, broker: EmbeddedBroker) -> None:
        self._broker = broker

    @property
    def connected(self) -> bool:
        return self._broker.running

    async def open(self) -> None:
        if not self._broker.running:
            raise RuntimeError("start the embedded broker before the publisher")

    async def send(self, topic: str, payload: bytes) -> None:
        await self._broker.publish(topic, payload, qos=1)

    def backlog(self) -> int:
        return self._broker.backlog()

    async def close(self) -> None:
        return None


class ExternalSink:
    """A paho client publishing to another broker (`mqtt://host:port` or `mqtts://host:port`)."""

    def __init__(self, url: str, certs: CertBundle | None) -> None:
        parts = urlsplit(url)
        if parts.scheme not in ("mqtt", "mqtts") or not parts.hostname:
            raise ValueError(f"broker URL must look like mqtts://host:port, not {url!r}")
        self.host = parts.hostname
        self.port = parts.port or (8883 if parts.scheme == "mqtts" else 1883)
        self._connected = threading.Event()
        self._client = mqtt.Client(
            mqtt.CallbackAPIVersion.VERSION2,
            client_id=f"hm-tui-emulator-{uuid.uuid4().hex[:12]}",
            clean_session=True,
        )
        if parts.scheme == "mqtts":
            self._client.tls_set_context(_client_tls(certs))
        self._client.max_inflight_messages_set(200)
        self._client.max_queued_messages_set(50_000)
        self._client.reconnect_delay_set(1, 10)
        self._client.on_connect = self._on_connect
        self._client.on_disconnect = self._on_disconnect

    @property
    def connected(self) -> bool:
        return self._connected.is_set()

    def _on_connect(
        self, client: mqtt.Client, userdata: Any, flags: Any, reason: Any, properties: Any
    ) -> None:
        if not reason.is_failure:
            self._connected.set()

    def _on_disconnect(
        self, client: mqtt.Client, userdata: Any, flags: Any, reason: Any, properties: Any
    ) -> None:
        self._connected.clear()

    async def open(self) -> None:
        """Connect in the background; waits up to 5 s for the broker, then carries on retrying."""
        self._client.connect_async(self.host, self.port, keepalive=30)
        self._client.loop_start()
        if not await asyncio.to_thread(self._connected.wait, 5.0):
            log.warning(
                "external MQTT broker %s:%d not reachable yet; retrying", self.host, self.port
            )

    async def send(self, topic: str, payload: bytes) -> None:
        info = self._client.publish(topic, payload, qos=1)
        if info.rc == mqtt.MQTT_ERR_QUEUE_SIZE:
            raise RuntimeError("external MQTT broker is not keeping up (publish queue full)")

    def backlog(self) -> int:
        return len(self._client._out_messages)

    async def close(self) -> None:
        self._client.disconnect()
        await asyncio.to_thread(self._client.loop_stop)


def _client_tls(certs: CertBundle | None) -> ssl.SSLContext:
    """Verify the broker against our CA (or the system's), and present our client certificate."""
    if certs is None:
        return ssl.create_default_context()
    context = ssl.create_default_context(cafile=str(certs.ca_file))
    context.load_cert_chain(str(certs.client_cert), str(certs.client_key))
    return context
