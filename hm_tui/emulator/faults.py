"""Injected faults (`POST /_emulator/faults`): errors, latency and refused connections on `/v1`,
and a publisher that stops publishing (the broker stays up: a stalled stream, not a lost one).

Faults never touch `/_emulator/`. An injected error is answered before the handler runs, so the
operation is not applied: a client that retries it must see it applied exactly once.

`answers` scripts exact answers for a test: `[{"method", "path", "status", "body"?, "headers"?,
"times"?}]` answers the next `times` (default 1) requests whose method and path match (`path` is
a glob, `/v1/fleets/vehicles/*`) with that status, JSON body and headers, before the token is
even checked: a 401 in the OAuth shape, a 429 with `Retry-After`, a 422 on DELETE.
"""

from __future__ import annotations

import fnmatch
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
class ScriptedAnswer:
    """One scripted answer: given for the next `times` requests matching `method` and `path`."""

    method: str
    path: str
    status: int
    payload: Any
    headers: dict[str, str] | None
    times: int

    @classmethod
    def parse(cls, spec: Any) -> ScriptedAnswer:
        if not isinstance(spec, dict):
            raise FaultSpecError("each answer must be an object")
        method, path, status = spec.get("method"), spec.get("path"), spec.get("status")
        if not isinstance(method, str) or not isinstance(path, str) or not path.startswith("/v1"):
            raise FaultSpecError("an answer needs a method and a path under /v1")
        if not isinstance(status, int) or isinstance(status, bool) or not 200 <= status <= 599:
            raise FaultSpecError("an answer's status must be an HTTP status (200-599)")
        headers = spec.get("headers")
        if headers is not None and not (
            isinstance(headers, dict) and all(isinstance(v, str) for v in headers.values())
        ):
            raise FaultSpecError("an answer's headers must map names to strings")
        times = spec.get("times", 1)
        if not isinstance(times, int) or isinstance(times, bool) or times < 1:
            raise FaultSpecError("an answer's times must be a whole number of at least 1")
        payload = spec.get("body", injected_error_body(status, "scripted by the emulator"))
        return cls(method.upper(), path, status, payload, headers, times)

    def matches(self, method: str, path: str) -> bool:
        return method.upper() == self.method and fnmatch.fnmatchcase(path, self.path)

    def body(self, extra: dict[str, Any]) -> Any:
        """The scripted body; an errors-shaped one gets the request's `request_id` too."""
        if extra and isinstance(self.payload, dict) and "errors" in self.payload:
            return {**extra, **self.payload}
        return self.payload


@dataclass(slots=True)
class Faults:
    """The faults in force; `{}` clears them all."""

    http_error_rate: float = 0.0
    statuses: tuple[int, ...] = (503,)
    latency_ms: int = 0
    refuse_until: float = 0.0  # time.monotonic() until which /v1 connections are cut
    publish_paused: bool = False  # the cars' data stops; connections and sessions stay up
    answers: list[ScriptedAnswer] = field(default_factory=list)
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
        answers = body.get("answers", [])
        if not isinstance(answers, list):
            raise FaultSpecError("answers must be a list")
        self.answers = [ScriptedAnswer.parse(item) for item in answers]
        self.refuse_until = time.monotonic() + refuse if refuse > 0 else 0.0
        self.publish_paused = paused

    def scripted_answer(self, method: str, path: str) -> ScriptedAnswer | None:
        """The scripted answer for this request, if one is left (each is used `times` times)."""
        for answer in self.answers:
            if answer.matches(method, path):
                answer.times -= 1
                if answer.times <= 0:
                    self.answers.remove(answer)
                return answer
        return None

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
            "answers": len(self.answers),
        }


def _number(body: dict[str, Any], key: str, default: float) -> float:
    value = body.get(key, default)
    if isinstance(value, bool) or not isinstance(value, int | float) or value < 0:
        raise FaultSpecError(f"{key} must be a non-negative number")
    return float(value)


def injected_error_body(status: int, why: str = "injected by the emulator") -> dict[str, Any]:
    title = INJECTED_TITLES.get(status, "Error")
    detail = f"retry after {INJECTED_RETRY_AFTER_S}s" if status == 429 else why
    return {"errors": [{"title": title, "detail": detail}]}
