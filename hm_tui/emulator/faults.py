"""Injected faults (`POST /_emulator/faults`): errors, latency and refused connections on `/v1`,
and a publisher that stops publishing (the broker stays up: a stalled stream, not a lost one).

Faults never touch `/_emulator/`. An injected error is answered before the handler runs, so the
operation is not applied: a client that retries it must see it applied exactly once.
"""

from __future__ import annotations

import random
import time
from dataclasses import dataclass, field
from typing import Any

INJECTED_TITLES = {
    429: "Too many requests",
    500: "Internal server error",
    502: "Bad gateway",
    503: "Service unavailable",
    504: "Gateway timeout",
}
INJECTED_RETRY_AFTER_S = 1


class FaultSpecError(ValueError):
    """The faults body is malformed."""


@dataclass(slots=True)
class Faults:
    """The faults in force; `{}` clears them all."""

    http_error_rate: float = 0.0
    statuses: tuple[int, ...] = (503,)
    latency_ms: int = 0
    refuse_until: float = 0.0  # time.monotonic() until which /v1 connections are cut
    publish_paused: bool = False  # the cars' data stops; connections and sessions stay up
    rng: random.Random = field(default_factory=lambda: random.Random(0), repr=False)

    def configure(self, body: dict[str, Any]) -> None:
        """Replace the faults with `body` (one-shot actions are handled by the caller)."""
        rate = _number(body, "http_error_rate", 0.0)
        if not 0.0 <= rate <= 1.0:
            raise FaultSpecError("http_error_rate must be between 0 and 1")
        statuses = body.get("statuses", [503])
        if (
            not isinstance(statuses, list)
            or not statuses
            or not all(isinstance(s, int) and 400 <= s <= 599 for s in statuses)
        ):
            raise FaultSpecError("statuses must be a non-empty list of HTTP error codes")
        self.http_error_rate = rate
        self.statuses = tuple(statuses)
        self.latency_ms = int(_number(body, "latency_ms", 0))
        refuse = _number(body, "refuse_connections_s", 0.0)
        paused = body.get("publish_paused", False)
        if not isinstance(paused, bool):
            raise FaultSpecError("publish_paused must be true or false")
        self.refuse_until = time.monotonic() + refuse if refuse > 0 else 0.0
        self.publish_paused = paused

    def refusing(self) -> bool:
        return time.monotonic() < self.refuse_until

    def pick_error(self) -> int | None:
        """The status to inject for this request, or None to let it through."""
        if self.http_error_rate <= 0 or self.rng.random() >= self.http_error_rate:
            return None
        return self.rng.choice(self.statuses)

    def describe(self) -> dict[str, Any]:
        left = max(0.0, self.refuse_until - time.monotonic())
        return {
            "http_error_rate": self.http_error_rate,
            "statuses": list(self.statuses),
            "latency_ms": self.latency_ms,
            "refuse_connections_s": round(left, 3),
            "publish_paused": self.publish_paused,
        }


def _number(body: dict[str, Any], key: str, default: float) -> float:
    value = body.get(key, default)
    if isinstance(value, bool) or not isinstance(value, int | float) or value < 0:
        raise FaultSpecError(f"{key} must be a non-negative number")
    return float(value)


def injected_error_body(status: int) -> dict[str, Any]:
    title = INJECTED_TITLES.get(status, "Error")
    detail = (
        f"retry after {INJECTED_RETRY_AFTER_S}s" if status == 429 else "injected by the emulator"
    )
    return {"errors": [{"title": title, "detail": detail}]}
