"""What the emulator has served (`GET /_emulator/stats`), so tests can check what clients did."""

from __future__ import annotations

from collections import Counter, defaultdict
from dataclasses import dataclass, field
from typing import Any


@dataclass(slots=True)
class Stats:
    """Counts of `/v1` traffic; `applied` counts operations that reached the state machine."""

    requests: Counter[str] = field(default_factory=Counter)
    responses: Counter[str] = field(default_factory=Counter)
    applied: defaultdict[str, Counter[str]] = field(default_factory=lambda: defaultdict(Counter))
    webhooks_delivered: int = 0
    webhooks_failed: int = 0

    def request(self, method: str, route: str) -> None:
        self.requests[f"{method} {route}"] += 1

    def response(self, status: int) -> None:
        self.responses[str(status)] += 1

    def apply(self, method: str, vin: str) -> None:
        self.applied[method][vin] += 1

    def snapshot(self) -> dict[str, Any]:
        return {
            "requests": dict(self.requests),
            "responses": dict(self.responses),
            "applied": {"POST": dict(self.applied["POST"]), "DELETE": dict(self.applied["DELETE"])},
            "webhooks": {"delivered": self.webhooks_delivered, "failed": self.webhooks_failed},
        }
