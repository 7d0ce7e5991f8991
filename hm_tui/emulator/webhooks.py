"""Webhook deliveries (docs/platform.md#webhooks): signed `fleet_clearance_changed` per change.

Deliveries run in one background task, in order, each retried a few times; a slow or dead
receiver never blocks the API. The queue is bounded: beyond it, the oldest changes are dropped
(and counted as failed), as a platform would give up on an unreachable endpoint.
"""

from __future__ import annotations

import asyncio
import contextlib
import hashlib
import hmac
import json
import uuid
from typing import Any

import aiohttp

from hm_tui.emulator.clock import iso
from hm_tui.emulator.state import Change
from hm_tui.emulator.stats import Stats

USER_AGENT = "HM-Webhook/1.2.0"
EVENT = "fleet_clearance_changed"
RETRY_DELAYS_S = (0.2, 1.0, 3.0)
QUEUE_LIMIT = 10_000


def sign(secret: str, body: bytes) -> str:
    """The `X-HM-Signature-256` header value: `sha256=<hex HMAC-SHA256(secret, raw body)>`."""
    return "sha256=" + hmac.new(secret.encode(), body, hashlib.sha256).hexdigest()


def event_body(change: Change, app_id: str) -> dict[str, Any]:
    return {
        "vehicle": {"vin": change.vin},
        "event": {
            "type": EVENT,
            "action": change.new,
            "detail": change.reason or "",
            "received_at": iso(change.at),
        },
        "application": {"id": app_id},
    }


class WebhookSender:
    """Queues clearance changes and POSTs them to `url` from a background task."""

    def __init__(self, url: str, secret: str, app_id: str, stats: Stats) -> None:
        self.url = url
        self._secret = secret
        self._app_id = app_id
        self._stats = stats
        self._queue: asyncio.Queue[Change] = asyncio.Queue()
        self._task: asyncio.Task[None] | None = None
        self._session: aiohttp.ClientSession | None = None

    def notify(self, change: Change) -> None:
        """State listener: called in the loop thread, never blocks."""
        if self._queue.qsize() >= QUEUE_LIMIT:
            self._queue.get_nowait()
            self._stats.webhooks_failed += 1
        self._queue.put_nowait(change)

    async def start(self) -> None:
        timeout = aiohttp.ClientTimeout(total=5)
        self._session = aiohttp.ClientSession(timeout=timeout)
        self._task = asyncio.create_task(self._run(), name="hm-emulator-webhooks")

    async def stop(self) -> None:
        if self._task is not None:
            self._task.cancel()
            with contextlib.suppress(asyncio.CancelledError):
                await self._task
        if self._session is not None:
            await self._session.close()

    async def _run(self) -> None:
        while True:
            change = await self._queue.get()
            delivered = await self._deliver(change)
            if delivered:
                self._stats.webhooks_delivered += 1
            else:
                self._stats.webhooks_failed += 1

    async def _deliver(self, change: Change) -> bool:
        body = json.dumps(event_body(change, self._app_id), separators=(",", ":")).encode()
        headers = {
            "Content-Type": "application/json",
            "User-Agent": USER_AGENT,
            "X-HM-Event": EVENT,
            "X-HM-Delivery": str(uuid.uuid4()),
            "X-HM-Signature-256": sign(self._secret, body),
        }
        for delay in (0.0, *RETRY_DELAYS_S):
            if delay:
                await asyncio.sleep(delay)
            if await self._post(body, headers):
                return True
        return False

    async def _post(self, body: bytes, headers: dict[str, str]) -> bool:
        assert self._session is not None
        try:
            async with self._session.post(self.url, data=body, headers=headers) as response:
                return 200 <= response.status < 300
        except (aiohttp.ClientError, TimeoutError, OSError):
            return False
