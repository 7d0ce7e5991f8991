"""Rejection toasts: one on screen at a time, the newest, counting the new rejections (those seen
since the operator last looked at them, `NewRejections`: what the toast's key opens). The stall
toast: one when the live feed stalls, taken away when its data returns.

Textual caps nothing: during an activation rejections keep coming, and at 80x24 stacked toasts
hid the table they are about, and the buttons of the dialogs above it. Dropping the older toast
goes through the app's private notification API (`_notifications`, `_unnotify`,
`_refresh_notifications`; textual is pinned below 9 in pyproject.toml): that use lives here alone.
"""

from __future__ import annotations

from collections import deque
from collections.abc import Callable
from dataclasses import dataclass
from datetime import datetime
from typing import Any
from weakref import WeakKeyDictionary

from textual.app import App
from textual.css.query import NoMatches
from textual.geometry import Region
from textual.notifications import Notification
from textual.screen import ModalScreen, Screen
from textual.widget import Widget
from textual.widgets._toast import Toast, ToastRack

from hm_tui.ui.keymap import ROSTER_KEYS, key_for
from hm_tui.ui.text import shown
from hm_tui.ui.widgets.roster_columns import compact_age

STALL_TOAST_S = 24 * 3600  # stays until the data returns (or the operator clicks it away)
NOTIFY_EACH_MAX = 3  # more rejections than this in one refresh make one summary notification
REJECTION_TOASTS = 1  # rejection toasts on screen at once (the newest)
TOAST_SECONDS = 8


@dataclass(frozen=True, slots=True)
class Seen:
    """The new rejections handed over when the operator looks at them."""

    vins: list[str]  # in the order they were seen
    since: datetime  # (wall clock) when the period they were seen in began
    since_what: str  # "the dashboard started" or "you last looked"


class NewRejections:
    """The VINs the roster saw turn rejected since the dashboard started, or since the operator
    last looked at them (`take`): what the rejection toast counts and its key lists."""

    def __init__(self, clock: Callable[[], datetime]) -> None:
        self._clock = clock
        self.reset()

    def reset(self) -> None:
        """A new session (start-up, a profile switch): nothing seen yet."""
        self._vins: dict[str, None] = {}
        self.since = self._clock()
        self.since_what = "the dashboard started"

    def note(self, vins: list[str]) -> None:
        for vin in vins:
            self._vins.pop(vin, None)  # (rejected again: it moves to the end)
            self._vins[vin] = None

    def __len__(self) -> int:
        return len(self._vins)

    def take(self) -> Seen:
        """The new rejections, handed over: from now on only later ones are new."""
        seen = Seen(list(self._vins), self.since, self.since_what)
        self._vins = {}
        self.since, self.since_what = self._clock(), "you last looked"
        return seen


def under_dialog(app: App[Any]) -> bool:
    """A dialog (a modal screen) is on top."""
    return any(isinstance(top, ModalScreen) for top in app.screen_stack[-1:])


class RejectionToasts:
    """Announces the rejections of a refresh on `app`, keeping REJECTION_TOASTS at most (the
    roster's status counts and its rejected filter keep the full story); `new` counts them."""

    def __init__(self, app: App[Any], new: NewRejections) -> None:
        self._app = app
        self.new = new
        self._shown: deque[Notification] = deque()
        self.muted = False  # the palette's "Mute notifications": counted (`new`), not shown

    def start(self) -> None:
        """Follow the screen stack: a dialog opening takes the rejection toast already up away
        (at 80x24 one raised just before `a` sat over the add dialog's buttons for its 8 s).
        It stays counted: the next toast's title and the new rejections' list carry it."""
        self._app.screen_change_signal.subscribe(self._app, self._screen_changed)

    def _screen_changed(self, screen: Screen[Any]) -> None:
        if isinstance(screen, ModalScreen):
            self.withdraw()

    def withdraw(self) -> None:
        """Take the rejection toasts on screen away (they stay counted in `new`)."""
        app = self._app
        while self._shown:
            toast = self._shown.popleft()
            if toast in app._notifications:
                app._unnotify(toast)

    def announce(self, rejected: list[Any]) -> None:
        """`rejected`: status changes (`vin`, `reason`) whose new status is rejected. While a
        dialog is open (its buttons sit where toasts go) they are counted, not shown: the next
        toast's title carries them, and the new rejections' list has them all."""
        if not rejected:
            return
        self.new.note([change.vin for change in rejected])
        if self.muted or under_dialog(self._app):
            return
        if len(rejected) > NOTIFY_EACH_MAX:
            first = rejected[0]
            self._toast(
                f"{len(rejected)} at once, e.g. {shown(first.vin, 20)}: "
                f"{shown(first.reason or 'no reason given', 120)}"
            )
            return
        for change in rejected:
            reason = shown(change.reason or "no reason given", 200)
            self._toast(f"{shown(change.vin, 20)}: {reason}")

    def _toast(self, text: str) -> None:
        app = self._app
        while len(self._shown) >= REJECTION_TOASTS:
            app._unnotify(self._shown.popleft(), refresh=False)
        new = len(self.new)
        title = f"Rejected: {new} new ({self._new_key()} lists {'it' if new == 1 else 'them'})"
        toast = Notification(text, title, "error", TOAST_SECONDS, markup=False)
        self._shown.append(toast)
        # added now, not by a posted Notify: one posted and then dropped here before it was
        # handled would come back when it is (a refresh announcing three rejections showed three)
        app._notifications.add(toast)
        app._refresh_notifications()

    def _new_key(self) -> str:
        """The key that lists the new rejections (n, unless the profile remapped it)."""
        key = next(k for k in ROSTER_KEYS if k.id == "roster.new_rejections")
        return key_for(key, getattr(self._app, "keymap", {}))


class StallToast:
    """One notification per stall of the live feed (its header shows it too), taken away when
    data arrives again; a connection lost meanwhile does not end the stall (the header says
    that), data does. While a dialog is open the toast is taken off it (it stays up for the
    whole stall and sat over the dialog's buttons) and shown again when the dialog closes, if
    the stall goes on: still one stall (`raised`)."""

    def __init__(self, app: App[Any]) -> None:
        self._app = app
        self._toast: Notification | None = None
        self._stall = False  # a stall is under way (its toast up, or off a dialog)
        self._health: Any = None  # the last health seen
        self.raised = 0  # stall notifications so far
        self.muted = False  # the palette's "Mute notifications": the header says it still

    def start(self) -> None:
        self._app.screen_change_signal.subscribe(self._app, lambda _screen: self.update())

    def update(self, health: Any = ...) -> None:
        """`health`: the feed's FeedHealth now (None: no feed, or not started; left out: the
        last one seen, as when a dialog opens or closes)."""
        if health is ...:
            health = self._health
        self._health = health
        if health is None or health.level == "ok":
            self._stall = False
        if self._toast is not None and (not self._stall or under_dialog(self._app)):
            self._clear()
        elif (
            health is not None
            and health.stalled
            and self._toast is None
            and not self.muted
            and not under_dialog(self._app)
        ):
            self._raise(health)

    def _raise(self, health: Any) -> None:
        window = compact_age(health.stall_after_s)
        text = (
            f"No data for over {window}, this stream's stall window (learned from its pace, "
            "never under the profile's stall_floor_s). The MQTT connection is up: the cars or "
            "the platform stopped sending. This goes away when data arrives."
        )
        toast = Notification(text, "Live feed stalled", "warning", STALL_TOAST_S, markup=False)
        self._toast = toast
        if not self._stall:  # a new stall, not the same one shown again after a dialog
            self.raised += 1
        self._stall = True
        app = self._app
        app._notifications.add(toast)  # added now: see RejectionToasts._toast
        app._refresh_notifications()

    def _clear(self) -> None:
        toast, self._toast = self._toast, None
        app = self._app
        if toast is not None and toast in app._notifications:
            app._unnotify(toast)


#: The class attribute naming the part of a screen that toasts must not cover (a CSS selector:
#: the roster's table and feed, the detail's body). Screens without it are left as they are.
ROOM_ATTRIBUTE = "TOAST_ROOM"


class ToastRoom:
    """Keeps toasts off what the operator is looking at: while toasts are up, the screen's
    `TOAST_ROOM` part ends above them (a bottom margin the height of the toast rack), so the
    roster's cursor row (the table keeps it in view when it shrinks) and the detail's pulled data
    are never under a toast; the margin goes when the toasts do. Textual docks its toast rack at
    the bottom, in a layer over the screen (the rack itself has no region: its toasts do), and
    gives no event when the toasts' height changes, so `update` is
    called after each change of the notifications (twice: the rack mounts its toasts, then lays
    them out) and on the app's one-second tick (a toast that timed out removes itself quietly)."""

    def __init__(self, app: App[Any]) -> None:
        self._app = app
        # per body, the margin it had and its region when its margin last changed
        self._set: WeakKeyDictionary[Widget, tuple[int, Region]] = WeakKeyDictionary()

    def _laid_out_margin(self, body: Widget) -> int:
        """The bottom margin the body's region was laid out with: until the layout after a
        change has run, the region is the old one (measured against the new margin, the room
        grew on each call before the layout caught up: 8, 16, 24 rows, the table one line high)."""
        before = self._set.get(body)
        if before is not None and body.region == before[1]:
            return before[0]
        return body.styles.margin.bottom

    def changed(self) -> None:
        """The notifications changed: make room once the rack has drawn them."""
        self._app.call_after_refresh(lambda: self._app.call_after_refresh(self.update))

    def update(self) -> None:
        for screen in self._app.screen_stack[-1:]:
            self._fit(screen)

    def _fit(self, screen: Screen[Any]) -> None:
        selector = getattr(screen, ROOM_ATTRIBUTE, None)
        if not selector:
            return
        try:
            body = screen.query_one(selector)
            rack = screen.get_child_by_type(ToastRack)
        except NoMatches:  # (no rack: notifications are off, as under a test's run_test)
            return
        margin = body.styles.margin
        tops = [toast.region.y for toast in rack.query(Toast) if toast.region.height]
        bottom = body.region.bottom + self._laid_out_margin(body)  # the body's end without room
        rows = max(0, bottom - min(tops)) if tops and self._app._notifications else 0
        if margin.bottom != rows:
            self._set[body] = (margin.bottom, body.region)
            body.styles.margin = (margin.top, margin.right, rows, margin.left)
            room_changed = getattr(screen, "room_changed", None)
            if room_changed is not None:  # e.g. the detail keeps its pulled data in view
                self._app.call_after_refresh(room_changed)
