"""What every emulator request handler shares, and the small helpers they answer with."""

from __future__ import annotations

import math
import time
from collections import deque
from dataclasses import dataclass, field
from typing import Any

import msgspec
from aiohttp import web

from hm_tui.emulator.clock import VirtualClock
from hm_tui.emulator.faults import Faults
from hm_tui.emulator.jsonbody import decode_bounded
from hm_tui.emulator.state import FleetState
from hm_tui.emulator.stats import Stats
from hm_tui.emulator.tokens import TokenIssuer

_encoder = msgspec.json.Encoder()


class RateLimiter:
    """A sliding window of `limit` calls per `window_s` real seconds (per app)."""

    def __init__(self, limit: int = 60, window_s: float = 60.0) -> None:
        self.limit = limit
        self.window_s = window_s
        self._calls: deque[float] = deque()

    def retry_after(self) -> int | None:
        """None if the call may proceed (and counts it), else whole seconds to wait."""
        now = time.monotonic()
        while self._calls and now - self._calls[0] >= self.window_s:
            self._calls.popleft()
        if len(self._calls) >= self.limit:
            return max(1, math.ceil(self._calls[0] + self.window_s - now))
        self._calls.append(now)
        return None


@dataclass(slots=True)
class Context:
    """The emulator's parts, reachable from any handler as `request.app[CONTEXT]`."""

    clock: VirtualClock
    state: FleetState
    tokens: TokenIssuer
    seed: int
    environment: str
    faults: Faults = field(default_factory=Faults)
    stats: Stats = field(default_factory=Stats)
    get_one_limit: RateLimiter = field(default_factory=RateLimiter)
    broker: Any = None
    publisher: Any = None
    cars: dict[str, Any] = field(default_factory=dict)  # telemetry sims, made on demand

    def now(self) -> float:
        """Virtual now, after applying every transition due by then."""
        now = self.clock.now()
        self.state.tick(now)
        return now


CONTEXT = web.AppKey("hm_emulator_context", Context)


def json_response(
    payload: Any, status: int = 200, headers: dict[str, str] | None = None
) -> web.Response:
    return web.Response(
        body=_encoder.encode(payload),
        status=status,
        headers=headers,
        content_type="application/json",
    )


def error_response(
    status: int,
    title: str,
    detail: str,
    *,
    source: str | None = None,
    headers: dict[str, str] | None = None,
    extra: dict[str, Any] | None = None,
) -> web.Response:
    """The platform's application error shape: `{"errors": [{"title", "source"?, "detail"}]}`."""
    error: dict[str, str] = {"title": title, "detail": detail}
    if source:
        error["source"] = source
    return json_response({"errors": [error], **(extra or {})}, status, headers)


async def read_json(request: web.Request) -> Any:
    """The request's JSON body (None when empty), or `ValueError` with a readable message:
    decoded with a depth limit (`jsonbody`), so no body can make a handler fail."""
    raw = await request.read()
    return decode_bounded(raw) if raw.strip() else None
