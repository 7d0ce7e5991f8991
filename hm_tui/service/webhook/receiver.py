"""The optional webhook receiver (docs/platform.md#webhooks): clearance changes as they happen.

A small aiohttp server on the profile's `webhook_listen` ("host:port"). Every delivery is checked
before anything else: `X-HM-Signature-256` must be `sha256=<hex HMAC-SHA256(secret, raw body)>`,
compared in constant time; a bad or missing signature gets 401 and is counted, nothing more.
Deliveries are de-duplicated by `X-HM-Delivery` (the platform retries; bounded memory), `ping`
is answered, and `fleet_clearance_changed` is handed to `on_change`. Polling stays the safety net
for deliveries that never arrive.

The signature covers the body only: a captured delivery sent again with a new delivery id passes
every check here. So what a delivery says is never taken as the state: the session only reads
the VIN it names again from the platform (webhook/reads.py). Any body gets an answer, never a
500: 401 for a bad signature, 400 for one that is not JSON (or nested too deeply, bounded_json),
200 "ignored" for JSON that is not a clearance change of a well-formed VIN.

A slow or idle client holds a connection only a few seconds (slowloris: ~1,000 connections
trickled a byte at a time would otherwise take the dashboard's file descriptors). A request's
headers must arrive within `READ_DEADLINE_S` of the connection opening or of the previous answer
on it (aiohttp's keep-alive timer, which also closes a connection idle that long), its body
within `READ_DEADLINE_S` of the headers (else 408 and the connection closed); header lines and
fields are bounded (`MAX_HEADER_BYTES`, `MAX_HEADERS`: a 400 beyond).

Connections are bounded in number too (`MAX_CONNECTIONS`, 64: the platform delivers a few at a
time): a flood of idle sockets opened faster than the deadline closes them would otherwise hold
a descriptor each. Past the cap a new connection gets a 503 (`Retry-After`: the platform tries a
delivery again) and is closed at once, holding its descriptor for no time; once a connection
ends, its slot takes the next one (`_Slots`, around aiohttp's protocol factory).
"""

from __future__ import annotations

import asyncio
import hashlib
import hmac
import inspect
import logging
import re
import time
from collections import OrderedDict
from collections.abc import Awaitable, Callable
from dataclasses import dataclass
from typing import TYPE_CHECKING, Any

from hm_tui.service.platform import bounded_json

if TYPE_CHECKING:  # aiohttp costs ~0.2 s of import: only profiles with a webhook pay it
    from aiohttp import web

log = logging.getLogger("hm_tui.webhook")

CHANGED = "fleet_clearance_changed"
_VIN = re.compile(r"[A-Z0-9]{17}")
PING = "ping"
MAX_BODY = 256 * 1024
READ_DEADLINE_S = 5.0  # headers, then body: each within this (and idle keep-alive no longer)
MAX_HEADER_BYTES = 4096  # one header line (the request line too)
MAX_HEADERS = 32
LINGER_S = 1.0  # reading what is left of a refused body before closing
MAX_CONNECTIONS = 64  # open at once; past it a new connection gets a 503 and is closed
# connections the kernel queues until accepted: a burst past it has its handshakes dropped and
# retried by the kernel for a minute (aiohttp's 128: a burst of 200 left some clients hanging)
LISTEN_BACKLOG = 1024
_BUSY = (
    b"HTTP/1.1 503 Service Unavailable\r\nRetry-After: 5\r\nContent-Length: 0\r\n"
    b"Connection: close\r\n\r\n"
)


@dataclass(frozen=True, slots=True)
class ClearanceEvent:
    """One verified `fleet_clearance_changed` delivery."""

    delivery: str
    vin: str
    action: str  # the clearance's new status
    detail: str  # e.g. the rejection reason ("" when none)
    received_at: str  # ISO-8601 from the platform ("" when absent)


OnChange = Callable[[ClearanceEvent], Awaitable[None] | None]


def signature(secret: str, body: bytes) -> str:
    """The header value the platform sends for `body`."""
    return "sha256=" + hmac.new(secret.encode(), body, hashlib.sha256).hexdigest()


def parse_listen(listen: str) -> tuple[str, int]:
    """ "host:port" (or "[v6]:port") -> (host, port); ValueError with a clear message."""
    host, sep, port = listen.strip().rpartition(":")
    host = host.strip("[]")
    if not sep or not host or not port.isdigit() or not 0 <= int(port) <= 65535:
        raise ValueError(f"webhook_listen must look like 127.0.0.1:8080, not {listen!r}")
    return host, int(port)


class WebhookReceiver:
    """Verifies, de-duplicates and dispatches webhook deliveries."""

    def __init__(
        self,
        listen: str,
        secret: str,
        on_change: OnChange,
        *,
        remember: int = 10_000,
        read_deadline: float = READ_DEADLINE_S,
        max_connections: int = MAX_CONNECTIONS,
    ) -> None:
        if not secret:
            raise ValueError("a webhook receiver needs the webhook secret")
        self.host, self.port = parse_listen(listen)
        self._secret = secret
        self._on_change = on_change
        self._remember = remember
        self._read_deadline = read_deadline
        self._seen: OrderedDict[str, None] = OrderedDict()
        self._runner: web.AppRunner | None = None
        self._listener: asyncio.AbstractServer | None = None
        self._slots = _Slots(max_connections)
        self.stats = {
            "accepted": 0,
            "rejected": 0,
            "duplicates": 0,
            "pings": 0,
            "ignored": 0,
            "too_slow": 0,
            "busy": 0,  # connections refused at the cap
        }
        self._last_delivery: float | None = None  # monotonic: the last correctly signed one

    def __repr__(self) -> str:  # never the secret
        return f"WebhookReceiver({self.host}:{self.port}, stats={self.stats})"

    @property
    def url(self) -> str:
        return f"http://{self.host}:{self.port}/"

    async def start(self) -> None:
        from aiohttp import web

        app = web.Application(client_max_size=MAX_BODY)
        app.router.add_route("POST", "/{tail:.*}", self._handle)
        self._runner = web.AppRunner(
            app,
            access_log=None,
            keepalive_timeout=self._read_deadline,  # (timed from the connection's start too)
            lingering_time=LINGER_S,
            max_line_size=MAX_HEADER_BYTES,
            max_field_size=MAX_HEADER_BYTES,
            max_headers=MAX_HEADERS,
            logger=_ServerLog(log, {}),
        )
        await self._runner.setup()
        assert self._runner.server is not None  # (set up)
        self._slots.handler = self._runner.server
        self._slots.on_busy = self._busy
        # aiohttp's TCPSite, but each connection takes a slot (or is refused) first
        self._listener = await asyncio.get_running_loop().create_server(
            self._slots, self.host, self.port, backlog=LISTEN_BACKLOG
        )
        if self.port == 0:  # an ephemeral port: learn which
            self.port = int(self._listener.sockets[0].getsockname()[1])
        log.info("webhook receiver listening on %s:%d", self.host, self.port)

    async def stop(self) -> None:
        listener, self._listener = self._listener, None
        if listener is not None:
            listener.close()  # no new connections; the open ones are ended by the runner
        runner, self._runner = self._runner, None
        if runner is not None:
            await runner.cleanup()

    @property
    def connections(self) -> int:
        """Connections open now (each holds a slot)."""
        return self._slots.used

    def _busy(self) -> None:
        self.stats["busy"] += 1
        if self.stats["busy"] % 1000 == 1:  # (a flood: one line per thousand, not per socket)
            log.warning(
                "webhook: %d connections open (the limit): refused %d new ones so far",
                self._slots.limit,
                self.stats["busy"],
            )

    def since_last_delivery(self, now: float | None = None) -> float | None:
        """Seconds since the last correctly signed delivery (a ping too); None: none yet."""
        if self._last_delivery is None:
            return None
        return max(0.0, (time.monotonic() if now is None else now) - self._last_delivery)

    def verified(self, header: str | None, body: bytes) -> bool:
        if not header:
            return False
        expected = signature(self._secret, body).encode()
        return hmac.compare_digest(header.encode("utf-8", "replace"), expected)

    def _first_time(self, delivery: str) -> bool:
        if delivery in self._seen:
            self._seen.move_to_end(delivery)
            return False
        self._seen[delivery] = None
        if len(self._seen) > self._remember:
            self._seen.popitem(last=False)
        return True

    async def _handle(self, request: web.Request) -> web.Response:
        from aiohttp import web  # imported by start() already

        try:
            return await self._answer(request)
        except web.HTTPException:  # aiohttp's own answers (413: body too large)
            raise
        except Exception:  # whatever the body was: a 400, never a 500 and a traceback
            log.warning("webhook: a delivery could not be read", exc_info=True)
            return web.json_response({"error": "malformed delivery"}, status=400)

    async def _answer(self, request: web.Request) -> web.Response:
        from aiohttp import web

        try:
            async with asyncio.timeout(self._read_deadline):
                body = await request.read()
        except TimeoutError:
            self.stats["too_slow"] += 1
            answer = web.json_response(
                {"error": f"body not received within {self._read_deadline:g} s"}, status=408
            )
            answer.force_close()  # (the rest of a trickle is not waited for)
            return answer
        if not self.verified(request.headers.get("X-HM-Signature-256"), body):
            self.stats["rejected"] += 1
            return web.json_response({"error": "bad or missing signature"}, status=401)
        self._last_delivery = time.monotonic()
        delivery = request.headers.get("X-HM-Delivery", "")
        if delivery and not self._first_time(delivery):
            self.stats["duplicates"] += 1
            return web.json_response({"status": "duplicate"})
        try:
            payload = bounded_json.loads(body)
        except ValueError as exc:  # (JsonError: invalid, or nested too deeply)
            return web.json_response({"error": f"body is {exc}"}, status=400)
        kind = request.headers.get("X-HM-Event") or _get(payload, "event", "type")
        if kind == PING:
            self.stats["pings"] += 1
            return web.json_response({"status": "pong"})
        event = _clearance_event(delivery, payload) if kind == CHANGED else None
        if event is None:
            self.stats["ignored"] += 1
            return web.json_response({"status": "ignored"})
        self.stats["accepted"] += 1
        await self._dispatch(event)
        return web.json_response({"status": "ok"})

    async def _dispatch(self, event: ClearanceEvent) -> None:
        try:
            result = self._on_change(event)
            if inspect.isawaitable(result):
                await result
        except Exception:  # the platform must not retry because our handler failed
            log.exception("webhook handler failed for %s", event.vin)


class _Slots:
    """The listener's protocol factory: aiohttp's (`handler`) while fewer than `limit`
    connections are open, else a protocol that answers 503 and closes at once. A slot is taken
    when the connection is accepted and given back when it is lost."""

    def __init__(self, limit: int) -> None:
        if limit < 1:
            raise ValueError("a webhook receiver needs room for at least one connection")
        self.limit, self.used = limit, 0
        self.handler: Callable[[], asyncio.Protocol] | None = None
        self.on_busy: Callable[[], None] = lambda: None

    def __call__(self) -> asyncio.Protocol:
        assert self.handler is not None
        if self.used >= self.limit:
            self.on_busy()
            return _Refused()
        self.used += 1
        return _Held(self.handler(), self)

    def give_back(self) -> None:
        self.used -= 1


class _Held(asyncio.Protocol):
    """aiohttp's protocol for one connection, which gives its slot back when it ends."""

    def __init__(self, inner: asyncio.Protocol, slots: _Slots) -> None:
        self._inner, self._slots, self._held = inner, slots, True

    def connection_made(self, transport: asyncio.BaseTransport) -> None:
        self._inner.connection_made(transport)

    def data_received(self, data: bytes) -> None:
        self._inner.data_received(data)

    def eof_received(self) -> bool | None:
        return self._inner.eof_received()

    def pause_writing(self) -> None:
        self._inner.pause_writing()

    def resume_writing(self) -> None:
        self._inner.resume_writing()

    def connection_lost(self, exc: Exception | None) -> None:
        if self._held:
            self._held = False
            self._slots.give_back()
        self._inner.connection_lost(exc)


class _Refused(asyncio.Protocol):
    """A connection past the cap: a 503 written, then closed, without reading a byte."""

    def connection_made(self, transport: asyncio.BaseTransport) -> None:
        assert isinstance(transport, asyncio.WriteTransport)
        transport.write(_BUSY)
        transport.close()


class _ServerLog(logging.LoggerAdapter):  # type: ignore[type-arg]
    """aiohttp's own log: a request it refuses (headers too large, not HTTP) is one debug line
    naming the error's kind, not an ERROR with a traceback per request an attacker sends."""

    def exception(self, msg: object, *args: object, exc_info: Any = True, **kw: Any) -> None:
        kind = type(exc_info).__name__ if isinstance(exc_info, BaseException) else "error"
        self.logger.debug("webhook: refused a request aiohttp could not handle (%s)", kind)


def _get(payload: Any, *path: str) -> Any:
    for key in path:
        if not isinstance(payload, dict):
            return None
        payload = payload.get(key)
    return payload


def _clearance_event(delivery: str, payload: Any) -> ClearanceEvent | None:
    vin, action = _get(payload, "vehicle", "vin"), _get(payload, "event", "action")
    if not isinstance(vin, str) or not isinstance(action, str) or not vin or not action:
        return None
    if not _VIN.fullmatch(vin.strip().upper()):  # it names the URL of a read: VINs only
        return None
    detail = _get(payload, "event", "detail")
    received = _get(payload, "event", "received_at")
    return ClearanceEvent(
        delivery,
        vin.strip().upper(),
        action,
        detail if isinstance(detail, str) else "",
        received if isinstance(received, str) else "",
    )
