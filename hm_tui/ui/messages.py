"""Typed messages from the service layer and from workers to the handlers that own UI state.

Service events arrive through `Session.subscribe(callback)`; the app turns each into one of these
and posts it. Roster changes are accumulated by the app and announced by `RosterUpdated`, which
coalesces (`can_replace`): a burst of service events costs one UI update, never one per event.
"""

from __future__ import annotations

from typing import Any

from textual.message import Message


class RosterUpdated(Message):
    """The roster changed; the app holds the accumulated changes until a handler takes them."""

    def can_replace(self, message: Message) -> bool:
        return isinstance(message, RosterUpdated)


class HealthUpdated(Message):
    """The service's health (API, token, last refresh) changed."""

    def __init__(self, health: Any) -> None:
        super().__init__()
        self.health = health

    def can_replace(self, message: Message) -> bool:
        return isinstance(message, HealthUpdated)


class ActionProgressed(Message):
    """Progress of a long service action (adding thousands of VINs, removing a batch)."""

    def __init__(self, progress: Any) -> None:
        super().__init__()
        self.progress = progress


class SessionReady(Message):
    """The session started: the roster has its first data (or the first attempt failed)."""

    def __init__(self, error: str | None = None) -> None:
        super().__init__()
        self.error = error


class ServiceFailed(Message):
    """A worker's service call failed; `what` names the action in the operator's words."""

    def __init__(self, what: str, error: str) -> None:
        super().__init__()
        self.what = what
        self.error = error


class RemovalFinished(Message):
    """A cancel/revoke batch finished: one outcome per VIN (Session.remove's RemovalOutcome)."""

    def __init__(self, outcomes: list[Any]) -> None:
        super().__init__()
        self.outcomes = outcomes


class SessionOpened(Message):
    """The session object exists (not yet started): the app adopts its roster."""

    def __init__(self, session: Any) -> None:
        super().__init__()
        self.session = session


class SessionClosed(Message):
    """The old session stopped (profile switch): open the one for `profile`."""

    def __init__(self, profile: str) -> None:
        super().__init__()
        self.profile = profile


class InterruptedActions(Message):
    """The journal holds actions a killed app never finished (JournalEntry each): offer them."""

    def __init__(self, entries: list[Any]) -> None:
        super().__init__()
        self.entries = entries
