"""Typed messages: from the service (through the app) and workers to the handlers that own UI
state, from screens to the app (what the operator asked for), and from the app to its screens.

Service events arrive through `Session.subscribe(callback)`; the app turns each into one of these
and posts it. Roster changes are accumulated by the app and announced by `RosterUpdated`, which
coalesces (`can_replace`): a burst of service events costs one UI update, never one per event.

Screens never call the app: they post what the operator asked for (`OpenDetail`, `AddRequested`,
`RemoveRequested`, `HeaderOutdated`) and the app, which holds the session and decides (read-only,
not connected yet), handles it. The app tells screens other than the roster about changes with
`RosterChanged` and `HeaderChanged`, which do not bubble: a screen that does not show the roster
or a header simply does not handle them.
"""

from __future__ import annotations

from collections.abc import Sequence
from typing import TYPE_CHECKING

from textual.message import Message

if TYPE_CHECKING:
    from hm_tui.service.events import Health
    from hm_tui.service.session import Session
    from hm_tui.service.store.db import JournalEntry
    from hm_tui.ui.widgets.header import HeaderState


# -- from the service, through the app, to the app's handlers -----------------------------------


class RosterUpdated(Message):
    """The roster changed; the app holds the accumulated changes until a handler takes them."""

    def can_replace(self, message: Message) -> bool:
        return isinstance(message, RosterUpdated)


class HealthUpdated(Message):
    """The service's health (API, token, last refresh) changed."""

    def __init__(self, health: Health) -> None:
        super().__init__()
        self.health = health

    def can_replace(self, message: Message) -> bool:
        return isinstance(message, HealthUpdated)


class SessionOpened(Message):
    """The session object exists (not yet started): the app adopts its roster."""

    def __init__(self, session: Session) -> None:
        super().__init__()
        self.session = session


class SessionReady(Message):
    """The session started: the roster has its first data (or the first attempt failed)."""

    def __init__(self, error: str | None = None) -> None:
        super().__init__()
        self.error = error


class SessionClosed(Message):
    """The old session stopped (profile switch): open the one for `profile`."""

    def __init__(self, profile: str) -> None:
        super().__init__()
        self.profile = profile


class ServiceFailed(Message):
    """A worker's service call failed; `what` names the action in the operator's words."""

    def __init__(self, what: str, error: str) -> None:
        super().__init__()
        self.what = what
        self.error = error


class StoreTroubled(Message):
    """The profile's journal and roster cache cannot be used: `problem` says why and what to do.
    The dashboard goes on without them."""

    def __init__(self, problem: str) -> None:
        super().__init__()
        self.problem = problem


class InterruptedActions(Message):
    """The journal holds actions a killed app never finished: offer them."""

    def __init__(self, entries: list[JournalEntry]) -> None:
        super().__init__()
        self.entries = entries


# -- from screens to the app: what the operator asked for ---------------------------------------


class OpenDetail(Message):
    """Show this clearance's detail screen."""

    def __init__(self, vin: str) -> None:
        super().__init__()
        self.vin = vin


class AddRequested(Message):
    """Open the add-VINs dialog on the tab `mode` ("one", "paste" or "csv")."""

    def __init__(self, mode: str = "one") -> None:
        super().__init__()
        self.mode = mode


class SummaryRequested(Message):
    """Open the campaign summary of what the roster shows."""


class RemoveRequested(Message):
    """Cancel or revoke these VINs, after the confirmation (none chosen: the app says so)."""

    def __init__(self, vins: Sequence[str]) -> None:
        super().__init__()
        self.vins = list(vins)


class AddAgainRequested(Message):
    """A bulk fix: add these VINs again (as they were, or `with_tag`: the VW Group customer
    name), after the confirmation. `which` says whose they are ("the 12 marked")."""

    def __init__(self, vins: Sequence[str], which: str, *, with_tag: bool = False) -> None:
        super().__init__()
        self.vins, self.which, self.with_tag = list(vins), which, with_tag


class NewRejectionsRequested(Message):
    """List the rejections seen since the operator last looked (the rejection toast's key)."""


class HeaderOutdated(Message):
    """What the header shows changed on a screen (it mounted, the sort changed): redraw it."""

    def can_replace(self, message: Message) -> bool:
        return isinstance(message, HeaderOutdated)


# -- from the app to screens other than the roster (not bubbling) -------------------------------


class RosterChanged(Message, bubble=False):
    """The session's roster changed: a screen showing clearances reads them again."""

    def can_replace(self, message: Message) -> bool:
        return isinstance(message, RosterChanged)


class HeaderChanged(Message, bubble=False):
    """The header's state (profile, environment, API, MQTT, freshness) for the top screen."""

    def __init__(self, state: HeaderState) -> None:
        super().__init__()
        self.state = state

    def can_replace(self, message: Message) -> bool:
        return isinstance(message, HeaderChanged)
