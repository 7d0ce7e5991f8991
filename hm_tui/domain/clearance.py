"""Clearance states and the transitions between them (docs/platform.md#states)."""

from __future__ import annotations

from enum import StrEnum


class ClearanceStatus(StrEnum):
    PENDING = "pending"
    APPROVED = "approved"
    REJECTED = "rejected"
    REVOKING = "revoking"
    REVOKED = "revoked"
    CANCELING = "canceling"
    CANCELED = "canceled"
    ERROR = "error"  # only ever in a POST response item

    @classmethod
    def parse(cls, value: str) -> ClearanceStatus | None:
        """The known status, or None for one this version does not know (shown verbatim)."""
        try:
            return cls(value)
        except ValueError:
            return None


S = ClearanceStatus

#: The order statuses are listed in (summary bar, number keys 1-7).
STATUS_ORDER: tuple[ClearanceStatus, ...] = (
    S.PENDING,
    S.APPROVED,
    S.REJECTED,
    S.REVOKING,
    S.REVOKED,
    S.CANCELING,
    S.CANCELED,
)
#: States that change on their own: polled often, with a server-side filter.
TRANSIENT: frozenset[str] = frozenset({S.PENDING, S.REVOKING, S.CANCELING})
#: States in which the clearance exists: a re-POST returns them unchanged.
ACTIVE: frozenset[str] = frozenset({S.PENDING, S.APPROVED, S.REVOKING, S.CANCELING})
#: States that end a clearance: a re-POST starts a new pending one.
ENDED: frozenset[str] = frozenset({S.REJECTED, S.REVOKED, S.CANCELED})

TRANSITIONS: dict[ClearanceStatus, frozenset[ClearanceStatus]] = {
    S.PENDING: frozenset({S.APPROVED, S.REJECTED, S.CANCELING}),
    S.APPROVED: frozenset({S.REVOKING}),
    S.REVOKING: frozenset({S.REVOKED}),
    S.CANCELING: frozenset({S.CANCELED}),
    S.REJECTED: frozenset({S.PENDING}),
    S.REVOKED: frozenset({S.PENDING}),
    S.CANCELED: frozenset({S.PENDING}),
    S.ERROR: frozenset(),
}


def can_transition(old: str, new: str) -> bool:
    """True if the platform moves a clearance from `old` to `new` (unknown states: False)."""
    old_s, new_s = ClearanceStatus.parse(old), ClearanceStatus.parse(new)
    if old_s is None or new_s is None:
        return False
    return new_s in TRANSITIONS[old_s]
