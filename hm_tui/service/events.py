"""What the service tells its subscribers (the UI, the CLI): health, action progress, outcomes.

Roster changes are `hm_tui.service.roster.model.RosterChanges`; the others live here. All are plain
frozen values: a subscriber may keep them, they never change under it. `ServiceEvent` names every
kind a `Session.subscribe` callback receives.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime
from typing import TYPE_CHECKING, Literal, TypeAlias

if TYPE_CHECKING:
    from hm_tui.service.roster.diff import RosterChanges
    from hm_tui.service.store.health import StoreProblem

ApiState = Literal["starting", "ok", "waiting", "degraded", "down"]
#: How the last failed poll failed: "" (none failed), "no answer" (nothing came back: refused
#: connection, reset, timeout, TLS), "refused" (the platform answered and refused our access),
#: "errors" (the platform answered, with an error)
Failure = Literal["", "no answer", "refused", "errors"]


@dataclass(frozen=True, slots=True)
class Health:
    """How the platform link is doing.

    `api`: "starting" until the first poll ends; "ok"; "waiting" while a call has had no answer
    for a while (a slow or trickling answer, retries, a wait the platform imposed: what was "ok"
    is not known to be any more); "degraded" after one or two failed polls (or while rate
    limited); "down" after three in a row or when the credentials are refused.
    `stale`: the roster shown may be out of date (loaded from the cache, or the last poll failed).
    `token_age_s` is filled in by `Session.health` (it changes every second).
    `failure`: how the last failed poll failed (`Failure`): what the header and the toasts call
    it ("unreachable" only when no answer came at all: `api_word`).
    """

    api: ApiState = "starting"
    last_error: str | None = None
    token_age_s: float | None = None
    last_refresh: datetime | None = None
    stale: bool = True
    consecutive_failures: int = 0
    failure: Failure = ""


def api_word(health: Health) -> str:
    """The platform link in one word, the same in the header and the notifications:
    "unreachable" only when no answer at all came, "refused" when it answered and refused our
    access, "degraded" when it answers with errors (or while rate limited); else the state
    itself (ok, starting, waiting: an answer is slow)."""
    if health.api in ("degraded", "down"):
        if health.failure == "no answer":
            return "unreachable"
        if health.failure == "refused":
            return "refused"
        return "degraded"
    return health.api


@dataclass(frozen=True, slots=True)
class HealthChanged:
    health: Health


@dataclass(frozen=True, slots=True)
class ActionProgress:
    """Progress of an operator action ("add" or "remove") recorded in the journal as `action_id`."""

    action_id: int
    action: str
    done: int
    total: int

    @property
    def finished(self) -> bool:
        return self.done >= self.total


@dataclass(frozen=True, slots=True)
class FeedDataArrived:
    """New points wait in the session's feed (`Session.feed.drain()`): a consumer may drain now
    instead of at its next tick. The one event delivered from another thread (the feed's
    reader), as often as batches arrive: a subscriber does only quick, thread-safe things with
    it (e.g. post a message)."""


@dataclass(frozen=True, slots=True)
class StoreTrouble:
    """The profile's store (journal and roster cache) cannot be used: `problem` says what is
    wrong with which file and how to fix it (a `store.health.StoreProblem`). Sent once; the
    session keeps running without it (`Session.store_problem`)."""

    problem: StoreProblem


#: Every kind of event a `Session.subscribe` callback receives.
ServiceEvent: TypeAlias = (
    "RosterChanges | HealthChanged | ActionProgress | FeedDataArrived | StoreTrouble"
)


@dataclass(frozen=True, slots=True)
class RemovalOutcome:
    """What happened to one VIN of `Session.remove`: `status` is the new status when `ok`
    (revoking/canceling), else the status that prevented it; `message` in the operator's words."""

    vin: str
    ok: bool
    status: str
    message: str


class ReadOnlyError(Exception):
    """A mutating call on a read-only session."""
