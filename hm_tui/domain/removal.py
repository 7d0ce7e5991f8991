"""What DELETE does to a clearance (docs/platform.md#states): revoke, cancel, or why it cannot."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime, timedelta
from enum import StrEnum

from hm_tui.domain.brands import BRANDS
from hm_tui.domain.clearance import ClearanceStatus as S

CANCEL_AFTER = timedelta(days=1)

# The platform's exact error details (emulator sends them, client recognises them).
ALREADY_REMOVED = "Clearance is already removed"
IN_TRANSITION = "Clearance is in transition mode"
CANCEL_NOT_SUPPORTED = "cancellation is not supported for this vin"
CANCEL_TOO_EARLY = "the pending status could only be canceled after 1 day it's created"


class RemovalKind(StrEnum):
    REVOKE = "revoke"
    CANCEL = "cancel"
    IMPOSSIBLE = "impossible"


@dataclass(frozen=True, slots=True)
class Removal:
    """What a DELETE would do; `http_status`/`detail` are the platform's answer when impossible."""

    kind: RemovalKind
    why: str  # the operator's words
    http_status: int = 200
    detail: str = ""

    @property
    def possible(self) -> bool:
        return self.kind is not RemovalKind.IMPOSSIBLE


def plan_removal(brand: str, status: str, created_at: datetime | None, now: datetime) -> Removal:
    """Decide revoke vs cancel vs impossible, exactly as the platform does."""
    if status == S.APPROVED:
        return Removal(RemovalKind.REVOKE, "will be revoked: data access stops", 200)
    if status == S.PENDING:
        info = BRANDS.get(brand)
        if info is None or not info.can_cancel:
            return Removal(
                RemovalKind.IMPOSSIBLE,
                f"cannot be canceled: {brand} does not support canceling a pending clearance",
                422,
                CANCEL_NOT_SUPPORTED,
            )
        if created_at is not None and now - created_at < CANCEL_AFTER:
            ready = created_at + CANCEL_AFTER
            left = ready - now
            hours = max(1, round(left.total_seconds() / 3600))
            return Removal(
                RemovalKind.IMPOSSIBLE,
                f"too early to cancel: possible 24 h after it was added (in ~{hours} h)",
                422,
                CANCEL_TOO_EARLY,
            )
        return Removal(RemovalKind.CANCEL, "will be canceled: the pending activation stops", 200)
    if status in (S.REVOKING, S.CANCELING):
        return Removal(
            RemovalKind.IMPOSSIBLE, f"already {status}: wait for it to finish", 409, IN_TRANSITION
        )
    if status in (S.REJECTED, S.REVOKED, S.CANCELED):
        return Removal(
            RemovalKind.IMPOSSIBLE, f"already {status}: nothing to remove", 409, ALREADY_REMOVED
        )
    return Removal(
        RemovalKind.IMPOSSIBLE, f"status {status!r} is unknown to hm-tui", 409, ALREADY_REMOVED
    )


def explain_refusal(detail: str) -> str | None:
    """The operator's words for a platform DELETE refusal, or None if the detail is unknown."""
    return {
        ALREADY_REMOVED: "already removed (rejected, revoked or canceled): nothing to do",
        IN_TRANSITION: "a revoke or cancel is already in progress: wait for it to finish",
        CANCEL_NOT_SUPPORTED: "this brand does not support canceling a pending clearance",
        CANCEL_TOO_EARLY: "too early: a pending clearance can be canceled 24 h after it was added",
    }.get(detail.strip())
