"""The optional webhook receiver (docs/platform.md#webhooks): clearance changes as they happen.

A small aiohttp server on the profile's `webhook_listen` ("host:port"). Every delivery is checked
before anything else: `X-HM-Signature-256` must be `sha256=<hex HMAC-SHA256(secret, raw body)>`,
compared in constant time; a bad or missing signature gets 401 and is counted, nothing more.
Deliveries are de-duplicated by `X-HM-Delivery` (the platform retries; bounded memory), `ping`
is answered, and `fleet_clearance_changed` is handed to `on_change`. Polling stays the safety net
for deliveries that never arrive.

The signature covers the body only: a captured delivery sent again with a new delivery id passes
every check here. So what a delivery says is never taken as the state: the session only reads
the VIN it names again from the platform (webhook_reads.py). Any body gets an answer, never a
500: 401 for a bad signature, 400 for one that is not JSON (or nested too deeply, bounded_json),
200 "ignored" for JSON that is not a clearance change of a well-formed VIN.

A slow or idle client holds a connection only a few seconds (slowloris: ~1,000 connections
trickled a byte at a time would otherwise take the dashboard's file descriptors). A request's
headers must arrive within `READ_DEADLINE_S` of the connection opening or of the previous answer
on it (aiohttp's keep-alive timer, which also closes a connection idle that long), its body
within `READ_DEADLINE_S` of the headers (else 408 and the connection closed); header lines and
fields are bounded (`MAX_HEADER_BYTES`, `MAX_HEADERS`: a 400 beyond).
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

from hm_tui.service import bounded_json

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
        self.stats = {
            "accepted": 0,
            "rejected": 0,
            "duplicates": 0,
            "pings": 0,
            "ignored": 0,
            "too_slow": 0,
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
        site = web.TCPSite(self._runner, self.host, self.port)
        await site.start()
        if self.port == 0:  # an ephemeral port: learn which
            self.port = int(self._runner.addresses[0][1])
        log.info("webhook receiver listening on %s:%d", self.host, self.port)

    async def stop(self) -> None:
        runner, self._runner = self._runner, None
        if runner is not None:
            await runner.cleanup()

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
